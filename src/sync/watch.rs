//! A single-value channel: receivers watch the latest value and are told when it changes.
//!
//! [`channel`]`(init)` returns a [`Sender`] and a [`Receiver`], both cloneable. The channel
//! holds exactly one value; sending replaces it. Receivers do not get every value: they get
//! the *newest* one, and a notification that it changed since they last looked. Several sends
//! between two [`Receiver::changed`] calls wake the receiver once, and it sees the latest value
//! (versions coalesce).
//!
//! ## Design: a lock for the value, a lock for the rest
//!
//! - The value sits in a `std::sync::RwLock`. [`Receiver::borrow`] returns a [`Ref`] that holds
//!   the read lock, so the value is read in place without a clone; a sender replacing the value
//!   takes the write lock. (As in Tokio, keep a `Ref` short: while it lives, sends wait.)
//! - Everything else — the version counter, the sender and receiver counts and the two waiter
//!   lists (`changed()` futures, `Sender::closed()` futures) — is under one `Mutex`.
//!
//! A send takes the write lock, replaces (or modifies) the value, then, *still holding the
//! write lock*, takes the state lock, bumps the version and takes every waiting receiver's
//! waker; it unlocks both and wakes them. Readers lock in the same order (value, then state),
//! so a reader that holds the read lock sees a version that matches the value it reads. Each
//! receiver remembers the version it last saw; "changed" means the channel's version differs.
//! A `changed()` future checks the version under the state lock and, when it must wait,
//! leaves its waker in a slot of the waiter slab in the same critical section: a send either
//! happened before (the version differs) or will find the waker. Cancelling it removes the
//! slot; the receiver's seen version moves only when the future returns `Ready`, so a dropped
//! `changed()` loses no change.
//!
//! Wakers are woken, and replaced ones dropped, after both locks are released. The user's
//! closures (`send_modify`, `wait_for`) run under the value lock only, never under the state
//! lock; a panic in them leaves the channel usable (the lock's poison flag is ignored) and,
//! for `send_modify`/`send_if_modified`, notifies nobody.
//!
//! ```
//! use rawrt::sync::watch;
//!
//! let rt = rawrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let task = rawrt::spawn(async move {
//!         // Wait until the state is the one we need.
//!         let state = rx.wait_for(|s| *s == "ready").await.unwrap();
//!         assert_eq!(*state, "ready");
//!     });
//!     tx.send("loading").unwrap();
//!     tx.send("ready").unwrap();
//!     task.await.unwrap();
//! });
//! ```

use std::fmt;
use std::future::poll_fn;
use std::ops::Deref;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll, Waker};

use super::waiters::{last_one_gone, take_all, ClosedState, ClosedWaiter, WaiterKey, Wakers};
use crate::loom::lock;
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// The error types, under the path Tokio users expect (`watch::error::SendError`).
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
            f.write_str("watch channel closed: every receiver was dropped")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// The error of [`Receiver::changed`](super::Receiver::changed) and its relatives: every
    /// sender was dropped.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch channel closed: every sender was dropped")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

/// Creates a watch channel holding `init`. The receiver considers `init` seen: its first
/// [`changed`](Receiver::changed) waits for a send.
///
/// ```
/// use rawrt::sync::watch;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = watch::channel(0);
///     for i in 1..=3 {
///         tx.send(i).unwrap();
///     }
///     // Three sends, one change: the receiver sees the latest value.
///     rx.changed().await.unwrap();
///     assert_eq!(*rx.borrow_and_update(), 3);
///     assert!(!rx.has_changed().unwrap());
/// });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: Mutex::new(State {
            version: 0,
            senders: 1,
            receivers: 1,
            rx_waiters: Slab::new(),
            closed_waiters: Slab::new(),
        }),
    });
    let rx = Receiver {
        shared: shared.clone(),
        version: 0,
    };
    (Sender { shared }, rx)
}

/// The sending half of a [`watch`](self) channel. Clone it for more senders; receivers see
/// the channel closed once every clone is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a [`watch`](self) channel. Each receiver remembers which version of
/// the value it has seen; a clone starts with the same seen version.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has marked seen.
    version: u64,
}

