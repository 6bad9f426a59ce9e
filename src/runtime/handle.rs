//! `Handle`, `EnterGuard`, and the free functions that use the current runtime.

use std::fmt;
use std::future::Future;

use super::RuntimeMetrics;
use crate::reactor;
use crate::scheduler::{self, context};
use crate::task_core::JoinHandle;

/// A cloneable, `Send` reference to a runtime, for spawning and entering it from anywhere.
/// Cloning it is one reference-count increment.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// The runtime is current on this thread until this guard drops (see [`Handle::enter`]).
pub struct EnterGuard {
    _current: context::SetCurrentGuard,
}

/// The error of [`Handle::try_current`] outside a runtime.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no rawrt runtime is running on this thread (not a worker, not inside block_on or Handle::enter)")
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The handle of the runtime current on this thread.
    ///
    /// # Panics
    /// Outside a runtime; see [`try_current`](Self::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle of the runtime current on this thread, if any.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::try_current()
            .map(|inner| Handle { inner })
            .ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        context::with_scheduler(|cx| self.inner.spawn(future, cx))
    }

    /// Runs `future` on the current thread with this runtime current; see
    /// [`Runtime::block_on`](crate::Runtime::block_on).
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let Some(_entered) = context::enter_runtime() else {
            panic!(
                "rawrt: cannot block_on inside a runtime (a worker thread or another block_on): \
                 it would block the thread that drives tasks; use .await instead"
            );
        };
        let _current = context::set_current(self.inner.clone());
        self.inner.block_on(future)
    }

    /// Runs a blocking closure on the blocking pool and returns a handle to its result.
    ///
    /// The pool grows up to `Builder::max_blocking_threads` threads; beyond that, closures
    /// queue. The runtime is current while the closure runs (so it may `rawrt::spawn` or
    /// `Handle::current().block_on(..)`). A panic in the closure becomes a
    /// [`JoinError`](crate::task::JoinError); so does a failure to start a thread when the
    /// pool has none (`is_cancelled`, with the OS error as its `source`). Aborting the handle
    /// cancels the closure only if it has not started. Runtime shutdown cancels closures
    /// queued behind busy pool threads (when the pool is at `max_blocking_threads`) and
    /// waits (up to the shutdown timeout) for running ones — and for one a thread was just
    /// started for, even if that thread had not taken it yet.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// Number of threads currently in the blocking pool.
    pub fn num_blocking_threads(&self) -> usize {
        self.inner.blocking().num_threads()
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// `rawrt::spawn` and I/O constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _current: context::set_current(self.inner.clone()),
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub fn num_alive_tasks(&self) -> usize {
        self.inner.num_alive_tasks()
    }

    /// Which kind of runtime this is.
    ///
    /// ```
    /// use rawrt::runtime::RuntimeFlavor;
    /// let rt = rawrt::Builder::new_current_thread().build()?;
    /// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    /// let rt = rawrt::Runtime::new()?;
    /// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn runtime_flavor(&self) -> super::RuntimeFlavor {
        match self.inner {
            scheduler::Handle::MultiThread(_) => super::RuntimeFlavor::MultiThread,
            scheduler::Handle::CurrentThread(_) => super::RuntimeFlavor::CurrentThread,
        }
    }

    /// Number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.inner.num_workers()
    }

    /// A snapshot of the runtime's metrics: per-worker polls, LIFO hits, steals, injector
    /// pops, parks, unparks, `epoll_wait` calls and events per wait.
    ///
    /// ```
    /// let rt = rawrt::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// rt.block_on(async { rawrt::spawn(async {}).await.unwrap() });
    /// let m = rt.handle().metrics();
    /// assert_eq!(m.workers.len(), 2);
    /// assert!(m.total().polls >= 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: self
                .inner
                .worker_counters()
                .into_iter()
                .map(Into::into)
                .collect(),
            alive_tasks: self.inner.num_alive_tasks(),
            injector_depth: self.inner.injector_depth(),
        }
    }

    /// Number of I/O resources registered with this runtime's reactor.
    pub fn num_io_registrations(&self) -> usize {
        self.reactor().num_registered()
    }

    /// Number of timers registered with this runtime (pending sleeps).
    pub fn num_timers(&self) -> usize {
        self.reactor().num_timers()
    }

    pub(crate) fn reactor(&self) -> &reactor::Handle {
        self.inner.reactor()
    }
}

/// Runs `f` with the current runtime's reactor, borrowed; `None` outside a runtime. For the
/// I/O and timer types, which register with it.
pub(crate) fn with_current_reactor<R>(f: impl FnOnce(&reactor::Handle) -> R) -> Option<R> {
    context::with_current(|h, _| f(h.reactor()))
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .finish()
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

/// Spawns a task on the current runtime.
///
/// # Panics
/// Outside a runtime (not on a worker, not inside `block_on` or `Handle::enter`), with a
/// message saying so. Use [`Handle::spawn`] to spawn from anywhere.
///
/// ```
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let a = rawrt::spawn(async { 1 });
///     let b = rawrt::spawn(async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // One thread-local access: the handle is borrowed, and the scheduler context found with
    // it decides whether the task goes into this worker's own queue.
    match context::with_current(move |h, cx| h.spawn(future, cx)) {
        Some(join) => join,
        None => panic!(
            "rawrt::spawn called outside of a rawrt runtime: call it from a task, inside \
             Runtime::block_on or Handle::enter, or use Handle::spawn"
        ),
    }
}

/// Runs a blocking closure on the current runtime's blocking pool; see
/// [`Handle::spawn_blocking`].
///
/// ```
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let digest = rawrt::task::spawn_blocking(|| {
///         // Something that would stall a worker: hashing, compression, blocking file I/O.
///         (0..1_000_000u64).fold(0u64, |a, x| a.wrapping_mul(31).wrapping_add(x))
///     });
///     assert_ne!(digest.await.unwrap(), 0);
/// });
/// ```
///
/// # Panics
/// Outside a runtime, with a message saying so.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::with_current(move |h, _| h.spawn_blocking(f)) {
        Some(join) => join,
        None => panic!(
            "rawrt::task::spawn_blocking called outside of a rawrt runtime: call it from a \
             task, inside Runtime::block_on or Handle::enter, or use Handle::spawn_blocking"
        ),
    }
}
