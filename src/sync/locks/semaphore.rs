//! `Semaphore`: a fair (FIFO) counting semaphore, the base of `Mutex`, `RwLock` and
//! `OnceCell`.
//!
//! ## State
//!
//! One `Mutex` (the `crate::loom` shim's) guards the free permit count, the closed flag, a slab
//! of waiter slots and the FIFO queue of the keys of the slots still waiting. An acquire future
//! for `n` permits moves through
//!
//! > `Init` → (`Waiting(key)` →) `Done`
//!
//! and its slot is `Waiting { needed, assigned, waker }` while queued, then `Granted` (all `n`
//! permits are the future's) or `Closed`, set by whoever dequeued it.
//!
//! The invariant is *the free count is 0 while anybody waits*. Permits that come back
//! (a permit dropped, [`add_permits`](Semaphore::add_permits), a cancelled waiter's share) are
//! assigned to the queue's head: it takes what it still needs (all of it, or what there is, in
//! which case it keeps them as a partial assignment and stays at the head), and only a
//! remainder with nobody queued goes back to the free count. So waiters are served strictly in
//! arrival order: a large [`acquire_many`](Semaphore::acquire_many) at the head holds back
//! later small ones, and a [`try_acquire`](Semaphore::try_acquire) never overtakes a waiter. A
//! new acquire that cannot be served at once takes the free permits there are (only possible
//! when nobody waits) and queues for the rest.
//!
//! ## Cancellation
//!
//! Dropping an acquire future while it waits removes its key from the queue and hands the
//! permits it was partly assigned to the next waiters (or the free count), exactly as a
//! release would; dropping one that was `Granted` but not polled again releases all `n`. No
//! permit is lost, and a dead future is never picked.
//!
//! ## Closing
//!
//! [`close`](Semaphore::close) empties the queue, marks each slot `Closed` (their partial
//! assignments go back to the free count) and wakes them; they and every later acquire fail
//! with [`AcquireError`]. Permits already handed out stay valid and are returned as usual.
//!
//! Wakers are woken, and replaced wakers dropped, after the lock is released. Each operation
//! is one short critical section: the cost is a lock per acquire and per release (Tokio's
//! lock-free fast path on an atomic count could be added without changing the API).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::loom::lock;
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use crate::util::slab::Slab;

/// A counting semaphore: tasks [`acquire`](Self::acquire) permits and give them back by
/// dropping the returned [`SemaphorePermit`].
///
/// Waiters are served in FIFO order: a task asking for many permits at the head of the queue
/// is served before later tasks, even those asking for fewer that would fit. Acquiring is
/// cancel safe: a dropped acquire future loses its place and gives back any permits it had been
/// assigned.
///
/// ```
/// use std::sync::Arc;
/// use rawrt::sync::Semaphore;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     // At most two tasks in the critical section at once.
///     let sem = Arc::new(Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for i in 0..5 {
///         let sem = sem.clone();
///         tasks.push(rawrt::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             assert!(sem.available_permits() <= 1);
///             i
///         }));
///     }
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     assert_eq!(sum, 10);
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    state: Mutex<State>,
}

/// The lock-protected part of a [`Semaphore`].
struct State {
    /// Permits nobody holds or was assigned; 0 while `queue` is not empty.
    permits: usize,
    closed: bool,
    /// One slot per acquire future that waits, or was granted or closed and not yet polled.
    slots: Slab<Slot>,
    /// Keys of the `Waiting` slots, oldest first.
    queue: VecDeque<usize>,
}

/// An acquire future's slot.
enum Slot {
    /// Queued: still `needed` permits to go, `assigned` already given to it.
    Waiting {
        needed: usize,
        assigned: usize,
        waker: Option<Waker>,
    },
    /// Dequeued with all its permits.
    Granted,
    /// Dequeued by `close`: the future fails.
    Closed,
}