/// A borrow of the channel's value, from [`Receiver::borrow`] and friends. It holds a read
/// lock: sends wait while it lives, so drop it soon (it is not `Send`, so it cannot be held
/// across an `.await` in a spawned task anyway). As in Tokio, do not send, and do not borrow
/// again, on the thread that holds a `Ref`: with a send waiting for the lock, either would
/// deadlock.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

struct Shared<T> {
    value: RwLock<T>,
    state: Mutex<State>,
}

struct State {
    /// Bumped by every send that notifies. Wraps in theory; only equality is compared.
    version: u64,
    senders: usize,
    receivers: usize,
    /// One slot per pending `changed()`-style future: its waker, taken by a send.
    rx_waiters: Wakers,
    /// One slot per pending `Sender::closed()` future.
    closed_waiters: Wakers,
}

impl ClosedState for State {
    fn is_closed(&self) -> bool {
        self.receivers == 0
    }
    fn closed_waiters(&mut self) -> &mut Wakers {
        &mut self.closed_waiters
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> Ref<'_, T> {
    /// Whether the value changed since the receiver last marked it seen, as of this borrow.
    /// For [`Receiver::borrow`] the value stays unseen; for
    /// [`borrow_and_update`](Receiver::borrow_and_update) it is marked seen now, and this says
    /// whether it was new. Always `false` for [`Sender::borrow`].
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.value.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bumps the version and takes the waiting receivers' wakers. Called with the write lock
    /// held (see the module docs).
    fn bump_version(&self) -> Vec<Waker> {
        let mut state = lock(&self.state);
        state.version = state.version.wrapping_add(1);
        take_all(&mut state.rx_waiters)
    }
}

impl<T> Sender<T> {
    /// Creates a channel holding `init` with no receiver yet; get one with
    /// [`subscribe`](Self::subscribe). Until then [`send`](Self::send) fails, while
    /// [`send_replace`](Self::send_replace) and friends still update the value.
    pub fn new(init: T) -> Sender<T> {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Replaces the value and notifies every receiver.
    ///
    /// Fails, giving `value` back and leaving the channel's value unchanged, when there is no
    /// receiver (every one was dropped). To update the value regardless, use
    /// [`send_replace`](Self::send_replace).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if lock(&self.shared.state).receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value, notifies every receiver and returns the previous value. Works with
    /// no receiver too (a later [`subscribe`](Self::subscribe) sees the new value).
    pub fn send_replace(&self, value: T) -> T {
        let mut old = value;
        self.send_modify(|v| std::mem::swap(v, &mut old));
        old
    }

    /// Modifies the value in place with `modify` and notifies every receiver, with or without
    /// receivers. If `modify` panics, the panic is passed on and nobody is notified.
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value in place with `modify`, and notifies the receivers only if it
    /// returns `true` (it should return `false` only if it left the value unchanged, or the
    /// receivers would miss a change). Returns what `modify` returned. If `modify` panics, the
    /// panic is passed on and nobody is notified.
    ///
    /// ```
    /// use rawrt::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// assert!(!tx.send_if_modified(|v| if v.is_empty() { v.push(0); true } else { false }));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| { v.push(2); true }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let wakers = {
            let mut value = self.shared.write();
            match catch_unwind(AssertUnwindSafe(|| modify(&mut value))) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(panic) => {
                    drop(value);
                    resume_unwind(panic);
                }
            }
            self.shared.bump_version()
        };
        crate::util::wake_all(wakers);
        true
    }

    /// Borrows the current value. The [`Ref`] holds a read lock; its
    /// [`has_changed`](Ref::has_changed) is `false`.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver, which considers the current value seen.
    pub fn subscribe(&self) -> Receiver<T> {
        let version = {
            let mut state = lock(&self.shared.state);
            state.receivers += 1;
            state.version
        };
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }

    /// The number of live senders (this one and its clones).
    pub fn sender_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// True when there is no receiver: [`send`](Self::send) would fail. A later
    /// [`subscribe`](Self::subscribe) reopens the channel.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until there is no receiver.
    ///
    /// Cancel safe: it only watches the receiver count.
    ///
    /// ```
    /// use rawrt::sync::watch;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = watch::channel(());
    ///     rawrt::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(()).is_err());
    /// });
    /// ```
    pub async fn closed(&self) {
        let mut waiter = ClosedWaiter::new(&self.shared.state);
        poll_fn(|cx| coop::poll_budgeted(cx, |cx| waiter.poll_closed(cx))).await
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
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
            // Waiting receivers must see the channel closed.
            last_one_gone(&mut state.senders, &mut state.rx_waiters)
        };
        crate::util::wake_all(wakers);
    }
}

