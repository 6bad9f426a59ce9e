//! Loom models of the task state machine (`state.rs`, `harness.rs`, `waker.rs`, `join.rs`,
//! `list.rs`): wake racing poll, completion racing the `JoinHandle`'s drop, abort racing
//! completion and wake, runtime shutdown racing a wake, and the last reference (a waker)
//! released on another thread.
//!
//! Each model runs tasks on the tiny scheduler of [`loom_support`](super::loom_support), whose
//! queue the model threads drain, and checks at the end that the future and the output were
//! each dropped exactly once and that the task allocation was freed exactly once (its `Sched`
//! handle's drop is counted; loom also fails the model if any loom `Arc` leaks).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use std::task::Poll;

use super::loom_support::{counting_waker, poll_once, DropCount, Event, TestRuntime, WaitFor};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::loom::thread;

/// A task waiting for `event`: counts its polls and completions, and carries `fut_drops`'s
/// tracked value as its own state. Returns 7.
fn waiting_task(
    event: &Event,
    fut_drops: &DropCount,
    completions: &Arc<AtomicUsize>,
) -> (
    impl std::future::Future<Output = u32> + Send + 'static,
    Arc<AtomicUsize>,
) {
    let polls = Arc::new(AtomicUsize::new(0));
    let wait = WaitFor {
        event: event.clone(),
        polls: polls.clone(),
        _state: fut_drops.tracked(),
    };
    let completions = completions.clone();
    let fut = async move {
        wait.await;
        completions.fetch_add(1, SeqCst);
        7
    };
    (fut, polls)
}

