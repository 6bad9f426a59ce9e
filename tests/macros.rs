//! `#[rawrt::main]`, `#[rawrt::test]`, and the declarative `pin!`, `join!`, `try_join!` and
//! `select!`. (Compile errors of the attribute macros are `compile_fail` doctests on
//! `rawrt::main` and `rawrt::test`.)
#![cfg(feature = "macros")]

use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use rawrt::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(10);

// ---- attribute macros ----

#[rawrt::test]
async fn test_defaults_to_current_thread() {
    let here = std::thread::current().id();
    let there = rawrt::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there, "one thread: the test's own");
    assert_eq!(rawrt::Handle::current().num_workers(), 1);
}

#[rawrt::test(flavor = "multi_thread", worker_threads = 3)]
async fn test_multi_thread_with_workers() {
    assert_eq!(rawrt::Handle::current().num_workers(), 3);
}

#[rawrt::test(flavor = "multi_thread")]
async fn test_multi_thread_default_workers() -> Result<(), std::io::Error> {
    let n = rawrt::spawn(async { 5 })
        .await
        .map_err(std::io::Error::other)?;
    assert_eq!(n, 5);
    Ok(())
}

#[rawrt::test(crate = "rawrt", flavor = "current_thread")]
async fn test_crate_option_and_trailing_comma() {
    assert_eq!(rawrt::Handle::current().num_workers(), 1);
}

#[rawrt::test(start_paused = true)]
async fn test_start_paused() {
    let start = rawrt::time::Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[rawrt::main(worker_threads = 2)]
async fn main_helper(a: u32, b: u32) -> u32 {
    let workers = rawrt::Handle::current().num_workers();
    assert_eq!(workers, 2);
    rawrt::spawn(async move { a * b }).await.unwrap()
}

#[rawrt::main(flavor = "current_thread")]
async fn main_helper_current_thread() -> usize {
    rawrt::Handle::current().num_workers()
}

#[test]
fn main_builds_a_runtime_and_returns_the_body_value() {
    assert_eq!(main_helper(6, 7), 42);
    assert_eq!(main_helper_current_thread(), 1);
}

// ---- pin! ----

#[rawrt::test]
async fn pin_pins_idents_and_lets() {
    let fut = async { 3 };
    let other = async { 4 };
    rawrt::pin!(fut, other);
    let a: Pin<&mut _> = fut.as_mut();
    assert_eq!(a.await, 3);
    assert_eq!(other.await, 4);
    rawrt::pin! {
        let s = sleep(Duration::from_millis(1));
    }
    // A pinned future can be selected on by reference (and survives the select!).
    rawrt::select! {
        _ = &mut s => {}
        _ = sleep(LIMIT) => panic!("a 1 ms sleep took 10 s"),
    }
    assert!(s.is_elapsed());
}

// ---- join! / try_join! ----

#[rawrt::test]
async fn join_returns_outputs_in_branch_order_after_all_finish() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l1 = log.clone();
    let l2 = log.clone();
    let (a, b, c) = rawrt::join!(
        async move {
            sleep(Duration::from_millis(30)).await;
            l1.lock().unwrap().push("slow");
            1
        },
        async move {
            l2.lock().unwrap().push("fast");
            "two"
        },
        async { 3.0 },
    );
    assert_eq!((a, b, c), (1, "two", 3.0));
    assert_eq!(
        *log.lock().unwrap(),
        ["fast", "slow"],
        "both ran concurrently"
    );
    let () = rawrt::join!();
    let (one,) = rawrt::join!(async { 1 });
    assert_eq!(one, 1);
}

