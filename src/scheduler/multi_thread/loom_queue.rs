//! Loom models of the local run queue (`queue.rs`): the owner's push/pop racing a stealer,
//! overflow into the injector racing a stealer, two stealers racing each other and the owner,
//! and a steal racing a steal from the thief's own queue. The capacity is 4 under loom, so the fifth push overflows.
//!
//! Every model gives each task a distinct id and collects the ids every consumer ends up with
//! (the owner's pops, each stealer's returned task and its own queue, the injector), then
//! asserts that each task was seen exactly once. The tasks are unowned with their
//! `JoinHandle`s dropped, so dropping a `Notified` frees its task; the models end by checking
//! that every task was freed exactly once (nothing leaked in, or duplicated out of, a slot).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use std::collections::BTreeMap;

use super::*;
use crate::loom::thread;
use crate::task_core::loom_support::{Sched, TestRuntime};

/// Pushes tasks `ids` into `local`.
fn push_all(sched: &TestRuntime, local: &Local<Sched>, inject: &Inject<Sched>, ids: &[u64]) {
    for &id in ids {
        local.push_back(sched.unowned_task(id), inject);
    }
}

/// Pops everything left in `local` into `seen`.
fn drain_local(local: &Local<Sched>, seen: &mut Vec<u64>) {
    while let Some(task) = local.pop() {
        seen.push(task.id().0);
    }
}

/// A stealer's run: steals once from `steal` into a fresh local queue of its own, and returns
/// the ids of the task it got plus those it queued.
fn steal_once(steal: &Steal<Sched>) -> Vec<u64> {
    let (_s, mine) = local::<Sched>();
    let mut seen = Vec::new();
    if let Some(task) = steal.steal_into(&mine) {
        seen.push(task.id().0);
    }
    drain_local(&mine, &mut seen);
    seen
}

/// Checks that the ids seen by all consumers are exactly `1..=n`, each once.
fn assert_each_once(seen: &[u64], n: u64) {
    let mut counts = BTreeMap::new();
    for &id in seen {
        *counts.entry(id).or_insert(0) += 1;
    }
    for id in 1..=n {
        assert_eq!(counts.get(&id), Some(&1), "task {id} seen {counts:?}");
    }
    assert_eq!(seen.len() as u64, n, "unexpected ids: {counts:?}");
}

/// The owner pushes and pops while a stealer steals: one task is queued beforehand, then the
/// owner pushes two more and pops one while the stealer claims half of whatever it sees
/// (`tail` racing the stealer's `Acquire` load, the owner's pop CAS racing the steal claim,
/// and the owner's pop while a steal is in progress: `steal != real`).
///
/// Asserts: every task is seen exactly once across the owner, the stealer and the injector,
/// and every task is freed exactly once.
#[test]
fn push_pop_racing_steal() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let inject = Inject::new();
        let (steal, owner) = local();
        push_all(&sched, &owner, &inject, &[1]);

        let stealer = thread::spawn(move || steal_once(&steal));
        push_all(&sched, &owner, &inject, &[2, 3]);
        let mut seen = Vec::new();
        if let Some(task) = owner.pop() {
            seen.push(task.id().0);
        }
        seen.extend(stealer.join().unwrap());
        drain_local(&owner, &mut seen);
        while let Some(task) = inject.pop() {
            seen.push(task.id().0);
        }
        assert_each_once(&seen, 3);
        drop(owner);
        assert_eq!(sched.deallocs(), 3, "every task freed exactly once");
    });
}

