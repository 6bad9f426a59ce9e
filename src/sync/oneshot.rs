//! A channel for sending a single value from one task (or thread) to another.
//!
//! [`channel`] makes one allocation, an `Arc<Inner>` holding an atomic state word, the value
//! cell and two waker cells: the receiver's (woken when the value arrives or the sender goes
//! away) and the sender's (woken by [`Sender::closed`] when the receiver goes away).
//!
//! ## The state word
//!
//! | bit        | set by | meaning |
//! |------------|--------|---------|
//! | `COMPLETE` | sender | the sender is done: it sent (the value cell is `Some`) or was dropped (the cell stays `None`). Never unset. |
//! | `CLOSED`   | receiver | the receiver was closed or dropped: no value will be accepted any more. Never unset. |
//! | `RX_WAKER` | receiver | the receiver's waker cell is written, and the sender may read it to wake the receiver |
//! | `TX_WAKER` | sender | the sender's waker cell is written, and the receiver may read it to wake the sender |
//!
//! Who may touch which cell:
//! - **value**: the sender, while `COMPLETE` is unset (it writes the value, and takes it back
//!   if the receiver closed meanwhile); the receiver, once it has seen `COMPLETE` (it takes the
//!   value); the last `Arc` owner when the channel is freed (it drops whatever is left).
//!   `COMPLETE` is set only by a compare-and-swap that fails if `CLOSED` is set, so a value is
//!   either handed over (and `send` returns `Ok`) or returned to the caller (`Err(value)`),
//!   never both; each value is dropped exactly once, by whoever ends up owning it.
//! - **receiver's waker**: the receiver writes it while `RX_WAKER` is unset. Once it sets
//!   `RX_WAKER` the cell is read-only: the sender, completing, wakes it by reference, and the
//!   receiver may compare it with `will_wake`. To replace it, the receiver first clears
//!   `RX_WAKER`, with a compare-and-swap that fails once `COMPLETE` is set — from then on the
//!   sender may be reading the cell, and the receiver has no reason to wait anyway.
//! - **sender's waker**: symmetrically, with `TX_WAKER` and `CLOSED`.
//!
//! A completed sender wakes the receiver only if `RX_WAKER` was set when `COMPLETE` was; a
//! receiver registering its waker sets `RX_WAKER` with a compare-and-swap that fails if
//! `COMPLETE` got set in between, in which case it returns `Ready` instead of waiting. So either
//! the completion sees the waker, or the registration sees the completion: no lost wakeup. The
//! same argument holds for `CLOSED` and the sender's waker.
//!
//! Orderings: every transition is an `AcqRel` read-modify-write and every check an `Acquire`
//! load, so the value (written before `COMPLETE`) and the wakers (written before their flag)
//! are visible to the thread that observes the flag. Both halves are consumed by value or
//! borrowed mutably while they act (`send(self)`, `poll(&mut self)`, `closed(&mut self)`), so
//! each side is a single thread at a time and never races with itself.
//!
//! ```
//! use rawrt::sync::oneshot;
//!
//! let rt = rawrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     rawrt::spawn(async move {
//!         let answer = 6 * 7;
//!         // Err(value) would mean the receiver is gone.
//!         tx.send(answer).unwrap();
//!     });
//!     assert_eq!(rx.await, Ok(42));
//!
//!     // A sender dropped without sending closes the channel.
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     drop(tx);
//!     assert!(rx.await.is_err());
//! });
//! ```

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::Arc;
use crate::loom::UnsafeCell;
use crate::scheduler::coop;

/// The receiver's waker cell is written and readable by the sender.
const RX_WAKER: usize = 0b0001;
/// The sender sent a value or was dropped.
const COMPLETE: usize = 0b0010;
/// The receiver was closed or dropped.
const CLOSED: usize = 0b0100;
/// The sender's waker cell is written and readable by the receiver.
const TX_WAKER: usize = 0b1000;

