//! The multi-thread worker loop.
//!
//! Each worker owns a `Core`: its local run queue, its LIFO slot, its parker and its poll
//! timer. The core is moved in and out of the worker's `Context` (reached through the
//! thread-local context, `scheduler/context.rs`) so that tasks woken *on* this worker (by a
//! task it is polling, or by the driver while it parks) go straight into its own queue
//! without locks.
//!
//! # Finding work
//! 1. Every `global_queue_interval` ticks the injector is checked first, so remote tasks are
//!    never starved by a busy local queue.
//! 2. Otherwise the LIFO slot (the task spawned last, or woken last while the queue was
//!    empty — usually the other end of a message just sent; `policy/lifo.rs` says which
//!    pushes take it), then the local queue, then a batch from the injector.
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
//! A worker that comes back from the driver (blocking or not) with tasks queued asks the
//! spread rule (`policy/spread.rs`) whether the backlog is worth waking a sleeping sibling
//! for; it measures its mean poll time for that rule and for the injector interval with a
//! `PollTimer` (`policy/poll_time.rs`) over its busy periods. Tasks pushed by a running task
//! (spawns, wakes of other tasks) wake a sibling at once, as in Tokio.
//!
//! # Shutdown
//! 1. `Handle::shutdown` closes the injector (the shutdown flag) and unparks every worker.
//! 2. Each worker sees the flag at its next maintenance or park, drops the tasks still in its
//!    queues (only references: the futures are still owned by the owned-tasks list) and hands
//!    its core back.
//! 3. The thread dropping the runtime waits for the cores (up to the timeout), closes the
//!    owned-tasks list and cancels every task — so every future is dropped exactly once, and
//!    the fds they own are closed — drains the injector and shuts the reactor down.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::idle::Idle;
use super::monitor::Monitor;
use super::park::{DriverShared, Parker, Unparker};
use super::queue::{self, LOCAL_QUEUE_CAPACITY};
use crate::reactor;
use crate::scheduler::blocking;
use crate::scheduler::context;
use crate::scheduler::coop;
use crate::scheduler::counters::{CounterValues, WorkerCounters};
use crate::scheduler::inject::Inject;
use crate::scheduler::policy::{self, PollTimer, Pushed, SpreadRule};
use crate::task_core::{Notified, OwnedTasks, Schedule, Task};

// Cores are boxed so moving one in and out of the worker's context copies a pointer.
#[allow(clippy::vec_box)]
type Cores = Vec<Box<Core>>;

/// LIFO tasks run in a row before the slot's task is sent to the back of the queue.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

/// Tuning knobs, fixed at build time of the runtime.
#[derive(Clone)]
pub(crate) struct Config {
    /// `Some(n)`: check the injector first every `n` ticks. `None`: adapt it to the measured
    /// poll time (about every 200 µs of polling).
    pub(crate) global_queue_interval: Option<u32>,
    pub(crate) event_interval: u32,
    pub(crate) lifo_enabled: bool,
    /// A worker wakes a sleeping sibling for its queued work only when that work is
    /// expected to take at least this long (zero: whenever more than one task is queued).
    pub(crate) spread_threshold: Duration,
    /// Names worker threads (by worker index), also those started by `block_in_place`.
    pub(crate) thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    /// The user's thread callbacks (`hooks.rs`).
    pub(crate) hooks: crate::scheduler::hooks::Hooks,
}

/// The scheduler handle tasks hold (as `Arc<Handle>`).
pub(crate) struct Handle {
    pub(super) shared: Shared,
    pub(crate) driver: reactor::Handle,
    pub(crate) blocking: blocking::Spawner,
}

