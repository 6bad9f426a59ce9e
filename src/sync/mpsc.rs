//! Multi-producer, single-consumer channels: bounded ([`channel`]) and unbounded
//! ([`unbounded_channel`]).
//!
//! [`channel`]`(capacity)` returns a cloneable [`Sender`] and a [`Receiver`]. At most
//! `capacity` values are buffered; [`Sender::send`] waits for room (backpressure) and
//! [`Sender::try_send`] fails with [`TrySendError::Full`] instead. Room can also be reserved
//! ahead of the value: [`Sender::reserve`] waits for a slot and returns a [`Permit`] whose
//! [`send`](Permit::send) cannot fail or wait. [`unbounded_channel`] returns an
//! [`UnboundedSender`], whose `send` never waits (the buffer grows as needed), and an
//! [`UnboundedReceiver`]. Senders can be [downgraded](Sender::downgrade) to weak senders,
//! which do not keep the channel open. The `blocking_*` methods are for threads outside the
//! runtime.
//!
//! ## Design: one mutex
//!
//! All shared state — the buffer, the free capacity, the sender counts, the closed flags, the
//! receiver's waker and the queues of waiting senders — lives in one `Mutex` in one `Arc`.
//! This is deliberate: the invariants below span several fields (a permit moves from the free
//! count to a waiter while its waker is taken; closing must fail every later send and wake
//! every waiter at once), and under one lock each of them holds between statements, with no
//! lock-free reasoning to get wrong. Critical sections are a few field updates; wakers are
//! woken and values and wakers dropped only *after* the lock is released, so that user code
//! (a `Drop` impl, a waker) never runs under the lock and can safely use the channel itself.
//! A lock-free queue with an atomic semaphore (Tokio's design) is faster under contention and
//! can replace this without changing the API. The unbounded channel is the same structure
//! with the permit accounting switched off.
//!
//! ## Permits
//!
//! Capacity is accounted for in *permits*. `permits` counts free slots that nobody has been
//! promised; the invariant is
//!
//! > `permits` + values in the buffer + permits granted to waiters (not yet taken) +
//! > permits held by [`Permit`]s (`outstanding`) = `capacity`,
//!
//! and `permits > 0` only while no sender waits (a freed slot goes to the first waiter before
//! it goes back to the pool). A reserving future (inside [`Sender::send`],
//! [`Sender::reserve`], [`Sender::reserve_many`], ...) that needs `n` permits:
//!
//! 1. takes them if they are free (and no one waits, which that implies); otherwise
//! 2. takes the free ones it can, registers a waiter slot `Waiting { waker, missing }` in a
//!    slab and its key at the back of a FIFO queue, and returns `Pending`.
//! 3. When the receiver pops a value it *releases* a permit: it goes to the first queued
//!    waiter, and when that waiter is missing none any more its slot becomes `Granted` (the
//!    permits are now that future's), it leaves the queue and its waker is woken. With no
//!    waiter the permit goes back to `permits`. Waiters are thus served strictly FIFO, and a
//!    sender arriving later cannot overtake a woken one with `try_send`.
//! 4. A woken future finds its slot `Granted`, frees it and holds the permits (as
//!    `outstanding`) until it pushes its value, or, for `reserve`, until the [`Permit`] is used
//!    or dropped.
//!
//! Cancellation: dropping a reserving future while it waits removes its slot and its key from
//! the queue (so no stale entry is later picked and handed a wakeup nobody consumes) and
//! releases the permits it had gathered; dropping it after it was granted but before it took
//! the permits releases them again (to the next waiter or the pool). A dropped [`Permit`]
//! releases its slot the same way. Either way no capacity is lost, and the value of a `send`,
//! still inside the future, is dropped with it.
//!
//! ## Closing
//!
//! [`Receiver::close`] (and dropping the receiver) sets `rx_closed`, empties the waiter queue
//! and wakes every waiting sender and every [`Sender::closed`] future. Every path that would
//! reserve checks `rx_closed` under the lock first, so after the close no new value is
//! accepted: sends fail and return their value, while the values already buffered can still
//! be received — and, as in Tokio, permits reserved before the close can still be used, so
//! `recv` returns `None` only once the buffer is empty and no permit is outstanding. Dropping
//! the receiver drops the buffered values (each exactly once, after the lock is released);
//! a permit used after that drops its value at once. When the last (strong) sender is dropped
//! the receiver is woken; it drains the buffer and then gets `None`.
//!
//! ## Blocking calls
//!
//! [`Sender::blocking_send`], [`Receiver::blocking_recv`] and their relatives park the calling
//! thread until the operation completes. Called on a thread that drives a runtime (a worker,
//! or inside `block_on`) they panic instead, as in Tokio: blocking there would stall the
//! tasks of that thread, possibly the very task that should wake it. rawrt checks the
//! runtime's "this thread drives a runtime" mark, so `spawn_blocking` threads and threads that
//! only [entered](crate::Runtime::enter) a runtime may block.
//!
//! ```
//! use rawrt::sync::mpsc;
//!
//! let rt = rawrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = mpsc::channel(4);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         rawrt::spawn(async move {
//!             for i in 0..10 {
//!                 // Waits while 4 values are buffered.
//!                 tx.send((id, i)).await.unwrap();
//!             }
//!         });
//!     }
//!     drop(tx);
//!     let mut received = 0;
//!     while let Some((_id, _i)) = rx.recv().await {
//!         received += 1;
//!     }
//!     // `recv` returns `None` once every sender is gone and the buffer is drained.
//!     assert_eq!(received, 30);
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::waiters::{take_all, update_waker, ClosedState, ClosedWaiter, Wakers};
use crate::loom::lock;
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// Creates a bounded channel that buffers at most `capacity` values.
///
/// # Panics
/// If `capacity` is 0 (a rendezvous channel is not supported), with the message
/// "mpsc bounded channel requires buffer > 0".
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires buffer > 0");
    let chan = new_chan(capacity, false);
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: [`UnboundedSender::send`] never waits, and the buffer grows
/// as needed (memory is the only bound; a slow receiver lets it grow without limit).
///
/// ```
/// use rawrt::sync::mpsc;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap(); // never waits
///     }
///     drop(tx);
///     let mut all = Vec::new();
///     while rx.recv_many(&mut all, 100).await > 0 {}
///     assert_eq!(all, (0..1000).collect::<Vec<_>>());
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = new_chan(usize::MAX, true);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver {
            inner: Receiver { chan },
        },
    )
}

