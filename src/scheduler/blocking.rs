//! The blocking pool: threads for closures that block (file I/O, DNS, CPU-heavy work), so
//! that workers never do.
//!
//! A blocking task is an ordinary task (same allocation, same `JoinHandle`) whose future calls
//! the closure once. It is queued here and run by a pool thread. Threads are spawned on
//! demand up to `max_blocking_threads`; an idle thread waits `keep_alive` for more work and
//! then exits. Each thread has the runtime that started it current for its whole life (the
//! runtime's `on_thread_start`/`on_thread_stop` callbacks included, as in Tokio), so its
//! closures can `spawn`, use timers and sockets, or `Handle::current()`.
//!
//! If no thread can be started and the pool has none to run the queue, the queued tasks are
//! cancelled with the error as the cause in their `JoinError` (nothing is printed, nothing
//! panics). Shutdown: queued tasks that wait for a busy thread are cancelled (their
//! `JoinHandle` reports `is_cancelled`), but one that a thread was just started (or an idle
//! thread notified) for is run, as if that thread had been quicker than the shutdown;
//! running ones cannot be interrupted, so shutdown waits for them up to the runtime's
//! shutdown timeout and then detaches the threads.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::task_core::{self, Id, JoinHandle, Notified, Schedule, Task};

/// Pool settings.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    /// The user's thread callbacks (start and stop run on pool threads).
    pub(crate) hooks: super::hooks::Hooks,
}

/// The pool; shared by the runtime's handles.
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// Shutdown waits here for the last thread to leave.
    exited: Condvar,
    config: Config,
}

struct State {
    queue: VecDeque<Notified<BlockingSchedule>>,
    num_threads: usize,
    num_idle: usize,
    /// Idle threads already notified of queued work, so a burst of spawns does not notify
    /// the same idle thread twice while spawning no new one.
    num_notified: usize,
    thread_seq: usize,
    /// Threads that left the count but still run their `on_stop` callback.
    stopping: usize,
    /// Threads spawned for a queued task that have not yet taken it: shutdown leaves that
    /// many tasks (and one per notified idle thread) in the queue, for them to run.
    num_starting: usize,
    shutdown: bool,
}

/// The scheduler of blocking tasks: they are never woken (the closure runs to completion in
/// one poll), but `schedule` is defined anyway, as "queue it on the pool".
struct BlockingSchedule {
    inner: Arc<Inner>,
    /// Dropped when the task completes, after its output is published and its `JoinHandle`
    /// woken (`release`), or with the task if it never completes: a paused clock's hold on
    /// auto-advance (feature `test-util`), which must last until the joiner can see the
    /// result, not only until the closure returns.
    on_release: Mutex<Option<Box<dyn Send>>>,
}

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        drop(
            self.on_release
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        None
    }

    fn schedule(&self, task: Notified<Self>) {
        // Unreached in practice: a blocking task completes in its one poll and is never
        // woken. A thread started from here would have no runtime current.
        let inner = self.inner.clone();
        Spawner { inner }.push(task, None);
    }
}

/// A future that runs a closure once.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("a blocking task is polled exactly once");
        Poll::Ready(f())
    }
}

