//! `LocalSet` and `spawn_local`: tasks whose futures need not be `Send`, run on the one
//! thread that drives the set.
//!
//! A local task is an ordinary task allocation (the same state word, wakers and
//! `JoinHandle` as any other), bound to the set's own owned-tasks list through
//! `OwnedTasks::bind_local`, which drops the `Send` bound. What makes that sound is that
//! only the set's methods ever poll or drop a local future, and the set is neither `Send`
//! nor `Sync`: it is driven on the thread that created it. A local task's waker may still be
//! called from any thread: it pushes the task onto the set's run queue (one mutex-guarded
//! queue for local and remote wakes alike) and wakes the waker of whatever is driving the set
//! (`run_until`'s or the set's own future), which then runs the queue on its thread.
//!
//! Driving runs at most [`TASKS_PER_POLL`] local tasks per poll of the driving future, each
//! with its own cooperative budget, and then yields (waking itself if more are queued), so
//! the runtime's other tasks — and its I/O — are not starved by a busy set. Dropping the set
//! cancels its tasks (their futures are dropped on the set's thread, with the set entered).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::runtime::Runtime;
use crate::scheduler::{context, coop};
use crate::task_core::{JoinHandle, Notified, OwnedTasks, Schedule, Task};

/// Local tasks run per poll of the future that drives the set.
const TASKS_PER_POLL: usize = 61;

/// A set of tasks that run on the current thread, so their futures may be `!Send` (hold an
/// `Rc`, a `RefCell` borrow across an await, ...).
///
/// The tasks run while the set is driven: inside [`run_until`](Self::run_until) (or
/// [`block_on`](Self::block_on)), or by awaiting the set itself, which completes when all of
/// its tasks have. Inside, [`spawn_local`] adds more. A `LocalSet` can be driven from a
/// runtime's `block_on` or from a task of a current-thread runtime; rawrt's I/O and timers
/// work in local tasks when the thread has a runtime current.
///
/// ```
/// use std::rc::Rc;
/// let rt = rawrt::Builder::new_current_thread().build()?;
/// let local = rawrt::task::LocalSet::new();
/// let n = local.block_on(&rt, async {
///     let shared = Rc::new(20); // not Send
///     let s = shared.clone();
///     let join = rawrt::task::spawn_local(async move {
///         rawrt::task::yield_now().await;
///         *s + 1
///     });
///     join.await.unwrap() + *shared + 1
/// });
/// assert_eq!(n, 42);
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct LocalSet {
    shared: Arc<Shared>,
    _not_send: PhantomData<*const ()>,
}

/// What local tasks' scheduler handle points at.
struct Shared {
    state: Mutex<QueueState>,
    owned: OwnedTasks<Arc<Shared>>,
    /// The waker of the future that drives the set.
    driver: Mutex<Option<Waker>>,
}

struct QueueState {
    queue: VecDeque<Notified<Arc<Shared>>>,
    /// The set was dropped: wakes drop their `Notified` instead of queueing it (a queued one
    /// would keep the set's state alive through its own task: a leak).
    closed: bool,
}

impl Schedule for Arc<Shared> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        // Our own reference: `self` lives in the task, which may be freed once queued.
        let shared = self.clone();
        {
            let mut state = crate::loom::lock(&shared.state);
            if state.closed {
                drop(state);
                drop(task); // only a reference; the set already cancelled the task
                return;
            }
            state.queue.push_back(task);
        }
        let driver = crate::loom::lock(&shared.driver).take();
        if let Some(w) = driver {
            crate::util::wake(w);
        }
    }
}

/// Makes a `LocalSet` current on this thread (for [`spawn_local`]) until dropped; from
/// [`LocalSet::enter`].
pub struct LocalEnterGuard {
    _guard: context::LocalSetGuard,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalEnterGuard")
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new(Shared {
                state: Mutex::new(QueueState {
                    queue: VecDeque::new(),
                    closed: false,
                }),
                owned: OwnedTasks::new(1),
                driver: Mutex::new(None),
            }),
            _not_send: PhantomData,
        }
    }

    /// Makes this set current on this thread until the guard drops, so that
    /// [`spawn_local`] puts tasks in it (they run when the set is next driven).
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _guard: context::enter_local_set(self.shared.clone()),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` task on this set (which need not be entered). It runs when the set is
    /// driven.
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_on(&self.shared, future)
    }

    /// Runs `future` on the current thread, with the set's tasks running alongside it, until
    /// it completes; tasks still unfinished then stay in the set. The set is entered while
    /// `future` is polled, so [`spawn_local`] works inside it.
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil { set: self, future }
    }

    /// `rt.block_on(self.run_until(future))`: drives `future` and the set's tasks on this
    /// thread, with `rt` current.
    ///
    /// # Panics
    /// Where [`Runtime::block_on`] does (inside a runtime).
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Registers `cx`'s waker as the set's driver and runs up to [`TASKS_PER_POLL`] queued
    /// tasks; returns true if some are still queued.
    fn tick(&self, cx: &Context<'_>) -> bool {
        {
            let mut driver = crate::loom::lock(&self.shared.driver);
            match &*driver {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *driver = Some(cx.waker().clone()),
            }
        }
        let _entered = self.enter();
        for _ in 0..TASKS_PER_POLL {
            let task = crate::loom::lock(&self.shared.state).queue.pop_front();
            let Some(task) = task else {
                return false;
            };
            // Polled here, on the set's thread (the set is neither Send nor Sync).
            coop::budget(|| context::run_task(task));
        }
        !crate::loom::lock(&self.shared.state).queue.is_empty()
    }
}

/// Binds and schedules a local task on `shared`.
fn spawn_on<F>(shared: &Arc<Shared>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // SAFETY: the tasks of `shared.owned` are only run by `LocalSet::tick` and shut down by
    // `LocalSet::drop`, both on the thread that owns the (neither Send nor Sync) set; other
    // threads only queue or drop `Notified` references (see `bind_local`'s contract). We are
    // on the owning thread too: `shared` comes from a `&LocalSet` or from the context, where
    // only `LocalSet::enter` (a `!Send` guard, on the set's thread) puts it.
    let (join, notified) = unsafe { shared.owned.bind_local(future, shared.clone()) };
    if let Some(n) = notified {
        shared.schedule(n);
    }
    join
}

/// Spawns a `!Send` future on the [`LocalSet`] current on this thread (inside its
/// `run_until`, its `block_on`, a task it runs, or after [`LocalSet::enter`]).
///
/// # Panics
/// Outside a `LocalSet`, with a message saying so.
///
/// ```
/// let rt = rawrt::Builder::new_current_thread().build()?;
/// let local = rawrt::task::LocalSet::new();
/// let cell = std::rc::Rc::new(std::cell::Cell::new(0));
/// let c = cell.clone();
/// local.block_on(&rt, async move {
///     rawrt::task::spawn_local(async move { c.set(42) }).await.unwrap();
/// });
/// assert_eq!(cell.get(), 42);
/// # Ok::<_, std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = context::current_local_set().and_then(|s| s.downcast::<Shared>().ok());
    match shared {
        Some(shared) => spawn_on(&shared, future),
        None => panic!(
            "rawrt::task::spawn_local called outside of a LocalSet: call it inside \
             LocalSet::run_until, LocalSet::block_on, a task of a LocalSet, or after \
             LocalSet::enter"
        ),
    }
}

