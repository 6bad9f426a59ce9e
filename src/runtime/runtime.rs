//! `Runtime`: owns the worker threads and runs shutdown.

use std::fmt;
use std::future::Future;
use std::io;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use super::{Builder, EnterGuard, Handle};
use crate::scheduler;
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
    /// pool (closures queued behind busy threads cancelled, running ones awaited), both
    /// within `timeout`. The runtime is current on this thread meanwhile, so that the
    /// destructors of the tasks cancelled here find it (`Handle::try_current`), as those
    /// cancelled on a worker do.
    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        let _current = scheduler::context::set_current(self.handle.inner.clone());
        let threads = std::mem::take(&mut self.threads);
        let start = std::time::Instant::now();
        match &self.handle.inner {
            scheduler::Handle::MultiThread(h) => {
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
                    let deadline = timeout.and_then(|t| start.checked_add(t));
                    join_threads(threads, deadline);
                }
            }
            scheduler::Handle::CurrentThread(h) => h.shutdown(),
        }
        let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
        self.handle.inner.blocking().shutdown(left);
    }
}

/// Joins the runtime's threads (but the calling one), waiting until `deadline` at most:
/// every core is back by now, but a thread that handed its core away in `block_in_place` may
/// still be inside its closure. A thread still running at the deadline is detached.
fn join_threads(threads: Vec<ThreadHandle<()>>, deadline: Option<std::time::Instant>) {
    let me = std::thread::current().id();
    for t in threads {
        if t.thread().id() == me {
            continue;
        }
        if let Some(deadline) = deadline {
            // Bounded: only while shutting down, only for a thread still in a closure.
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if !t.is_finished() {
                continue;
            }
        }
        let _ = t.join();
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
            .field("workers", &self.handle.num_workers())
            .finish()
    }
}