/// Wake racing poll: the future registers its waker, then checks a flag; another thread sets
/// the flag, then wakes whatever waker is registered (by value, or by reference and then drops
/// it: `transition_to_notified_by_val` and `_by_ref` are both checked). The wake can land before the
/// first poll, between the registration and the check, while the poll is returning (the
/// `NOTIFIED`-while-`RUNNING` path that reschedules through `yield_now`), or after the task is
/// idle (the waker's reference becomes a `Notified`).
///
/// Asserts: after both threads are done and the queue is drained, the task completed exactly
/// once, was polled at most twice, its future was dropped once, the `JoinHandle` yields the
/// output, and the task is freed exactly once.
fn wake_racing_poll(by_ref: bool) {
    loom::model(move || {
        let sched = TestRuntime::new();
        let event = Event::new();
        let fut_drops = DropCount::new();
        let completions = Arc::new(AtomicUsize::new(0));
        let (fut, polls) = waiting_task(&event, &fut_drops, &completions);
        let mut join = sched.spawn(fut);

        let setter = {
            let event = event.clone();
            thread::spawn(move || {
                if by_ref {
                    event.set_by_ref();
                } else {
                    event.set();
                }
            })
        };
        sched.run_queued();
        setter.join().unwrap();
        sched.run_queued();

        assert_eq!(
            completions.load(SeqCst),
            1,
            "the task completes exactly once"
        );
        assert!((1..=2).contains(&polls.load(SeqCst)));
        assert_eq!(fut_drops.get(), 1, "the future is dropped once");
        assert_eq!(sched.live(), 0, "the task left the owned list");
        let (_, waker) = counting_waker();
        assert!(matches!(poll_once(&mut join, &waker), Poll::Ready(Ok(7))));
        drop(join);
        // A waker registered by a poll that then saw the flag is still in the event.
        drop(event.take_waker());
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// [`wake_racing_poll`] with a wake by value.
#[test]
fn wake_by_val_racing_poll() {
    wake_racing_poll(false);
}

/// [`wake_racing_poll`] with a wake by reference (then the waker is dropped).
#[test]
fn wake_by_ref_racing_poll() {
    wake_racing_poll(true);
}

/// Completion racing the `JoinHandle`'s drop: one thread runs a task that completes at once
/// with a drop-counted output, while the other drops the `JoinHandle` (the fast path if the
/// task has not started, else `transition_to_join_handle_dropped`, which decides whether the
/// handle or the completing thread owns the output).
///
/// Asserts: the output and the future are each dropped exactly once, and the task is freed
/// exactly once, whoever releases the last reference.
#[test]
fn complete_racing_join_handle_drop() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let out_drops = DropCount::new();
        let fut_drops = DropCount::new();
        let (out, state) = (out_drops.tracked(), fut_drops.tracked());
        let join = sched.spawn(async move {
            drop(state);
            out
        });

        let runner = {
            let sched = sched.clone();
            thread::spawn(move || {
                sched.run_queued();
            })
        };
        drop(join);
        runner.join().unwrap();

        assert_eq!(fut_drops.get(), 1, "the future is dropped once");
        assert_eq!(out_drops.get(), 1, "the output is dropped once");
        assert_eq!(sched.live(), 0);
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// Completion racing the `JoinHandle`'s poll: the handle stores its waker and sets
/// `JOIN_WAKER` (a CAS that fails once `COMPLETE` is set), while the completing thread wakes
/// the join waker only if `JOIN_WAKER` was set when it set `COMPLETE`.
///
/// Asserts: the poll returns the output, or returns `Pending` and the handle's waker is then
/// woken exactly once (no lost join wakeup), after which a second poll returns the output;
/// the output is dropped exactly once and the task freed exactly once.
#[test]
fn complete_racing_join_handle_poll() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let out_drops = DropCount::new();
        let out = out_drops.tracked();
        let mut join = sched.spawn(async move { out });

        let runner = {
            let sched = sched.clone();
            thread::spawn(move || {
                sched.run_queued();
            })
        };
        let (wakes, waker) = counting_waker();
        let first = poll_once(&mut join, &waker);
        runner.join().unwrap();
        let out = match first {
            Poll::Ready(out) => out,
            Poll::Pending => {
                assert_eq!(
                    wakes.wakes(),
                    1,
                    "a pending JoinHandle is woken on completion"
                );
                match poll_once(&mut join, &waker) {
                    Poll::Ready(out) => out,
                    Poll::Pending => panic!("pending after the task completed"),
                }
            }
        };
        assert!(out.is_ok(), "the task cannot fail");
        drop(out);
        assert_eq!(
            out_drops.get(),
            1,
            "the output is dropped once, by its reader"
        );
        drop(join);
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// Completion racing a `JoinHandle` that is polled once (registering its waker through the
/// `JOIN_WAKER` handshake) and then dropped: the completing thread may find the join waker
/// set, unset or being replaced, and may find `JOIN_INTEREST` gone by the time it hands the
/// waker slot back.
///
/// Asserts: a `Pending` poll is followed by at most one wake; the output is dropped exactly
/// once (by the handle if it read it, else by whoever owns it); the task is freed exactly once.
#[test]
fn complete_racing_join_handle_poll_and_drop() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let out_drops = DropCount::new();
        let out = out_drops.tracked();
        let mut join = sched.spawn(async move { out });

        let runner = {
            let sched = sched.clone();
            thread::spawn(move || {
                sched.run_queued();
            })
        };
        let (wakes, waker) = counting_waker();
        let polled = poll_once(&mut join, &waker);
        match polled {
            Poll::Ready(Ok(out)) => drop(out),
            Poll::Ready(Err(e)) => panic!("the task cannot fail: {e:?}"),
            Poll::Pending => {}
        }
        drop(join);
        runner.join().unwrap();

        assert!(wakes.wakes() <= 1);
        assert_eq!(out_drops.get(), 1, "the output is dropped once");
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// Abort racing completion and wake: the task has been polled once and waits on an event.
/// One thread sets the event (its wake schedules the task) and runs the queue, so the task
/// completes; the other aborts through the `JoinHandle` (marking `CANCELLED`, and scheduling
/// the task itself if it is idle) and runs the queue too. Cancellation may win before the
/// wake, between the wake and the poll, during the poll (seen by `transition_to_idle`), or
/// lose to completion.
///
/// Asserts: the `JoinHandle` yields `Ok(7)` or a cancelled `JoinError`; the future is dropped
/// exactly once; the task is freed exactly once, and not before the handle is dropped.
#[test]
fn abort_racing_completion_and_wake() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let event = Event::new();
        let fut_drops = DropCount::new();
        let completions = Arc::new(AtomicUsize::new(0));
        let (fut, _polls) = waiting_task(&event, &fut_drops, &completions);
        let mut join = sched.spawn(fut);
        assert_eq!(sched.run_queued(), 1); // first poll: Pending, waker registered

        let waker_thread = {
            let (sched, event) = (sched.clone(), event.clone());
            thread::spawn(move || {
                event.set();
                sched.run_queued();
            })
        };
        join.abort();
        sched.run_queued();
        waker_thread.join().unwrap();
        sched.run_queued();

        let (_, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Ok(v)) => {
                assert_eq!(v, 7);
                assert_eq!(completions.load(SeqCst), 1);
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled(), "an abort gives a cancelled JoinError");
                assert_eq!(completions.load(SeqCst), 0);
            }
            Poll::Pending => panic!("the task must be finished once the queue is drained"),
        }
        assert_eq!(fut_drops.get(), 1, "the future is dropped once");
        assert_eq!(sched.live(), 0);
        assert_eq!(
            sched.deallocs(),
            0,
            "the JoinHandle still holds a reference"
        );
        drop(join);
        drop(event.take_waker());
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// Runtime shutdown racing a wake and a poll: the task has been polled once and waits on an
/// event that never fires. One thread wakes it anyway (a spurious wake: the task is polled,
/// re-registers and returns `Pending`) and runs the queue; the other shuts the scheduler down
/// (`OwnedTasks::close_and_shutdown_all`: `transition_to_shutdown` takes `RUNNING` from an
/// idle task and cancels it, or marks a running one `CANCELLED` so that its poller cancels it
/// when the poll returns), then runs the queue too.
///
/// Asserts: whatever the interleaving, shutdown finishes the task: the `JoinHandle` yields a
/// cancelled `JoinError`, the future is dropped exactly once, the owned list ends empty, and
/// the task is freed exactly once.
#[test]
fn shutdown_racing_wake_and_poll() {
    loom::model(|| {
        let sched = TestRuntime::new();
        let event = Event::new();
        let fut_drops = DropCount::new();
        let completions = Arc::new(AtomicUsize::new(0));
        let (fut, _polls) = waiting_task(&event, &fut_drops, &completions);
        let mut join = sched.spawn(fut);
        assert_eq!(sched.run_queued(), 1);

        let waker_thread = {
            let (sched, event) = (sched.clone(), event.clone());
            thread::spawn(move || {
                event.wake_spuriously();
                sched.run_queued();
            })
        };
        sched.shutdown();
        sched.run_queued();
        waker_thread.join().unwrap();
        sched.run_queued();

        let (_, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "shutdown cancels the task"),
            Poll::Ready(Ok(_)) => panic!("the event never fired"),
            Poll::Pending => panic!("shutdown must finish every task"),
        }
        assert_eq!(completions.load(SeqCst), 0);
        assert_eq!(fut_drops.get(), 1, "the future is dropped once");
        assert_eq!(sched.live(), 0);
        drop(join);
        drop(event.take_waker());
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// The last reference is a waker released on another thread: the task has been polled once
/// and its waker taken out of the event. One thread releases that waker (dropping it, or
/// waking it by value: `transition_to_notified_by_val`'s `Submit`/`DoNothing`/`Dealloc`
/// outcomes), while the other aborts the task, runs the queue (cancelling it) and drops the
/// `JoinHandle`. Whichever thread releases the last reference frees the task.
///
/// Asserts: no thread sees the task freed while it still holds a reference; at the end the
/// future was dropped once and the task freed exactly once.
fn last_waker_released_elsewhere(wake: bool) {
    loom::model(move || {
        let sched = TestRuntime::new();
        let event = Event::new();
        let fut_drops = DropCount::new();
        let completions = Arc::new(AtomicUsize::new(0));
        let (fut, _polls) = waiting_task(&event, &fut_drops, &completions);
        let join = sched.spawn(fut);
        assert_eq!(sched.run_queued(), 1);
        let waker = event
            .take_waker()
            .expect("the first poll registered a waker");

        let waker_thread = {
            let sched = sched.clone();
            thread::spawn(move || {
                assert_eq!(sched.deallocs(), 0, "our waker keeps the task alive");
                if wake {
                    waker.wake();
                } else {
                    drop(waker);
                }
            })
        };
        join.abort();
        sched.run_queued();
        // (Not yet necessarily cancelled: a racing wake may have set NOTIFIED but not pushed
        // its `Notified` yet, in which case the abort left the cancelling to that one.)
        assert_eq!(sched.deallocs(), 0, "the JoinHandle keeps the task alive");
        drop(join);
        waker_thread.join().unwrap();
        // A wake that found the task idle queued a Notified; running it fails (complete) and
        // releases the reference.
        sched.run_queued();

        assert_eq!(completions.load(SeqCst), 0);
        assert_eq!(fut_drops.get(), 1);
        assert_eq!(sched.live(), 0);
        assert_eq!(sched.deallocs(), 1, "the task is freed exactly once");
    });
}

/// [`last_waker_released_elsewhere`] with the waker dropped.
#[test]
fn last_waker_dropped_on_another_thread() {
    last_waker_released_elsewhere(false);
}

/// [`last_waker_released_elsewhere`] with the waker woken by value.
#[test]
fn last_waker_woken_on_another_thread() {
    last_waker_released_elsewhere(true);
}