#[rawrt::test]
async fn join_polls_in_one_task_and_drops_finished_branches_early() {
    struct DropFlag(Arc<AtomicUsize>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let flag = DropFlag(dropped.clone());
    let d = dropped.clone();
    let (_, seen) = rawrt::join!(
        async move {
            let _flag = flag;
        },
        async move {
            sleep(Duration::from_millis(10)).await;
            d.load(Ordering::SeqCst)
        },
    );
    assert_eq!(
        seen, 1,
        "the finished branch was dropped before the other finished"
    );
}

#[rawrt::test]
async fn try_join_short_circuits_on_the_first_error() {
    let ok: Result<(i32, &str), String> = rawrt::try_join!(async { Ok(1) }, async { Ok("x") });
    assert_eq!(ok, Ok((1, "x")));

    let reached = Arc::new(AtomicUsize::new(0));
    let r = reached.clone();
    let res: Result<((), ()), &str> = timeout(LIMIT, async {
        rawrt::try_join!(
            async move {
                sleep(LIMIT * 2).await;
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
            async {
                sleep(Duration::from_millis(5)).await;
                Err("failed")
            },
        )
    })
    .await
    .expect("try_join! did not stop at the error");
    assert_eq!(res, Err("failed"));
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the other branch was dropped"
    );

    // The first error in time wins, whatever the branch order.
    let res: Result<((), ()), u8> = rawrt::try_join!(
        async {
            sleep(Duration::from_millis(20)).await;
            Err(1)
        },
        async { Err(2) },
    );
    assert_eq!(res, Err(2));
}

// ---- select! ----

#[rawrt::test]
async fn select_is_fair_between_always_ready_branches() {
    let mut wins = [0u32; 2];
    for _ in 0..1000 {
        let w = rawrt::select! {
            v = std::future::ready(0) => v,
            v = std::future::ready(1) => v,
        };
        wins[w] += 1;
    }
    for (i, &w) in wins.iter().enumerate() {
        assert!(w >= 300, "branch {i} won only {w} of 1000: {wins:?}");
    }
}

#[rawrt::test]
async fn biased_select_picks_the_first_ready_branch() {
    for _ in 0..100 {
        let w = rawrt::select! {
            biased;
            v = std::future::ready(0) => v,
            v = std::future::ready(1) => v,
        };
        assert_eq!(w, 0);
    }
    // A pending first branch lets the second through.
    let w = rawrt::select! {
        biased;
        _ = pending::<()>() => 0,
        v = std::future::ready(1) => v,
    };
    assert_eq!(w, 1);
}

#[rawrt::test]
async fn select_preconditions_disable_branches_without_polling_them() {
    let polled = AtomicUsize::new(0);
    let counting = poll_fn(|_| {
        polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(0)
    });
    let off = false;
    let w = rawrt::select! {
        v = counting, if off => v,
        v = async { 1 } => v,
    };
    assert_eq!(w, 1);
    assert_eq!(
        polled.load(Ordering::SeqCst),
        0,
        "a disabled branch is never polled"
    );
}

#[rawrt::test]
async fn select_pattern_mismatch_disables_that_branch_and_keeps_waiting() {
    let (tx, mut rx) = rawrt::sync::mpsc::channel::<u32>(1);
    drop(tx); // recv() returns None at once
    let got = rawrt::select! {
        biased;
        Some(v) = rx.recv() => v,
        v = async {
            sleep(Duration::from_millis(10)).await;
            99
        } => v,
    };
    assert_eq!(
        got, 99,
        "the None did not match Some(v): the other branch won"
    );

    // Bindings with `mut` and `ref` in the pattern.
    let got = rawrt::select! {
        (mut a, ref b) = async { (1, String::from("b")) } => {
            a += 1;
            format!("{a}{b}")
        }
        else => String::new(),
    };
    assert_eq!(got, "2b");
}

#[rawrt::test]
async fn select_runs_else_when_all_branches_are_disabled() {
    let none: Option<u32> = None;
    let w = rawrt::select! {
        Some(v) = async { none } => v,
        v = async { 5 }, if false => v,
        else => 42,
    };
    assert_eq!(w, 42);
}

#[test]
fn select_without_else_panics_when_all_branches_are_disabled() {
    let rt = rawrt::Builder::new_current_thread().build().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            rawrt::select! {
                Some(v) = async { None::<u32> } => v,
            }
        })
    }));
    let err = r.expect_err("select! with every branch disabled and no else must panic");
    let msg = err
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| err.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("");
    assert_eq!(msg, "all branches are disabled and there is no else branch");
}

#[rawrt::test]
async fn select_drops_the_losing_branches_and_handlers_control_the_loop() {
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut turns = 0;
    loop {
        let guard = Dropped(dropped.clone());
        let loser = async move {
            let _guard = guard;
            pending::<()>().await
        };
        rawrt::select! {
            _ = loser => unreachable!(),
            _ = async {} => {
                turns += 1;
                assert_eq!(dropped.load(Ordering::SeqCst), turns, "loser dropped first");
                if turns < 3 {
                    continue;
                }
                break;
            }
        }
    }
    assert_eq!(turns, 3);
}

#[rawrt::test]
async fn select_handler_can_return_from_the_function() {
    async fn first_ready() -> Result<u32, &'static str> {
        rawrt::select! {
            r = async { Err::<u32, _>("e") } => r?,
            _ = pending::<()>() => 0,
        };
        Ok(1)
    }
    assert_eq!(first_ready().await, Err("e"));
}

/// A future that must be polled `n` times before it is ready (waking itself each time).
fn ready_after(n: usize) -> impl Future<Output = usize> {
    let mut left = n;
    poll_fn(move |cx| {
        if left == 0 {
            return Poll::Ready(n);
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

#[rawrt::test]
async fn select_and_join_wake_and_repoll_their_branches() {
    let w = rawrt::select! {
        v = ready_after(3) => v,
        v = ready_after(50) => v,
    };
    assert_eq!(w, 3);
    assert_eq!(rawrt::join!(ready_after(2), ready_after(7)), (2, 7));
}