/// Creates a oneshot channel: the [`Sender`] sends at most one value to the [`Receiver`].
///
/// ```
/// use rawrt::sync::oneshot;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// let (tx, rx) = oneshot::channel();
/// // The sending side needs no runtime: any thread can complete the channel.
/// std::thread::spawn(move || tx.send("from a thread").unwrap());
/// assert_eq!(rt.block_on(rx), Ok("from a thread"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    let tx = Sender {
        inner: Some(inner.clone()),
    };
    let rx = Receiver { inner };
    (tx, rx)
}

/// The sending half of a [`oneshot`](self) channel, created by [`channel`].
///
/// Dropping it without sending closes the channel: the receiver gets [`RecvError`].
pub struct Sender<T> {
    /// `None` only inside `send`, after the value was handed over, so that `Drop` does nothing.
    inner: Option<Arc<Inner<T>>>,
}

/// The receiving half of a [`oneshot`](self) channel, created by [`channel`].
///
/// It is a future: awaiting it yields the value, or [`RecvError`] if the sender was dropped
/// without sending (or the receiver was [closed](Receiver::close) before a value arrived).
/// Once it has returned `Ready`, polling it again returns `Err(RecvError)`.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

/// The shared allocation; the module docs explain which flag guards which cell.
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are accessed only under the state-word protocol (module docs), which makes
// every access exclusive or read-only-shared. A value of type `T` crosses threads (sent on one,
// received or dropped on another), hence `T: Send`; `&T` is never shared, so `T: Sync` is not
// needed. Wakers are `Send + Sync`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; `&Inner` gives access to the cells only through that protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The error of awaiting a [`Receiver`]: the sender was dropped without sending a value, or
/// the receiver was closed before one arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

/// The error of [`Receiver::try_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; the sender is still alive and may send one.
    Empty,
    /// No value will ever arrive: the sender was dropped without sending, the receiver was
    /// closed, or the value was already received.
    Closed,
}