/// The wakers a state change owes, woken after the lock is released. Releasing one permit (a
/// mutex unlock) wakes at most one waiter, which needs no allocation.
#[derive(Default)]
pub(super) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    fn push(&mut self, waker: Option<Waker>) {
        let Some(w) = waker else { return };
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.rest.push(w);
        }
    }

    pub(super) fn wake(self) {
        if let Some(w) = self.first {
            crate::util::wake(w);
        }
        crate::util::wake_all(self.rest);
    }
}

/// The error of an acquire: the semaphore was [closed](Semaphore::close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

/// The error of [`Semaphore::try_acquire`] and its variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was [closed](Semaphore::close).
    Closed,
    /// Not enough permits are free right now (or other tasks wait for them first).
    NoPermits,
}

impl TryAcquireError {
    /// True for [`TryAcquireError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// True for [`TryAcquireError::NoPermits`].
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Permits acquired from a [`Semaphore`], given back when dropped.
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

/// Permits acquired from an `Arc<Semaphore>`, given back when dropped. Unlike
/// [`SemaphorePermit`] it borrows nothing, so it can move into a spawned task.
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl State {
    /// `n` permits came back: to the queue's head (FIFO), the remainder to the free count.
    fn release(&mut self, mut n: usize, wakers: &mut Wakers) {
        while n > 0 {
            let Some(&key) = self.queue.front() else {
                break;
            };
            let slot = self.slots.get_mut(key);
            let Slot::Waiting {
                needed,
                assigned,
                waker,
            } = slot
            else {
                unreachable!("a dequeued slot was still queued");
            };
            let take = n.min(*needed);
            *needed -= take;
            *assigned += take;
            n -= take;
            if *needed == 0 {
                wakers.push(waker.take());
                *slot = Slot::Granted;
                self.queue.pop_front();
            }
        }
        self.permits += n;
    }

    /// Takes `n` permits at once if that is possible without overtaking a waiter.
    fn try_take(&mut self, n: usize) -> Result<(), TryAcquireError> {
        if self.closed {
            Err(TryAcquireError::Closed)
        } else if self.permits >= n {
            // `permits > 0` implies an empty queue, and `n == 0` overtakes nobody.
            self.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold (`usize::MAX >> 3`, as Tokio's).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
                slots: Slab::new(),
                queue: VecDeque::new(),
            }),
        }
    }