/// What a `changed()` poll found.
enum Changed {
    /// A newer version (the one to mark seen).
    Yes(u64),
    /// No newer version and no sender left.
    Closed,
    /// Registered, waiting.
    Wait,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen. The [`Ref`]'s
    /// [`has_changed`](Ref::has_changed) says whether it is newer than the last seen one.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = lock(&self.shared.state).version;
        Ref {
            guard,
            has_changed: version != self.version,
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = lock(&self.shared.state).version;
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// Whether the value changed since this receiver last marked it seen.
    ///
    /// `Err(RecvError)` once every sender is gone (even if an unseen value is left: read it
    /// with [`borrow`](Self::borrow)).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = lock(&self.shared.state);
        if state.senders == 0 {
            return Err(RecvError(()));
        }
        Ok(state.version != self.version)
    }

    /// Marks the current value unseen: the next [`changed`](Self::changed) returns at once.
    pub fn mark_changed(&mut self) {
        let version = lock(&self.shared.state).version;
        self.version = version.wrapping_sub(1);
    }

    /// Marks the current value seen, without borrowing it.
    pub fn mark_unchanged(&mut self) {
        self.version = lock(&self.shared.state).version;
    }

    /// Waits for a value newer than the last one seen, and marks it seen (read it with
    /// [`borrow`](Self::borrow), or with [`borrow_and_update`](Self::borrow_and_update)).
    ///
    /// Returns at once if such a value is already there, even when the senders are gone;
    /// `Err(RecvError)` when no newer value is there and every sender was dropped.
    ///
    /// Cancel safe: dropping the future before it completes marks nothing seen, so a change
    /// is reported by the next call.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        changed_impl(&self.shared, &mut self.version).await
    }

    /// Waits until the value satisfies `f`, and returns a borrow of it, marked seen.
    ///
    /// `f` is first called on the current value (seen or not), then on each new value. When
    /// every sender is gone, the last value is still checked once; if it does not satisfy `f`,
    /// the result is `Err(RecvError)`. Values between two looks are skipped (only the newest
    /// is checked). `f` runs with the value's read lock held.
    ///
    /// Cancel safe as [`changed`](Self::changed): a value already checked is marked seen.
    ///
    /// ```
    /// use rawrt::sync::watch;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = watch::channel(5);
    ///     // Already true: returns without waiting.
    ///     assert_eq!(*rx.wait_for(|v| *v > 1).await.unwrap(), 5);
    ///     drop(tx);
    ///     assert!(rx.wait_for(|v| *v > 10).await.is_err());
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Split borrows: the returned `Ref` borrows `shared`, the waiting updates `seen`.
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.version;
        // Whether the value about to be checked is one `changed_impl` just marked seen.
        let mut fresh = false;
        loop {
            // A scope, not `drop(guard)`: the guard must not be part of the future's state
            // across the `.await` below (it is not `Send`).
            {
                let guard = shared.read();
                let (version, closed) = {
                    let state = lock(&shared.state);
                    (state.version, state.senders == 0)
                };
                let has_changed = fresh || version != *seen;
                *seen = version;
                if f(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
                if closed {
                    return Err(RecvError(()));
                }
            }
            changed_impl(shared, seen).await?;
            fresh = true;
        }
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// The body of [`Receiver::changed`], on split borrows (see `wait_for`).
async fn changed_impl<T>(shared: &Shared<T>, seen: &mut u64) -> Result<(), RecvError> {
    let mut waiter = RxWaiter {
        shared,
        key: WaiterKey::new(),
    };
    poll_fn(|cx| {
        coop::poll_budgeted(cx, |cx| match waiter.poll_changed(*seen, cx) {
            Changed::Yes(version) => {
                *seen = version;
                Poll::Ready(Ok(()))
            }
            Changed::Closed => Poll::Ready(Err(RecvError(()))),
            Changed::Wait => Poll::Pending,
        })
    })
    .await
}

/// A `changed()` future's waiter slot, freed when it completes or is dropped.
struct RxWaiter<'a, T> {
    shared: &'a Shared<T>,
    key: WaiterKey,
}

