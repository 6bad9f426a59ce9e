//! Per-worker counters: what each worker did, read by the runtime's metrics.
//!
//! Each worker owns a block of counters and updates it with plain loads and stores (only it
//! writes them; no atomic read-modify-write on the hot path). `unparks` is the exception: it
//! is counted by the thread doing the waking, with a `fetch_add`, and only when a worker was
//! really asleep.

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

    /// Reads every counter (relaxed: a snapshot of counters that only grow).
    pub(crate) fn read(&self) -> CounterValues {
        CounterValues {
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

/// The values of one worker's counters at one moment (the runtime layer turns them into the
/// public `WorkerMetrics`; each field is documented there).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CounterValues {
    pub(crate) polls: u64,
    pub(crate) lifo_hits: u64,
    pub(crate) steals: u64,
    pub(crate) stolen_tasks: u64,
    pub(crate) injector_pops: u64,
    pub(crate) parks: u64,
    pub(crate) unparks: u64,
    pub(crate) epoll_waits: u64,
    pub(crate) io_events: u64,
}