pub(super) struct Shared {
    remotes: Box<[Remote]>,
    pub(super) inject: Inject<Arc<Handle>>,
    idle: Idle,
    pub(super) owned: OwnedTasks<Arc<Handle>>,
    /// Workers that have stopped: the cores they handed back, and how many stopped without
    /// one (a worker that unwound with its core lost). Shutdown waits for all of them.
    stopped: Mutex<Stopped>,
    shutdown_cv: Condvar,
    config: Config,
    metrics: Box<[WorkerCounters]>,
    /// Tests only: the next worker to park panics there (with its core in its context), to
    /// check what `WorkerExit` does.
    #[cfg(all(test, not(loom)))]
    fail_next_park: std::sync::atomic::AtomicBool,
    /// When to wake a sibling for a backlog (`policy/spread.rs`).
    spread: SpreadRule,
    /// The driver (to ask whether a worker sleeps in it).
    driver: Arc<DriverShared>,
    /// Watches for workers stuck in a poll (`monitor.rs`).
    pub(super) monitor: Monitor,
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
    /// Mean poll time over busy periods, and the injector interval it gives.
    timer: PollTimer,
}

/// A worker thread's scheduler context (reached through the thread-local context).
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
    /// Set while the worker sleeps in `park_internal` (for `WorkerExit`, which must know
    /// whether the idle protocol counts it as parked).
    parking: std::cell::Cell<bool>,
    /// Set once `block_in_place` has handed the core to another thread: this thread then
    /// finishes the task it is polling and stops being a worker.
    handed_off: std::cell::Cell<bool>,
}

#[derive(Default)]
struct Stopped {
    cores: Cores,
    lost: usize,
}

impl Stopped {
    fn count(&self) -> usize {
        self.cores.len() + self.lost
    }
}

/// Builds the handle and the cores (one per worker); the caller starts the threads.
pub(crate) fn create(
    num_workers: usize,
    driver: reactor::Driver,
    blocking: blocking::Spawner,
    config: Config,
) -> (Arc<Handle>, Cores) {
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
            timer: PollTimer::new(config.global_queue_interval),
        }));
    }
    let handle = Arc::new(Handle {
        shared: Shared {
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(),
            idle: Idle::new(num_workers),
            spread: SpreadRule::new(config.spread_threshold),
            driver: driver_shared,
            monitor: Monitor::new(),
            owned: OwnedTasks::new(num_workers * 4),
            stopped: Mutex::new(Stopped::default()),
            shutdown_cv: Condvar::new(),
            config,
            metrics: (0..num_workers)
                .map(|_| WorkerCounters::default())
                .collect(),
            #[cfg(all(test, not(loom)))]
            fail_next_park: std::sync::atomic::AtomicBool::new(false),
        },
        driver: driver_handle,
        blocking,
    });
    (handle, cores)
}

/// The body of a worker thread: this runtime is current on it, the thread counts as driving
/// it, and the worker's context is the thread's scheduler context until the loop ends.
pub(crate) fn run(core: Box<Core>, handle: Arc<Handle>) {
    let _current = context::set_current(crate::scheduler::Handle::MultiThread(handle.clone()));
    let _entered = context::enter_runtime();
    // With the runtime current, so that the callbacks may use `Handle::current`.
    let _hooks = handle.shared.config.hooks.thread();
    let index = core.index;
    let scheduler_cx = crate::scheduler::Context::MultiThread(Context {
        handle: handle.clone(),
        core: RefCell::new(None),
        parking: std::cell::Cell::new(false),
        handed_off: std::cell::Cell::new(false),
    });
    let crate::scheduler::Context::MultiThread(cx) = &scheduler_cx else {
        unreachable!("built as the multi-thread variant just above")
    };
    let exit = WorkerExit { cx, index };
    let core = context::set_scheduler(&scheduler_cx, || cx.run(core));
    std::mem::forget(exit);
    // `None`: the core went to another thread (`block_in_place`), which hands it back.
    if let Some(core) = core {
        handle.shared.return_core(core);
    }
}