fn new_chan<T>(capacity: usize, unbounded: bool) -> Arc<Chan<T>> {
    Arc::new(Chan {
        capacity,
        shared: Mutex::new(Shared {
            buffer: VecDeque::new(),
            unbounded,
            permits: capacity,
            outstanding: 0,
            senders: 1,
            weak_senders: 0,
            rx_closed: false,
            rx_dropped: false,
            rx_waker: None,
            send_waiters: Slab::new(),
            send_queue: VecDeque::new(),
            closed_waiters: Slab::new(),
        }),
    })
}

/// The sending half of a bounded [`mpsc`](self) channel. Clone it for more producers; the
/// channel stays open for the receiver until every clone is dropped.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded [`mpsc`](self) channel.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half of an unbounded [`mpsc`](self) channel, from [`unbounded_channel`].
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of an unbounded [`mpsc`](self) channel, from [`unbounded_channel`].
pub struct UnboundedReceiver<T> {
    inner: Receiver<T>,
}

/// A [`Sender`] that does not keep the channel open: once every `Sender` is gone the
/// receiver sees the channel closed, and [`upgrade`](WeakSender::upgrade) returns `None`.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// An [`UnboundedSender`] that does not keep the channel open; see [`WeakSender`].
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// One reserved slot of a bounded channel, from [`Sender::reserve`] or
/// [`Sender::try_reserve`]: [`send`](Permit::send) uses it and cannot fail or wait; dropping it
/// unused gives the slot back.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// As [`Permit`], holding the [`Sender`] instead of borrowing it (from
/// [`Sender::reserve_owned`]); [`send`](OwnedPermit::send) gives the sender back.
pub struct OwnedPermit<T> {
    /// `None` once used or released.
    sender: Option<Sender<T>>,
}

/// Several reserved slots, from [`Sender::reserve_many`]: an iterator of [`Permit`]s. The
/// permits it has not yielded are given back when it is dropped.
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    left: usize,
}

struct Chan<T> {
    /// The bound, fixed at creation (`usize::MAX` for an unbounded channel).
    capacity: usize,
    shared: Mutex<Shared<T>>,
}

/// Everything the module docs' invariants are about, under one lock.
struct Shared<T> {
    buffer: VecDeque<T>,
    /// No permit accounting: an unbounded channel.
    unbounded: bool,
    /// Free slots promised to nobody (see the invariant in the module docs).
    permits: usize,
    /// Permits held by `Permit`s, `OwnedPermit`s, `PermitIterator`s and send futures between
    /// taking a permit and pushing.
    outstanding: usize,
    /// Live strong senders (`Sender` or `UnboundedSender`).
    senders: usize,
    /// Live weak senders.
    weak_senders: usize,
    /// The receiver was closed or dropped: nothing new is accepted any more.
    rx_closed: bool,
    /// The receiver was dropped: values pushed with an outstanding permit are dropped.
    rx_dropped: bool,
    /// The waker of the receiver's last `Pending` poll.
    rx_waker: Option<Waker>,
    /// One slot per reserving future that waits or was granted its permits.
    send_waiters: Slab<SendWaiter>,
    /// Keys of the `Waiting` slots, oldest first.
    send_queue: VecDeque<usize>,
    /// One slot per pending `closed()` future: its waker (taken when woken).
    closed_waiters: Wakers,
}

/// A reserving future's slot.
enum SendWaiter {
    /// Queued; `missing` permits to go, `got` gathered so far. The waker is taken when the
    /// permits are complete or the channel closes.
    Waiting {
        waker: Option<Waker>,
        missing: usize,
        got: usize,
    },
    /// This many permits were handed to the future, which has not taken them yet.
    Granted(usize),
}

/// The error of [`Sender::send`] (and of the reserving calls, with `T = ()`): the receiver
/// was closed or dropped. It gives the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// The error of [`Sender::try_send`] and the `try_reserve` calls. Both variants give the
/// value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is at capacity (or waiting senders are ahead of this one).
    Full(T),
    /// The receiver was closed or dropped.
    Closed(T),
}

