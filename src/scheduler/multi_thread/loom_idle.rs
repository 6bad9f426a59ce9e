//! Loom model of the idle protocol (`idle.rs`, as `worker.rs` drives it): a searching worker
//! that finds nothing parks while another thread publishes a task and asks `worker_to_notify`
//! for a sleeper to wake.
//!
//! The protocol's promise is that published work is never left unnoticed: either the
//! publisher sees no searcher and picks a sleeper, or the parking worker — the last searcher —
//! sees the work in its `notify_if_work_pending` check and picks one, or the searching worker
//! takes the task itself. Publishing and parking form a store-buffering (Dekker) pattern:
//! "write the queue, read the counters" against "write the counters, read the queue"; the
//! `SeqCst` fences in `worker_to_notify` and `transition_worker_to_parked` make at least one
//! side see the other, whatever ordering the queue itself uses. The model checks it for both
//! ways of publishing: a push to the injector (a task scheduled from outside the runtime) and
//! a push to a running worker's local queue (a task spawned on a worker).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use super::*;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::scheduler::inject::Inject;
use crate::scheduler::multi_thread::queue;
use crate::task_core::loom_support::{Sched, TestRuntime};

/// Where the publisher puts the task.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Publish {
    /// `Inject::push` from a thread outside the runtime (`len` stored `SeqCst`).
    Injector,
    /// `Local::push_back` by a running worker (`tail` stored `Release`).
    LocalQueue,
}

/// Worker 1 is already asleep; worker 0 is searching, races the publisher, and either finds
/// the task (stealing from the publisher's queue, or popping the injector) — then stops
/// searching and, as the last searcher, notifies — or parks as the last searcher and runs the
/// `notify_if_work_pending` check (the publisher's queue, then the injector). The publisher
/// (worker 2 when it is a running worker) publishes, then calls `worker_to_notify`.
///
/// Asserts: worker 0 found the task, or some sleeper was picked to be woken (by the publisher
/// or by worker 0's check); and the counters stay consistent with the sleeper list (unparked +
/// sleeping = number of workers, searching = number of picked workers).
fn last_searcher_parks_while_work_is_published(publish: Publish) {
    loom::model(move || {
        let sched = TestRuntime::new();
        let num_workers = match publish {
            Publish::Injector => 2,
            Publish::LocalQueue => 3,
        };
        let idle = Arc::new(Idle::new(num_workers));
        let inject = Arc::new(Inject::new());
        let (steal, publisher_queue) = queue::local::<Sched>();
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.transition_worker_to_searching());

        let publisher = {
            let (idle, inject, task) = (idle.clone(), inject.clone(), sched.unowned_task(1));
            thread::spawn(move || {
                match publish {
                    Publish::Injector => inject.push(task),
                    Publish::LocalQueue => publisher_queue.push_back(task, &inject),
                }
                (idle.worker_to_notify(), publisher_queue)
            })
        };

        let mut picked = Vec::new();
        let (_s, mine) = queue::local::<Sched>();
        let found = steal.steal_into(&mine).or_else(|| inject.pop());
        if found.is_some() {
            // Found work: stop searching; the last searcher wakes the next sleeper.
            if idle.transition_worker_from_searching() {
                picked.extend(idle.worker_to_notify());
            }
        } else if idle.transition_worker_to_parked(0, true)
            && (!steal.is_empty() || !inject.is_empty())
        {
            // The last searcher parked: notify_if_work_pending.
            picked.extend(idle.worker_to_notify());
        }
        let (publisher_pick, publisher_queue) = publisher.join().unwrap();
        picked.extend(publisher_pick);

        assert!(
            found.is_some() || !picked.is_empty(),
            "a task is queued, the only searcher parked and nobody was picked to find it"
        );
        let sleeping = crate::loom::lock(&idle.sleepers).len();
        let (searching, unparked) = idle.counts();
        assert_eq!(
            unparked + sleeping,
            num_workers,
            "counters match the sleeper list"
        );
        assert_eq!(
            searching,
            picked.len(),
            "every picked worker counts as searching"
        );
        drop((found, mine, publisher_queue, inject.drain()));
        assert_eq!(sched.deallocs(), 1);
    });
}

/// [`last_searcher_parks_while_work_is_published`], the task pushed to the injector.
#[test]
fn work_pushed_to_injector_as_last_searcher_parks() {
    last_searcher_parks_while_work_is_published(Publish::Injector);
}

/// [`last_searcher_parks_while_work_is_published`], the task pushed to a running worker's
/// local queue.
#[test]
fn work_pushed_to_local_queue_as_last_searcher_parks() {
    last_searcher_parks_while_work_is_published(Publish::LocalQueue);
}
