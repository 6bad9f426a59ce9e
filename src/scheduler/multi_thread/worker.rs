//! The multi-thread worker loop.

// Cores are boxed so moving one in and out of the thread-local context copies a pointer.
#![allow(clippy::vec_box)]
//!
//! Each worker owns a `Core`: its local run queue, its LIFO slot and its parker. The core is
//! moved in and out of the thread-local `Context` so that tasks woken *on* this worker (by a
//! task it is polling, or by the driver while it parks) go straight into its own queue
//! without locks.
//!
//! # Finding work
//! 1. Every `global_queue_interval` ticks the injector is checked first, so remote tasks are
//!    never starved by a busy local queue.
//! 2. Otherwise the LIFO slot (the task woken last — usually the other end of a message just
//!    sent), then the local queue, then a batch from the injector.
//! 3. Then steal half of another worker's queue (while "searching", see `idle.rs`).
//! 4. Then park: on the driver (`epoll_wait`) if no other worker holds it, else on a condvar.
//!
//! A task taken from the LIFO slot runs right after the task that woke it. At most
//! `MAX_LIFO_POLLS_PER_TICK` LIFO tasks run in a row; then the LIFO task goes to the back of
//! the queue, so two tasks pinging each other cannot starve the rest.
//!
//! Every `event_interval` ticks a busy worker polls the driver without blocking, so I/O is
//! never starved by a busy runtime.
//!
//! # Waking a sibling
//! A worker that comes back from the driver (blocking or not) with tasks queued may wake a
//! sleeping sibling to steal half of them. Tokio does so whenever more than one task is
//! queued. rawrt does so only when both hold:
//! 1. the queued work is expected to take at least `spread_threshold` (default 200 µs):
//!    queued tasks × the worker's mean poll time, a moving average measured over its busy
//!    periods (from a return from parking, or a maintenance step, to the next park or
//!    maintenance step — never across a sleep). A woken thread needs tens of microseconds
//!    to start and costs a futex or eventfd write; a smaller backlog is done before help
//!    arrives;
//! 2. the runtime's CPUs have had at least three quarters of a CPU idle lately
//!    (`cpu_idle.rs`, from `/proc/stat`, sampled at most every 50 ms and only when this
//!    question comes up; unknown counts as idle). A thread woken when every CPU is busy
//!    does not finish the backlog sooner: it time-slices with whatever runs there — on a
//!    machine the process shares (a load generator, a database), a scheduler slice of
//!    milliseconds for every request that other program, or that sibling, holds.
//!
//! A backlog that keeps growing crosses the threshold, so a saturated worker still gets
//! help where a CPU is free; a sibling that finds work while searching wakes the next one
//! as before (`idle.rs`), so a burst on an idle machine still spreads over every worker.
//! Until a first poll time is measured, and with a zero threshold, Tokio's rule applies.
//! Tasks pushed by a running task (spawns, wakes of other tasks) still wake a sibling at
//! once, as in Tokio.
//!
//! # Signal masks
//! At every maintenance step (before each task it picks) and after every return from
//! parking, a worker compares the runtime's wanted signal set with the signals it has
//! blocked (two relaxed loads) and blocks the new ones in its own thread; see `signals.rs`.
//!
//! # Shutdown
//! 1. `Handle::shutdown` closes the injector (the shutdown flag) and unparks every worker.
//! 2. Each worker sees the flag at its next maintenance or park, drops the tasks still in its
//!    queues (only references: the futures are still owned by the owned-tasks list) and hands
//!    its core back.
//! 3. The thread dropping the runtime waits for the cores (up to the timeout), closes the
//!    owned-tasks list and cancels every task — so every future is dropped exactly once, and
//!    the fds they own are closed — drains the injector and shuts the reactor down.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::cpu_idle::CpuIdle;
use super::idle::Idle;
use super::park::{DriverShared, Parker, Unparker};
use super::queue::{self, LOCAL_QUEUE_CAPACITY};
use super::signals::{SignalBits, Signals};
use crate::reactor;
use crate::scheduler::inject::Inject;
use crate::scheduler::metrics::{RuntimeMetrics, WorkerCounters};
use crate::task_core::{Notified, OwnedTasks, Schedule, Task};

