//! Runtime metrics: what each worker did, for tuning and for the syscall study.
//!
//! Each worker owns a block of counters and updates it with plain loads and stores (only it
//! writes them; no atomic read-modify-write on the hot path). `unparks` is the exception: it
//! is counted by the thread doing the waking, with a `fetch_add`, and only when a worker was
//! really asleep. [`Handle::metrics`](crate::Handle::metrics) reads a snapshot.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One worker's live counters.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    polls: AtomicU64,
    lifo_hits: AtomicU64,
    steals: AtomicU64,
    stolen_tasks: AtomicU64,
    injector_pops: AtomicU64,
    parks: AtomicU64,
    unparks: AtomicU64,
    epoll_waits: AtomicU64,
    io_events: AtomicU64,
}

/// Adds `n` to a counter only its owner writes.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

impl WorkerCounters {
    pub(crate) fn poll(&self) {
        bump(&self.polls, 1);
    }
    /// Polls so far (read by the owning worker to measure poll time).
    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Relaxed)
    }
    pub(crate) fn lifo_hit(&self) {
        bump(&self.lifo_hits, 1);
    }
    pub(crate) fn steal(&self, tasks: u64) {
        bump(&self.steals, 1);
        bump(&self.stolen_tasks, tasks);
    }
    pub(crate) fn injector_pop(&self, tasks: u64) {
        bump(&self.injector_pops, tasks);
    }
    pub(crate) fn park(&self) {
        bump(&self.parks, 1);
    }
    /// Counted by the waking thread (hence an atomic add).
    pub(crate) fn unparked(&self) {
        self.unparks.fetch_add(1, Relaxed);
    }
    pub(crate) fn epoll_wait(&self, events: usize) {
        bump(&self.epoll_waits, 1);
        bump(&self.io_events, events as u64);
    }

    pub(crate) fn snapshot(&self) -> WorkerMetrics {
        WorkerMetrics {
            polls: self.polls.load(Relaxed),
            lifo_hits: self.lifo_hits.load(Relaxed),
            steals: self.steals.load(Relaxed),
            stolen_tasks: self.stolen_tasks.load(Relaxed),
            injector_pops: self.injector_pops.load(Relaxed),
            parks: self.parks.load(Relaxed),
            unparks: self.unparks.load(Relaxed),
            epoll_waits: self.epoll_waits.load(Relaxed),
            io_events: self.io_events.load(Relaxed),
        }
    }
}

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
