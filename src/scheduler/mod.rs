//! Scheduling mechanism: who runs which task on which thread, and where idle threads sleep.
//!
//! - `multi_thread/`: N workers with local run queues, work stealing, an idle/searching
//!   protocol and parking on the I/O driver (`worker.rs` is the loop and shutdown);
//! - `current_thread/`: every task on the thread inside `block_on`;
//! - `inject.rs`: the global injector queue both flavours use for remote wakes;
//! - `blocking.rs`: the pool of threads that run blocking closures;
//! - `policy/`: the heuristics the worker loop asks (injector interval, waking a sibling);
//! - `context.rs`: the one thread-local (current runtime, scheduler loop, entered flag,
//!   cooperative budget); `coop.rs`: the budget each task poll gets and what charges it;
//! - `counters.rs`: per-worker counters; `park_thread.rs`: `block_on`'s thread parking.
//!
//! [`Handle`] is what the runtime layer wraps as `rawrt::Handle`: one `Arc` per flavour,
//! holding that flavour's shared state, its reactor handle and its blocking pool.

pub(crate) mod blocking;
pub(crate) mod context;
pub(crate) mod coop;
mod counters;
pub(crate) mod current_thread;
pub(crate) mod hooks;
pub(crate) mod inject;
pub(crate) mod multi_thread;
mod park_thread;
pub(crate) use park_thread::block_on as park_thread_block_on;
mod policy;

use std::future::Future;
use std::sync::Arc;

pub(crate) use counters::CounterValues;

use crate::reactor;
use crate::task_core::JoinHandle;

/// Runs `f`, which may block, on the current thread without stalling the runtime.
///
/// On a multi-thread worker, the worker's core (its queued tasks and its duty to run them)
/// moves to a new thread first; this thread finishes the task that called it and then stops
/// being a worker. On a multi-thread runtime's `block_on` thread, a blocking-pool thread or
/// outside any runtime, `f` just runs. Either way the thread no longer counts as driving a
/// runtime while `f` runs (so `f` may `block_on`), and `f` runs without a budget.
///
/// # Panics
/// On a current-thread runtime's thread, whose only thread cannot be handed off.
#[track_caller]
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    let on_current_thread = context::with_scheduler(|cx| match cx {
        Some(Context::MultiThread(cx)) => {
            multi_thread::hand_off_core(cx);
            false
        }
        Some(Context::CurrentThread(_)) => true,
        None => {
            context::is_entered()
                && context::with_current(|h, _| matches!(h, Handle::CurrentThread(_)))
                    .unwrap_or(false)
        }
    });
    if on_current_thread {
        panic!(
            "rawrt::task::block_in_place called on a current-thread runtime: its one thread \
             cannot be handed off; use spawn_blocking, or a multi-thread runtime"
        );
    }
    context::exit_runtime(|| coop::with_unconstrained(f))
}

/// Holds off a paused clock's auto-advance while it lives (feature `test-util`).
#[cfg(feature = "test-util")]
struct InhibitAutoAdvance(reactor::Handle);

#[cfg(feature = "test-util")]
impl InhibitAutoAdvance {
    fn new(reactor: &reactor::Handle) -> InhibitAutoAdvance {
        reactor.clock().inhibit_auto_advance();
        InhibitAutoAdvance(reactor.clone())
    }
}

#[cfg(feature = "test-util")]
impl Drop for InhibitAutoAdvance {
    fn drop(&mut self) {
        self.0.clock().allow_auto_advance();
        // The driver may be blocked waiting only because of us: let it re-check.
        self.0.unpark();
    }
}

/// A runtime's scheduler, as held by `rawrt::Handle` and by the thread-local context.
#[derive(Clone)]
pub(crate) enum Handle {
    MultiThread(Arc<multi_thread::Handle>),
    CurrentThread(Arc<current_thread::Handle>),
}

/// A scheduler loop's per-thread state, reachable through the context while it runs.
pub(crate) enum Context {
    MultiThread(multi_thread::Context),
    CurrentThread(current_thread::Context),
}

impl Handle {
    /// Spawns `future`, with `cx` the calling thread's scheduler context (from
    /// [`context::with_current`] or [`context::with_scheduler`]).
    pub(crate) fn spawn<F>(&self, future: F, cx: Option<&Context>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::MultiThread(h) => h.spawn(future, cx),
            Handle::CurrentThread(h) => h.spawn(future, cx),
        }
    }

    /// Runs `f` on the blocking pool, whose threads have this runtime current.
    pub(crate) fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // A paused clock must not auto-advance past a closure still running (feature
        // `test-util`): held from here until the task has completed and woken its joiner (or
        // is dropped unrun). Released when the closure returned, the clock could jump before
        // the joiner saw the result, firing a timeout around it.
        #[cfg(feature = "test-util")]
        let guard: Option<Box<dyn Send>> = Some(Box::new(InhibitAutoAdvance::new(self.reactor())));
        #[cfg(not(feature = "test-util"))]
        let guard = None;
        self.blocking().spawn(f, guard, self)
    }

    /// Runs `future` to completion on this thread. The caller has made this runtime current
    /// and marked the thread as driving it.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Handle::MultiThread(_) => park_thread::block_on(future),
            Handle::CurrentThread(h) => h.block_on(future),
        }
    }

    pub(crate) fn reactor(&self) -> &reactor::Handle {
        match self {
            Handle::MultiThread(h) => &h.driver,
            Handle::CurrentThread(h) => &h.driver,
        }
    }

    pub(crate) fn blocking(&self) -> &blocking::Spawner {
        match self {
            Handle::MultiThread(h) => &h.blocking,
            Handle::CurrentThread(h) => &h.blocking,
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        match self {
            Handle::MultiThread(h) => h.num_alive_tasks(),
            Handle::CurrentThread(h) => h.num_alive_tasks(),
        }
    }

    /// Number of threads that poll tasks (1 for the current-thread flavour).
    pub(crate) fn num_workers(&self) -> usize {
        match self {
            Handle::MultiThread(h) => h.num_workers(),
            Handle::CurrentThread(_) => 1,
        }
    }

    /// Each worker's counters (one entry for the current-thread flavour).
    pub(crate) fn worker_counters(&self) -> Vec<CounterValues> {
        match self {
            Handle::MultiThread(h) => h.worker_counters(),
            Handle::CurrentThread(h) => vec![h.counters()],
        }
    }

    /// Tasks waiting in the global injector.
    pub(crate) fn injector_depth(&self) -> usize {
        match self {
            Handle::MultiThread(h) => h.injector_depth(),
            Handle::CurrentThread(h) => h.injector_depth(),
        }
    }
}