/// The error of [`Sender::send_timeout`]. Both variants give the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// No capacity became free before the timeout.
    Timeout(T),
    /// The receiver was closed or dropped.
    Closed(T),
}

/// The error of [`Receiver::try_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// The buffer is empty, but a sender is alive and the receiver is open.
    Empty,
    /// The buffer is empty and will stay so: every sender was dropped, or the receiver was
    /// closed.
    Disconnected,
}

/// The error types, also under the path Tokio users expect (`mpsc::error::SendError`).
pub mod error {
    pub use super::{SendError, SendTimeoutError, TryRecvError, TrySendError};
}

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// True for [`TrySendError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// True for [`TrySendError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(e.0)
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }

    /// True for [`SendTimeoutError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// True for [`SendTimeoutError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

// `Debug` does not require `T: Debug`, so that `send(..).await.unwrap()` works for any `T`.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpsc channel closed: the receiver was closed or dropped")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("mpsc channel full: no capacity available"),
            TrySendError::Closed(_) => {
                f.write_str("mpsc channel closed: the receiver was closed or dropped")
            }
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => {
                f.write_str("mpsc send timed out: no capacity became available in time")
            }
            SendTimeoutError::Closed(_) => {
                f.write_str("mpsc channel closed: the receiver was closed or dropped")
            }
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("mpsc channel empty"),
            TryRecvError::Disconnected => {
                f.write_str("mpsc channel empty and closed: no value will arrive")
            }
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Shared<T> {
    /// A slot was freed (a value popped, or a held permit given back): hand it to the first
    /// waiter, or return it to the pool. Returns the waker to wake after unlocking (only when
    /// the first waiter now has all the permits it needs).
    fn release_permit(&mut self) -> Option<Waker> {
        if self.unbounded {
            return None;
        }
        let Some(&key) = self.send_queue.front() else {
            self.permits += 1;
            return None;
        };
        let slot = self.send_waiters.get_mut(key);
        match slot {
            SendWaiter::Waiting {
                waker,
                missing,
                got,
            } => {
                *missing -= 1;
                *got += 1;
                if *missing > 0 {
                    return None;
                }
                let waker = waker.take();
                *slot = SendWaiter::Granted(*got);
                self.send_queue.pop_front();
                waker
            }
            SendWaiter::Granted(_) => unreachable!("a granted waiter was still queued"),
        }
    }

    /// Gives back `n` held permits; returns the wakers to wake.
    fn release_held(&mut self, n: usize) -> Vec<Waker> {
        self.outstanding -= n;
        let mut wakers: Vec<Waker> = (0..n).filter_map(|_| self.release_permit()).collect();
        wakers.extend(self.rx_waker_if_finished());
        wakers
    }

    /// After a permit was given back or used: if the receiver was closed, the buffer is empty
    /// and no permit is left, the receiver must learn that the channel is done.
    fn rx_waker_if_finished(&mut self) -> Option<Waker> {
        if self.rx_closed && self.outstanding == 0 && self.buffer.is_empty() {
            self.rx_waker.take()
        } else {
            None
        }
    }

    /// Pushes a value for which a permit is held (or any value, unbounded); returns the
    /// receiver's waker to wake, or the value back if the receiver is gone (to be dropped
    /// after unlocking).
    fn push(&mut self, value: T) -> Result<Option<Waker>, T> {
        if self.rx_dropped {
            return Err(value);
        }
        self.buffer.push_back(value);
        Ok(self.rx_waker.take())
    }

    /// True when the receiver will get nothing more than what is buffered.
    fn finished(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.outstanding == 0)
    }

    /// Closes the channel for sending; returns every waker to wake (waiting senders and
    /// `closed()` futures). Idempotent.
    fn close(&mut self) -> Vec<Waker> {
        if self.rx_closed {
            return Vec::new();
        }
        self.rx_closed = true;
        let mut wakers = Vec::new();
        // Waiting senders will see `rx_closed` and fail; they no longer queue for a permit.
        for key in std::mem::take(&mut self.send_queue) {
            if let SendWaiter::Waiting { waker, .. } = self.send_waiters.get_mut(key) {
                wakers.extend(waker.take());
            }
        }
        wakers.extend(take_all(&mut self.closed_waiters));
        wakers
    }
}

impl<T> ClosedState for Shared<T> {
    fn is_closed(&self) -> bool {
        self.rx_closed
    }
    fn closed_waiters(&mut self) -> &mut Wakers {
        &mut self.closed_waiters
    }
}

impl<T> Chan<T> {
    /// Pushes `value` with a held permit (which is used up); the value is dropped if the
    /// receiver is gone.
    fn send_with_permit(&self, value: T) {
        let (wake, dropped) = {
            let mut shared = lock(&self.shared);
            shared.outstanding -= 1;
            match shared.push(value) {
                Ok(w) => (w, None),
                Err(v) => (None, Some(v)),
            }
        };
        drop(dropped);
        if let Some(w) = wake {
            crate::util::wake(w);
        }
    }

    /// Gives back `n` held permits.
    fn release_held(&self, n: usize) {
        let wakers = lock(&self.shared).release_held(n);
        crate::util::wake_all(wakers);
    }