/// The error types, also under the path Tokio users expect (`oneshot::error::RecvError`).
pub mod error {
    pub use super::{RecvError, TryRecvError};
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "oneshot channel closed without a value (the sender was dropped without sending)",
        )
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot channel empty: no value sent yet"),
            TryRecvError::Closed => {
                f.write_str("oneshot channel closed: no value was sent, or it was already taken")
            }
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Inner<T> {
    fn load(&self) -> usize {
        self.state.load(Acquire)
    }

    /// Stores `waker` in the waker cell guarded by `flag`, unless `done` is (or becomes) set.
    /// Returns `true` when `done` is set: the caller must not wait.
    ///
    /// # Safety
    /// Only the side that owns the cell calls this, with exclusive access to its handle: the
    /// receiver with (`rx_waker`, `RX_WAKER`, `COMPLETE`), the sender with (`tx_waker`,
    /// `TX_WAKER`, `CLOSED`). `done` is the flag only the *other* side sets.
    unsafe fn register(
        &self,
        cell: &UnsafeCell<Option<Waker>>,
        flag: usize,
        done: usize,
        waker: &Waker,
    ) -> bool {
        let mut state = self.load();
        if state & done != 0 {
            return true;
        }
        if state & flag != 0 {
            // SAFETY: with `flag` set the cell is read-only for both sides, and only we could
            // write it; a shared read is fine.
            let same = cell.with(|w| unsafe { (*w).as_ref() }.is_some_and(|w| w.will_wake(waker)));
            if same {
                return false;
            }
            // Take the cell back; fails once `done` is set, because the other side may then be
            // reading it.
            loop {
                if state & done != 0 {
                    return true;
                }
                match self
                    .state
                    .compare_exchange(state, state & !flag, AcqRel, Acquire)
                {
                    Ok(_) => break,
                    Err(actual) => state = actual,
                }
            }
        }
        // SAFETY: `flag` is unset, so the other side does not touch the cell, and we are the
        // only thread acting for our side.
        cell.with_mut(|w| unsafe { *w = Some(waker.clone()) });
        let prev = self.state.fetch_or(flag, AcqRel);
        // If `done` got set before our flag, the other side did not see the waker: do not wait.
        // (The waker stays in the cell and is dropped with the channel; `flag` stays set, and
        // the cell is read-only from here on, which is harmless.)
        prev & done != 0
    }

    /// Wakes the waker in `cell`.
    ///
    /// # Safety
    /// The caller is the side that does not own `cell`, and it set its own flag (`COMPLETE` for
    /// the sender, `CLOSED` for the receiver) with a read-modify-write whose previous value had
    /// the cell's flag set: the owner never writes the cell again, so it is read-only.
    unsafe fn wake(cell: &UnsafeCell<Option<Waker>>) {
        cell.with(|w| {
            // SAFETY: forwarded contract: the owning side no longer writes the cell.
            if let Some(w) = unsafe { (*w).as_ref() } {
                crate::util::wake_by_ref(w);
            }
        });
    }

    /// The receiver takes the value after seeing `COMPLETE`.
    ///
    /// # Safety
    /// Called only by the receiver (exclusive access to it), after an `Acquire` load that saw
    /// `COMPLETE`.
    unsafe fn take_value(&self) -> Option<T> {
        // SAFETY: after `COMPLETE` the sender never touches the value again; the receiver is the
        // only other party.
        self.value.with_mut(|v| unsafe { (*v).take() })
    }
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_deref()
            .expect("oneshot Sender used after send (inner is only taken by send(self))")
    }

    /// Sends `value`, completing the channel; never waits.
    ///
    /// Returns `Err(value)` if the receiver was dropped or [closed](Receiver::close) first.
    /// `Ok` means the value is now in the channel; the receiver may still drop it without
    /// receiving it.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("oneshot Sender without its channel");
        // SAFETY: `COMPLETE` is unset (only this sender sets it, and `send` consumes the
        // sender), so the sender owns the value cell.
        inner.value.with_mut(|v| unsafe { *v = Some(value) });

        let mut state = inner.load();
        loop {
            if state & CLOSED != 0 {
                // The receiver is gone or closed; it will never read the cell. Take the value
                // back. `COMPLETE` stays unset, which is fine: `inner` is dropped below and the
                // receiver, if still alive, sees `CLOSED` and returns an error.
                // SAFETY: `COMPLETE` is still unset, so the cell is still ours.
                let value = inner.value.with_mut(|v| unsafe { (*v).take() });
                return Err(value.expect("the value we just wrote"));
            }
            match inner
                .state
                .compare_exchange(state, state | COMPLETE, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_WAKER != 0 {
            // SAFETY: we set `COMPLETE` with `RX_WAKER` set, so the receiver's cell is
            // read-only from now on.
            unsafe { Inner::<T>::wake(&inner.rx_waker) };
        }
        Ok(())
    }

    /// True once the receiver was dropped or [closed](Receiver::close): a
    /// [`send`](Self::send) would fail.
    pub fn is_closed(&self) -> bool {
        self.inner().load() & CLOSED != 0
    }

    /// Waits until the receiver is dropped or [closed](Receiver::close), e.g. to stop computing
    /// a value nobody wants.
    ///
    /// ```
    /// use rawrt::sync::oneshot;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (mut tx, rx) = oneshot::channel::<()>();
    ///     let watcher = rawrt::spawn(async move {
    ///         tx.closed().await;
    ///         assert!(tx.is_closed());
    ///     });
    ///     drop(rx);
    ///     watcher.await.unwrap();
    /// });
    /// ```
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver's going away; `Ready` once it was dropped or closed. Only the
    /// waker of the most recent call is woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = self.inner();
        // SAFETY: we are the sender (`&mut self`), the owner of `tx_waker`; `CLOSED` is set only
        // by the receiver.
        let closed = unsafe { inner.register(&inner.tx_waker, TX_WAKER, CLOSED, cx.waker()) };
        if closed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return; // `send` handed the value over (or returned it) already.
        };
        // Dropped without sending: complete with an empty cell.
        let prev = inner.state.fetch_or(COMPLETE, AcqRel);
        if prev & RX_WAKER != 0 && prev & CLOSED == 0 {
            // SAFETY: we set `COMPLETE` with `RX_WAKER` set: the cell is read-only from now on.
            // (A closed receiver does not wait, so it is not woken.)
            unsafe { Inner::<T>::wake(&inner.rx_waker) };
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived, without waiting.
    ///
    /// - `Ok(value)`: the value, which is now taken (a later call returns `Closed`);
    /// - `Err(TryRecvError::Empty)`: the sender is alive and has not sent yet;
    /// - `Err(TryRecvError::Closed)`: no value will arrive (sender dropped, receiver closed,
    ///   or the value was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.inner.load();
        if state & COMPLETE != 0 {
            // SAFETY: we are the receiver (`&mut self`) and saw `COMPLETE` with `Acquire`.
            unsafe { self.inner.take_value() }.ok_or(TryRecvError::Closed)
        } else if state & CLOSED != 0 {
            // Closed before the sender completed: `send` will fail, no value can arrive.
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Waits for the value on a thread outside the runtime, blocking it until the sender sends
    /// or is dropped; the result is the same as awaiting the receiver.
    ///
    /// # Panics
    /// On a thread that drives a runtime (a worker, or inside `block_on`): blocking there
    /// would stall that thread's tasks, as in Tokio. Threads of `spawn_blocking` and plain
    /// threads may call it.
    ///
    /// ```
    /// use rawrt::sync::oneshot;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// let (tx, rx) = oneshot::channel();
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// rt.block_on(async move {
    ///     rawrt::spawn(async move { tx.send(5).unwrap() }).await.unwrap();
    /// });
    /// assert_eq!(waiter.join().unwrap(), Ok(5));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::blocking::block_thread_on("oneshot::Receiver::blocking_recv", self)
    }

    /// Closes the channel without dropping the receiver: a later [`Sender::send`] fails and
    /// returns its value, and [`Sender::closed`] resolves. A value sent before the close can
    /// still be received with [`try_recv`](Self::try_recv) or by awaiting the receiver.
    pub fn close(&mut self) {
        let prev = self.inner.state.fetch_or(CLOSED, AcqRel);
        if prev & TX_WAKER != 0 && prev & (CLOSED | COMPLETE) == 0 {
            // SAFETY: we set `CLOSED` with `TX_WAKER` set: the sender's cell is read-only from
            // now on. (A completed sender is gone and does not wait; a second close already
            // woke it.)
            unsafe { Inner::<T>::wake(&self.inner.tx_waker) };
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_value(cx))
    }
}

impl<T> Receiver<T> {
    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let this = self;
        let inner = &*this.inner;
        let state = inner.load();
        if state & COMPLETE == 0 {
            if state & CLOSED != 0 {
                return Poll::Ready(Err(RecvError(())));
            }
            // SAFETY: we are the receiver (`&mut self`), the owner of `rx_waker`; `COMPLETE` is
            // set only by the sender.
            let complete =
                unsafe { inner.register(&inner.rx_waker, RX_WAKER, COMPLETE, cx.waker()) };
            if !complete {
                return Poll::Pending;
            }
        }
        // `register` returned `true` or the load saw `COMPLETE`, each with `Acquire`.
        // SAFETY: we are the receiver and `COMPLETE` was observed.
        Poll::Ready(unsafe { inner.take_value() }.ok_or(RecvError(())))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A value already sent stays in the cell and is dropped with the allocation, by the
        // last `Arc` owner.
        self.close();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.as_deref().map_or(COMPLETE, Inner::load);
        f.debug_struct("oneshot::Sender")
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.load();
        f.debug_struct("oneshot::Receiver")
            .field("complete", &(state & COMPLETE != 0))
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

#[cfg(all(test, loom))]
#[path = "loom_oneshot.rs"]
mod loom_tests;
