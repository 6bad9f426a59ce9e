//! `JoinSet`: a collection of spawned tasks, awaited in the order they finish.
//!
//! Each task in the set has its own waker (an `Arc` naming the task's slot). The set
//! registers that waker with the task's `JoinHandle`; when the task finishes, the waker puts
//! the slot's key on the set's *ready list* (a mutex-guarded queue) and wakes whoever waits
//! in [`JoinSet::join_next`]. `join_next` only looks at the tasks on the ready list, so one
//! call costs O(1) amortized (a queue pop and a map lookup), however many tasks are in the
//! set. The waker is registered as the task is added, so the ready list is in completion
//! order from the start. Adding a task costs one extra allocation (the waker) and one
//! registration (the `JoinHandle`'s waker slot) per task.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use crate::runtime::Handle;
use crate::scheduler::coop;
use crate::task::{AbortHandle, Id, JoinError, JoinHandle, LocalSet};

/// A set of tasks spawned on a runtime (or a [`LocalSet`]), all with output `T`, that can be
/// awaited in the order they complete.
///
/// Dropping the set aborts every task still in it ([`detach_all`](Self::detach_all) first to
/// let them run on). The tasks are ordinary tasks: they run whether or not the set is
/// polled.
///
/// ```
/// use rawrt::sync::oneshot;
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut set = rawrt::task::JoinSet::new();
///     let mut gates = Vec::new();
///     for n in 0..3u32 {
///         let (open, gate) = oneshot::channel::<()>();
///         gates.push(Some(open));
///         set.spawn(async move {
///             gate.await.unwrap();
///             n
///         });
///     }
///     // Let the tasks finish in the order 2, 0, 1: join_next gives them in that order.
///     for n in [2u32, 0, 1] {
///         gates[n as usize].take().unwrap().send(()).unwrap();
///         assert_eq!(set.join_next().await.unwrap().unwrap(), n);
///     }
///     assert!(set.is_empty());
///     assert!(set.join_next().await.is_none());
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct JoinSet<T> {
    entries: HashMap<u64, Entry<T>>,
    shared: Arc<Shared>,
    next_key: u64,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
    /// The result, when the task had already finished as it was added.
    done: Option<Result<T, JoinError>>,
}

/// The ready list and the waker of the task awaiting the set.
struct Shared {
    state: Mutex<SharedState>,
}

struct SharedState {
    ready: VecDeque<u64>,
    waiter: Option<Waker>,
}