/// LIFO tasks run in a row before the slot's task is sent to the back of the queue.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

/// The injector check interval before any poll time is measured.
const DEFAULT_GLOBAL_QUEUE_INTERVAL: u32 = 31;
/// The adaptive interval aims to check the injector about this often.
const TARGET_GLOBAL_QUEUE_LATENCY_NS: f64 = 200_000.0;
/// Bounds of the adaptive interval.
const MIN_GLOBAL_QUEUE_INTERVAL: u32 = 2;
const MAX_GLOBAL_QUEUE_INTERVAL: u32 = 127;

/// Tuning knobs, fixed at build time of the runtime.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `Some(n)`: check the injector first every `n` ticks. `None`: adapt it to the measured
    /// poll time (about every 200 µs of polling).
    pub(crate) global_queue_interval: Option<u32>,
    pub(crate) event_interval: u32,
    pub(crate) lifo_enabled: bool,
    /// A worker wakes a sleeping sibling for its queued work only when that work is
    /// expected to take at least this long (ns; 0: whenever more than one task is queued).
    pub(crate) spread_threshold_ns: f64,
}

/// The scheduler handle tasks hold (as `Arc<Handle>`).
pub(crate) struct Handle {
    pub(super) shared: Shared,
    pub(crate) driver: reactor::Handle,
}

pub(super) struct Shared {
    remotes: Box<[Remote]>,
    pub(super) inject: Inject<Arc<Handle>>,
    idle: Idle,
    pub(super) owned: OwnedTasks<Arc<Handle>>,
    shutdown_cores: Mutex<Vec<Box<Core>>>,
    shutdown_cv: Condvar,
    config: Config,
    metrics: Box<[WorkerCounters]>,
    /// The signals every worker blocks, and the signal registry (see `signals.rs`).
    signals: Signals,
    /// Idle CPU capacity lately (see `cpu_idle.rs`).
    cpu_idle: CpuIdle,
}

struct Remote {
    steal: queue::Steal<Arc<Handle>>,
    unpark: Unparker,
}

/// A worker's private state.
pub(crate) struct Core {
    index: usize,
    tick: u32,
    /// `tick` when this worker last polled the driver (blocking or not).
    polled_driver_at: u32,
    lifo_slot: Option<Notified<Arc<Handle>>>,
    run_queue: queue::Local<Arc<Handle>>,
    is_searching: bool,
    is_shutdown: bool,
    park: Option<Parker>,
    rand: FastRand,
    /// Check the injector first every this many ticks (see `tune_global_queue_interval`).
    global_queue_interval: u32,
    /// Mean time per poll (ns), a moving average over measurement windows.
    mean_poll_ns: f64,
    /// Start of the current measurement window: (time, polls so far). A window runs from
    /// a return from parking or a maintenance step to the next park or maintenance step,
    /// so time asleep is never measured. `None` while parked.
    window: Option<(Instant, u64)>,
}

/// The thread-local state of a worker thread.
struct Context {
    handle: Arc<Handle>,
    /// The index of this worker's core.
    index: usize,
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static CURRENT: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with this thread's worker context, if it is a worker thread.
fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ptr = CURRENT.with(|c| c.get());
    // SAFETY: CURRENT is set only by `run` to a `Context` on its own stack frame, and reset
    // before that frame returns; only this thread reads it.
    f(unsafe { ptr.as_ref() })
}