    /// As [`new`](Self::new), usable in a `const` or `static` initializer.
    ///
    /// (Not available in rawrt's loom model-checking build, whose mutex is not `const`.)
    ///
    /// ```
    /// use rawrt::sync::Semaphore;
    ///
    /// static LIMIT: Semaphore = Semaphore::const_new(3);
    /// let permit = LIMIT.try_acquire_many(2).unwrap();
    /// assert_eq!(LIMIT.available_permits(), 1);
    /// drop(permit);
    /// assert_eq!(LIMIT.available_permits(), 3);
    /// ```
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS) (at compile time in a `const`).
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits"
        );
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
                slots: Slab::new(),
                queue: VecDeque::new(),
            }),
        }
    }

    /// The number of free permits right now (a snapshot). Permits partly assigned to a waiting
    /// [`acquire_many`](Self::acquire_many) are not free.
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Adds `n` permits, handing them to waiters first, in FIFO order.
    ///
    /// # Panics
    /// If the free count would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = Wakers::default();
        {
            let mut state = lock(&self.state);
            let total = state.permits.checked_add(n);
            if !matches!(total, Some(t) if t <= Self::MAX_PERMITS) {
                drop(state);
                panic!(
                    "adding {n} permits would overflow MAX_PERMITS ({})",
                    Self::MAX_PERMITS
                );
            }
            state.release(n, &mut wakers);
        }
        wakers.wake();
    }

    /// Gives `n` permits back (a dropped permit, a cancelled waiter): as `add_permits`, without
    /// the overflow check (these permits were counted before).
    pub(super) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = Wakers::default();
        lock(&self.state).release(n, &mut wakers);
        wakers.wake();
    }

    /// Removes up to `n` free permits for good; returns how many were removed. Permits held by
    /// someone or assigned to a waiter are not touched.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = lock(&self.state);
        let forgotten = state.permits.min(n);
        state.permits -= forgotten;
        forgotten
    }

    /// Waits for one permit.
    ///
    /// Fails with [`AcquireError`] if the semaphore is closed, before or while waiting.
    ///
    /// Cancel safety: waiters are served in FIFO order; dropping the future gives up its place
    /// (and any permit already handed to it) to the next waiter.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once.
    ///
    /// While this waits at the head of the queue, permits that come back are assigned to it
    /// until it has `n`, and later waiters wait behind it. Fails with [`AcquireError`] if the
    /// semaphore is closed. `n == 0` succeeds at once on an open semaphore.
    ///
    /// Cancel safety: dropping the future gives up its place, and the permits it was already
    /// assigned go to the next waiters.
    ///
    /// ```
    /// use rawrt::sync::Semaphore;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sem = Semaphore::new(5);
    ///     let permit = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(permit.num_permits(), 3);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, n).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit if one is free right now.
    ///
    /// Fails with [`TryAcquireError::NoPermits`] if none is (free permits are always handed to
    /// waiting tasks first), or [`TryAcquireError::Closed`].
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if that many are free right now; see
    /// [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        lock(&self.state).try_take(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes `n` permits the caller wraps in its own guard, as `try_acquire_many` does.
    pub(super) fn try_take(&self, n: u32) -> bool {
        lock(&self.state).try_take(n as usize).is_ok()
    }

    /// As [`acquire`](Self::acquire), blocking the current thread.
    ///
    /// # Panics
    /// When called from a thread that drives a runtime (a worker, inside `block_on`); it is
    /// meant for plain threads and `spawn_blocking` closures.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::sync::blocking::block_thread_on("Semaphore::blocking_acquire", self.acquire())
    }

    /// As [`acquire_many`](Self::acquire_many), blocking the current thread.
    ///
    /// # Panics
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::sync::blocking::block_thread_on(
            "Semaphore::blocking_acquire_many",
            self.acquire_many(n),
        )
    }

    /// As [`acquire`](Self::acquire), for an `Arc<Semaphore>`: the permit owns a reference to
    /// the semaphore instead of borrowing it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use rawrt::sync::Semaphore;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sem = Arc::new(Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     let task = rawrt::spawn(async move {
    ///         let _permit = permit; // released when the task ends
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// As [`acquire_many`](Self::acquire_many), for an `Arc<Semaphore>`.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self, n).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// As [`try_acquire`](Self::try_acquire), for an `Arc<Semaphore>`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// As [`try_acquire_many`](Self::try_acquire_many), for an `Arc<Semaphore>`.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        lock(&self.state).try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// As [`acquire_owned`](Self::acquire_owned), blocking the current thread.
    ///
    /// # Panics
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::sync::blocking::block_thread_on(
            "Semaphore::blocking_acquire_owned",
            self.acquire_owned(),
        )
    }

    /// As [`acquire_many_owned`](Self::acquire_many_owned), blocking the current thread.
    ///
    /// # Panics
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::sync::blocking::block_thread_on(
            "Semaphore::blocking_acquire_many_owned",
            self.acquire_many_owned(n),
        )
    }

    /// Closes the semaphore: waiting acquires fail with [`AcquireError`] (they are woken), and
    /// so does every later one; `try_acquire` fails with [`TryAcquireError::Closed`]. Permits
    /// already held stay valid and are still given back when dropped.
    ///
    /// ```
    /// use rawrt::sync::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
    /// ```
    pub fn close(&self) {
        let mut wakers = Wakers::default();
        {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            state.closed = true;
            let State {
                permits,
                slots,
                queue,
                ..
            } = &mut *state;
            for key in queue.drain(..) {
                let slot = slots.get_mut(key);
                if let Slot::Waiting {
                    assigned, waker, ..
                } = slot
                {
                    *permits += *assigned;
                    wakers.push(waker.take());
                }
                *slot = Slot::Closed;
            }
        }
        wakers.wake();
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiting", &state.queue.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The future behind every acquire: completes with `n` permits the caller now owns (and must
/// wrap in a permit or guard that gives them back), or fails if the semaphore is closed.
pub(super) struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    state: AcquireState,
}

