//! A bounded multi-producer, single-consumer channel.
//!
//! [`channel`]`(capacity)` returns a cloneable [`Sender`] and a [`Receiver`]. At most
//! `capacity` values are buffered; [`Sender::send`] waits for room (backpressure) and
//! [`Sender::try_send`] fails with [`TrySendError::Full`] instead.
//!
//! ## Design: one mutex
//!
//! All shared state — the buffer, the free capacity, the sender count, the closed flag, the
//! receiver's waker and the queues of waiting senders — lives in one `Mutex` in one `Arc`.
//! This is deliberate: the invariants below span several fields (a permit moves from the free
//! count to a waiter while its waker is taken; closing must fail every later send and wake
//! every waiter at once), and under one lock each of them holds between statements, with no
//! lock-free reasoning to get wrong. Critical sections are a few field updates; wakers are
//! woken and values and wakers dropped only *after* the lock is released, so that user code
//! (a `Drop` impl, a waker) never runs under the lock and can safely use the channel itself.
//! A lock-free queue with an atomic semaphore (Tokio's design) is faster under contention and
//! can replace this without changing the API.
//!
//! ## Permits
//!
//! Capacity is accounted for in *permits*. `permits` counts free slots that nobody has been
//! promised; the invariant is
//!
//! > `permits` + values in the buffer + permits granted to waiters (not yet used) = `capacity`,
//!
//! and `permits > 0` only while no sender waits (a freed slot goes to the first waiter before
//! it goes back to the pool). A sending future:
//!
//! 1. takes a permit if one is free (and no one waits, which that implies), pushes its value and
//!    wakes the receiver; otherwise
//! 2. registers a waiter slot `Waiting(waker)` in a slab and its key at the back of a FIFO
//!    queue, and returns `Pending`.
//! 3. When the receiver pops a value it *releases* a permit: the first queued waiter's slot
//!    becomes `Granted` (the permit is now that future's) and its waker is woken; with no waiter
//!    the permit goes back to `permits`. Waiters are thus served strictly FIFO, and a sender
//!    arriving later cannot overtake a woken one with `try_send`.
//! 4. A woken future finds its slot `Granted`, frees it and pushes its value.
//!
//! Cancellation: dropping a send future while it waits removes its slot and its key from the
//! queue (so no stale entry is later picked and handed a wakeup nobody consumes); dropping it
//! after it was granted but before it used the permit releases that permit again (to the next
//! waiter or the pool). Either way no capacity is lost, and the value, still inside the future,
//! is dropped with it.
//!
//! ## Closing
//!
//! [`Receiver::close`] (and dropping the receiver) sets `rx_closed`, empties the waiter queue
//! and wakes every waiting sender and every [`Sender::closed`] future. Every path that would
//! push checks `rx_closed` under the lock first, so after the close nothing enters the buffer:
//! sends fail and return their value, while the values already buffered can still be
//! received. Dropping the receiver also drops those buffered values (each exactly once, after
//! the lock is released). When the last sender is dropped the receiver is woken; it drains
//! the buffer and then gets `None`.
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
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::lock;
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// Creates a bounded channel that buffers at most `capacity` values.
///
/// # Panics
/// If `capacity` is 0 (a rendezvous channel is not supported), with the message
/// "mpsc bounded channel requires capacity > 0".
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Arc::new(Chan {
        capacity,
        shared: Mutex::new(Shared {
            buffer: VecDeque::new(),
            permits: capacity,
            senders: 1,
            rx_closed: false,
            rx_waker: None,
            send_waiters: Slab::new(),
            send_queue: VecDeque::new(),
            closed_waiters: Slab::new(),
        }),
    });
    (Sender { chan: chan.clone() }, Receiver { chan })
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

struct Chan<T> {
    /// The bound, fixed at creation.
    capacity: usize,
    shared: Mutex<Shared<T>>,
}

/// Everything the module docs' invariants are about, under one lock.
struct Shared<T> {
    buffer: VecDeque<T>,
    /// Free slots promised to nobody (see the invariant in the module docs).
    permits: usize,
    /// Live `Sender` handles.
    senders: usize,
    /// The receiver was closed or dropped: nothing is pushed any more.
    rx_closed: bool,
    /// The waker of the receiver's last `Pending` poll.
    rx_waker: Option<Waker>,
    /// One slot per send future that waits or was granted a permit.
    send_waiters: Slab<SendWaiter>,
    /// Keys of the `Waiting` slots, oldest first.
    send_queue: VecDeque<usize>,
    /// One slot per pending `Sender::closed` future: its waker (taken when woken).
    closed_waiters: Slab<Option<Waker>>,
}

