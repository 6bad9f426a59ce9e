//! Which workers sleep, and how many search for work.
//!
//! `state` packs the number of *searching* workers (low 16 bits) and *unparked* workers (the
//! rest). A worker that finds nothing becomes searching (at most half of the workers search at
//! once, so stealing does not thrash), then parks. Work that arrives wakes one sleeper, and
//! only if no worker is already searching: that searcher will find it, and when it does it
//! wakes the next sleeper if it was the last searcher. This keeps wake-ups one at a time
//! instead of a thundering herd, and never leaves queued work with every worker asleep.
//!
//! `sleepers` is the list of parked worker indices; it is changed under its mutex, and the
//! counters are re-checked under that mutex before a sleeper is picked (the "cheap atomic
//! check, then re-check under the lock" pattern).
//!
//! Publishing work and parking form a store-buffering (Dekker) pattern: a publisher writes a
//! queue (the injector's `len`, or a local queue's `tail`) and then reads `state` in
//! [`Idle::worker_to_notify`]; the last searcher writes `state` in
//! [`Idle::transition_worker_to_parked`] and then reads the queues (`notify_if_work_pending`).
//! A `SeqCst` fence sits between the write and the read on each side, so at least one side
//! sees the other's write: the publisher sees no searcher and wakes a sleeper, or the parking
//! worker sees the work. `SeqCst` accesses alone would not do it for a local queue, whose
//! `tail` is a `Release` store (the publisher's counter load may then be ordered before it, as
//! x86's store buffer does); the fences also make the argument checkable by loom, which treats
//! `SeqCst` accesses as `AcqRel` but models `SeqCst` fences (see `loom_idle.rs`).

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(super) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl Idle {
    /// All workers start unparked and not searching.
    pub(super) fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn counts(&self) -> (usize, usize) {
        let s = self.state.load(SeqCst);
        (s & SEARCH_MASK, s >> UNPARK_SHIFT)
    }

    fn should_notify(&self) -> bool {
        let (searching, unparked) = self.counts();
        searching == 0 && unparked < self.num_workers
    }

    /// Whether some worker may be asleep, by a relaxed load (no fence): for a running worker
    /// that queued work it will run itself, where missing a concurrent park costs only
    /// parallelism, never the work (see `Handle::notify_parked_local` in `worker.rs`).
    pub(super) fn may_have_sleepers(&self) -> bool {
        let s = self.state.load(std::sync::atomic::Ordering::Relaxed);
        s >> UNPARK_SHIFT < self.num_workers
    }

    /// Picks a sleeper to wake for new work (already counted as unparked and searching), or
    /// `None` when a searcher exists or nobody sleeps.
    pub(super) fn worker_to_notify(&self) -> Option<usize> {
        // Orders the caller's publication of work (a queue write) before the read of the
        // counters; pairs with the fence in `transition_worker_to_parked` (module docs).
        fence(SeqCst);
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = crate::loom::lock(&self.sleepers);
        if !self.should_notify() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(worker)
    }

    /// A worker goes to sleep. Returns true if it was the last searcher (the caller must then
    /// check for pending work and wake someone, or it could be stranded).
    pub(super) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        drop(sleepers);
        // Orders the counter update before the caller's check for pending work; pairs with
        // the fence in `worker_to_notify` (module docs).
        fence(SeqCst);
        is_searching && prev & SEARCH_MASK == 1
    }

    /// A worker wants to search; refused when half the workers already do.
    pub(super) fn transition_worker_to_searching(&self) -> bool {
        let (searching, _) = self.counts();
        if 2 * searching >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found work. Returns true if it was the last searcher.
    pub(super) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        prev & SEARCH_MASK == 1
    }

    /// A parked worker woke with work of its own (the driver gave it tasks): take it off the
    /// sleeper list. Returns true if it was on the list (nobody else woke it).
    pub(super) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
            true
        } else {
            false
        }
    }

    /// A worker stopped for good (its loop unwound): it must never be picked or counted
    /// again. On the sleepers' list, it is taken off and stays counted as parked. Otherwise
    /// the counters still count it as unparked — and as searching if it was searching, or if
    /// a notifier picked it while it slept (`parking`; it then counted it as searching) —
    /// so it is subtracted as a worker going to sleep would be, without joining the list.
    pub(super) fn worker_lost(&self, worker: usize, is_searching: bool, parking: bool) {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            return;
        }
        let searching = is_searching || parking;
        self.state
            .fetch_sub((1 << UNPARK_SHIFT) | usize::from(searching), SeqCst);
    }

    /// Whether the worker is on the sleeper list.
    pub(super) fn is_parked(&self, worker: usize) -> bool {
        crate::loom::lock(&self.sleepers).contains(&worker)
    }
}

#[cfg(all(test, loom))]
#[path = "loom_idle.rs"]
mod loom_tests;
