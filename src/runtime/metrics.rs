//! Runtime metrics: what each worker did, for tuning and for the syscall study.
//! [`Handle::metrics`](crate::Handle::metrics) reads a snapshot of the scheduler's per-worker
//! counters (`scheduler/counters.rs`, where the way they are counted is described).

use std::fmt;

use crate::scheduler::CounterValues;

/// What one worker has done since the runtime started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerMetrics {
    /// Tasks polled (including LIFO-slot polls).
    pub polls: u64,
    /// Polls of a task taken from the LIFO slot.
    pub lifo_hits: u64,
    /// Successful steal operations from other workers' queues.
    pub steals: u64,
    /// Tasks moved by those steals.
    pub stolen_tasks: u64,
    /// Tasks taken from the global injector queue.
    pub injector_pops: u64,
    /// Times the worker went to sleep.
    pub parks: u64,
    /// Times another thread woke it from sleep (condvar signal or eventfd write).
    pub unparks: u64,
    /// `epoll_wait` calls it made while holding the driver (blocking or not).
    pub epoll_waits: u64,
    /// I/O events and timers those calls dispatched.
    pub io_events: u64,
}

impl From<CounterValues> for WorkerMetrics {
    fn from(c: CounterValues) -> WorkerMetrics {
        WorkerMetrics {
            polls: c.polls,
            lifo_hits: c.lifo_hits,
            steals: c.steals,
            stolen_tasks: c.stolen_tasks,
            injector_pops: c.injector_pops,
            parks: c.parks,
            unparks: c.unparks,
            epoll_waits: c.epoll_waits,
            io_events: c.io_events,
        }
    }
}

impl WorkerMetrics {
    /// Mean events dispatched per `epoll_wait` (0 when none were made).
    pub fn events_per_wait(&self) -> f64 {
        if self.epoll_waits == 0 {
            0.0
        } else {
            self.io_events as f64 / self.epoll_waits as f64
        }
    }
}

/// A snapshot of a runtime's metrics.
#[derive(Clone, Debug, Default)]
pub struct RuntimeMetrics {
    /// One entry per worker (one for the current-thread flavour: the `block_on` thread).
    pub workers: Vec<WorkerMetrics>,
    /// Tasks spawned and not finished.
    pub alive_tasks: usize,
    /// Tasks waiting in the global injector queue.
    pub injector_depth: usize,
}

impl RuntimeMetrics {
    /// The sum over all workers.
    pub fn total(&self) -> WorkerMetrics {
        self.workers
            .iter()
            .fold(WorkerMetrics::default(), |a, w| WorkerMetrics {
                polls: a.polls + w.polls,
                lifo_hits: a.lifo_hits + w.lifo_hits,
                steals: a.steals + w.steals,
                stolen_tasks: a.stolen_tasks + w.stolen_tasks,
                injector_pops: a.injector_pops + w.injector_pops,
                parks: a.parks + w.parks,
                unparks: a.unparks + w.unparks,
                epoll_waits: a.epoll_waits + w.epoll_waits,
                io_events: a.io_events + w.io_events,
            })
    }
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "worker      polls  lifo_hits  steals  stolen  inj_pops   parks  unparks  epoll_waits  events/wait"
        )?;
        for (i, w) in self.workers.iter().enumerate() {
            writeln!(
                f,
                "{:<6} {:>10} {:>10} {:>7} {:>7} {:>9} {:>7} {:>8} {:>12} {:>12.2}",
                i,
                w.polls,
                w.lifo_hits,
                w.steals,
                w.stolen_tasks,
                w.injector_pops,
                w.parks,
                w.unparks,
                w.epoll_waits,
                w.events_per_wait()
            )?;
        }
        write!(
            f,
            "alive tasks {}, injector depth {}",
            self.alive_tasks, self.injector_depth
        )
    }
}