/// `block_in_place` on a worker: hands this worker's core (its queues, its parker, its
/// place in the idle protocol) to a new thread, which goes on as the worker, so that the
/// caller may block this thread. Returns false if there was no core to hand off (a nested
/// call, or one made while the core is elsewhere) or no thread could be started (the core
/// then stays here and the caller blocks this worker).
pub(crate) fn hand_off_core(cx: &Context) -> bool {
    let Some(core) = cx.core.borrow_mut().take() else {
        return false;
    };
    let config = &cx.handle.shared.config;
    let mut builder = std::thread::Builder::new().name((config.thread_name)(core.index));
    if let Some(size) = config.stack_size {
        builder = builder.stack_size(size);
    }
    // The core travels through a slot, so that a failed spawn (which drops the closure)
    // does not take it along.
    let slot = Arc::new(Mutex::new(Some(core)));
    let (theirs, handle) = (slot.clone(), cx.handle.clone());
    let spawned = builder.spawn(move || {
        let core = crate::loom::lock(&*theirs).take();
        if let Some(core) = core {
            run(core, handle);
        }
    });
    match spawned {
        Ok(_detached) => {
            cx.handed_off.set(true);
            true
        }
        Err(_) => {
            *cx.core.borrow_mut() = crate::loom::lock(&*slot).take();
            false
        }
    }
}

/// Runs only if a worker's loop unwinds. User code cannot make it unwind (tasks run under
/// `catch_unwind`, wakers are woken through `util::wake`), so this is for a bug in rawrt
/// itself; even then the runtime keeps serving and its drop does not hang: the core, when
/// it is in the context (where it is whenever tasks, wakers or the driver run), gives its
/// queued tasks to the injector and is handed back for shutdown; the idle protocol stops
/// counting the worker (it is taken off the sleepers' list, its searching mark removed);
/// and a sibling is woken for the tasks.
struct WorkerExit<'a> {
    cx: &'a Context,
    index: usize,
}

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        if self.cx.handed_off.get() {
            // The worker lives on in the thread that took the core.
            return;
        }
        let shared = &self.cx.handle.shared;
        let core = self.cx.core.borrow_mut().take();
        let was_searching = core.as_ref().is_some_and(|c| c.is_searching);
        shared
            .idle
            .worker_lost(self.index, was_searching, self.cx.parking.get());
        let mut stopped = crate::loom::lock(&shared.stopped);
        match core {
            Some(mut core) => {
                let tasks = core.lifo_slot.take().into_iter();
                let tasks: Vec<_> = tasks
                    .chain(std::iter::from_fn(|| core.run_queue.pop()))
                    .collect();
                shared.inject.push_batch(tasks.into_iter());
                stopped.cores.push(core);
            }
            None => stopped.lost += 1,
        }
        shared.shutdown_cv.notify_all();
        drop(stopped);
        self.cx.handle.notify_parked();
    }
}

impl Context {
    /// The loop; `None` when the core was handed to another thread (`block_in_place`).
    fn run(&self, mut core: Box<Core>) -> Option<Box<Core>> {
        let polls = self.handle.shared.metrics[core.index].polls();
        core.timer.start(Instant::now(), polls);
        while !core.is_shutdown {
            core.tick = core.tick.wrapping_add(1);
            core = self.maintenance(core);
            if core.is_shutdown {
                break;
            }
            if let Some(task) = core.next_task(&self.handle) {
                core = self.run_task(task, core)?;
                continue;
            }
            if let Some(task) = core.steal_work(&self.handle) {
                core = self.run_task(task, core)?;
                continue;
            }
            core = self.park(core);
        }
        core.pre_shutdown(&self.handle);
        Some(core)
    }

    /// Polls `task` (and the LIFO chain after it); `None` if a poll handed the core away.
    fn run_task(&self, task: Notified<Arc<Handle>>, mut core: Box<Core>) -> Option<Box<Core>> {
        core.transition_from_searching(&self.handle);
        let metrics = &self.handle.shared.metrics[core.index];
        *self.core.borrow_mut() = Some(core);
        metrics.poll();
        coop::start_task_poll();
        context::run_task(task);
        let mut lifo_polls = 0;
        loop {
            // Gone if the task called `block_in_place`: another thread is the worker now.
            let mut core = self.core.borrow_mut().take()?;
            let Some(task) = core.lifo_slot.take() else {
                return Some(core);
            };
            if lifo_polls >= MAX_LIFO_POLLS_PER_TICK {
                // Fairness: the LIFO chain has had its turn.
                core.run_queue.push_back(task, &self.handle.shared.inject);
                if core.park.is_some() {
                    self.handle.notify_parked_local();
                }
                return Some(core);
            }
            lifo_polls += 1;
            *self.core.borrow_mut() = Some(core);
            metrics.poll();
            metrics.lifo_hit();
            coop::start_task_poll();
            context::run_task(task);
        }
    }

