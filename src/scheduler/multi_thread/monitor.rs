//! The monitor: one thread per multi-thread runtime (of two or more workers) that notices a
//! worker stuck in one poll and sends a sleeping sibling to take the work waiting on it.
//!
//! The spread rule keeps small backlogs with the worker that found them, and leaves the
//! driver unheld while that worker runs them (`policy/spread.rs`). If one of those tasks
//! blocks its worker, the tasks queued behind it and every new event would wait for the
//! whole block. The monitor closes that gap without touching the fast path:
//!
//! - **Watching.** While the runtime is busy it looks at every worker each
//!   `CHECK_INTERVAL` (1 ms): polls finished, asleep or not, tasks queued, and whether a
//!   worker sleeps in the driver. A worker that is stuck (`policy/stall.rs`) gets help:
//!   the monitor wakes a sleeper as new work would (`Handle::notify_parked`); the sleeper
//!   searches, steals half of the stuck worker's queue (and goes on stealing while it
//!   finds more), and parks on the driver, which is free. Looks that find every worker
//!   asleep with nothing queued stretch the wait, doubling it up to `MAX_CHECK_INTERVAL`
//!   (16 ms); a look that finds one awake brings it back to 1 ms (`stall::next_interval`).
//! - **Sleeping.** When the looks in a row have found the runtime idle for
//!   `IDLE_BEFORE_SLEEP` (100 ms), it sleeps untimed on its condvar: an idle runtime costs
//!   nothing, and a trickle of work keeps it looking slowly rather than waking it for each
//!   request. A worker that comes back from the driver with tasks queued calls
//!   [`Monitor::watch`]: one relaxed load, and a notify only if the monitor sleeps untimed.
//!
//! `watching` is written under the mutex. The worker publishes its queued work (and that
//! it is awake) and then loads `watching`; the monitor stores `watching = false` and then
//! looks at the queues and the sleepers once more before it sleeps. A `SeqCst` fence on each
//! side orders store before load, so either the worker sees `false` (and notifies, under the
//! mutex) or the monitor sees the work (and keeps watching).

use std::sync::atomic::{fence, AtomicBool, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::worker::Handle;
use crate::scheduler::policy::stall::{self, CHECK_INTERVAL, IDLE_BEFORE_SLEEP};
use crate::util;

/// The monitor's shared state (in the scheduler's `Shared`).
pub(crate) struct Monitor {
    /// The monitor looks, every `CHECK_INTERVAL` to `MAX_CHECK_INTERVAL` (true), or sleeps
    /// until notified (false).
    watching: AtomicBool,
    lock: Mutex<State>,
    cv: Condvar,
}

#[derive(Default)]
struct State {
    shutdown: bool,
}

impl Monitor {
    pub(crate) fn new() -> Monitor {
        Monitor {
            watching: AtomicBool::new(false),
            lock: Mutex::new(State::default()),
            cv: Condvar::new(),
        }
    }

    /// A worker has work queued that it will run itself: make sure the monitor looks.
    #[inline]
    pub(crate) fn watch(&self) {
        // Orders the caller's queue writes before the load (module docs).
        fence(SeqCst);
        if !self.watching.load(Relaxed) {
            self.wake_up();
        }
    }

    #[cold]
    fn wake_up(&self) {
        let _state = crate::loom::lock(&self.lock);
        self.watching.store(true, Relaxed);
        self.cv.notify_one();
    }

    /// Stops the monitor thread (runtime shutdown).
    pub(crate) fn shutdown(&self) {
        crate::loom::lock(&self.lock).shutdown = true;
        self.cv.notify_one();
    }
}

/// The monitor thread's body: returns at shutdown.
pub(crate) fn run(handle: Arc<Handle>) {
    let monitor = &handle.shared.monitor;
    let n = handle.num_workers();
    let mut last_polls = vec![u64::MAX; n];
    let mut interval = CHECK_INTERVAL;
    let mut idle_for = Duration::ZERO;
    let mut state = crate::loom::lock(&monitor.lock);
    loop {
        if state.shutdown {
            return;
        }
        if !monitor.watching.load(Relaxed) {
            state = util::wait(&monitor.cv, state, None);
            last_polls.iter_mut().for_each(|p| *p = u64::MAX);
            interval = CHECK_INTERVAL;
            idle_for = Duration::ZERO;
            continue;
        }
        state = util::wait(&monitor.cv, state, Some(interval));
        if state.shutdown {
            return;
        }
        drop(state);
        let busy = look(&handle, &mut last_polls);
        state = crate::loom::lock(&monitor.lock);
        idle_for = if busy {
            Duration::ZERO
        } else {
            idle_for + interval
        };
        interval = stall::next_interval(interval, busy);
        if idle_for >= IDLE_BEFORE_SLEEP {
            idle_for = Duration::ZERO;
            monitor.watching.store(false, Relaxed);
            // Pairs with the fence in `watch` (module docs): look once more before sleeping.
            fence(SeqCst);
            if handle.has_queued_work() || (0..n).any(|i| !handle.worker_view(i).asleep) {
                monitor.watching.store(true, Relaxed);
                interval = CHECK_INTERVAL;
            }
        }
    }
}

/// One look at every worker: helps the stuck ones, and says whether any is awake or any
/// work is queued (then the monitor keeps watching).
fn look(handle: &Handle, last_polls: &mut [u64]) -> bool {
    let driver_watched = handle.driver_is_watched();
    let mut busy = false;
    let mut stuck = false;
    for (i, before) in last_polls.iter_mut().enumerate() {
        let now = handle.worker_view(i);
        busy |= !now.asleep || now.has_queued;
        stuck |= stall::is_stuck(*before, now, driver_watched);
        *before = now.polls;
    }
    if stuck {
        handle.notify_parked();
    }
    busy || handle.has_queued_work()
}