/// The future of [`LocalSet::run_until`].
#[must_use = "futures do nothing unless polled"]
pub struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: F,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `RunUntil` has no `Drop` impl and is `Unpin` only when `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        let set = this.set;
        // SAFETY: as above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        {
            let _entered = set.enter();
            if let Poll::Ready(out) = future.poll(cx) {
                return Poll::Ready(out);
            }
        }
        if set.tick(cx) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Awaiting a `LocalSet` runs its tasks until every one has completed.
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.tick(cx) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.shared.owned.len() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        let _entered = self.enter();
        crate::loom::lock(&self.shared.state).closed = true;
        // Cancels every task, dropping the futures here, on the set's thread.
        self.shared.owned.close_and_shutdown_all();
        let queued: Vec<_> = crate::loom::lock(&self.shared.state)
            .queue
            .drain(..)
            .collect();
        drop(queued);
        drop(crate::loom::lock(&self.shared.driver).take());
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.shared.owned.len())
            .finish()
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunUntil")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Runtime-free: the set is driven by a hand-written `block_on`, so these also run under
    //! Miri (`scripts/miri.sh`), which checks the local task allocations and wakes from
    //! another thread.

    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Wake;

    struct Unpark(std::thread::Thread, AtomicBool);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.1.store(true, Ordering::SeqCst);
            self.0.unpark();
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let unpark = Arc::new(Unpark(std::thread::current(), AtomicBool::new(false)));
        let waker = Waker::from(unpark.clone());
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            while !unpark.1.swap(false, Ordering::SeqCst) {
                std::thread::park();
            }
        }
    }

    #[test]
    fn runs_non_send_tasks_and_remote_wakes() {
        let local = LocalSet::new();
        let counter = Rc::new(Cell::new(0));
        let c = counter.clone();
        let out = block_on(local.run_until(async move {
            let mut joins = Vec::new();
            for i in 0..5 {
                let c = c.clone();
                joins.push(spawn_local(async move {
                    crate::task::yield_now().await;
                    c.set(c.get() + 1);
                    Rc::new(i)
                }));
            }
            // A task woken from another thread.
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let t = std::thread::spawn(move || {
                let w = rx.recv().unwrap();
                f.store(true, Ordering::SeqCst);
                w.wake();
            });
            let remote = spawn_local(std::future::poll_fn(move |cx| {
                if flag.load(Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    let _ = tx.send(cx.waker().clone());
                    Poll::Pending
                }
            }));
            let mut sum = 0;
            for j in joins {
                sum += *j.await.unwrap();
            }
            remote.await.unwrap();
            t.join().unwrap();
            sum
        }));
        assert_eq!(out, 10);
        assert_eq!(counter.get(), 5);
    }

    #[test]
    fn dropping_the_set_cancels_idle_and_queued_tasks() {
        let local = LocalSet::new();
        let rc = Rc::new(());
        let r1 = rc.clone();
        let never_polled = local.spawn_local(async move {
            let _r = r1;
        });
        let r2 = rc.clone();
        let idle = local.spawn_local(async move {
            let _r = r2;
            std::future::pending::<()>().await
        });
        // Run the second one once, so that it is idle, not queued.
        block_on(local.run_until(crate::task::yield_now()));
        drop(local);
        assert_eq!(Rc::strong_count(&rc), 1, "both futures dropped");
        drop(never_polled); // it may have run (it was queued first): either way it is done
        assert!(block_on(idle).unwrap_err().is_cancelled());
    }

    #[test]
    fn awaiting_the_set_waits_for_all_tasks() {
        let local = LocalSet::new();
        let done = Rc::new(Cell::new(0));
        for _ in 0..3 {
            let d = done.clone();
            local.spawn_local(async move {
                crate::task::yield_now().await;
                d.set(d.get() + 1);
            });
        }
        block_on(local);
        assert_eq!(done.get(), 3);
    }
}