    /// Takes `n` permits if they are free now.
    fn try_acquire(&self, n: usize) -> Result<(), TrySendError<()>> {
        let mut shared = lock(&self.shared);
        if shared.rx_closed {
            return Err(TrySendError::Closed(()));
        }
        if shared.permits < n {
            return Err(TrySendError::Full(()));
        }
        shared.permits -= n;
        shared.outstanding += n;
        Ok(())
    }

    /// Waits for `n` permits (see the module docs); they are `outstanding` once it returns Ok.
    async fn acquire(&self, n: usize) -> Result<(), SendError<()>> {
        if n > self.capacity {
            return Err(SendError(()));
        }
        let mut acquire = Acquire {
            chan: self,
            n,
            waiter: None,
        };
        poll_fn(|cx| coop::poll_budgeted(cx, |cx| acquire.poll_acquire(cx))).await
    }

    fn add_sender(&self) {
        lock(&self.shared).senders += 1;
    }

    fn drop_sender(&self) {
        let rx_waker = {
            let mut shared = lock(&self.shared);
            shared.senders -= 1;
            if shared.senders == 0 {
                // The receiver must see `None` once it has drained the buffer.
                shared.rx_waker.take()
            } else {
                None
            }
        };
        if let Some(w) = rx_waker {
            crate::util::wake(w);
        }
    }

    /// A strong sender from a weak one, if a strong one is still alive.
    fn upgrade(&self) -> bool {
        let mut shared = lock(&self.shared);
        if shared.senders == 0 {
            return false;
        }
        shared.senders += 1;
        true
    }

    fn counts(&self) -> (usize, usize) {
        let shared = lock(&self.shared);
        (shared.senders, shared.weak_senders)
    }

    async fn closed(&self) {
        let mut waiter = ClosedWaiter::new(&self.shared);
        poll_fn(|cx| waiter.poll_closed(cx)).await
    }
}

/// The permit-gathering state of a reserving future; its `Drop` gives back whatever it holds.
struct Acquire<'a, T> {
    chan: &'a Chan<T>,
    n: usize,
    waiter: Option<usize>,
}

impl<T> Acquire<'_, T> {
    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<()>>> {
        let mut stale = None;
        let poll = {
            let mut shared = lock(&self.chan.shared);
            if shared.rx_closed {
                if let Some(key) = self.waiter.take() {
                    // `close` emptied the queue; gathered or granted permits are moot now.
                    if let SendWaiter::Waiting { waker, .. } = shared.send_waiters.remove(key) {
                        stale = waker;
                    }
                }
                Poll::Ready(Err(SendError(())))
            } else {
                match self.waiter {
                    None => {
                        let take = shared.permits.min(self.n);
                        shared.permits -= take;
                        if take == self.n {
                            shared.outstanding += take;
                            Poll::Ready(Ok(()))
                        } else {
                            let key = shared.send_waiters.insert(SendWaiter::Waiting {
                                waker: Some(cx.waker().clone()),
                                missing: self.n - take,
                                got: take,
                            });
                            shared.send_queue.push_back(key);
                            self.waiter = Some(key);
                            Poll::Pending
                        }
                    }
                    Some(key) => match shared.send_waiters.get_mut(key) {
                        SendWaiter::Waiting { waker, .. } => {
                            stale = update_waker(waker, cx);
                            Poll::Pending
                        }
                        SendWaiter::Granted(n) => {
                            let n = *n;
                            shared.send_waiters.remove(key);
                            self.waiter = None;
                            shared.outstanding += n;
                            Poll::Ready(Ok(()))
                        }
                    },
                }
            }
        };
        drop(stale);
        poll
    }
}

