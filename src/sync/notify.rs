//! `Notify`: wake one waiting task, or all of them, without sending data.
//!
//! ## State
//!
//! A `Mutex` (the `crate::loom` shim's) guards the *permit* (one stored `notify_one`), a slab of
//! waiter slots and a FIFO queue of the keys of the slots still waiting. One lock keeps the
//! invariants between the three simple — a key is queued iff its slot is `Waiting`, the permit
//! is stored only while the queue is empty — at the cost of a lock per operation; Tokio's
//! lock-free fast paths (an atomic state for "permit stored / nobody waits") can be added later
//! without changing the API. A [`Notified`] future moves through
//!
//! > `Init` → (`Waiting(key)` →) `Notified(via)` → `Done`
//!
//! and a slot (owned by exactly one `Notified`, which frees it) is `Waiting(waker)` while its key
//! is queued, then `Notified(One | All)`, set by whoever dequeued it.
//!
//! - [`notify_one`](Notify::notify_one) pops the oldest waiting key, marks the slot
//!   `Notified(One)` and wakes its waker; with no waiter it stores the permit (at most one: a
//!   second `notify_one` before anyone consumes it changes nothing).
//! - [`notify_waiters`](Notify::notify_waiters) empties the queue, marks every slot
//!   `Notified(All)` and wakes them all; it stores no permit. It also increments a call
//!   counter, see below.
//! - A `Notified` on its first poll (or [`enable`](Notified::enable)) completes at once if
//!   `notify_waiters` was called since it was *created*, or if it can take the permit;
//!   otherwise it inserts a slot and queues its key. On later polls it checks its slot.
//! - Dropping a `Notified` whose slot is still `Waiting` removes its key from the queue, so that
//!   `notify_one` never picks a future that is gone. Dropping one that was picked by
//!   `notify_one` (its slot is `Notified(One)`, or it took the permit in `enable`) but had not
//!   returned `Ready` yet passes the notification on, exactly as another `notify_one` would: no
//!   notification is lost to cancellation. One woken by `notify_waiters` passes nothing on.
//!
//! Wakers are woken, and replaced wakers dropped, after the lock is released.
//!
//! ## `notify_waiters` and futures that were never polled
//!
//! A `Notified` created before a `notify_waiters` call completes even if it was not polled
//! (not queued) when the call happened, as in Tokio: `notified()` records the value of an atomic
//! `notify_waiters` call counter, and the first poll (under the lock) compares it with the
//! current value. The counter is incremented only under the lock, in the same critical section
//! that drains the queue, so every `Notified` is either queued (and drained) or sees the new
//! count. The unlocked read in `notified()` can be `Relaxed`: if creating the future happens
//! before the `notify_waiters` call, coherence alone forbids reading the incremented value, and
//! the later locked read is ordered by the mutex. The counter wraps; only equality is checked.
//!
//! `notify_one` has no such counter: a `Notified` that is neither queued nor polled is not a
//! waiter, so `notify_one` stores the permit for it instead (which it will take on its first
//! poll, unless another `Notified` takes it first). To be a candidate for `notify_one` before the
//! first poll, call [`Notified::enable`].
//!
//! ```
//! use std::sync::Arc;
//! use rawrt::sync::Notify;
//!
//! let rt = rawrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let notify = Arc::new(Notify::new());
//!     let waiter = {
//!         let notify = notify.clone();
//!         rawrt::spawn(async move {
//!             notify.notified().await;
//!             "notified"
//!         })
//!     };
//!     // If the task is not waiting yet, the permit is stored and it completes at once.
//!     notify.notify_one();
//!     assert_eq!(waiter.await.unwrap(), "notified");
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// Notifies tasks waiting on [`notified`](Notify::notified).
///
/// [`notify_one`](Self::notify_one) wakes the oldest waiter, or stores a permit that the next
/// [`notified`](Self::notified) consumes at once; [`notify_waiters`](Self::notify_waiters) wakes
/// every current waiter. Share it with an `Arc` (or a reference, in scoped code).
///
/// ```
/// use std::pin::pin;
/// use std::sync::Arc;
/// use rawrt::sync::{mpsc, Notify};
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let notify = Arc::new(Notify::new());
///     let (ready_tx, mut ready_rx) = mpsc::channel(3);
///     let waiters: Vec<_> = (0..3)
///         .map(|i| {
///             let notify = notify.clone();
///             let ready_tx = ready_tx.clone();
///             rawrt::spawn(async move {
///                 let mut notified = pin!(notify.notified());
///                 // Registered as a waiter from here on, before the first poll.
///                 notified.as_mut().enable();
///                 ready_tx.send(()).await.unwrap();
///                 notified.await;
///                 i
///             })
///         })
///         .collect();
///     for _ in 0..3 {
///         ready_rx.recv().await.unwrap();
///     }
///     // Wakes all three; stores no permit.
///     notify.notify_waiters();
///     let mut sum = 0;
///     for w in waiters {
///         sum += w.await.unwrap();
///     }
///     assert_eq!(sum, 3);
/// });
/// ```
pub struct Notify {
    waiters: Mutex<Waiters>,
    /// Incremented (under the lock) by each `notify_waiters` call; see the module docs.
    notify_waiters_calls: AtomicUsize,
}

