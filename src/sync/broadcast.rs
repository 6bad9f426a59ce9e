//! A multi-producer, multi-consumer channel where every receiver gets every value.
//!
//! [`channel`]`(capacity)` returns a cloneable [`Sender`] and a [`Receiver`]; more receivers
//! come from [`Sender::subscribe`]. Each value sent is delivered, as a clone, to every receiver
//! that existed when it was sent. The channel keeps at most `capacity` values: a send never
//! waits, and when the buffer is full it evicts the oldest value. A receiver that had not
//! received an evicted value is *lagging*: its next receive returns
//! [`RecvError::Lagged`]`(n)`, `n` being how many values it missed, and then continues with
//! the oldest value still kept.
//!
//! ## Design: one mutex, one `Arc` per value
//!
//! A `Mutex` guards a `VecDeque` of slots, the absolute position of its first slot, the
//! sender and receiver counts and the receivers' waiter slab. Positions count every value
//! ever sent (`u64`); a receiver holds the position of the next value it wants, so "lagging"
//! is `position < first kept position`, and the number missed is the difference.
//!
//! Each slot holds its value as `Arc<Mutex<T>>` and the number of receivers that still have
//! to receive it. A receive takes, under the channel lock, a clone of the `Arc` and decrements
//! the count; it clones the value *after* releasing the channel lock (under the value's own
//! mutex, which only receivers of that same value contend for), so a user's `Clone` impl
//! never runs under the channel lock. The receiver that brings a count to zero removes the
//! slot; if it then holds the last `Arc` it moves the value out instead of cloning it. Values
//! are therefore dropped as soon as every receiver has them (or was dropped), or when they are
//! evicted — and always outside the channel lock.
//!
//! Fully received slots always form a prefix of the buffer (a receiver counted in a slot is
//! counted in every later one), so removing them from the front keeps positions contiguous.
//! A dropped receiver gives up its share of every slot it had not received.
//!
//! A receive that finds nothing registers its waker in the slab under the lock; a send (and
//! the last sender's drop) takes every registered waker in the same critical section that
//! publishes the value, and wakes them after unlocking. A `recv()` future that is dropped
//! frees its slot and has not moved the receiver's position, so no value is lost.
//!
//! Tokio rounds the capacity up to a power of two; rawrt keeps exactly `capacity` values.
//!
//! ```
//! use rawrt::sync::broadcast;
//!
//! let rt = rawrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     let a = rawrt::spawn(async move { (rx1.recv().await, rx1.recv().await) });
//!     let b = rawrt::spawn(async move { (rx2.recv().await, rx2.recv().await) });
//!     tx.send("one").unwrap();
//!     tx.send("two").unwrap();
//!     assert_eq!(a.await.unwrap(), (Ok("one"), Ok("two")));
//!     assert_eq!(b.await.unwrap(), (Ok("one"), Ok("two")));
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};

use super::waiters::{last_one_gone, take_all, ClosedState, ClosedWaiter, WaiterKey, Wakers};
use crate::loom::lock;
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// The error types, under the path Tokio users expect (`broadcast::error::RecvError`).
pub mod error {
    use std::fmt;

    /// The error of [`Sender::send`](super::Sender::send): there is no receiver. It gives the
    /// value back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broadcast channel has no receiver")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// The error of [`Receiver::recv`](super::Receiver::recv).
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender was dropped and this receiver has received every value kept.
        Closed,
        /// This receiver fell behind: this many values were evicted before it received them.
        /// The next receive returns the oldest value still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("broadcast channel closed"),
                RecvError::Lagged(n) => write!(f, "broadcast receiver lagged by {n} values"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// Nothing to receive now; senders are alive.
        Empty,
        /// Every sender was dropped and this receiver has received every value kept.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("broadcast channel empty"),
                TryRecvError::Closed => f.write_str("broadcast channel closed"),
                TryRecvError::Lagged(n) => write!(f, "broadcast receiver lagged by {n} values"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

/// Creates a broadcast channel that keeps at most `capacity` values.
///
/// # Panics
/// If `capacity` is 0, or greater than `usize::MAX / 2`.
///
/// ```
/// use rawrt::sync::broadcast::{self, error::RecvError};
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..5 {
///         tx.send(i).unwrap();
///     }
///     // Only the last two are kept: three were missed.
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3)));
///     assert_eq!(rx.recv().await, Ok(3));
///     assert_eq!(rx.recv().await, Ok(4));
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// });
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

/// The sending half of a [`broadcast`](self) channel. Clone it for more senders.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a [`broadcast`](self) channel.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next value this receiver wants.
    next: u64,
}