#[derive(Debug, Clone, Copy)]
enum AcquireState {
    Init,
    Waiting(usize),
    Done,
}

impl<'a> Acquire<'a> {
    pub(super) fn new(sem: &'a Semaphore, n: u32) -> Acquire<'a> {
        Acquire {
            sem,
            n: n as usize,
            state: AcquireState::Init,
        }
    }

    fn poll_acquire(&mut self, cx: &Context<'_>) -> Poll<Result<(), AcquireError>> {
        let mut stale = None;
        let poll = {
            let mut state = lock(&self.sem.state);
            match self.state {
                AcquireState::Init => match state.try_take(self.n) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(TryAcquireError::Closed) => Poll::Ready(Err(AcquireError(()))),
                    Err(TryAcquireError::NoPermits) => {
                        // Nobody waits if any permit is free: take those, queue for the rest.
                        let assigned = state.permits;
                        state.permits = 0;
                        let key = state.slots.insert(Slot::Waiting {
                            needed: self.n - assigned,
                            assigned,
                            waker: Some(cx.waker().clone()),
                        });
                        state.queue.push_back(key);
                        self.state = AcquireState::Waiting(key);
                        Poll::Pending
                    }
                },
                AcquireState::Waiting(key) => match state.slots.get_mut(key) {
                    Slot::Waiting { waker, .. } => {
                        stale = match waker {
                            Some(w) if w.will_wake(cx.waker()) => None,
                            _ => waker.replace(cx.waker().clone()),
                        };
                        Poll::Pending
                    }
                    Slot::Granted => {
                        state.slots.remove(key);
                        Poll::Ready(Ok(()))
                    }
                    Slot::Closed => {
                        state.slots.remove(key);
                        Poll::Ready(Err(AcquireError(())))
                    }
                },
                AcquireState::Done => panic!("acquire future polled after completion"),
            }
        };
        if poll.is_ready() {
            self.state = AcquireState::Done;
        }
        drop(stale);
        poll
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_acquire(cx))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let AcquireState::Waiting(key) = self.state else {
            return; // Never queued, or completed (the caller owns the permits).
        };
        let mut wakers = Wakers::default();
        let slot = {
            let mut state = lock(&self.sem.state);
            let slot = state.slots.remove(key);
            match &slot {
                Slot::Waiting { assigned, .. } => {
                    if let Some(pos) = state.queue.iter().position(|&k| k == key) {
                        state.queue.remove(pos);
                    }
                    // Pass the partial assignment on, as a release would.
                    state.release(*assigned, &mut wakers);
                }
                Slot::Granted => state.release(self.n, &mut wakers),
                Slot::Closed => {}
            }
            slot
        };
        drop(slot);
        wakers.wake();
    }
}

impl<'a> SemaphorePermit<'a> {
    /// Drops the permits without giving them back: the semaphore has that many fewer.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this one.
    ///
    /// # Panics
    /// If the two come from different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: SemaphorePermit<'a>) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Moves `n` of these permits into a new permit; `None` (and no change) if this holds fewer
    /// than `n`.
    ///
    /// ```
    /// use rawrt::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// let mut permit = sem.try_acquire_many(3).unwrap();
    /// let two = permit.split(2).unwrap();
    /// assert_eq!((permit.num_permits(), two.num_permits()), (1, 2));
    /// assert!(permit.split(2).is_none());
    /// drop(two);
    /// assert_eq!(sem.available_permits(), 2);
    /// permit.merge(sem.try_acquire().unwrap());
    /// assert_eq!(permit.num_permits(), 2);
    /// permit.forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<SemaphorePermit<'a>> {
        let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore these permits come from.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }
}

impl OwnedSemaphorePermit {
    /// Drops the permits without giving them back: the semaphore has that many fewer.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this one.
    ///
    /// # Panics
    /// If the two come from different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Moves `n` of these permits into a new permit; `None` (and no change) if this holds fewer
    /// than `n`.
    pub fn split(&mut self, n: usize) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore these permits come from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