/// Overflow racing a steal: the queue is full (4 tasks); the owner pushes a fifth and a
/// sixth and pops once. A push into a full queue moves half the queue plus the new task to
/// the injector (`push_overflow`'s `head` CAS, which fails and retries if a stealer moved
/// `head`), or — while a stealer is mid-steal (`steal != real`) — sends just the new task to
/// the injector, or fits after the stealer freed slots. Meanwhile a stealer steals half.
///
/// Asserts: every task is seen exactly once across the owner, the stealer and the injector;
/// every task is freed exactly once.
#[test]
fn overflow_racing_steal() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let inject = Inject::new();
        let (steal, owner) = local();
        push_all(&sched, &owner, &inject, &[1, 2, 3, 4]);

        let stealer = thread::spawn(move || steal_once(&steal));
        push_all(&sched, &owner, &inject, &[5, 6]);
        let mut seen = Vec::new();
        if let Some(task) = owner.pop() {
            seen.push(task.id().0);
        }
        seen.extend(stealer.join().unwrap());
        drain_local(&owner, &mut seen);
        while let Some(task) = inject.pop() {
            seen.push(task.id().0);
        }
        assert_each_once(&seen, 6);
        drop(owner);
        assert_eq!(sched.deallocs(), 6, "every task freed exactly once");
    });
}

/// A steal racing a steal *from the thief's own queue*: worker B steals half of worker A's
/// four tasks, writing them into its own free slots and publishing all but the one it
/// returns, while worker C steals from B and A pops. B starts with `b_queued` tasks: with none,
/// C can claim a slot B has just written (ordered by B's `Release` store of its `tail`); with
/// three, B has no room for half of A's queue and must not steal at all (its room check is
/// against its own `steal` cursor, which C may be holding back).
///
/// Asserts: every task is seen exactly once across A, B and C; every task is freed exactly
/// once.
fn steal_racing_steal_from_the_thief(b_queued: u64) {
    loom::model(move || {
        let sched = TestRuntime::new();
        let inject = Inject::new();
        let (steal_a, a) = local();
        let (steal_b, b) = local();
        push_all(&sched, &a, &inject, &[1, 2, 3, 4]);
        let b_ids: Vec<u64> = (5..5 + b_queued).collect();
        push_all(&sched, &b, &inject, &b_ids);

        let thief_b = thread::spawn(move || {
            let mut seen = Vec::new();
            if let Some(task) = steal_a.steal_into(&b) {
                seen.push(task.id().0);
            }
            (seen, b)
        });
        let thief_c = thread::spawn(move || steal_once(&steal_b));
        let mut seen = Vec::new();
        if let Some(task) = a.pop() {
            seen.push(task.id().0);
        }
        let (from_b, b) = thief_b.join().unwrap();
        seen.extend(from_b);
        seen.extend(thief_c.join().unwrap());
        drain_local(&a, &mut seen);
        drain_local(&b, &mut seen);
        assert!(inject.is_empty(), "nothing overflows here");
        assert_each_once(&seen, 4 + b_queued);
        drop((a, b));
        assert_eq!(sched.deallocs() as u64, 4 + b_queued, "every task freed");
    });
}

/// [`steal_racing_steal_from_the_thief`] with the thief's queue empty.
#[test]
fn steal_racing_steal_from_empty_thief() {
    steal_racing_steal_from_the_thief(0);
}

/// [`steal_racing_steal_from_the_thief`] with the thief's queue too full to take half.
#[test]
fn steal_racing_steal_from_full_thief() {
    steal_racing_steal_from_the_thief(3);
}

/// Two stealers racing each other and the owner: three tasks are queued; two threads each
/// steal once into their own queues (the second backs off while the first's claim is open)
/// while the owner pops once.
///
/// Asserts: every task is seen exactly once across the owner and both stealers; every task is
/// freed exactly once.
#[test]
fn two_stealers_racing_owner() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let inject = Inject::new();
        let (steal, owner) = local();
        push_all(&sched, &owner, &inject, &[1, 2, 3]);

        let stealers: Vec<_> = (0..2)
            .map(|_| {
                let steal = Steal(steal.0.clone());
                thread::spawn(move || steal_once(&steal))
            })
            .collect();
        let mut seen = Vec::new();
        if let Some(task) = owner.pop() {
            seen.push(task.id().0);
        }
        for stealer in stealers {
            seen.extend(stealer.join().unwrap());
        }
        drain_local(&owner, &mut seen);
        assert!(inject.is_empty(), "nothing overflows here");
        assert_each_once(&seen, 3);
        drop((owner, steal));
        assert_eq!(sched.deallocs(), 3, "every task freed exactly once");
    });
}