impl<T> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.waiter.take() else {
            return; // Never queued, or done.
        };
        let (slot, wakers) = {
            let mut shared = lock(&self.chan.shared);
            let slot = shared.send_waiters.remove(key);
            let gathered = match &slot {
                SendWaiter::Waiting { got, .. } => {
                    // Leave the queue, so that no permit is ever handed to this dead future.
                    if let Some(pos) = shared.send_queue.iter().position(|&k| k == key) {
                        shared.send_queue.remove(pos);
                    }
                    *got
                }
                SendWaiter::Granted(n) => *n,
            };
            // Pass the permits on (they were never outstanding: `release_held` with none).
            shared.outstanding += gathered;
            (slot, shared.release_held(gathered))
        };
        drop(slot);
        crate::util::wake_all(wakers);
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for capacity while the buffer is full.
    ///
    /// Waiting senders are served in FIFO order. Returns `Err(SendError(value))` if the
    /// receiver is closed or dropped (before or while waiting).
    ///
    /// Cancel safety: dropping the future before it completes drops `value` (it was not sent)
    /// and gives up its place in the queue; no capacity is lost.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is free capacity right now, without waiting.
    ///
    /// Fails with [`TrySendError::Full`] when the buffer is at capacity (or earlier senders
    /// wait for room, which come first), and with [`TrySendError::Closed`] when the receiver is
    /// closed or dropped; both give the value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let rx_waker = {
            let mut shared = lock(&self.chan.shared);
            if shared.rx_closed {
                return Err(TrySendError::Closed(value));
            }
            if shared.permits == 0 {
                return Err(TrySendError::Full(value));
            }
            shared.permits -= 1;
            match shared.push(value) {
                Ok(w) => w,
                Err(_) => unreachable!("a dropped receiver closes the channel"),
            }
        };
        if let Some(w) = rx_waker {
            crate::util::wake(w);
        }
        Ok(())
    }

    /// Sends `value`, waiting at most `timeout` for capacity. The timer is rawrt's
    /// ([`crate::time`]), so this must run inside a runtime.
    ///
    /// Fails with [`SendTimeoutError::Timeout`] when no capacity became free in time, and with
    /// [`SendTimeoutError::Closed`] when the receiver is closed or dropped; both give the
    /// value back. Cancel safe as [`send`](Self::send).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, _rx) = mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     let err = tx.send_timeout(2, Duration::from_millis(10)).await.unwrap_err();
    ///     assert!(err.is_timeout());
    ///     assert_eq!(err.into_inner(), 2);
    /// });
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match crate::time::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(_)) => Err(SendTimeoutError::Closed(value)),
            Err(_) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Sends `value` from a thread outside the runtime, blocking it while the buffer is full.
    ///
    /// # Panics
    /// On a thread that drives a runtime (see "Blocking calls" in the module docs).
    ///
    /// ```
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.blocking_send(i).unwrap();
    ///     }
    /// });
    /// rt.block_on(async {
    ///     for i in 0..3 {
    ///         assert_eq!(rx.recv().await, Some(i));
    ///     }
    /// });
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        super::blocking::block_thread_on("mpsc::Sender::blocking_send", self.send(value))
    }

    /// Waits for a free slot and reserves it: the returned [`Permit`] sends one value without
    /// waiting or failing. Dropping the permit unused gives the slot back.
    ///
    /// Fails with `SendError(())` when the receiver is closed or dropped. Cancel safe: a
    /// dropped `reserve()` gives up its place in the queue and holds no slot.
    ///
    /// ```
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     // The only slot is reserved.
    ///     assert!(tx.try_send(1).unwrap_err().is_full());
    ///     permit.send(2);
    ///     assert_eq!(rx.recv().await, Some(2));
    /// });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.chan.acquire(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` free slots and reserves them all at once, as a [`PermitIterator`].
    /// Waiters are served in FIFO order, so a large request is not overtaken by later small
    /// ones (and holds the slots it gathered while it waits).
    ///
    /// Fails with `SendError(())` when the receiver is closed or dropped, or when `n` exceeds
    /// [`max_capacity`](Self::max_capacity). `n == 0` returns an empty iterator. Cancel safe as
    /// [`reserve`](Self::reserve).
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        self.chan.acquire(n).await?;
        Ok(PermitIterator {
            chan: &self.chan,
            left: n,
        })
    }

    /// As [`reserve`](Self::reserve), consuming the sender: the [`OwnedPermit`] holds it (and
    /// gives it back when used), so it can be moved into another task.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.chan.acquire(1).await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Reserves a slot if one is free right now; fails with [`TrySendError::Full`] or
    /// [`TrySendError::Closed`] otherwise.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.chan.try_acquire(1)?;
        Ok(Permit { chan: &self.chan })
    }

    /// Reserves `n` slots if they are all free right now; fails with [`TrySendError::Full`]
    /// (also when `n` exceeds the capacity) or [`TrySendError::Closed`] otherwise.
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.chan.try_acquire(n)?;
        Ok(PermitIterator {
            chan: &self.chan,
            left: n,
        })
    }

    /// As [`try_reserve`](Self::try_reserve), consuming the sender; the error gives it back.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.chan.try_acquire(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// True once the receiver was closed or dropped: sends fail.
    pub fn is_closed(&self) -> bool {
        lock(&self.chan.shared).rx_closed
    }

    /// How many values can be sent right now without waiting: the free capacity not already
    /// promised to a waiting sender or held by a permit. A snapshot; between 0 and
    /// [`max_capacity`](Self::max_capacity).
    pub fn capacity(&self) -> usize {
        lock(&self.chan.shared).permits
    }

    /// The channel's bound, as given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        lock(&self.chan.shared).weak_senders += 1;
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// The number of live senders (strong: this one and its clones).
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// The number of live [`WeakSender`]s.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }

    /// Waits until the receiver is closed or dropped.
    ///
    /// ```
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = mpsc::channel::<u8>(1);
    ///     let watcher = rawrt::spawn(async move {
    ///         tx.closed().await;
    ///         assert!(tx.try_send(1).unwrap_err().is_closed());
    ///     });
    ///     drop(rx);
    ///     watcher.await.unwrap();
    /// });
    /// ```
    pub async fn closed(&self) {
        self.chan.closed().await
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], if one is still alive (otherwise the channel is closed for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().then(|| Sender {
            chan: self.chan.clone(),
        })
    }

    /// The number of live strong senders.
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// The number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        lock(&self.chan.shared).weak_senders += 1;
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        lock(&self.chan.shared).weak_senders -= 1;
    }
}