struct Shared<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Values not yet received by everyone, oldest first, at most `capacity`.
    slots: VecDeque<Slot<T>>,
    /// Position of `slots[0]` (equivalently: values sent and since removed).
    head: u64,
    senders: usize,
    weak_senders: usize,
    receivers: usize,
    /// One slot per pending `recv()` future: its waker, taken by a send or the last sender.
    rx_waiters: Wakers,
    /// One slot per pending `Sender::closed()` future.
    closed_waiters: Wakers,
}

impl<T> ClosedState for State<T> {
    fn is_closed(&self) -> bool {
        self.receivers == 0
    }
    fn closed_waiters(&mut self) -> &mut Wakers {
        &mut self.closed_waiters
    }
}

struct Slot<T> {
    value: Arc<Mutex<T>>,
    /// Receivers that still have to receive this value.
    remaining: usize,
}

impl<T> State<T> {
    /// Position the next send gets.
    fn tail(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// Gives up one receiver's share of the slot at `pos`; returns the value handle, and
    /// whether this was the last share (the slot is then removed).
    fn take_share(&mut self, pos: u64) -> (Arc<Mutex<T>>, bool) {
        let index = (pos - self.head) as usize;
        let slot = &mut self.slots[index];
        slot.remaining -= 1;
        if slot.remaining == 0 {
            debug_assert_eq!(index, 0, "fully received slots form a prefix");
            let slot = self.slots.pop_front().expect("the slot just found");
            self.head += 1;
            (slot.value, true)
        } else {
            (slot.value.clone(), false)
        }
    }
}

/// What a receive found under the lock.
enum Found<T> {
    Value(Arc<Mutex<T>>, bool),
    Lagged(u64),
    Closed,
    Empty,
}

impl<T> Sender<T> {
    /// Creates a channel that keeps at most `capacity` values, with no receiver yet (get one
    /// with [`subscribe`](Self::subscribe)).
    ///
    /// # Panics
    /// If `capacity` is 0, or greater than `usize::MAX / 2`.
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX / 2,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        Sender {
            shared: Arc::new(Shared {
                capacity,
                state: Mutex::new(State {
                    slots: VecDeque::new(),
                    head: 0,
                    senders: 1,
                    weak_senders: 0,
                    receivers: 0,
                    rx_waiters: Slab::new(),
                    closed_waiters: Slab::new(),
                }),
            }),
        }
    }

    /// Sends `value` to every current receiver; never waits. Returns how many receivers it
    /// was sent to.
    ///
    /// Fails, giving the value back, when there is no receiver. When the channel already
    /// keeps `capacity` values the oldest is evicted (receivers that had not received it will
    /// get [`RecvError::Lagged`]).
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (receivers, evicted, wakers) = {
            let mut state = lock(&self.shared.state);
            if state.receivers == 0 {
                return Err(SendError(value));
            }
            let evicted = if state.slots.len() == self.shared.capacity {
                state.head += 1;
                state.slots.pop_front()
            } else {
                None
            };
            let remaining = state.receivers;
            state.slots.push_back(Slot {
                value: Arc::new(Mutex::new(value)),
                remaining,
            });
            let wakers = take_all(&mut state.rx_waiters);
            (remaining, evicted, wakers)
        };
        drop(evicted);
        crate::util::wake_all(wakers);
        Ok(receivers)
    }

    /// A new receiver, which receives the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }

    /// The number of values kept: sent, and not yet received by every receiver that existed
    /// when it was sent (nor evicted).
    pub fn len(&self) -> usize {
        lock(&self.shared.state).slots.len()
    }

    /// True if no value is kept (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        lock(&self.shared.state).weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// The number of live senders (strong ones: this one and its clones).
    pub fn strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of live [`WeakSender`]s.
    pub fn weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }

    /// Waits until there is no receiver. Cancel safe.
    ///
    /// ```
    /// use rawrt::sync::broadcast;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = broadcast::channel::<u8>(4);
    ///     rawrt::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert_eq!(tx.receiver_count(), 0);
    /// });
    /// ```
    pub async fn closed(&self) {
        let mut waiter = ClosedWaiter::new(&self.shared.state);
        poll_fn(|cx| coop::poll_budgeted(cx, |cx| waiter.poll_closed(cx))).await
    }
}