impl Spawner {
    pub(crate) fn new(config: Config) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notified: 0,
                    thread_seq: 0,
                    stopping: 0,
                    num_starting: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                config,
            }),
        }
    }

    /// Queues `f` to run on a pool thread, keeping `guard` (if any) alive until the task has
    /// completed and its `JoinHandle` has been woken (the paused clock's hold, feature
    /// `test-util`). `runtime` is the runtime this pool belongs to: a thread started for `f`
    /// has it current for its whole life.
    pub(crate) fn spawn<F, R>(
        &self,
        f: F,
        guard: Option<Box<dyn Send>>,
        runtime: &super::Handle,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // From the same process-wide counter as async tasks' ids: they never collide.
        let id = Id::next();
        let sched = BlockingSchedule {
            inner: self.inner.clone(),
            on_release: Mutex::new(guard),
        };
        let (notified, join) = task_core::unowned(BlockingTask(Some(f)), sched, id);
        self.push(notified, Some(runtime));
        join
    }

    /// Queues `task`, starting a thread for it if none is idle and the pool may grow; the new
    /// thread makes `runtime` current.
    fn push(&self, task: Notified<BlockingSchedule>, runtime: Option<&super::Handle>) {
        let inner = &self.inner;
        let mut state = crate::loom::lock(&inner.state);
        if state.shutdown {
            drop(state);
            task.shutdown();
            return;
        }
        state.queue.push_back(task);
        if state.num_idle > state.num_notified {
            state.num_notified += 1;
            inner.work.notify_one();
            return;
        }
        if state.num_threads >= inner.config.max_threads {
            return; // queued; a busy thread will take it
        }
        let seq = state.thread_seq;
        state.thread_seq += 1;
        state.num_threads += 1;
        state.num_starting += 1;
        drop(state);
        let mut builder = std::thread::Builder::new().name((inner.config.thread_name)(seq));
        if let Some(size) = inner.config.stack_size {
            builder = builder.stack_size(size);
        }
        let pool = self.inner.clone();
        let runtime = runtime.cloned();
        let started = builder.spawn(move || {
            let _current = runtime.map(super::context::set_current);
            run(pool)
        });
        if let Err(e) = started {
            let mut state = crate::loom::lock(&inner.state);
            state.num_threads -= 1;
            state.num_starting -= 1;
            if state.num_threads == 0 {
                // Nobody will ever run the queue: cancel what is in it, saying why.
                let queued: Vec<_> = state.queue.drain(..).collect();
                drop(state);
                for t in queued {
                    t.cancel_because(start_error(&e));
                }
            }
        }
    }

    /// Stops the pool: cancels queued tasks, wakes idle threads, and waits up to `timeout`
    /// (`None`: for ever) for running tasks to finish. Returns true if every thread left.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        let inner = &self.inner;
        let queued: Vec<_> = {
            let mut state = crate::loom::lock(&inner.state);
            if state.shutdown && state.num_threads == 0 && state.stopping == 0 {
                return true;
            }
            state.shutdown = true;
            // A closure that a thread was started (or an idle one notified) for is run, as
            // if that thread had taken it before the shutdown; the others are cancelled.
            let keep = (state.num_starting + state.num_notified).min(state.queue.len());
            state.queue.drain(keep..).collect()
        };
        inner.work.notify_all();
        for t in queued {
            t.shutdown();
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let state = crate::loom::lock(&inner.state);
        crate::util::wait_until(&inner.exited, state, deadline, |s| {
            s.num_threads == 0 && s.stopping == 0
        })
        .1
    }

    /// Threads currently in the pool.
    pub(crate) fn num_threads(&self) -> usize {
        crate::loom::lock(&self.inner.state).num_threads
    }
}

/// The error in the `JoinError` of a task no thread could be started for: `e`'s kind and OS
/// error code, with a message that says what failed.
fn start_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(
            e.kind(),
            format!("could not start a blocking-pool thread: {e}"),
        ),
    }
}

/// A pool thread: run queued tasks; after `keep_alive` without work, leave.
fn run(inner: Arc<Inner>) {
    inner.config.hooks.start();
    let mut state = crate::loom::lock(&inner.state);
    state.num_starting -= 1;
    loop {
        if let Some(task) = state.queue.pop_front() {
            drop(state);
            super::context::run_task(task);
            state = crate::loom::lock(&inner.state);
            continue;
        }
        if state.shutdown {
            break;
        }
        state.num_idle += 1;
        let idle_since = Instant::now();
        let mut timed_out = false;
        loop {
            let waited = idle_since.elapsed();
            if waited >= inner.config.keep_alive {
                timed_out = true;
                break;
            }
            state = crate::util::wait(&inner.work, state, Some(inner.config.keep_alive - waited));
            if state.num_notified > 0 {
                state.num_notified -= 1;
                break;
            }
            if state.shutdown || !state.queue.is_empty() {
                break;
            }
        }
        state.num_idle -= 1;
        if timed_out && state.queue.is_empty() {
            break;
        }
    }
    state.num_threads -= 1;
    // `on_stop` runs after the thread stopped counting (so a push racing with this exit
    // starts a new thread rather than count on this one), but shutdown, which waits for
    // the pool to empty, also waits for `stopping` to drop back to zero.
    state.stopping += 1;
    drop(state);
    inner.config.hooks.stop();
    let mut state = crate::loom::lock(&inner.state);
    state.stopping -= 1;
    if state.num_threads == 0 && state.stopping == 0 {
        inner.exited.notify_all();
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.inner.config.max_threads)
            .field("threads", &self.num_threads())
            .finish()
    }
}