impl<'a, T> Permit<'a, T> {
    /// Sends `value` in the reserved slot; never waits or fails. If the receiver was dropped
    /// meanwhile, the value is dropped (after a [`Receiver::close`] it is still delivered).
    pub fn send(self, value: T) {
        let chan = self.chan;
        // The permit is used up here rather than given back by `Drop`.
        std::mem::forget(self);
        chan.send_with_permit(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_held(1);
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` in the reserved slot (never waits or fails, see [`Permit::send`]) and
    /// gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused OwnedPermit holds its sender");
        sender.chan.send_with_permit(value);
        sender
    }

    /// Gives the slot back unused, and the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused OwnedPermit holds its sender");
        sender.chan.release_held(1);
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.release_held(1);
        }
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.left > 0 {
            self.chan.release_held(self.left);
        }
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value`; never waits. Fails, giving the value back, once the receiver is closed
    /// or dropped.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let rx_waker = {
            let mut shared = lock(&self.chan.shared);
            if shared.rx_closed {
                return Err(SendError(value));
            }
            match shared.push(value) {
                Ok(w) => w,
                Err(_) => unreachable!("a dropped receiver closes the channel"),
            }
        };
        if let Some(w) = rx_waker {
            crate::util::wake(w);
        }
        Ok(())
    }

    /// True once the receiver was closed or dropped: sends fail.
    pub fn is_closed(&self) -> bool {
        lock(&self.chan.shared).rx_closed
    }