/// Builds the handle and the cores (one per worker); the caller starts the threads.
pub(crate) fn create(
    num_workers: usize,
    driver: reactor::Driver,
    config: Config,
) -> (Arc<Handle>, Vec<Box<Core>>) {
    let driver_handle = driver.handle();
    let driver_shared = Arc::new(DriverShared::new(driver));
    let mut cores = Vec::with_capacity(num_workers);
    let mut remotes = Vec::with_capacity(num_workers);
    for index in 0..num_workers {
        let (steal, run_queue) = queue::local();
        let park = Parker::new(driver_shared.clone());
        remotes.push(Remote {
            steal,
            unpark: park.unparker(),
        });
        cores.push(Box::new(Core {
            index,
            tick: 0,
            polled_driver_at: 0,
            lifo_slot: None,
            run_queue,
            is_searching: false,
            is_shutdown: false,
            park: Some(park),
            rand: FastRand::new(index as u64 + 1),
            global_queue_interval: config
                .global_queue_interval
                .unwrap_or(DEFAULT_GLOBAL_QUEUE_INTERVAL),
            mean_poll_ns: 0.0,
            window: None,
        }));
    }
    let handle = Arc::new(Handle {
        shared: Shared {
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(),
            idle: Idle::new(num_workers),
            cpu_idle: CpuIdle::new(),
            owned: OwnedTasks::new(num_workers * 4),
            shutdown_cores: Mutex::new(Vec::new()),
            shutdown_cv: Condvar::new(),
            config,
            metrics: (0..num_workers)
                .map(|_| WorkerCounters::default())
                .collect(),
            signals: Signals::new(num_workers),
        },
        driver: driver_handle,
    });
    (handle, cores)
}

/// The body of a worker thread.
pub(crate) fn run(core: Box<Core>, handle: Arc<Handle>) {
    let cx = Context {
        handle: handle.clone(),
        index: core.index,
        core: RefCell::new(None),
    };
    struct Reset(*const Context);
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let prev = CURRENT.with(|c| c.replace(&cx as *const Context));
    let _reset = Reset(prev);
    let core = cx.run(core);
    handle.shared.return_core(core);
}

impl Context {
    fn run(&self, mut core: Box<Core>) -> Box<Core> {
        while !core.is_shutdown {
            core.tick = core.tick.wrapping_add(1);
            core = self.maintenance(core);
            if core.is_shutdown {
                break;
            }
            if let Some(task) = core.next_task(&self.handle) {
                core = self.run_task(task, core);
                continue;
            }
            if let Some(task) = core.steal_work(&self.handle) {
                core = self.run_task(task, core);
                continue;
            }
            core = self.park(core);
        }
        core.pre_shutdown(&self.handle);
        core
    }

    fn run_task(&self, task: Notified<Arc<Handle>>, mut core: Box<Core>) -> Box<Core> {
        core.transition_from_searching(&self.handle);
        let metrics = &self.handle.shared.metrics[core.index];
        *self.core.borrow_mut() = Some(core);
        metrics.poll();
        task.run();
        let mut lifo_polls = 0;
        loop {
            let mut core = self
                .core
                .borrow_mut()
                .take()
                .expect("worker core missing after a poll");
            let Some(task) = core.lifo_slot.take() else {
                return core;
            };
            if lifo_polls >= MAX_LIFO_POLLS_PER_TICK {
                // Fairness: the LIFO chain has had its turn.
                core.run_queue.push_back(task, &self.handle.shared.inject);
                if core.park.is_some() {
                    self.handle.notify_parked();
                }
                return core;
            }
            lifo_polls += 1;
            *self.core.borrow_mut() = Some(core);
            metrics.poll();
            metrics.lifo_hit();
            task.run();
        }
    }

    fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        self.handle.shared.signals.sync(core.index);
        let interval = self.handle.shared.config.event_interval.max(1);
        // Counted from this worker's last driver poll, so a worker that has just slept in
        // `epoll_wait` does not poll again a few tasks later for nothing.
        if core.tick.wrapping_sub(core.polled_driver_at) >= interval {
            core.polled_driver_at = core.tick;
            self.tune_global_queue_interval(&mut core);
            // Poll I/O without blocking so that a busy runtime still sees new events.
            let mut park = core.park.take().expect("worker parker missing");
            let index = core.index;
            *self.core.borrow_mut() = Some(core);
            if let Some(events) = park.poll_driver() {
                self.handle.shared.metrics[index].epoll_wait(events);
            }
            core = self
                .core
                .borrow_mut()
                .take()
                .expect("worker core missing after polling the driver");
            core.park = Some(park);
            if core.should_notify_others(&self.handle.shared) {
                self.handle.notify_parked();
            }
            core.is_shutdown = self.handle.shared.inject.is_closed();
        }
        core
    }

    /// Measures the mean poll time over the last maintenance window and sets the injector
    /// interval so that the injector is checked about every 200 µs of polling: with slow
    /// polls, every few ticks (remote spawns are not starved); with fast polls, rarely (the
    /// lock is not taken for nothing). A window that contained a park is not measured.
    fn tune_global_queue_interval(&self, core: &mut Core) {
        let now = Instant::now();
        self.close_window(core, now);
        core.window = Some((now, self.handle.shared.metrics[core.index].polls()));
    }

    /// Ends the current measurement window at `now`: folds its mean poll time into
    /// `mean_poll_ns` and retunes the injector interval (unless fixed by the builder).
    fn close_window(&self, core: &mut Core, now: Instant) {
        let Some((start, start_polls)) = core.window.take() else {
            return;
        };
        let n = self.handle.shared.metrics[core.index]
            .polls()
            .saturating_sub(start_polls);
        if n == 0 {
            return;
        }
        let per_poll = now.duration_since(start).as_nanos() as f64 / n as f64;
        core.mean_poll_ns = if core.mean_poll_ns == 0.0 {
            per_poll
        } else {
            0.8 * core.mean_poll_ns + 0.2 * per_poll
        };
        if self.handle.shared.config.global_queue_interval.is_none() {
            let ideal = TARGET_GLOBAL_QUEUE_LATENCY_NS / core.mean_poll_ns.max(1.0);
            core.global_queue_interval =
                (ideal as u32).clamp(MIN_GLOBAL_QUEUE_INTERVAL, MAX_GLOBAL_QUEUE_INTERVAL);
        }
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        self.close_window(&mut core, Instant::now());
        core.is_shutdown = self.handle.shared.inject.is_closed();
        if core.is_shutdown {
            return core;
        }
        if core.transition_to_parked(&self.handle) {
            while !core.is_shutdown {
                core = self.park_internal(core);
                core.is_shutdown = self.handle.shared.inject.is_closed();
                if core.transition_from_parked(&self.handle) {
                    break;
                }
            }
        }
        core.window = Some((
            Instant::now(),
            self.handle.shared.metrics[core.index].polls(),
        ));
        core
    }

    fn park_internal(&self, mut core: Box<Core>) -> Box<Core> {
        let mut park = core.park.take().expect("worker parker missing");
        let metrics = &self.handle.shared.metrics[core.index];
        // The core goes back into the context so that tasks the driver wakes land in our
        // local queue.
        *self.core.borrow_mut() = Some(core);
        metrics.park();
        let polled = park.park();
        if let Some(events) = polled {
            metrics.epoll_wait(events);
        }
        // Woken, perhaps by `block_signals`: block what it asks for before going on.
        self.handle.shared.signals.sync(self.index);
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("worker core missing after park");
        core.park = Some(park);
        if polled.is_some() {
            core.polled_driver_at = core.tick;
        }
        if core.should_notify_others(&self.handle.shared) {
            self.handle.notify_parked();
        }
        core
    }
}

/// A sibling is woken for a backlog only if at least this much CPU (thousandths of a CPU)
/// has been idle lately: three quarters of a CPU free to run it.
const MIN_IDLE_CPU_MILLI: u64 = 750;

/// The spread rule (module docs, "Waking a sibling"): `queued` tasks are worth a sibling
/// when there is more than one, once a poll time is measured (`mean_poll_ns > 0`) they are
/// expected to take at least `threshold_ns`, and `idle_milli` (asked last, as it may read
/// `/proc/stat`) does not say that the CPUs are all busy. A zero threshold skips both
/// checks: Tokio's rule.
fn worth_waking_for(
    queued: usize,
    mean_poll_ns: f64,
    threshold_ns: f64,
    idle_milli: impl FnOnce() -> Option<u64>,
) -> bool {
    if queued <= 1 {
        return false;
    }
    if threshold_ns == 0.0 || mean_poll_ns == 0.0 {
        return true;
    }
    queued as f64 * mean_poll_ns >= threshold_ns
        && !matches!(idle_milli(), Some(idle) if idle < MIN_IDLE_CPU_MILLI)
}