/// The lock-protected part of a [`Notify`].
struct Waiters {
    /// A `notify_one` found no waiter; the next `Notified` consumes it.
    permit: bool,
    /// One slot per queued or notified-but-not-finished `Notified`.
    slots: Slab<Slot>,
    /// Keys of the `Waiting` slots, oldest first.
    queue: VecDeque<usize>,
}

/// A `Notified` future's slot.
enum Slot {
    /// Queued; the waker of its last poll (`None` if only enabled, or already taken).
    Waiting(Option<Waker>),
    /// Dequeued by a notification.
    Notified(Via),
}

/// Which call delivered a notification: only `One` is passed on by a dropped `Notified`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    One,
    All,
}

/// The future returned by [`Notify::notified`]: completes when notified.
///
/// It is `Send` and `Unpin`. Dropping it before it completes is safe: a notification that
/// `notify_one` gave it is passed to another waiter (or stored as the permit).
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Not registered yet; `calls` is the `notify_waiters` counter at creation.
    Init { calls: usize },
    /// Holds slot `key`.
    Waiting(usize),
    /// Notified (by `enable`), not yet returned `Ready`.
    Notified(Via),
    /// Returned `Ready`.
    Done,
}

impl Waiters {
    /// One notification: to the oldest waiter, or stored as the permit. Returns the waker to
    /// wake after unlocking.
    fn notify_one(&mut self) -> Option<Waker> {
        match self.queue.pop_front() {
            Some(key) => match std::mem::replace(self.slots.get_mut(key), Slot::Notified(Via::One))
            {
                Slot::Waiting(waker) => waker,
                Slot::Notified(_) => unreachable!("a notified slot was still queued"),
            },
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Notify {
    /// A `Notify` with no waiter and no stored permit.
    pub fn new() -> Notify {
        Notify {
            waiters: Mutex::new(Waiters {
                permit: false,
                slots: Slab::new(),
                queue: VecDeque::new(),
            }),
            notify_waiters_calls: AtomicUsize::new(0),
        }
    }

    /// A future that completes when this `Notify` is notified.
    ///
    /// It completes at once (on its first poll) if a permit is stored, or if
    /// [`notify_waiters`](Self::notify_waiters) is called after this call, even before the first
    /// poll. It waits for [`notify_one`](Self::notify_one) from its first poll (or
    /// [`Notified::enable`]) on.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            // Relaxed: see "notify_waiters and futures that were never polled" in the module docs.
            state: State::Init {
                calls: self.notify_waiters_calls.load(Relaxed),
            },
        }
    }

    /// Wakes the oldest waiting [`Notified`]; if none waits, stores a permit so that the next
    /// one completes at once. At most one permit is stored.
    pub fn notify_one(&self) {
        let waker = lock(&self.waiters).notify_one();
        if let Some(w) = waker {
            crate::util::wake(w);
        }
    }

    /// Wakes every waiting [`Notified`], and every `Notified` created before this call even if
    /// not polled yet. Stores no permit: a `Notified` created afterwards waits.
    pub fn notify_waiters(&self) {
        let wakers: Vec<Waker> = {
            let mut waiters = lock(&self.waiters);
            // Relaxed: written only under the lock, which orders it with the locked reads.
            // (`fetch_add` wraps on overflow.)
            self.notify_waiters_calls.fetch_add(1, Relaxed);
            let Waiters { slots, queue, .. } = &mut *waiters;
            queue
                .drain(..)
                .filter_map(|key| {
                    match std::mem::replace(slots.get_mut(key), Slot::Notified(Via::All)) {
                        Slot::Waiting(waker) => waker,
                        Slot::Notified(_) => unreachable!("a notified slot was still queued"),
                    }
                })
                .collect()
        };
        for w in wakers {
            crate::util::wake(w);
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiters = lock(&self.waiters);
        f.debug_struct("Notify")
            .field("permit", &waiters.permit)
            .field("waiting", &waiters.queue.len())
            .finish()
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so that a
    /// [`notify_one`](Notify::notify_one) from now on can pick it (as it picks polled futures).
    /// Returns `true` if it is already notified (its next poll returns `Ready`).
    ///
    /// Useful to stop missing a notification between checking a condition and awaiting: enable,
    /// check, then await.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.get_mut().register(None)
    }

    /// The shared part of `poll` and `enable`: registers `waker` (or updates it) and returns
    /// whether the future is notified. Moves `Init` to `Waiting` or `Notified`, and a notified
    /// slot to `Notified`.
    fn register(&mut self, waker: Option<&Waker>) -> bool {
        let notify = self.notify;
        let mut stale = None;
        let notified = {
            let mut waiters = lock(&notify.waiters);
            match self.state {
                State::Init { calls } => {
                    if notify.notify_waiters_calls.load(Relaxed) != calls {
                        self.state = State::Notified(Via::All);
                        true
                    } else if waiters.permit {
                        waiters.permit = false;
                        self.state = State::Notified(Via::One);
                        true
                    } else {
                        let key = waiters.slots.insert(Slot::Waiting(waker.cloned()));
                        waiters.queue.push_back(key);
                        self.state = State::Waiting(key);
                        false
                    }
                }
                State::Waiting(key) => match waiters.slots.get_mut(key) {
                    Slot::Waiting(slot) => {
                        if let Some(waker) = waker {
                            stale = match slot {
                                Some(w) if w.will_wake(waker) => None,
                                _ => slot.replace(waker.clone()),
                            };
                        }
                        false
                    }
                    Slot::Notified(via) => {
                        let via = *via;
                        waiters.slots.remove(key);
                        self.state = State::Notified(via);
                        true
                    }
                },
                State::Notified(_) | State::Done => true,
            }
        };
        drop(stale);
        notified
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| {
            if this.register(Some(cx.waker())) {
                this.state = State::Done;
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let (stale, next) = match self.state {
            State::Init { .. } | State::Done | State::Notified(Via::All) => return,
            State::Notified(Via::One) => (None, lock(&self.notify.waiters).notify_one()),
            State::Waiting(key) => {
                let mut waiters = lock(&self.notify.waiters);
                match waiters.slots.remove(key) {
                    Slot::Waiting(waker) => {
                        if let Some(pos) = waiters.queue.iter().position(|&k| k == key) {
                            waiters.queue.remove(pos);
                        }
                        (waker, None)
                    }
                    // Chosen by `notify_one` but never completed: pass it on.
                    Slot::Notified(Via::One) => (None, waiters.notify_one()),
                    Slot::Notified(Via::All) => (None, None),
                }
            }
        };
        drop(stale);
        if let Some(w) = next {
            crate::util::wake(w);
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish()
    }
}
