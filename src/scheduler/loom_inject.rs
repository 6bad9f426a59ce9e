//! Loom models of the injector (`inject.rs`): concurrent pushes racing a pop, and pushes
//! racing `close`.
//!
//! The tasks are unowned with their `JoinHandle`s dropped, so a `Notified` is the only
//! reference to its task and dropping it frees the task, which the test scheduler counts:
//! "dropped by a push after close" and "still queued" can then be told apart, and nothing can
//! be lost or freed twice unnoticed.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use super::*;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::task_core::loom_support::TestRuntime;

/// Two threads push one task each while the main thread pops twice (once with `pop`, once
/// with `pop_n`, whose batch goes to a list), racing the `len` store against the lock-free
/// emptiness checks.
///
/// Asserts: after both pushers finish and the queue is drained, each task was seen exactly
/// once; a popped task was really pushed (no phantom from a stale `len`), and every task is
/// freed exactly once.
#[test]
fn push_racing_pop() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let inject = Arc::new(Inject::new());
        let pushers: Vec<_> = [1, 2]
            .into_iter()
            .map(|id| {
                let (inject, task) = (inject.clone(), sched.unowned_task(id));
                thread::spawn(move || inject.push(task))
            })
            .collect();
        let mut seen = Vec::new();
        seen.extend(inject.pop().map(|t| t.id().0));
        let mut batch = Vec::new();
        let first = inject.pop_n(2, |rest| batch.extend(rest.map(|t| t.id().0)));
        seen.extend(first.map(|t| t.id().0));
        seen.extend(batch);
        for pusher in pushers {
            pusher.join().unwrap();
        }
        while let Some(task) = inject.pop() {
            seen.push(task.id().0);
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2], "each task exactly once");
        assert!(inject.is_empty());
        assert_eq!(sched.deallocs(), 2, "every task freed exactly once");
    });
}

/// Pushes racing `close`: one thread pushes task 1, notes whether the injector is closed yet,
/// then pushes task 2 (and says it pushed task 1 through a flag); the main thread notes
/// whether task 1's push is done, closes the injector and then pops, as a worker draining at
/// shutdown would.
///
/// Asserts: each task is either queued or was dropped by its `push` (freed), never both and
/// never neither; FIFO order survives (task 2 queued implies task 1 queued); a push that
/// finished before the close is queued; a push that started after the close was seen is
/// dropped; after everything is dropped both tasks are freed exactly once.
#[test]
fn push_racing_close() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let inject = Arc::new(Inject::new());
        let pushed_first = Arc::new(AtomicBool::new(false));
        let pusher = {
            let (inject, pushed_first) = (inject.clone(), pushed_first.clone());
            let (t1, t2) = (sched.unowned_task(1), sched.unowned_task(2));
            thread::spawn(move || {
                inject.push(t1);
                pushed_first.store(true, SeqCst);
                let closed_before_second = inject.is_closed();
                inject.push(t2);
                closed_before_second
            })
        };
        let first_pushed_before_close = pushed_first.load(SeqCst);
        assert!(inject.close(), "the first close");
        let popped = inject.pop();
        let closed_before_second = pusher.join().unwrap();
        assert!(!inject.close(), "a second close reports it was closed");

        let mut queued: Vec<u64> = popped.iter().map(|t| t.id().0).collect();
        let rest = inject.drain();
        queued.extend(rest.iter().map(|t| t.id().0));
        assert!(
            queued.is_empty() || queued == [1] || queued == [1, 2],
            "a push after close cannot be followed by a queued push: {queued:?}"
        );
        if first_pushed_before_close {
            assert!(queued.contains(&1), "a push done before close is kept");
        }
        if closed_before_second {
            assert!(!queued.contains(&2), "a push after close drops its task");
        }
        assert_eq!(
            queued.len() + sched.deallocs(),
            2,
            "each task is either queued or was dropped by push"
        );
        drop((popped, rest));
        assert_eq!(sched.deallocs(), 2, "every task freed exactly once");
    });
}