impl Core {
    fn next_task(&mut self, handle: &Handle) -> Option<Notified<Arc<Handle>>> {
        if self.tick % self.global_queue_interval.max(1) == 0 {
            // Fairness: the injector first, and a batch of it, so remote spawns keep pace
            // with a local queue that never drains (tasks that keep yielding).
            return self
                .pop_injector_batch(handle)
                .or_else(|| self.next_local_task());
        }
        if let Some(task) = self.next_local_task() {
            return Some(task);
        }
        self.pop_injector_batch(handle)
    }

    /// Takes a fair share of the injector (its length over the number of workers, at most
    /// half a local queue) under one lock: the first task is returned, the rest queued here.
    fn pop_injector_batch(&mut self, handle: &Handle) -> Option<Notified<Arc<Handle>>> {
        let metrics = &handle.shared.metrics[self.index];
        let inject = &handle.shared.inject;
        if inject.is_empty() {
            return None;
        }
        // Take a fair share of the injector in one lock acquisition.
        let cap = self
            .run_queue
            .remaining_slots()
            .clamp(1, LOCAL_QUEUE_CAPACITY / 2);
        let n = (inject.len() / handle.shared.remotes.len() + 1).min(cap);
        let run_queue = &self.run_queue;
        // Count what moves (the queue's length is no measure: others may steal from it now).
        let mut moved = 0u64;
        let task = inject.pop_n(n, |rest| {
            run_queue.push_back_batch(rest.inspect(|_| moved += 1), inject)
        });
        if task.is_some() {
            metrics.injector_pop(moved + 1);
        }
        task
    }

    fn next_local_task(&mut self) -> Option<Notified<Arc<Handle>>> {
        self.lifo_slot.take().or_else(|| self.run_queue.pop())
    }

    fn steal_work(&mut self, handle: &Handle) -> Option<Notified<Arc<Handle>>> {
        if !self.transition_to_searching(handle) {
            return None;
        }
        let remotes = &handle.shared.remotes;
        let n = remotes.len();
        let start = self.rand.next_n(n as u32) as usize;
        for i in 0..n {
            let i = (start + i) % n;
            if i == self.index {
                continue;
            }
            let before = self.run_queue.len();
            if let Some(task) = remotes[i].steal.steal_into(&self.run_queue) {
                // Approximate under a concurrent steal from this queue (hence saturating).
                let stolen = self.run_queue.len().saturating_sub(before) as u64 + 1;
                handle.shared.metrics[self.index].steal(stolen);
                return Some(task);
            }
        }
        let task = handle.shared.inject.pop();
        if task.is_some() {
            handle.shared.metrics[self.index].injector_pop(1);
        }
        task
    }

    fn transition_to_searching(&mut self, handle: &Handle) -> bool {
        if !self.is_searching {
            self.is_searching = handle.shared.idle.transition_worker_to_searching();
        }
        self.is_searching
    }

    fn transition_from_searching(&mut self, handle: &Handle) {
        if !self.is_searching {
            return;
        }
        self.is_searching = false;
        if handle.shared.idle.transition_worker_from_searching() {
            // We were the last searcher: make sure someone keeps looking for the rest.
            handle.notify_parked();
        }
    }

    fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || self.run_queue.has_tasks()
    }

    /// Whether the work queued here is worth waking a sleeping sibling for (see "Waking a
    /// sibling" in the module docs): more than one task, and — once a poll time has been
    /// measured — at least `spread_threshold` of work at the mean poll time.
    fn should_notify_others(&self, shared: &Shared) -> bool {
        // A searching worker will wake the next one when it finds work.
        if self.is_searching {
            return false;
        }
        let queued = usize::from(self.lifo_slot.is_some()) + self.run_queue.len();
        worth_waking_for(
            queued,
            self.mean_poll_ns,
            shared.config.spread_threshold_ns,
            || shared.cpu_idle.idle_milli(),
        )
    }

    fn transition_to_parked(&mut self, handle: &Handle) -> bool {
        if self.has_tasks() {
            return false;
        }
        let was_last = handle
            .shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        if was_last {
            handle.notify_if_work_pending();
        }
        true
    }

    fn transition_from_parked(&mut self, handle: &Handle) -> bool {
        if self.has_tasks() {
            // The driver gave us work while we slept.
            self.is_searching = !handle.shared.idle.unpark_worker_by_id(self.index);
            return true;
        }
        if handle.shared.idle.is_parked(self.index) {
            return false; // spurious
        }
        // Someone picked us through `worker_to_notify`, which counted us as searching.
        self.is_searching = true;
        true
    }

    fn pre_shutdown(&mut self, handle: &Handle) {
        if self.is_searching {
            self.is_searching = false;
            let _ = handle.shared.idle.transition_worker_from_searching();
        }
        // Only references: the owned-tasks list still owns every future.
        drop(self.lifo_slot.take());
        while let Some(task) = self.run_queue.pop() {
            drop(task);
        }
    }
}