/// The waker a task's `JoinHandle` holds: queues the task's key on the ready list.
struct EntryWaker {
    key: u64,
    /// Set while the key is on the ready list, so a task woken twice is queued once.
    queued: AtomicBool,
    shared: Weak<Shared>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        // The set is gone: nothing to tell.
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let waiter = {
            let mut state = crate::loom::lock(&shared.state);
            state.ready.push_back(self.key);
            state.waiter.take()
        };
        if let Some(w) = waiter {
            crate::util::wake(w);
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: HashMap::new(),
            shared: Arc::new(Shared {
                state: Mutex::new(SharedState {
                    ready: VecDeque::new(),
                    waiter: None,
                }),
            }),
            next_key: 0,
        }
    }

    /// Number of tasks in the set (finished ones included, until they are joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a spawned task's handle to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.next_key;
        self.next_key += 1;
        let waker = Arc::new(EntryWaker {
            key,
            queued: AtomicBool::new(false),
            shared: Arc::downgrade(&self.shared),
        });
        let mut entry = Entry {
            handle,
            waker,
            done: None,
        };
        // Register the entry's waker with the task now, so that it joins the ready list as
        // soon as it finishes (completion order, even before the first `join_next`). If it
        // has finished already, keep its result and queue it at once.
        let w = Waker::from(entry.waker.clone());
        if let Poll::Ready(res) = entry.handle.poll_join(&mut Context::from_waker(&w)) {
            entry.done = Some(res);
            w.wake_by_ref();
        }
        self.entries.insert(key, entry);
        abort
    }

    /// Spawns `task` on a [`LocalSet`] (which need not be entered) and adds it to the set.
    pub fn spawn_local_on<F>(&mut self, task: F, local_set: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(local_set.spawn_local(task))
    }

    /// Spawns `task` on the current [`LocalSet`] (see [`spawn_local`](crate::task::spawn_local))
    /// and adds it to the set.
    ///
    /// # Panics
    /// Outside a `LocalSet`.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::task::spawn_local(task))
    }

    /// Aborts every task in the set. They stay in the set: `join_next` then returns each
    /// one's result (a cancelled `JoinError`, or its output if it finished first).
    pub fn abort_all(&mut self) {
        for e in self.entries.values() {
            e.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        crate::loom::lock(&self.shared.state).ready.clear();
    }

    /// Waits for any task of the set to finish and returns its result, removing it from the
    /// set; `None` when the set is empty.
    ///
    /// Cancel safe: if the future is dropped before it completes, no task's result is lost
    /// (it stays in the set for the next call).
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](Self::join_next), with the finished task's id. Cancel safe.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has already finished, if any (removing it from the set);
    /// `None` when none has (or the set is empty). Never waits.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|r| r.map(|(_, t)| t))
    }

    /// As [`try_join_next`](Self::try_join_next), with the finished task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        self.pop_ready()
    }

    /// Aborts every task and waits for all of them to finish; the set is empty afterwards.
    /// Their results (outputs, panics, cancellations) are dropped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs, in the order they finished.
    ///
    /// # Panics
    /// If a task panicked, the panic is resumed here (the other tasks are aborted when the
    /// set drops during the unwinding); if a task was cancelled, this panics with the
    /// `JoinError`'s message.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(t) => out.push(t),
                Err(e) if e.is_panic() => panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("{e}"),
            }
        }
        out
    }

    /// Polls for the next finished task: `Ready(None)` when the set is empty, `Pending` (with
    /// `cx`'s waker registered) when no task has finished, else its result. Charged to the
    /// cooperative budget like awaiting a `JoinHandle`.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|o| o.map(|r| r.map(|(_, t)| t)))
    }

    /// As [`poll_join_next`](Self::poll_join_next), with the finished task's id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let restore = match coop::poll_proceed(cx) {
            Poll::Ready(r) => r,
            Poll::Pending => return Poll::Pending,
        };
        {
            // Register first, so a task finishing after the ready list was found empty wakes us.
            let mut state = crate::loom::lock(&self.shared.state);
            match &state.waiter {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.waiter = Some(cx.waker().clone()),
            }
        }
        match self.pop_ready() {
            Some(res) => {
                restore.made_progress();
                Poll::Ready(Some(res))
            }
            None => Poll::Pending,
        }
    }

    /// Polls the tasks on the ready list until one has finished. Each is polled with its own
    /// waker, which puts it back on the list when it finishes.
    fn pop_ready(&mut self) -> Option<Result<(Id, T), JoinError>> {
        loop {
            let key = crate::loom::lock(&self.shared.state).ready.pop_front()?;
            let Some(entry) = self.entries.get_mut(&key) else {
                continue; // detached meanwhile
            };
            entry.waker.queued.store(false, Ordering::Release);
            let res = match entry.done.take() {
                Some(res) => Poll::Ready(res),
                None => {
                    let waker = Waker::from(entry.waker.clone());
                    entry.handle.poll_join(&mut Context::from_waker(&waker))
                }
            };
            if let Poll::Ready(res) = res {
                let entry = self.entries.remove(&key).expect("entry just found");
                let id = entry.handle.id();
                return Some(res.map(|t| (id, t)));
            }
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime and adds it to the set; returns a handle that can
    /// abort it (its id is the one [`join_next_with_id`](Self::join_next_with_id) reports).
    ///
    /// # Panics
    /// Outside a runtime, as [`rawrt::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(crate::spawn(task))
    }

    /// Spawns `task` on the runtime of `handle` and adds it to the set.
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Runs `f` on the current runtime's blocking pool and adds it to the set. Aborting it
    /// has an effect only before it starts.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::task::spawn_blocking(f))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime and adds it to the set.
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn_blocking(f))
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Spawns each future on the current runtime (panics outside one).
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future on the current runtime (panics outside one).
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.spawn(f);
        }
    }
}