impl<T> RxWaiter<'_, T> {
    fn poll_changed(&mut self, seen: u64, cx: &Context<'_>) -> Changed {
        let (result, stale) = {
            let mut state = lock(&self.shared.state);
            let result = if state.version != seen {
                Changed::Yes(state.version)
            } else if state.senders == 0 {
                Changed::Closed
            } else {
                Changed::Wait
            };
            let stale = match result {
                Changed::Wait => self.key.wait(&mut state.rx_waiters, cx),
                _ => self.key.release(&mut state.rx_waiters),
            };
            (result, stale)
        };
        drop(stale);
        result
    }
}

impl<T> Drop for RxWaiter<'_, T> {
    fn drop(&mut self) {
        if self.key.is_registered() {
            let waker = self.key.release(&mut lock(&self.shared.state).rx_waiters);
            drop(waker);
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        lock(&self.shared.state).receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let wakers = {
            let mut state = lock(&self.shared.state);
            let state = &mut *state;
            // Waiting `closed()` futures must see the last receiver gone.
            last_one_gone(&mut state.receivers, &mut state.closed_waiters)
        };
        crate::util::wake_all(wakers);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.borrow())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("value", &*self.borrow())
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
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

    #[test]
    fn three_sends_wake_once_and_the_latest_is_seen() {
        let (tx, mut rx) = channel(0);
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        {
            let mut changed = pin!(rx.changed());
            assert!(changed.as_mut().poll(&mut cx).is_pending());
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            tx.send(3).unwrap();
            assert_eq!(count.0.load(SeqCst), 1, "one wake for three sends");
            assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        }
        assert_eq!(*rx.borrow(), 3);
        assert!(!rx.has_changed().unwrap());
        // Nothing new: the next `changed` waits.
        let mut changed = pin!(rx.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
    }

    #[test]
    fn send_if_modified_false_does_not_wake() {
        let (tx, mut rx) = channel(1);
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut changed = pin!(rx.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        assert!(!tx.send_if_modified(|_| false));
        assert_eq!(count.0.load(SeqCst), 0);
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        assert!(tx.send_if_modified(|v| {
            *v = 2;
            true
        }));
        assert_eq!(count.0.load(SeqCst), 1);
        assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn changed_after_sender_drop() {
        let (tx, mut rx) = channel(0);
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        {
            let mut changed = pin!(rx.changed());
            assert!(changed.as_mut().poll(&mut cx).is_pending());
            tx.send(7).unwrap();
            drop(tx);
            // A value nobody saw yet is still reported, then the channel is closed.
            assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        }
        assert_eq!(*rx.borrow(), 7);
        assert!(rx.has_changed().is_err());
        let mut changed = pin!(rx.changed());
        assert_eq!(
            changed.as_mut().poll(&mut cx),
            Poll::Ready(Err(RecvError(())))
        );
        assert!(count.0.load(SeqCst) >= 1);
    }

    #[test]
    fn dropped_changed_future_loses_no_change() {
        let (tx, mut rx) = channel(0);
        let (_count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        {
            let mut changed = pin!(rx.changed());
            assert!(changed.as_mut().poll(&mut cx).is_pending());
            tx.send(1).unwrap();
            // Dropped after the wake, before it was polled again.
        }
        assert!(rx.has_changed().unwrap());
        let mut changed = pin!(rx.changed());
        assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        // The waiter slots were all freed.
        assert_eq!(lock(&tx.shared.state).rx_waiters.iter_mut().count(), 0);
    }

    #[test]
    fn wait_for_with_a_true_predicate_returns_at_once() {
        let (_tx, mut rx) = channel(3);
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(rx.wait_for(|v| *v == 3));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(r)) => {
                assert_eq!(*r, 3);
                assert!(!r.has_changed());
            }
            _ => panic!("wait_for did not return at once"),
        }
        assert_eq!(count.0.load(SeqCst), 0);
    }

    #[test]
    fn clones_share_the_seen_version_and_marks_work() {
        let (tx, mut rx) = channel('a');
        tx.send('b').unwrap();
        let mut rx2 = rx.clone();
        assert!(rx2.has_changed().unwrap());
        assert_eq!(*rx2.borrow_and_update(), 'b');
        assert!(!rx2.has_changed().unwrap());
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert!(!rx.has_changed().unwrap());
        rx.mark_changed();
        assert!(rx.has_changed().unwrap());
        assert!(rx.same_channel(&rx2));
        let sub = tx.subscribe();
        assert!(!sub.has_changed().unwrap());
        assert_eq!(tx.receiver_count(), 3);
    }

    #[test]
    fn send_without_receivers_keeps_the_value_in_the_error() {
        let (tx, rx) = channel(String::from("a"));
        drop(rx);
        assert!(tx.is_closed());
        let err = tx.send(String::from("b")).unwrap_err();
        assert_eq!(err.0, "b");
        assert_eq!(*tx.borrow(), "a");
        assert_eq!(tx.send_replace(String::from("c")), "a");
        let rx = tx.subscribe();
        assert_eq!(*rx.borrow(), "c");
        assert!(!tx.is_closed());
    }

    #[test]
    fn a_panicking_modify_notifies_nobody() {
        let (tx, rx) = channel(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            tx.send_modify(|v| {
                *v = 1;
                panic!("in send_modify");
            })
        }));
        assert!(r.is_err());
        assert!(!rx.has_changed().unwrap());
        // Still usable.
        tx.send(2).unwrap();
        assert_eq!(*rx.borrow(), 2);
    }
}