/// A send future's slot.
enum SendWaiter {
    /// Queued for a permit; the waker is taken when the channel closes.
    Waiting(Option<Waker>),
    /// A permit was handed to this future, which has not used it yet.
    Granted,
}

/// The error of [`Sender::send`]: the receiver was closed or dropped. It gives the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// The error of [`Sender::try_send`]. Both variants give the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is at capacity (or waiting senders are ahead of this one).
    Full(T),
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
    pub use super::{SendError, TryRecvError, TrySendError};
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
    /// A slot was freed (a value popped, or a granted permit dropped unused): hand it to the
    /// first waiter, or return it to the pool. Returns the waker to wake after unlocking.
    fn release_permit(&mut self) -> Option<Waker> {
        match self.send_queue.pop_front() {
            Some(key) => {
                let slot = self.send_waiters.get_mut(key);
                match std::mem::replace(slot, SendWaiter::Granted) {
                    SendWaiter::Waiting(waker) => waker,
                    SendWaiter::Granted => unreachable!("a granted waiter was still queued"),
                }
            }
            None => {
                self.permits += 1;
                None
            }
        }
    }

    /// Pushes a value for which a permit is held; returns the receiver's waker to wake.
    fn push(&mut self, value: T) -> Option<Waker> {
        debug_assert!(!self.rx_closed);
        self.buffer.push_back(value);
        self.rx_waker.take()
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
            if let SendWaiter::Waiting(waker) = self.send_waiters.get_mut(key) {
                wakers.extend(waker.take());
            }
        }
        wakers.extend(self.closed_waiters.iter_mut().filter_map(Option::take));
        wakers
    }
}

/// Stores `cx`'s waker in `slot` unless it is already there; returns the replaced waker, to be
/// dropped after the lock is released.
fn update_waker(slot: &mut Option<Waker>, cx: &Context<'_>) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => None,
        _ => slot.replace(cx.waker().clone()),
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
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            waiter: None,
        }
        .await
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
            shared.push(value)
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

    /// How many values can be sent right now without waiting: the free capacity not already
    /// promised to a waiting sender. A snapshot; between 0 and [`max_capacity`](Self::max_capacity).
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
        ClosedFuture {
            chan: &self.chan,
            key: None,
        }
        .await
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        lock(&self.chan.shared).senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let rx_waker = {
            let mut shared = lock(&self.chan.shared);
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
}

/// The future inside [`Sender::send`]; `waiter` is its slot while it waits or holds a permit.
struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    /// `None` once sent or returned in an error.
    value: Option<T>,
    waiter: Option<usize>,
}

/// What a send poll does once it has looked at the channel.
enum Step {
    /// The receiver is closed: return the value in an error.
    Fail,
    /// A permit is held: push the value.
    Push,
    /// Queued (or still queued) for a permit.
    Wait,
}

// The value is moved out, never pinned, and `chan` is a reference: nothing is self-referential.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_send(cx))
    }
}