    /// Takes the core back from the context after a poll or a driver poll (a task or a
    /// waker run meanwhile cannot take it: only this loop does).
    fn take_core(&self) -> Box<Core> {
        self.core
            .borrow_mut()
            .take()
            .expect("the worker's core is in its context while it polls")
    }

    fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        let interval = self.handle.shared.config.event_interval.max(1);
        // Counted from this worker's last driver poll, so a worker that has just slept in
        // `epoll_wait` does not poll again a few tasks later for nothing.
        if core.tick.wrapping_sub(core.polled_driver_at) >= interval {
            core.polled_driver_at = core.tick;
            let polls = self.handle.shared.metrics[core.index].polls();
            core.timer.restart(Instant::now(), polls);
            // Poll I/O without blocking so that a busy runtime still sees new events.
            let mut park = core.park.take().expect("a running worker holds its parker");
            let index = core.index;
            *self.core.borrow_mut() = Some(core);
            let polled = park.poll_driver();
            if let Some(events) = polled {
                self.handle.shared.metrics[index].epoll_wait(events);
            }
            core = self.take_core();
            core.park = Some(park);
            if core.should_notify_others(&self.handle.shared) {
                self.handle.notify_parked();
            } else if polled.is_some() && core.has_tasks() {
                self.handle.shared.monitor.watch();
            }
            core.is_shutdown = self.handle.shared.inject.is_closed();
        }
        core
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        let metrics = &self.handle.shared.metrics[core.index];
        core.timer.stop(Instant::now(), metrics.polls());
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
        core.timer.start(Instant::now(), metrics.polls());
        core
    }

    fn park_internal(&self, mut core: Box<Core>) -> Box<Core> {
        let mut park = core.park.take().expect("a running worker holds its parker");
        let metrics = &self.handle.shared.metrics[core.index];
        // The core goes back into the context so that tasks the driver wakes land in our
        // local queue.
        *self.core.borrow_mut() = Some(core);
        metrics.park();
        self.parking.set(true);
        #[cfg(all(test, not(loom)))]
        if (self.handle.shared.fail_next_park).swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("injected worker failure");
        }
        self.handle.shared.config.hooks.park();
        let polled = park.park();
        self.handle.shared.config.hooks.unpark();
        self.parking.set(false);
        if let Some(events) = polled {
            metrics.epoll_wait(events);
        }
        let mut core = self.take_core();
        core.park = Some(park);
        if polled.is_some() {
            core.polled_driver_at = core.tick;
        }
        if core.should_notify_others(&self.handle.shared) {
            self.handle.notify_parked();
        } else if polled.is_some() && core.has_tasks() {
            // Work kept here, and the driver left unheld: the monitor makes sure a task
            // that blocks this worker does not hold it all up.
            self.handle.shared.monitor.watch();
        }
        core
    }
}