/// Loom models: a send racing a `changed()` registration, and the last sender's drop racing
/// it (no lost wakeup either way).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;
    use crate::task_core::loom_support::{counting_waker, poll_once};

    #[test]
    fn send_racing_changed_poll() {
        loom::model(|| {
            let (tx, mut rx) = channel(0);
            let sender = thread::spawn(move || {
                tx.send(1).unwrap();
                tx
            });
            let (wakes, waker) = counting_waker();
            let mut changed = Box::pin(rx.changed());
            let first = poll_once(&mut changed, &waker);
            let _tx = sender.join().unwrap();
            if first.is_pending() {
                assert_eq!(wakes.wakes(), 1, "a pending changed() is woken");
                assert_eq!(poll_once(&mut changed, &waker), Poll::Ready(Ok(())));
            } else {
                assert_eq!(first, Poll::Ready(Ok(())));
            }
            drop(changed);
            assert_eq!(rx.has_changed(), Ok(false), "the change was marked seen");
        });
    }

    #[test]
    fn sender_drop_racing_changed_poll() {
        loom::model(|| {
            let (tx, mut rx) = channel(0);
            let tx2 = tx.clone();
            let sender = thread::spawn(move || drop(tx));
            let (wakes, waker) = counting_waker();
            let mut changed = Box::pin(rx.changed());
            let first = poll_once(&mut changed, &waker);
            drop(tx2);
            sender.join().unwrap();
            if first.is_pending() {
                assert!(
                    wakes.wakes() >= 1,
                    "a pending changed() is woken by the last drop"
                );
                assert_eq!(
                    poll_once(&mut changed, &waker),
                    Poll::Ready(Err(RecvError(())))
                );
            } else {
                panic!("nothing was sent: changed() cannot complete before both drops");
            }
        });
    }
}