impl Handle {
    /// Schedules a task from wherever the caller is.
    fn schedule_task(self: &Arc<Self>, task: Notified<Arc<Handle>>, is_yield: bool) {
        let remote = with_current(|cx| {
            let Some(cx) = cx else {
                return Some(task);
            };
            if !Arc::ptr_eq(&cx.handle, self) {
                return Some(task);
            }
            let mut slot = cx.core.borrow_mut();
            match slot.as_mut() {
                Some(core) => {
                    // `cx.handle` (not `self`, which lives in the task) is used from here on.
                    cx.handle.schedule_local(core, task, is_yield);
                    None
                }
                None => Some(task),
            }
        });
        if let Some(task) = remote {
            // Remote: keep the scheduler alive on our own stack, since `self` lives inside the
            // task and the task may be freed by a worker as soon as it is pushed.
            let this = self.clone();
            this.shared.inject.push(task);
            this.notify_parked();
        }
    }

    fn schedule_local(&self, core: &mut Core, task: Notified<Arc<Handle>>, is_yield: bool) {
        let should_notify = if is_yield || !self.shared.config.lifo_enabled {
            core.run_queue.push_back(task, &self.shared.inject);
            true
        } else {
            match core.lifo_slot.replace(task) {
                Some(prev) => {
                    core.run_queue.push_back(prev, &self.shared.inject);
                    true
                }
                None => false,
            }
        };
        // While parked on the driver (`park` is taken), the decision waits until after the
        // driver returns: one wake-up for the whole batch.
        if should_notify && core.park.is_some() {
            self.notify_parked();
        }
    }

    /// Wakes one sleeping worker if none is searching.
    pub(super) fn notify_parked(&self) {
        if let Some(index) = self.shared.idle.worker_to_notify() {
            if self.shared.remotes[index].unpark.unpark() {
                self.shared.metrics[index].unparked();
            }
        }
    }

    fn notify_if_work_pending(&self) {
        for remote in self.shared.remotes.iter() {
            if !remote.steal.is_empty() {
                self.notify_parked();
                return;
            }
        }
        if !self.shared.inject.is_empty() {
            self.notify_parked();
        }
    }