fn subscribe<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let next = {
        let mut state = lock(&shared.state);
        state.receivers += 1;
        state.tail()
    };
    Receiver {
        shared: shared.clone(),
        next,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        lock(&self.shared.state).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let wakers = {
            let mut state = lock(&self.shared.state);
            let state = &mut *state;
            // Waiting receivers must see the channel closed (after draining).
            last_one_gone(&mut state.senders, &mut state.rx_waiters)
        };
        crate::util::wake_all(wakers);
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], if one is still alive (the channel is open); `None` otherwise.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut state = lock(&self.shared.state);
        if state.senders == 0 {
            return None;
        }
        state.senders += 1;
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// The number of live (strong) senders.
    pub fn strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of live weak senders.
    pub fn weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        lock(&self.shared.state).weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        lock(&self.shared.state).weak_senders -= 1;
    }
}

/// Looks for the next value for the receiver at `*next`, under the lock; with a waiter,
/// registers `cx`'s waker in the waiter's slot when there is none and senders are alive, and
/// frees the slot otherwise.
fn find<T>(
    shared: &Shared<T>,
    next: &mut u64,
    waiter: Option<(&mut WaiterKey, &Context<'_>)>,
) -> Found<T> {
    let mut stale = None;
    let found = {
        let mut state = lock(&shared.state);
        let found = if *next < state.head {
            let missed = state.head - *next;
            *next = state.head;
            Found::Lagged(missed)
        } else if *next < state.tail() {
            let (value, last) = state.take_share(*next);
            *next += 1;
            Found::Value(value, last)
        } else if state.senders == 0 {
            Found::Closed
        } else {
            Found::Empty
        };
        if let Some((key, cx)) = waiter {
            stale = match found {
                Found::Empty => key.wait(&mut state.rx_waiters, cx),
                _ => key.release(&mut state.rx_waiters),
            };
        }
        found
    };
    drop(stale);
    found
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel, which receives the values sent from now on (not
    /// the ones this receiver has yet to receive).
    pub fn resubscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// How many values this receiver has yet to receive, counting those already evicted
    /// (so it can exceed the capacity, and then the next receive reports a lag).
    pub fn len(&self) -> usize {
        let tail = lock(&self.shared.state).tail();
        (tail - self.next) as usize
    }

    /// True if this receiver has nothing to receive (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once every sender was dropped (values may still be left to receive).
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).senders == 0
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of live (strong) senders.
    pub fn sender_strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of live weak senders.
    pub fn sender_weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }
}

/// Turns a value handle into a value: moved out if this receiver holds the last handle,
/// cloned otherwise. Runs outside the channel lock.
fn into_value<T: Clone>(value: Arc<Mutex<T>>, last: bool) -> T {
    if last {
        match Arc::try_unwrap(value) {
            Ok(mutex) => {
                return mutex
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }
            Err(shared) => return lock(&*shared).clone(),
        }
    }
    let v = lock(&*value).clone();
    v
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting while there is none.
    ///
    /// - `Ok(value)`: a clone of the next value (or the value itself, for the last receiver
    ///   to take it);
    /// - `Err(RecvError::Lagged(n))`: `n` values were evicted before this receiver got them;
    ///   the next call returns the oldest value kept;
    /// - `Err(RecvError::Closed)`: every sender is gone and everything kept was received.
    ///
    /// Cancel safe: a `recv()` dropped before completing has taken no value.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        let mut waiter = RecvWaiter {
            shared: &self.shared,
            key: WaiterKey::new(),
        };
        poll_fn(|cx| {
            coop::poll_budgeted(cx, |cx| {
                match find(&self.shared, &mut self.next, Some((&mut waiter.key, cx))) {
                    Found::Value(value, last) => Poll::Ready(Ok(into_value(value, last))),
                    Found::Lagged(n) => Poll::Ready(Err(RecvError::Lagged(n))),
                    Found::Closed => Poll::Ready(Err(RecvError::Closed)),
                    Found::Empty => Poll::Pending,
                }
            })
        })
        .await
    }

    /// Receives the next value if there is one, without waiting; the errors are as
    /// [`recv`](Self::recv)'s, plus [`TryRecvError::Empty`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match find(&self.shared, &mut self.next, None) {
            Found::Value(value, last) => Ok(into_value(value, last)),
            Found::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Found::Closed => Err(TryRecvError::Closed),
            Found::Empty => Err(TryRecvError::Empty),
        }
    }

    /// Receives the next value, blocking this thread while there is none; for code outside
    /// async tasks.
    ///
    /// # Panics
    /// When called on a thread that drives a runtime (a worker, or inside `block_on`): it would
    /// block the tasks that thread runs. (Threads of `spawn_blocking` may call it.)
    ///
    /// ```
    /// use rawrt::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(1);
    /// let t = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(10).unwrap();
    /// assert_eq!(t.join().unwrap(), Ok(10));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        super::blocking::block_thread_on("broadcast::Receiver::blocking_recv", self.recv())
    }
}