impl<T> SendFuture<'_, T> {
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self;
        let mut stale = None;
        let mut rx_waker = None;
        let poll = {
            let mut shared = lock(&this.chan.shared);
            let step = if shared.rx_closed {
                if let Some(key) = this.waiter.take() {
                    // `close` emptied the queue; a granted permit is moot now.
                    if let SendWaiter::Waiting(waker) = shared.send_waiters.remove(key) {
                        stale = waker;
                    }
                }
                Step::Fail
            } else {
                match this.waiter {
                    None if shared.permits > 0 => {
                        shared.permits -= 1;
                        Step::Push
                    }
                    None => {
                        let key = shared
                            .send_waiters
                            .insert(SendWaiter::Waiting(Some(cx.waker().clone())));
                        shared.send_queue.push_back(key);
                        this.waiter = Some(key);
                        Step::Wait
                    }
                    Some(key) => match shared.send_waiters.get_mut(key) {
                        SendWaiter::Waiting(waker) => {
                            stale = update_waker(waker, cx);
                            Step::Wait
                        }
                        SendWaiter::Granted => {
                            shared.send_waiters.remove(key);
                            this.waiter = None;
                            Step::Push
                        }
                    },
                }
            };
            match step {
                Step::Fail => {
                    let value = this
                        .value
                        .take()
                        .expect("send future polled after completion");
                    Poll::Ready(Err(SendError(value)))
                }
                Step::Push => {
                    let value = this
                        .value
                        .take()
                        .expect("send future polled after completion");
                    rx_waker = shared.push(value);
                    Poll::Ready(Ok(()))
                }
                Step::Wait => Poll::Pending,
            }
        };
        drop(stale);
        if let Some(w) = rx_waker {
            crate::util::wake(w);
        }
        poll
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.waiter.take() else {
            return; // Never queued, or already done.
        };
        let (slot, next) = {
            let mut shared = lock(&self.chan.shared);
            let slot = shared.send_waiters.remove(key);
            let next = match slot {
                SendWaiter::Waiting(_) => {
                    // Leave the queue, so that no permit is ever handed to this dead future.
                    if let Some(pos) = shared.send_queue.iter().position(|&k| k == key) {
                        shared.send_queue.remove(pos);
                    }
                    None
                }
                // Granted but unused: pass the permit on.
                SendWaiter::Granted => shared.release_permit(),
            };
            (slot, next)
        };
        drop(slot);
        if let Some(w) = next {
            crate::util::wake(w);
        }
        // `self.value`, if still here, is dropped with the future: it was never sent.
    }
}

/// The future inside [`Sender::closed`]; `key` is its waker slot once registered.
struct ClosedFuture<'a, T> {
    chan: &'a Chan<T>,
    key: Option<usize>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let chan = self.chan;
        let (poll, stale) = {
            let mut shared = lock(&chan.shared);
            if shared.rx_closed {
                let stale = self.key.take().map(|key| shared.closed_waiters.remove(key));
                (Poll::Ready(()), stale.flatten())
            } else {
                match self.key {
                    Some(key) => {
                        let stale = update_waker(shared.closed_waiters.get_mut(key), cx);
                        (Poll::Pending, stale)
                    }
                    None => {
                        let key = shared.closed_waiters.insert(Some(cx.waker().clone()));
                        self.key = Some(key);
                        (Poll::Pending, None)
                    }
                }
            }
        };
        drop(stale);
        poll
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let waker = lock(&self.chan.shared).closed_waiters.remove(key);
            drop(waker);
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the buffer is empty.
    ///
    /// Returns `None` once the buffer is empty and no value can arrive any more: every
    /// sender was dropped, or the receiver was [closed](Self::close).
    ///
    /// Cancel safety: dropping the future before it completes loses no value.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
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
                let wake = shared.release_permit();
                (Poll::Ready(Some(value)), wake, None)
            } else if shared.rx_closed || shared.senders == 0 {
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

    /// Takes the next value if one is buffered, without waiting.
    ///
    /// Fails with [`TryRecvError::Empty`] if the buffer is empty but values may still come,
    /// and with [`TryRecvError::Disconnected`] if it is empty for good.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let (result, wake) = {
            let mut shared = lock(&self.chan.shared);
            if let Some(value) = shared.buffer.pop_front() {
                (Ok(value), shared.release_permit())
            } else if shared.rx_closed || shared.senders == 0 {
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

    /// Closes the channel for sending, without dropping the receiver: every later send fails
    /// and returns its value, waiting senders are woken and fail, and [`Sender::closed`]
    /// resolves. Values already buffered can still be received; after them
    /// [`recv`](Self::recv) returns `None`.
    pub fn close(&mut self) {
        let wakers = lock(&self.chan.shared).close();
        for w in wakers {
            crate::util::wake(w);
        }
    }

    /// True once the receiver was [closed](Self::close) or every sender was dropped: no
    /// new value can enter the buffer (buffered ones can still be received).
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
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (wakers, buffer, rx_waker) = {
            let mut shared = lock(&self.chan.shared);
            let wakers = shared.close();
            // Dropping the buffered values frees their slots; nobody may send any more, so
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
        for w in wakers {
            crate::util::wake(w);
        }
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