    /// Spawns a future on this scheduler.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> crate::task_core::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.shared.owned.bind(future, self.clone());
        if let Some(notified) = notified {
            self.schedule_task(notified, false);
        }
        join
    }

    /// Starts shutdown: closes the injector and wakes every worker. Returns false if shutdown
    /// had already begun.
    pub(crate) fn shutdown(&self) -> bool {
        if !self.shared.inject.close() {
            return false;
        }
        for remote in self.shared.remotes.iter() {
            let _ = remote.unpark.unpark();
        }
        true
    }

    /// Whether this thread is one of this runtime's workers.
    pub(crate) fn is_current_worker(self: &Arc<Self>) -> bool {
        with_current(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.handle, self)))
    }

    /// Finishes shutdown once the workers stopped (or `timeout` passed): cancels every task,
    /// drains the queues and shuts the reactor down. Returns true if every worker stopped.
    pub(crate) fn finish_shutdown(&self, timeout: Option<Duration>) -> bool {
        let n = self.shared.remotes.len();
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        let cores = {
            let mut cores = crate::loom::lock(&self.shared.shutdown_cores);
            while cores.len() < n {
                match deadline {
                    None => {
                        cores = self
                            .shared
                            .shutdown_cv
                            .wait(cores)
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                    }
                    Some(None) => {
                        // A timeout too far to represent: wait without one.
                        cores = self
                            .shared
                            .shutdown_cv
                            .wait(cores)
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                    }
                    Some(Some(deadline)) => {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        cores = self
                            .shared
                            .shutdown_cv
                            .wait_timeout(cores, deadline - now)
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .0;
                    }
                }
            }
            std::mem::take(&mut *cores)
        };
        let all_stopped = cores.len() == n;
        self.shared.owned.close_and_shutdown_all();
        drop(self.shared.inject.drain());
        drop(cores);
        self.driver.shutdown();
        all_stopped
    }

    /// Number of live tasks.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    /// A snapshot of the metrics.
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: self.shared.metrics.iter().map(|m| m.snapshot()).collect(),
            alive_tasks: self.shared.owned.len(),
            injector_depth: self.shared.inject.len(),
        }
    }

    /// Number of workers.
    pub(crate) fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// Makes every worker block `bits` in its own thread, and waits (up to a second) until
    /// they all have; see `signals.rs`. The calling thread's own mask is the caller's job.
    /// Returns whether every worker acknowledged.
    pub(crate) fn block_signals(self: &Arc<Self>, bits: SignalBits) -> bool {
        let me = with_current(|cx| {
            cx.filter(|cx| Arc::ptr_eq(&cx.handle, self))
                .map(|cx| cx.index)
        });
        self.shared.signals.block(
            bits,
            me,
            || {
                for remote in self.shared.remotes.iter() {
                    remote.unpark.unpark();
                }
            },
            || self.shared.inject.is_closed(),
        )
    }

    /// The signal module's per-runtime registry, created with `init` on first use.
    pub(crate) fn signal_registry<T: std::any::Any + Send + Sync>(
        &self,
        init: impl FnOnce() -> T,
    ) -> &T {
        self.shared.signals.registry(init)
    }
}

impl Shared {
    fn return_core(&self, core: Box<Core>) {
        let mut cores = crate::loom::lock(&self.shutdown_cores);
        cores.push(core);
        self.shutdown_cv.notify_all();
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.schedule_task(task, true);
    }
}

/// A small xorshift generator for picking a steal victim.
struct FastRand {
    state: u64,
}

impl FastRand {
    fn new(seed: u64) -> FastRand {
        FastRand {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn next_n(&mut self, n: u32) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        ((x >> 32).wrapping_mul(u64::from(n)) >> 32) as u32
    }
}

impl Handle {
    /// Cleans up after `Builder::build` failed to start every worker (those started were
    /// joined already).
    pub(crate) fn shared_shutdown_after_failed_start(&self) {
        self.shared.owned.close_and_shutdown_all();
        drop(self.shared.inject.drain());
        drop(std::mem::take(&mut *crate::loom::lock(
            &self.shared.shutdown_cores,
        )));
        self.driver.shutdown();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::worth_waking_for;

    #[test]
    fn a_sibling_is_woken_only_for_enough_work() {
        let idle = |v: Option<u64>| move || v;
        let not_asked = || -> Option<u64> { panic!("idle CPUs asked for no reason") };
        // One task is never shared.
        assert!(!worth_waking_for(1, 0.0, 0.0, not_asked));
        assert!(!worth_waking_for(1, 1e9, 200_000.0, not_asked));
        // Nothing measured yet: Tokio's rule, more than one task.
        assert!(worth_waking_for(2, 0.0, 200_000.0, not_asked));
        // 10 µs polls: 19 tasks are 190 µs, under 200 µs; 20 are enough...
        assert!(!worth_waking_for(19, 10_000.0, 200_000.0, not_asked));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(None)));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(1_000))));
        // ...unless the CPUs have had less than three quarters of one idle lately.
        assert!(!worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(700))));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(750))));
        // A zero threshold is Tokio's rule whatever the poll time and the CPUs.
        assert!(worth_waking_for(2, 1.0, 0.0, not_asked));
    }
}