impl Core {
    fn next_task(&mut self, handle: &Handle) -> Option<Notified<Arc<Handle>>> {
        if self.tick % self.timer.global_queue_interval().max(1) == 0 {
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

    /// Whether the work queued here is worth waking a sleeping sibling for (the spread rule,
    /// `policy/spread.rs`).
    fn should_notify_others(&self, shared: &Shared) -> bool {
        // A searching worker will wake the next one when it finds work.
        if self.is_searching {
            return false;
        }
        let queued = usize::from(self.lifo_slot.is_some()) + self.run_queue.len();
        shared
            .spread
            .worth_waking_for(queued, self.timer.mean_poll_ns())
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
    /// Queues `task`: into this worker's own queue when `cx` is a worker of this runtime
    /// holding its core, else into the injector (waking a sleeper).
    fn schedule_task(
        self: &Arc<Self>,
        task: Notified<Arc<Handle>>,
        why: Pushed,
        cx: Option<&crate::scheduler::Context>,
    ) {
        let task = match cx {
            Some(crate::scheduler::Context::MultiThread(cx)) if Arc::ptr_eq(&cx.handle, self) => {
                match cx.core.borrow_mut().as_mut() {
                    Some(core) => {
                        // `cx.handle` (not `self`, which lives in the task) is used from here.
                        cx.handle.schedule_local(core, task, why);
                        return;
                    }
                    None => task,
                }
            }
            _ => task,
        };
        // Remote: keep the scheduler alive on our own stack, since `self` lives inside the
        // task and the task may be freed by a worker as soon as it is pushed.
        let this = self.clone();
        this.shared.inject.push(task);
        this.notify_parked();
    }

    fn schedule_local(&self, core: &mut Core, task: Notified<Arc<Handle>>, why: Pushed) {
        let lifo = self.shared.config.lifo_enabled
            && policy::takes_lifo_slot(why, core.run_queue.has_tasks());
        let should_notify = if !lifo {
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
            self.notify_parked_local();
        }
    }

    /// `notify_parked` for work this running worker queued in its own queue: skipped, without
    /// the fence, when no worker seems asleep. Missing a worker that parks at this very
    /// moment strands nothing — this worker runs its queue itself (and the monitor hands it
    /// to a sibling if it gets stuck) — it only delays sharing; work for the injector, which
    /// no particular worker will run, always takes the full path.
    fn notify_parked_local(&self) {
        if self.shared.idle.may_have_sleepers() {
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

    /// Spawns a future on this scheduler; `cx` is the calling thread's scheduler context.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        cx: Option<&crate::scheduler::Context>,
    ) -> crate::task_core::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.shared.owned.bind(future, self.clone());
        if let Some(notified) = notified {
            self.schedule_task(notified, Pushed::Spawned, cx);
        }
        join
    }

    /// Starts shutdown: closes the injector and wakes every worker. Returns false if shutdown
    /// had already begun.
    pub(crate) fn shutdown(&self) -> bool {
        if !self.shared.inject.close() {
            return false;
        }
        self.shared.monitor.shutdown();
        for remote in self.shared.remotes.iter() {
            let _ = remote.unpark.unpark();
        }
        true
    }

    /// Whether this thread is one of this runtime's workers.
    pub(crate) fn is_current_worker(self: &Arc<Self>) -> bool {
        context::with_scheduler(
            |cx| matches!(cx, Some(crate::scheduler::Context::MultiThread(cx)) if Arc::ptr_eq(&cx.handle, self)),
        )
    }

    /// Finishes shutdown once the workers stopped (or `timeout` passed): cancels every task,
    /// drains the queues and shuts the reactor down. Returns true if every worker stopped.
    pub(crate) fn finish_shutdown(&self, timeout: Option<Duration>) -> bool {
        let n = self.shared.remotes.len();
        // `None`: wait as long as it takes (also for a timeout too far to represent).
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let (cores, all_stopped) = {
            let stopped = crate::loom::lock(&self.shared.stopped);
            let (mut stopped, all) =
                crate::util::wait_until(&self.shared.shutdown_cv, stopped, deadline, |s| {
                    s.count() >= n
                });
            (std::mem::take(&mut stopped.cores), all)
        };
        self.cancel_everything(cores);
        all_stopped
    }

    /// Cleans up after `Builder::build` failed to start every worker (those started were
    /// joined already).
    pub(crate) fn shutdown_after_failed_start(&self) {
        let cores = std::mem::take(&mut crate::loom::lock(&self.shared.stopped).cores);
        self.cancel_everything(cores);
    }

    /// The last step of shutdown: cancels every task (each future dropped exactly once, so
    /// the fds they own are closed), drains the injector, drops the cores that came back and
    /// shuts the reactor down.
    fn cancel_everything(&self, cores: Cores) {
        self.shared.owned.close_and_shutdown_all();
        drop(self.shared.inject.drain());
        drop(cores);
        self.driver.shutdown();
    }

    /// Number of live tasks.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    /// Each worker's counters.
    pub(crate) fn worker_counters(&self) -> Vec<CounterValues> {
        self.shared
            .metrics
            .iter()
            .map(WorkerCounters::read)
            .collect()
    }

    /// Tasks waiting in the injector.
    pub(crate) fn injector_depth(&self) -> usize {
        self.shared.inject.len()
    }

    /// Number of workers.
    pub(crate) fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// For the monitor: worker `index` at this moment.
    pub(super) fn worker_view(&self, index: usize) -> crate::scheduler::policy::stall::WorkerView {
        crate::scheduler::policy::stall::WorkerView {
            polls: self.shared.metrics[index].polls(),
            asleep: self.shared.idle.is_parked(index),
            has_queued: !self.shared.remotes[index].steal.is_empty(),
        }
    }

    /// For the monitor: whether a worker sleeps in the driver.
    pub(super) fn driver_is_watched(&self) -> bool {
        self.shared.driver.is_watched()
    }

    /// For the monitor: whether any task waits in a queue (a worker's or the injector).
    pub(super) fn has_queued_work(&self) -> bool {
        !self.shared.inject.is_empty() || self.shared.remotes.iter().any(|r| !r.steal.is_empty())
    }
}

impl Shared {
    fn return_core(&self, core: Box<Core>) {
        let mut stopped = crate::loom::lock(&self.stopped);
        stopped.cores.push(core);
        self.shutdown_cv.notify_all();
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        context::with_scheduler(|cx| self.schedule_task(task, Pushed::Woken, cx));
    }

    fn yield_now(&self, task: Notified<Self>) {
        context::with_scheduler(|cx| self.schedule_task(task, Pushed::Yielded, cx));
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::mpsc;

    /// A runtime of `n` workers without the runtime layer: the handle and the threads.
    fn start(n: usize) -> (Arc<Handle>, Vec<std::thread::JoinHandle<()>>) {
        let blocking = blocking::Spawner::new(blocking::Config {
            max_threads: 1,
            keep_alive: Duration::from_secs(1),
            thread_name: Arc::new(|i| format!("test-blocking-{i}")),
            stack_size: None,
            hooks: Default::default(),
        });
        let config = Config {
            global_queue_interval: None,
            event_interval: 61,
            lifo_enabled: true,
            spread_threshold: Duration::ZERO,
            thread_name: Arc::new(|i| format!("test-worker-{i}")),
            stack_size: None,
            hooks: Default::default(),
        };
        let driver = reactor::Driver::new(64).unwrap();
        let (handle, cores) = create(n, driver, blocking, config);
        let threads = cores
            .into_iter()
            .map(|core| {
                let h = handle.clone();
                std::thread::spawn(move || run(core, h))
            })
            .collect();
        (handle, threads)
    }

    fn run_tasks(handle: &Arc<Handle>, n: usize) {
        let (tx, rx) = mpsc::channel();
        for i in 0..n {
            let tx = tx.clone();
            drop(handle.spawn(async move { tx.send(i).unwrap() }, None));
        }
        let mut got: Vec<usize> = (0..n)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("a task ran")
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn a_worker_that_unwinds_hands_its_core_back_and_the_rest_keep_serving() {
        let (handle, threads) = start(2);
        run_tasks(&handle, 10);
        // The next worker to park dies there, its core in its context.
        handle.shared.fail_next_park.store(true, SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while crate::loom::lock(&handle.shared.stopped).count() == 0 {
            assert!(Instant::now() < deadline, "no worker parked");
            drop(handle.spawn(async {}, None));
            std::thread::sleep(Duration::from_millis(1));
        }
        {
            let stopped = crate::loom::lock(&handle.shared.stopped);
            assert_eq!(
                (stopped.cores.len(), stopped.lost),
                (1, 0),
                "the core came back"
            );
        }
        // The survivor runs everything, remote spawns included, sleeping and waking as usual.
        for _ in 0..20 {
            run_tasks(&handle, 50);
        }
        // Shutdown waits for the survivor only; it does not hang for the dead one.
        assert!(handle.shutdown());
        let (done_tx, done_rx) = mpsc::channel();
        let h = handle.clone();
        std::thread::spawn(move || done_tx.send(h.finish_shutdown(None)).unwrap());
        let all_stopped = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("finish_shutdown returned");
        assert!(all_stopped);
        let results: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_err()).count(),
            1,
            "one worker died"
        );
    }
}
