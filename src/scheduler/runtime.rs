//! `Runtime` and `Handle`: the public face of the scheduler.

use std::fmt;
use std::future::Future;
use std::io;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use super::{blocking, context, park_thread, Builder, Scheduler};
use crate::reactor;
use crate::task_core::JoinHandle;

/// The rawrt runtime: worker threads, their run queues, and the I/O reactor.
///
/// Dropping it shuts it down: workers stop after their current poll, every task still alive
/// is cancelled (its future dropped exactly once, so the sockets it owns are closed), and the
/// reactor is closed. [`shutdown_timeout`](Self::shutdown_timeout) bounds how long the drop
/// waits for a worker stuck in a task that does not yield. Several runtimes can live in one
/// process; they share nothing.
///
/// ```
/// let rt = rawrt::Runtime::new().unwrap();
/// let handle = rt.spawn(async { "hello from a worker" });
/// assert_eq!(rt.block_on(handle).unwrap(), "hello from a worker");
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<ThreadHandle<()>>,
    shut_down: bool,
}

/// A cloneable, `Send` reference to a runtime, for spawning and entering it from anywhere.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Scheduler,
    pub(crate) blocking: std::sync::Arc<blocking::Spawner>,
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

impl Runtime {
    /// A multi-thread runtime with default settings (one worker per available CPU).
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn from_parts(handle: Handle, threads: Vec<ThreadHandle<()>>) -> Runtime {
        Runtime {
            handle,
            threads,
            shut_down: false,
        }
    }

    /// Runs `future` on the current thread until it completes, with this runtime current
    /// (so `rawrt::spawn` and rawrt's I/O types work inside it). Spawned tasks run on the
    /// workers.
    ///
    /// # Panics
    /// When called from inside a runtime (a worker thread or another `block_on`): blocking
    /// there would deadlock the runtime.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// This runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for workers busy in a task that does not yield.
    /// Tasks are cancelled either way; a worker still stuck after the timeout is detached and
    /// cancels its task when that poll returns.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for busy workers.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Shutdown: the scheduler first (tasks cancelled, workers joined), then the blocking
    /// pool (queued closures cancelled, running ones awaited), both within `timeout`.
    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        let threads = std::mem::take(&mut self.threads);
        let start = std::time::Instant::now();
        match &self.handle.inner {
            Scheduler::MultiThread(h) => {
                if !h.shutdown() {
                    return;
                }
                // Dropped on one of its own workers: that worker cannot stop while we wait
                // for it, so do not wait for anyone.
                let timeout = if h.is_current_worker() {
                    Some(Duration::ZERO)
                } else {
                    timeout
                };
                if h.finish_shutdown(timeout) {
                    let me = std::thread::current().id();
                    for t in threads {
                        if t.thread().id() != me {
                            let _ = t.join();
                        }
                    }
                }
            }
            Scheduler::CurrentThread(h) => h.shutdown(),
        }
        let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
        self.handle.blocking.shutdown(left);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish()
    }
}

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
        context::try_current().ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner {
            Scheduler::MultiThread(h) => h.spawn(future),
            Scheduler::CurrentThread(h) => h.spawn(future),
        }
    }

    /// Runs `future` on the current thread with this runtime current; see
    /// [`Runtime::block_on`].
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
        let _current = context::set_current(self.clone());
        match &self.inner {
            Scheduler::MultiThread(_) => park_thread::block_on(future),
            Scheduler::CurrentThread(h) => h.block_on(future),
        }
    }

    /// Runs a blocking closure on the blocking pool and returns a handle to its result.
    ///
    /// The pool grows up to `Builder::max_blocking_threads` threads; beyond that, closures
    /// queue. A panic in the closure becomes a [`JoinError`](crate::task::JoinError).
    /// Aborting the handle cancels the closure only if it has not started. Runtime shutdown
    /// cancels queued closures and waits (up to the shutdown timeout) for running ones.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn(f, self)
    }

    /// Number of threads currently in the blocking pool.
    pub fn num_blocking_threads(&self) -> usize {
        self.blocking.num_threads()
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// `rawrt::spawn` and I/O constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _current: context::set_current(self.clone()),
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub fn num_alive_tasks(&self) -> usize {
        match &self.inner {
            Scheduler::MultiThread(h) => h.num_alive_tasks(),
            Scheduler::CurrentThread(h) => h.num_alive_tasks(),
        }
    }

    /// Number of worker threads.
    pub fn num_workers(&self) -> usize {
        match &self.inner {
            Scheduler::MultiThread(h) => h.num_workers(),
            Scheduler::CurrentThread(_) => 1,
        }
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
    pub fn metrics(&self) -> super::RuntimeMetrics {
        match &self.inner {
            Scheduler::MultiThread(h) => h.metrics(),
            Scheduler::CurrentThread(h) => h.metrics(),
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

    /// Makes every worker of this runtime block the signals in `bits` (bit `n - 1` is signal
    /// `n`), waiting up to a second for busy workers; for `rawrt::signal`.
    pub(crate) fn block_signals(&self, bits: super::multi_thread::SignalBits) -> bool {
        match &self.inner {
            Scheduler::MultiThread(h) => h.block_signals(bits),
            // The only thread that runs tasks is the `block_on` thread; `signal()` blocks the
            // signal in the calling thread, which is that one (or the caller of `enter`).
            Scheduler::CurrentThread(_) => true,
        }
    }

    /// The per-runtime registry of `rawrt::signal`, created with `init` on first use.
    pub(crate) fn signal_registry<T: std::any::Any + Send + Sync>(
        &self,
        init: impl FnOnce() -> T,
    ) -> &T {
        match &self.inner {
            Scheduler::MultiThread(h) => h.signal_registry(init),
            Scheduler::CurrentThread(h) => h.signal_registry(init),
        }
    }

    pub(crate) fn reactor(&self) -> &reactor::Handle {
        match &self.inner {
            Scheduler::MultiThread(h) => &h.driver,
            Scheduler::CurrentThread(h) => &h.driver,
        }
    }
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
    match context::try_current() {
        Some(h) => h.spawn(future),
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
    match context::try_current() {
        Some(h) => h.spawn_blocking(f),
        None => panic!(
            "rawrt::task::spawn_blocking called outside of a rawrt runtime: call it from a \
             task, inside Runtime::block_on or Handle::enter, or use Handle::spawn_blocking"
        ),
    }
}