/// A `recv()` future's waiter slot, freed when the future is dropped.
struct RecvWaiter<'a, T> {
    shared: &'a Shared<T>,
    key: WaiterKey,
}

impl<T> Drop for RecvWaiter<'_, T> {
    fn drop(&mut self) {
        if self.key.is_registered() {
            let waker = self.key.release(&mut lock(&self.shared.state).rx_waiters);
            drop(waker);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (released, wakers) = {
            let mut state = lock(&self.shared.state);
            state.receivers -= 1;
            // Give up this receiver's share of every value it had not received.
            let start = self.next.max(state.head);
            let mut released = Vec::new();
            for pos in start..state.tail() {
                let index = (pos - state.head) as usize;
                state.slots[index].remaining -= 1;
            }
            while state.slots.front().is_some_and(|s| s.remaining == 0) {
                released.extend(state.slots.pop_front());
                state.head += 1;
            }
            let wakers = if state.receivers == 0 {
                take_all(&mut state.closed_waiters)
            } else {
                Vec::new()
            };
            (released, wakers)
        };
        drop(released);
        crate::util::wake_all(wakers);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("broadcast::Sender")
            .field("capacity", &self.shared.capacity)
            .field("len", &state.slots.len())
            .field("receivers", &state.receivers)
            .finish()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::WeakSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// Counts live instances (clones included).
    struct Tracked {
        id: u32,
        live: std::sync::Arc<AtomicUsize>,
    }
    impl Tracked {
        fn new(id: u32, live: &std::sync::Arc<AtomicUsize>) -> Tracked {
            live.fetch_add(1, SeqCst);
            Tracked {
                id,
                live: live.clone(),
            }
        }
    }
    impl Clone for Tracked {
        fn clone(&self) -> Tracked {
            Tracked::new(self.id, &self.live)
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.live.fetch_sub(1, SeqCst);
        }
    }

    #[test]
    fn lagged_counts_exactly_then_the_kept_values() {
        let (tx, mut rx) = channel(2);
        for i in 0..5 {
            assert_eq!(tx.send(i), Ok(1));
        }
        assert_eq!(rx.len(), 5);
        assert_eq!(tx.len(), 2);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
        assert_eq!(rx.try_recv(), Ok(3));
        assert_eq!(rx.try_recv(), Ok(4));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert!(tx.is_empty());
    }

    #[test]
    fn values_are_dropped_once_every_receiver_has_them() {
        let live = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, mut a) = channel(4);
        let mut b = tx.subscribe();
        tx.send(Tracked::new(1, &live)).unwrap();
        tx.send(Tracked::new(2, &live)).unwrap();
        assert_eq!(live.load(SeqCst), 2);
        let a1 = a.try_recv().unwrap();
        assert_eq!(a1.id, 1);
        // `a` holds a clone; the channel still keeps the original for `b`.
        assert_eq!(live.load(SeqCst), 3);
        drop(a1);
        let b1 = b.try_recv().unwrap();
        assert_eq!(b1.id, 1);
        // `b` was the last: it got the kept value itself; the channel keeps only value 2.
        assert_eq!(live.load(SeqCst), 2);
        assert_eq!(tx.len(), 1);
        drop(b1);
        // Dropping `b` gives up its share of value 2; `a` still needs it.
        drop(b);
        assert_eq!(live.load(SeqCst), 1);
        assert_eq!(a.try_recv().unwrap().id, 2);
        assert_eq!(live.load(SeqCst), 0);
        assert!(tx.is_empty());
    }

    #[test]
    fn evicted_and_abandoned_values_are_dropped() {
        let live = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel(1);
        tx.send(Tracked::new(1, &live)).unwrap();
        tx.send(Tracked::new(2, &live)).unwrap();
        assert_eq!(live.load(SeqCst), 1, "the evicted value was dropped");
        drop(rx);
        assert_eq!(live.load(SeqCst), 0, "nobody can receive it any more");
        assert!(tx.send(Tracked::new(3, &live)).is_err());
        assert_eq!(live.load(SeqCst), 0);
    }

    #[test]
    fn resubscribe_starts_at_the_tail() {
        let (tx, mut rx) = channel(8);
        tx.send(1).unwrap();
        let mut rx2 = rx.resubscribe();
        assert!(rx2.is_empty());
        tx.send(2).unwrap();
        assert_eq!(rx2.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(rx.same_channel(&rx2));
    }

    #[test]
    fn closed_only_after_draining() {
        let (tx, mut rx) = channel(4);
        let weak = tx.downgrade();
        tx.send(1).unwrap();
        drop(tx);
        assert!(weak.upgrade().is_none());
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    struct NoWake;
    impl std::task::Wake for NoWake {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    #[test]
    fn a_dropped_recv_takes_no_value() {
        let (tx, mut rx) = channel(4);
        let waker = std::task::Waker::from(std::sync::Arc::new(NoWake));
        let mut cx = Context::from_waker(&waker);
        {
            let mut fut = pin!(rx.recv());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            tx.send(5).unwrap();
        }
        assert_eq!(rx.try_recv(), Ok(5));
        assert_eq!(lock(&tx.shared.state).rx_waiters.iter_mut().count(), 0);
    }

    #[test]
    #[should_panic(expected = "broadcast channel capacity cannot be zero")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }

    #[test]
    #[should_panic(expected = "usize::MAX / 2")]
    fn huge_capacity_panics() {
        let _ = channel::<u8>(usize::MAX / 2 + 1);
    }
}

/// Loom models: a send racing a receiver's registration (no lost wakeup), and sends (with an
/// eviction) racing a receiver's drop (each value dropped exactly once, `len` consistent).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;
    use crate::task_core::loom_support::{counting_waker, poll_once};

    #[test]
    fn send_racing_recv_poll() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>(2);
            let sender = thread::spawn(move || {
                assert_eq!(tx.send(1), Ok(1));
            });
            let (wakes, waker) = counting_waker();
            let mut recv = Box::pin(rx.recv());
            let first = poll_once(&mut recv, &waker);
            sender.join().unwrap();
            match first {
                Poll::Ready(v) => assert_eq!(v, Ok(1)),
                Poll::Pending => {
                    assert!(wakes.wakes() >= 1, "a pending receiver is woken");
                    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Ok(1)));
                }
            }
        });
    }

    #[test]
    fn sends_racing_a_receiver_drop() {
        loom::model(|| {
            let token = Arc::new(());
            let (tx, mut rx1) = channel::<Arc<()>>(1);
            let rx2 = tx.subscribe();
            let sender = {
                let token = token.clone();
                thread::spawn(move || {
                    // The second send evicts the first.
                    tx.send(token.clone()).unwrap();
                    tx.send(token).unwrap();
                })
            };
            drop(rx2);
            sender.join().unwrap();
            // `rx1` lagged by one, then gets the kept value.
            assert_eq!(rx1.try_recv().err(), Some(TryRecvError::Lagged(1)));
            assert!(rx1.try_recv().is_ok());
            assert_eq!(rx1.try_recv().err(), Some(TryRecvError::Closed));
            assert_eq!(lock(&rx1.shared.state).slots.len(), 0);
            drop(rx1);
            assert_eq!(Arc::strong_count(&token), 1, "every copy was dropped");
        });
    }
}