    /// Waits until the receiver is closed or dropped.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A [`WeakUnboundedSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        lock(&self.chan.shared).weak_senders += 1;
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// The number of live senders (strong: this one and its clones).
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// The number of live [`WeakUnboundedSender`]s.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`], if one is still alive.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().then(|| UnboundedSender {
            chan: self.chan.clone(),
        })
    }

    /// The number of live strong senders.
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// The number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> WeakUnboundedSender<T> {
        lock(&self.chan.shared).weak_senders += 1;
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        lock(&self.chan.shared).weak_senders -= 1;
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the buffer is empty.
    ///
    /// Returns `None` once the buffer is empty and no value can arrive any more: every
    /// sender was dropped, or the receiver was [closed](Self::close) (and no permit reserved
    /// before the close is still unused).
    ///
    /// Cancel safety: dropping the future before it completes loses no value.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives up to `limit` values, appending them to `buffer`, waiting while none is
    /// buffered; returns how many it appended.
    ///
    /// Returns 0 when `limit` is 0 (at once), or when the channel is empty and closed for good
    /// (as [`recv`](Self::recv) returns `None`). Cancel safe: values are taken only by the poll
    /// that returns `Ready`.
    ///
    /// ```
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(8);
    ///     for i in 0..5 {
    ///         tx.send(i).await.unwrap();
    ///     }
    ///     let mut got = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut got, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut got, 3).await, 2);
    ///     assert_eq!(got, [0, 1, 2, 3, 4]);
    /// });
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.poll_recv_many(cx, buffer, limit)).await
    }

    /// Polls for the next value: `Ready(Some(value))`, `Ready(None)` when the channel is empty
    /// and closed for good (see [`recv`](Self::recv)), or `Pending`, in which case `cx`'s waker
    /// is woken when a value arrives or the last sender goes away.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        coop::poll_budgeted(cx, |cx| self.poll_recv_unbudgeted(cx))
    }

    fn poll_recv_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (poll, wake, stale) = {
            let mut shared = lock(&self.chan.shared);
            if let Some(value) = shared.buffer.pop_front() {
                (Poll::Ready(Some(value)), shared.release_permit(), None)
            } else if shared.finished() {
                (Poll::Ready(None), None, None)
            } else {
                let stale = update_waker(&mut shared.rx_waker, cx);
                (Poll::Pending, None, stale)
            }
        };
        drop(stale);
        if let Some(w) = wake {
            crate::util::wake(w);
        }
        poll
    }

    /// Polls for up to `limit` values, as [`recv_many`](Self::recv_many).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        coop::poll_budgeted(cx, |cx| {
            let (poll, wakers, stale) = {
                let mut shared = lock(&self.chan.shared);
                let n = limit.min(shared.buffer.len());
                if n > 0 {
                    // Moving values into a `Vec` runs no user code.
                    buffer.extend(shared.buffer.drain(..n));
                    let wakers: Vec<Waker> =
                        (0..n).filter_map(|_| shared.release_permit()).collect();
                    (Poll::Ready(n), wakers, None)
                } else if shared.finished() {
                    (Poll::Ready(0), Vec::new(), None)
                } else {
                    let stale = update_waker(&mut shared.rx_waker, cx);
                    (Poll::Pending, Vec::new(), stale)
                }
            };
            drop(stale);
            crate::util::wake_all(wakers);
            poll
        })
    }

    /// Takes the next value if one is buffered, without waiting.
    ///
    /// Fails with [`TryRecvError::Empty`] if the buffer is empty but values may still come,
    /// and with [`TryRecvError::Disconnected`] if it is empty for good.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let (result, wake) = {
            let mut shared = lock(&self.chan.shared);
            if let Some(value) = shared.buffer.pop_front() {
                (Ok(value), shared.release_permit())
            } else if shared.finished() {
                (Err(TryRecvError::Disconnected), None)
            } else {
                (Err(TryRecvError::Empty), None)
            }
        };
        if let Some(w) = wake {
            crate::util::wake(w);
        }
        result
    }

    /// Receives the next value on a thread outside the runtime, blocking it while the buffer
    /// is empty; `None` as for [`recv`](Self::recv).
    ///
    /// # Panics
    /// On a thread that drives a runtime (see "Blocking calls" in the module docs).
    ///
    /// ```
    /// use rawrt::sync::mpsc;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// let (tx, mut rx) = mpsc::channel(4);
    /// let consumer = std::thread::spawn(move || {
    ///     let mut sum = 0;
    ///     while let Some(v) = rx.blocking_recv() {
    ///         sum += v;
    ///     }
    ///     sum
    /// });
    /// rt.block_on(async move {
    ///     for i in 1..=10 {
    ///         tx.send(i).await.unwrap();
    ///     }
    /// });
    /// assert_eq!(consumer.join().unwrap(), 55);
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        super::blocking::block_thread_on("mpsc::Receiver::blocking_recv", self.recv())
    }

    /// Closes the channel for sending, without dropping the receiver: every later send fails
    /// and returns its value, waiting senders are woken and fail, and [`Sender::closed`]
    /// resolves. Values already buffered can still be received, and permits reserved before
    /// the close can still send; after them [`recv`](Self::recv) returns `None`.
    pub fn close(&mut self) {
        let wakers = lock(&self.chan.shared).close();
        crate::util::wake_all(wakers);
    }

    /// True once the receiver was [closed](Self::close) or every sender was dropped: no
    /// new value can be sent (buffered ones can still be received).
    pub fn is_closed(&self) -> bool {
        let shared = lock(&self.chan.shared);
        shared.rx_closed || shared.senders == 0
    }

    /// Number of values in the buffer.
    pub fn len(&self) -> usize {
        lock(&self.chan.shared).buffer.len()
    }

    /// True if the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel's bound, as given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity
    }

    /// How many values can be sent right now without waiting; see [`Sender::capacity`].
    pub fn capacity(&self) -> usize {
        lock(&self.chan.shared).permits
    }

    /// The number of live strong senders.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// The number of live weak senders.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.counts().1
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (wakers, buffer, rx_waker) = {
            let mut shared = lock(&self.chan.shared);
            let wakers = shared.close();
            shared.rx_dropped = true;
            // Dropping the buffered values frees their slots; nobody may reserve any more, so
            // the permits need no releasing.
            (
                wakers,
                std::mem::take(&mut shared.buffer),
                shared.rx_waker.take(),
            )
        };
        // User code (the values' destructors, wakers) runs outside the lock.
        drop(buffer);
        drop(rx_waker);
        crate::util::wake_all(wakers);
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting while the buffer is empty; `None` once it is empty and
    /// every sender was dropped (or the receiver was [closed](Self::close)). Cancel safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.inner.recv().await
    }

    /// Receives up to `limit` values into `buffer`; see [`Receiver::recv_many`].
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.inner.recv_many(buffer, limit).await
    }

    /// Takes the next value if one is buffered; see [`Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Polls for the next value; see [`Receiver::poll_recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }

    /// Polls for up to `limit` values; see [`Receiver::recv_many`].
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.inner.poll_recv_many(cx, buffer, limit)
    }

    /// Receives the next value, blocking this thread; see [`Receiver::blocking_recv`].
    ///
    /// # Panics
    /// On a thread that drives a runtime (see "Blocking calls" in the module docs).
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        super::blocking::block_thread_on(
            "mpsc::UnboundedReceiver::blocking_recv",
            self.inner.recv(),
        )
    }

    /// Closes the channel for sending, keeping the buffered values receivable; see
    /// [`Receiver::close`].
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// True once the receiver was closed or every sender was dropped.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Number of values in the buffer.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True if the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The number of live strong senders.
    pub fn sender_strong_count(&self) -> usize {
        self.inner.sender_strong_count()
    }

    /// The number of live weak senders.
    pub fn sender_weak_count(&self) -> usize {
        self.inner.sender_weak_count()
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = lock(&self.chan.shared);
        f.debug_struct("mpsc::Sender")
            .field("capacity", &shared.permits)
            .field("max_capacity", &self.chan.capacity)
            .field("closed", &shared.rx_closed)
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = lock(&self.chan.shared);
        f.debug_struct("mpsc::Receiver")
            .field("len", &shared.buffer.len())
            .field("max_capacity", &self.chan.capacity)
            .field("senders", &shared.senders)
            .field("closed", &shared.rx_closed)
            .finish()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = lock(&self.inner.chan.shared);
        f.debug_struct("mpsc::UnboundedReceiver")
            .field("len", &shared.buffer.len())
            .field("senders", &shared.senders)
            .field("closed", &shared.rx_closed)
            .finish()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::PermitIterator")
            .field("left", &self.left)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::task::Wake;

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn counting_waker() -> (std::sync::Arc<CountWakes>, Waker) {
        let count = std::sync::Arc::new(CountWakes(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// The invariant of the module docs, for a channel with no waiter.
    fn assert_accounted<T>(tx: &Sender<T>) {
        let shared = lock(&tx.chan.shared);
        assert!(shared.send_queue.is_empty());
        assert_eq!(
            shared.permits + shared.buffer.len() + shared.outstanding,
            tx.chan.capacity
        );
    }

    #[test]
    fn permits_reserve_capacity_and_a_dropped_permit_gives_it_back() {
        let (tx, mut rx) = channel::<u32>(2);
        let p1 = tx.try_reserve().unwrap();
        let p2 = tx.try_reserve().unwrap();
        assert_eq!(tx.capacity(), 0);
        assert!(tx.try_send(9).unwrap_err().is_full());
        assert!(tx.try_reserve().unwrap_err().is_full());
        drop(p1);
        assert_eq!(tx.capacity(), 1);
        p2.send(1);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.capacity(), 2);
        assert_accounted(&tx);
    }

    #[test]
    fn a_dropped_permit_goes_to_the_waiting_sender() {
        let (tx, _rx) = channel::<u32>(1);
        let permit = tx.try_reserve().unwrap();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut send = Box::pin(tx.send(5));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        drop(permit);
        assert_eq!(count.0.load(SeqCst), 1);
        assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        drop(send);
        assert_eq!(tx.capacity(), 0);
        assert_accounted(&tx);
    }

    #[test]
    fn reserve_many_gathers_in_fifo_order_and_cancelling_returns_what_it_gathered() {
        let (tx, mut rx) = channel::<u32>(3);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        // Takes the one free slot and waits for two more.
        let mut many = Box::pin(tx.reserve_many(3));
        assert!(many.as_mut().poll(&mut cx).is_pending());
        assert_eq!(tx.capacity(), 0);
        // A later single send queues behind it.
        let mut one = Box::pin(tx.send(9));
        assert!(one.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(count.0.load(SeqCst), 0, "still missing one");
        // Cancelled: its two slots go on to the single sender.
        drop(many);
        assert_eq!(count.0.load(SeqCst), 1);
        assert_eq!(one.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        drop(one);
        assert_eq!(tx.capacity(), 1);
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(9));
        assert_accounted(&tx);

        // Enough room: three permits at once, two used, one given back by the iterator.
        let Poll::Ready(Ok(mut permits)) = Box::pin(tx.reserve_many(3)).as_mut().poll(&mut cx)
        else {
            panic!("three free slots");
        };
        assert_eq!(permits.len(), 3);
        permits.next().unwrap().send(10);
        permits.next().unwrap().send(11);
        drop(permits);
        assert_eq!(tx.capacity(), 1);
        assert_accounted(&tx);
        let mut all = Vec::new();
        let Poll::Ready(n) = rx.poll_recv_many(&mut cx, &mut all, 10) else {
            panic!("two buffered");
        };
        assert_eq!((n, all), (2, vec![10, 11]));
        assert!(matches!(
            Box::pin(tx.reserve_many(4)).as_mut().poll(&mut cx),
            Poll::Ready(Err(SendError(())))
        ));
    }

    #[test]
    fn permits_reserved_before_close_still_send() {
        let (tx, mut rx) = channel::<u32>(2);
        let permit = tx.try_reserve().unwrap();
        rx.close();
        assert!(tx.try_send(1).unwrap_err().is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        permit.send(7);
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn a_permit_used_after_the_receiver_dropped_drops_its_value() {
        let live = std::sync::Arc::new(());
        let (tx, rx) = channel(1);
        let permit = tx.try_reserve().unwrap();
        drop(rx);
        permit.send(live.clone());
        assert_eq!(std::sync::Arc::strong_count(&live), 1);
    }

    #[test]
    fn weak_senders_do_not_keep_the_channel_open() {
        let (tx, mut rx) = unbounded_channel::<u8>();
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        let tx2 = weak.upgrade().unwrap();
        assert_eq!(weak.strong_count(), 2);
        drop(tx);
        drop(tx2);
        assert!(weak.upgrade().is_none());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(rx.sender_weak_count(), 1);
    }

    #[test]
    fn owned_permit_gives_the_sender_back() {
        let (tx, mut rx) = channel::<u8>(1);
        let permit = tx.try_reserve_owned().unwrap();
        let tx = match permit.release().try_reserve_owned() {
            Ok(p) => p.send(3),
            Err(_) => panic!("the released slot is free again"),
        };
        let Err(TrySendError::Full(tx)) = tx.try_reserve_owned() else {
            panic!("the slot is used");
        };
        assert_eq!(rx.try_recv(), Ok(3));
        assert_accounted(&tx);
    }

    #[test]
    #[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }
}

/// Loom model: a permit given back on one thread while a `reserve` registers on another (the
/// slot is handed over, and the waiter woken, in every interleaving; no capacity is lost).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;
    use crate::task_core::loom_support::{counting_waker, poll_once};

    #[test]
    fn permit_drop_racing_reserve() {
        loom::model(|| {
            let (tx, _rx) = channel::<u8>(1);
            let owned = tx.clone().try_reserve_owned().unwrap();
            let releaser = thread::spawn(move || drop(owned));
            let (wakes, waker) = counting_waker();
            {
                let mut reserve = Box::pin(tx.reserve());
                let first = poll_once(&mut reserve, &waker);
                releaser.join().unwrap();
                let permit = match first {
                    Poll::Ready(p) => p,
                    Poll::Pending => {
                        assert_eq!(wakes.wakes(), 1, "the waiting reserve is woken");
                        match poll_once(&mut reserve, &waker) {
                            Poll::Ready(p) => p,
                            Poll::Pending => panic!("pending after the slot was given back"),
                        }
                    }
                };
                assert_eq!(tx.capacity(), 0);
                drop(permit.unwrap());
            }
            assert_eq!(tx.capacity(), 1, "no capacity lost");
        });
    }
}
