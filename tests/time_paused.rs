//! The paused clock (feature `test-util`): auto-advance, `advance`, timeouts and intervals
//! under pause, and `Interval`'s overflow and reset fixes.
#![cfg(feature = "test-util")]

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use rawrt::time::{self, advance, interval, sleep, sleep_until, timeout, Duration, Instant};

fn paused_rt() -> rawrt::Runtime {
    rawrt::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Polls `f` once, with the calling task's context: whether it is ready.
async fn is_ready<F: Future + Unpin>(f: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *f).poll(cx).is_ready())).await
}

#[test]
fn a_simulated_day_passes_at_once_under_auto_advance() {
    let rt = paused_rt();
    let real = std::time::Instant::now();
    let simulated = rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::from_secs(86_400)).await;
        start.elapsed()
    });
    let real = real.elapsed();
    assert!(real < Duration::from_secs(5), "took {real:?} of real time");
    let off = simulated.abs_diff(Duration::from_secs(86_400));
    assert!(off <= Duration::from_millis(1), "simulated {simulated:?}");
}

#[test]
fn auto_advance_wakes_sleepers_in_deadline_order_across_tasks() {
    let rt = paused_rt();
    let order = rt.block_on(async {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for secs in [300u64, 10, 7200, 60] {
            let order = order.clone();
            tasks.push(rawrt::spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                order.lock().unwrap().push(secs);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        order
    });
    assert_eq!(order, vec![10, 60, 300, 7200]);
}

#[test]
fn advance_fires_exactly_the_timers_it_passes() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let mut a = sleep(Duration::from_secs(1));
        let mut b = sleep_until(start + Duration::from_secs(2));
        let mut c = sleep(Duration::from_secs(3));
        // Register all three.
        assert!(!is_ready(&mut a).await);
        assert!(!is_ready(&mut b).await);
        assert!(!is_ready(&mut c).await);

        advance(Duration::from_millis(1500)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
        assert!(is_ready(&mut a).await, "1 s timer after 1.5 s");
        assert!(!is_ready(&mut b).await, "2 s timer after 1.5 s");
        assert!(!is_ready(&mut c).await);

        advance(Duration::from_millis(500)).await;
        assert!(is_ready(&mut b).await, "2 s timer exactly at 2 s");
        assert!(!is_ready(&mut c).await);

        advance(Duration::from_secs(10)).await;
        assert!(is_ready(&mut c).await);
        assert_eq!(start.elapsed(), Duration::from_secs(12));
    });
}

#[test]
fn timeout_fires_under_pause_and_a_ready_future_still_wins() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let never = std::future::pending::<()>();
        assert!(timeout(Duration::from_secs(30), never).await.is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(30));

        let fast = async {
            sleep(Duration::from_secs(1)).await;
            5
        };
        assert_eq!(timeout(Duration::from_secs(2), fast).await, Ok(5));
        assert_eq!(start.elapsed(), Duration::from_secs(31));

        let at = Instant::now() + Duration::from_secs(4);
        assert!(time::timeout_at(at, sleep(Duration::from_secs(5)))
            .await
            .is_err());
        assert_eq!(Instant::now(), at);
    });
}

#[test]
fn interval_ticks_on_the_simulated_schedule() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let mut every = interval(Duration::from_secs(60));
        for n in 0..5u32 {
            let at = every.tick().await;
            assert_eq!(at, start + Duration::from_secs(60) * n);
            assert_eq!(Instant::now(), at);
        }
    });
}

#[test]
fn spawn_blocking_holds_off_auto_advance() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let work = rawrt::task::spawn_blocking(|| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            7
        });
        // With the closure in flight the clock must not jump 10 simulated seconds.
        assert_eq!(
            timeout(Duration::from_secs(10), work)
                .await
                .unwrap()
                .unwrap(),
            7
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    });
}

#[test]
fn pause_resume_and_advance_report_misuse() {
    let rt = rawrt::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let r = std::panic::catch_unwind(|| time::resume());
        assert!(r.is_err(), "resume of a running clock panics");
        time::pause();
        let r = std::panic::catch_unwind(time::pause);
        assert!(r.is_err(), "pausing twice panics");
        let before = Instant::now();
        advance(Duration::from_secs(5)).await;
        assert_eq!(before.elapsed(), Duration::from_secs(5));
        time::resume();
        // Running again, from the advanced reading (never back).
        assert!(Instant::now() >= before + Duration::from_secs(5));
        let r = std::panic::catch_unwind(|| {
            let mut f = pin!(advance(Duration::from_secs(1)));
            let waker = std::task::Waker::noop();
            let _ = f.as_mut().poll(&mut std::task::Context::from_waker(waker));
        });
        assert!(r.is_err(), "advance of a running clock panics");
    });
}

#[test]
fn pause_on_a_multi_thread_runtime_panics_and_start_paused_is_refused() {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = rt
        .block_on(async { rawrt::spawn(async { time::pause() }).await })
        .unwrap_err();
    assert!(err.is_panic());
    let msg = err.into_panic();
    let msg = msg
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| msg.downcast_ref::<&str>().copied())
        .unwrap_or("");
    assert!(msg.contains("current-thread"), "{msg}");

    let e = rawrt::Builder::new_multi_thread()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn instant_now_outside_a_runtime_is_the_os_clock() {
    let rt = paused_rt();
    let inside = rt.block_on(async {
        advance(Duration::from_secs(3600)).await;
        Instant::now()
    });
    let outside = Instant::now();
    assert!(
        inside > outside + Duration::from_secs(3000),
        "inside runs ahead"
    );
}

#[test]
fn interval_of_duration_max_ticks_once_then_waits_without_panicking() {
    let rt = paused_rt();
    rt.block_on(async {
        let mut every = interval(Duration::MAX);
        let first = every.tick().await;
        let mut second = pin!(every.tick());
        assert!(!is_ready(&mut second).await);
        advance(Duration::from_secs(86_400 * 365)).await;
        assert!(
            !is_ready(&mut second).await,
            "a year later still no second tick"
        );
        assert!(first <= Instant::now());
    });
}

#[test]
fn interval_reset_variants_move_the_next_tick() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let period = Duration::from_secs(10);
        let mut every = interval(period);
        assert_eq!(every.tick().await, start);

        every.reset_immediately();
        assert_eq!(every.tick().await, start, "immediate: no time passes");
        assert_eq!(every.tick().await, start + period, "then one period on");

        every.reset_after(Duration::from_secs(3));
        let t = every.tick().await;
        assert_eq!(t, start + period + Duration::from_secs(3));
        assert_eq!(every.tick().await, t + period);

        let at = Instant::now() + Duration::from_secs(25);
        every.reset_at(at);
        assert_eq!(every.tick().await, at);

        every.reset();
        assert_eq!(every.tick().await, at + period);
    });
}

#[rawrt::test(start_paused = true)]
async fn the_test_attribute_starts_paused() {
    let start = Instant::now();
    sleep(Duration::from_secs(1000)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(1000));
}
