//! BENCH-LOCAL HELPERS: a minimal, runtime-agnostic oneshot and bounded mpsc channel on
//! `std::sync::Mutex` + `Waker`.
//!
//! They exist because `rawrt::sync` is not in this branch yet. The *same* code is used for
//! rawrt and for Tokio, so the comparison stays fair, but it measures these channels plus
//! the scheduler, not the runtimes' own channels (Tokio's `ping_pong` uses
//! `tokio::sync::oneshot`, which is lock-free and cheaper than a mutex).
//!
//! TODO(rawrt::sync): once `rawrt::sync::{oneshot, mpsc}` lands, add channel constructors to
//! the `Rt` trait and use `rawrt::sync` for rawrt and `tokio::sync` for Tokio (tokio
//! dev-dependency feature `sync`), keeping these as a third, neutral variant if useful.
//!
//! Not general-purpose: no cancellation-safety guarantees beyond what the benchmarks need
//! (a `send` future dropped after being woken passes its wakeup on only at the next `recv`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores `cx`'s waker in `slot` unless the one there already wakes the same task.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The other side of a channel went away.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// A single-value channel.
pub mod oneshot {
    use super::*;

    struct State<T> {
        value: Option<T>,
        rx_waker: Option<Waker>,
        tx_gone: bool,
        rx_gone: bool,
    }

    /// Sends the one value.
    pub struct Sender<T> {
        shared: Option<Arc<Mutex<State<T>>>>,
    }

    /// Awaits the one value (`Err(Closed)` if the sender was dropped without sending).
    pub struct Receiver<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// A connected sender/receiver pair.
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Mutex::new(State {
            value: None,
            rx_waker: None,
            tx_gone: false,
            rx_gone: false,
        }));
        (
            Sender {
                shared: Some(shared.clone()),
            },
            Receiver { shared },
        )
    }

    impl<T> Sender<T> {
        /// Sends `value`; gives it back if the receiver is gone.
        pub fn send(mut self, value: T) -> Result<(), T> {
            let shared = self.shared.take().expect("sender used once");
            let mut s = lock(&shared);
            if s.rx_gone {
                return Err(value);
            }
            s.value = Some(value);
            s.tx_gone = true;
            let waker = s.rx_waker.take();
            drop(s);
            if let Some(w) = waker {
                w.wake();
            }
            Ok(())
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if let Some(shared) = self.shared.take() {
                let mut s = lock(&shared);
                s.tx_gone = true;
                let waker = s.rx_waker.take();
                drop(s);
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    impl<T> Future for Receiver<T> {
        type Output = Result<T, Closed>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = lock(&self.shared);
            if let Some(v) = s.value.take() {
                return Poll::Ready(Ok(v));
            }
            if s.tx_gone {
                return Poll::Ready(Err(Closed));
            }
            register(&mut s.rx_waker, cx);
            Poll::Pending
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            lock(&self.shared).rx_gone = true;
        }
    }
}

/// A bounded multi-producer, single-consumer channel.
pub mod mpsc {
    use super::*;

    struct State<T> {
        queue: VecDeque<T>,
        capacity: usize,
        rx_waker: Option<Waker>,
        /// Senders waiting for room, woken one per received value.
        tx_wakers: VecDeque<Waker>,
        senders: usize,
        rx_gone: bool,
    }

    /// Sends values; cloneable.
    pub struct Sender<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// Receives values; `None` once every sender is gone and the queue is empty.
    pub struct Receiver<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// A channel holding at most `capacity` values in flight.
    pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        assert!(capacity > 0);
        let shared = Arc::new(Mutex::new(State {
            queue: VecDeque::with_capacity(capacity),
            capacity,
            rx_waker: None,
            tx_wakers: VecDeque::new(),
            senders: 1,
            rx_gone: false,
        }));
        (
            Sender {
                shared: shared.clone(),
            },
            Receiver { shared },
        )
    }

    impl<T> Sender<T> {
        /// Sends `value`, waiting while the channel is full; gives it back if the receiver
        /// is gone.
        pub fn send(&self, value: T) -> Send<'_, T> {
            Send {
                tx: self,
                value: Some(value),
            }
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            lock(&self.shared).senders += 1;
            Sender {
                shared: self.shared.clone(),
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let mut s = lock(&self.shared);
            s.senders -= 1;
            let waker = if s.senders == 0 {
                s.rx_waker.take()
            } else {
                None
            };
            drop(s);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// The future of [`Sender::send`].
    pub struct Send<'a, T> {
        tx: &'a Sender<T>,
        value: Option<T>,
    }

    impl<T> Unpin for Send<'_, T> {}

    impl<T> Future for Send<'_, T> {
        type Output = Result<(), T>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = lock(&self.tx.shared);
            let value = self.value.take().expect("Send polled after completion");
            if s.rx_gone {
                return Poll::Ready(Err(value));
            }
            if s.queue.len() < s.capacity {
                s.queue.push_back(value);
                let waker = s.rx_waker.take();
                drop(s);
                if let Some(w) = waker {
                    w.wake();
                }
                return Poll::Ready(Ok(()));
            }
            if !s.tx_wakers.iter().any(|w| w.will_wake(cx.waker())) {
                s.tx_wakers.push_back(cx.waker().clone());
            }
            drop(s);
            self.value = Some(value);
            Poll::Pending
        }
    }

    impl<T> Receiver<T> {
        /// Receives the next value.
        pub fn recv(&mut self) -> Recv<'_, T> {
            Recv { rx: self }
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            let mut s = lock(&self.shared);
            s.rx_gone = true;
            let wakers = std::mem::take(&mut s.tx_wakers);
            drop(s);
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    /// The future of [`Receiver::recv`].
    pub struct Recv<'a, T> {
        rx: &'a mut Receiver<T>,
    }

    impl<T> Future for Recv<'_, T> {
        type Output = Option<T>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = lock(&self.rx.shared);
            if let Some(v) = s.queue.pop_front() {
                let waker = s.tx_wakers.pop_front();
                drop(s);
                if let Some(w) = waker {
                    w.wake();
                }
                return Poll::Ready(Some(v));
            }
            if s.senders == 0 {
                return Poll::Ready(None);
            }
            register(&mut s.rx_waker, cx);
            Poll::Pending
        }
    }
}
