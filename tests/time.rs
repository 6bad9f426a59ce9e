//! Timers: sleep accuracy under load of 10,000 timers, timeouts, intervals, cancellation,
//! cross-thread deadline changes, timers firing while every worker is busy, and the timers of a
//! runtime that has shut down.

mod common;

use rawrt::time::Instant;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rawrt::time::{interval, sleep, sleep_until, timeout, MissedTickBehavior};

/// Timing tests measure lateness: they run one at a time, so that one test's busy workers are
/// not another's noise.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt(workers: usize) -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// A small deterministic generator for "random" lengths.
fn lengths(n: usize, max_ms: u64) -> Vec<u64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % max_ms
        })
        .collect()
}

/// How late the OS itself wakes a sleeping thread right now (p99 over `samples` 1 ms
/// sleeps): the noise floor of this machine, measured alongside the runtime's timers.
fn os_sleep_lateness_p99(samples: usize) -> Duration {
    let mut late: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            start.elapsed().saturating_sub(Duration::from_millis(1))
        })
        .collect();
    late.sort();
    late[samples * 99 / 100]
}

#[test]
fn ten_thousand_sleeps_fire_on_time_never_early() {
    let _serial = serial();
    let rt = rt(2);
    let noise = std::thread::spawn(|| os_sleep_lateness_p99(500));
    let lateness = rt.block_on(async {
        let base = Instant::now() + Duration::from_millis(50);
        let handles: Vec<_> = lengths(10_000, 1_000)
            .into_iter()
            .map(|ms| {
                let deadline = base + Duration::from_millis(ms);
                rawrt::spawn(async move {
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(now >= deadline, "fired {:?} early", deadline - now);
                    now - deadline
                })
            })
            .collect();
        let mut late = Vec::with_capacity(handles.len());
        for h in handles {
            late.push(h.await.unwrap());
        }
        late
    });
    let mut sorted = lateness.clone();
    sorted.sort();
    let p50 = sorted[sorted.len() / 2];
    let p99 = sorted[sorted.len() * 99 / 100];
    let max = *sorted.last().unwrap();
    let os_p99 = noise.join().unwrap();
    eprintln!(
        "lateness over 10,000 sleeps: p50 {p50:?}, p99 {p99:?}, max {max:?}; \
         a plain thread's 1 ms sleep, meanwhile: p99 {os_p99:?} late"
    );
    assert_eq!(rt.handle().num_timers(), 0, "every entry released");
    // 99% fire within 25 ms of their deadline, on top of twice the lateness the OS itself
    // shows a sleeping thread at the same time (near zero on an idle machine; large when the
    // 2 cores are oversubscribed, and on a shared VM whose hypervisor takes up to a third of
    // the CPU time, which one sleeping thread sees only in part: a 10,000-task batch on two
    // workers is hit harder). A wheel that rounds to the wrong slot is late by 64 ms or more, or
    // early, which the tasks assert never happens. The maximum gets a looser bound: one
    // descheduled worker delays a whole batch.
    assert!(
        p99 <= Duration::from_millis(25) + os_p99 * 2,
        "p99 lateness {p99:?} (OS noise p99 {os_p99:?})"
    );
    assert!(
        max < Duration::from_millis(200) + os_p99 * 4,
        "max lateness {max:?}"
    );
}

#[test]
fn idle_sleep_is_prompt() {
    let _serial = serial();
    let rt = rt(2);
    let lateness = rt.block_on(async {
        let mut worst = Duration::ZERO;
        let mut samples = Vec::new();
        for ms in [1u64, 3, 7, 20, 64, 65, 130] {
            let deadline = Instant::now() + Duration::from_millis(ms);
            rawrt::spawn(async move {
                sleep_until(deadline).await;
                Instant::now() - deadline
            })
            .await
            .map(|late| {
                samples.push(late);
                worst = worst.max(late);
            })
            .unwrap();
        }
        samples.sort();
        samples[samples.len() / 2]
    });
    // Median of several samples, to be robust against a noisy neighbour on a 2-core box.
    assert!(
        lateness <= Duration::from_millis(5),
        "median lateness {lateness:?}"
    );
}

#[test]
fn timeout_elapses_and_passes_through() {
    let _serial = serial();
    let rt = rt(2);
    rt.block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_millis(30), std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(timeout(Duration::from_secs(10), async { 7 }).await, Ok(7));
        let err = timeout(Duration::ZERO, sleep(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
    });
    assert_eq!(rt.handle().num_timers(), 0);
}

#[test]
fn dropping_a_sleep_removes_its_entry() {
    let _serial = serial();
    let rt = rt(1);
    rt.block_on(async {
        let h = rawrt::Handle::current();
        let s = sleep(Duration::from_secs(3600));
        // Register it by polling once.
        let r = timeout(Duration::from_millis(5), s).await;
        assert!(r.is_err());
        assert_eq!(h.num_timers(), 0, "timeout dropped the sleep and its entry");
        let long: Vec<_> = (0..100)
            .map(|_| rawrt::spawn(sleep(Duration::from_secs(3600))))
            .collect();
        // Wait (bounded) until all have registered.
        let start = Instant::now();
        while h.num_timers() < 100 && start.elapsed() < Duration::from_secs(10) {
            rawrt::task::yield_now().await;
        }
        assert_eq!(h.num_timers(), 100);
        for t in &long {
            t.abort();
        }
        for t in long {
            assert!(t.await.unwrap_err().is_cancelled());
        }
        assert_eq!(h.num_timers(), 0);
    });
}

#[test]
fn earlier_deadline_from_another_thread_interrupts_the_parked_driver() {
    let _serial = serial();
    let rt = rt(2);
    let h = rt.handle().clone();
    // The driver parks until this far deadline...
    let far = h.spawn(sleep(Duration::from_secs(3600)));
    std::thread::sleep(Duration::from_millis(50));
    // ...then a near one is registered from a thread outside the runtime.
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    h.spawn(async move {
        sleep(Duration::from_millis(20)).await;
        tx.send(Instant::now()).unwrap();
    });
    let fired = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("near timer fired");
    let took = fired - start;
    assert!(took >= Duration::from_millis(20));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    far.abort();
}

#[test]
fn timers_fire_while_every_worker_is_busy() {
    let _serial = serial();
    let rt = rt(2);
    let stop = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let stop = stop.clone();
        let spins = spins.clone();
        rt.spawn(async move {
            while !stop.load(Ordering::Acquire) {
                spins.fetch_add(1, Ordering::Relaxed);
                rawrt::task::yield_now().await;
            }
        });
    }
    let start = Instant::now();
    let stop2 = stop.clone();
    let done = rt.spawn(async move {
        sleep(Duration::from_millis(30)).await;
        stop2.store(true, Ordering::Release);
    });
    rt.block_on(async {
        timeout(Duration::from_secs(10), done)
            .await
            .expect("timer fired under load")
            .unwrap()
    });
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(
        spins.load(Ordering::Relaxed) > 0,
        "the workers really were busy"
    );
}

#[test]
fn interval_ticks_on_schedule_and_handles_missed_ticks() {
    let _serial = serial();
    let rt = rt(2);
    rt.block_on(async {
        let start = Instant::now();
        let period = Duration::from_millis(10);
        let mut iv = interval(period);
        let first = iv.tick().await;
        assert!(first <= Instant::now());
        for i in 1..=4u32 {
            let t = iv.tick().await;
            assert_eq!(t, first + period * i, "burst keeps the schedule");
            assert!(Instant::now() >= t);
        }
        assert!(start.elapsed() >= Duration::from_millis(40));

        // Delay: after a stall, the next tick is a full period after the late one.
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        iv.tick().await;
        std::thread::sleep(Duration::from_millis(35)); // stall this task (not a worker)
        let late = iv.tick().await;
        let before = Instant::now();
        let next = iv.tick().await;
        assert!(next >= before + period - Duration::from_millis(2));
        assert!(next > late);

        // Skip: ticks stay on the period grid.
        let mut iv = interval(period);
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let origin = iv.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        iv.tick().await;
        let next = iv.tick().await;
        let offset = (next - origin).as_nanos() % period.as_nanos();
        assert_eq!(offset, 0, "skip stays on the grid");
        assert!(next > origin + period * 3);
    });
}

#[test]
fn sleep_far_in_the_future_does_not_overflow_or_fire() {
    let _serial = serial();
    let rt = rt(1);
    rt.block_on(async {
        let r = timeout(Duration::from_millis(20), sleep(Duration::MAX)).await;
        assert!(r.is_err(), "Duration::MAX never fires");
        let r = timeout(
            Duration::from_millis(20),
            sleep(Duration::from_secs(86_400 * 365 * 5)),
        )
        .await;
        assert!(r.is_err());
    });
}

#[test]
fn sleep_outside_a_runtime_panics_with_a_message() {
    let _serial = serial();
    // Far enough that the deadline has not passed at the poll (an elapsed sleep is ready
    // without a runtime), even on a slow machine or under valgrind.
    let s = sleep(Duration::from_secs(60));
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut s = std::pin::pin!(s);
        let _ = std::future::Future::poll(s.as_mut(), &mut cx);
    }));
    let err = res.expect_err("must panic outside a runtime");
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside of a rawrt runtime"), "{msg}");
}

/// A waker that counts its wakes.
struct CountWakes(AtomicUsize);

impl std::task::Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_pending_sleep_is_woken_when_its_runtime_shuts_down_and_then_panics_when_polled() {
    // As in Tokio: a timer whose runtime is gone can never fire, so instead of leaving its
    // awaiter hanging the shutdown wakes it and the next poll panics, saying why. A timer
    // that fired before the shutdown still completes.
    use std::future::Future;
    use std::task::{Context, Poll};
    for current_thread in [false, true] {
        let rt = if current_thread {
            rawrt::Builder::new_current_thread().build().unwrap()
        } else {
            rt(2)
        };
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(wakes.clone());
        let (mut pending, mut forever, mut fired, registered) = rt.block_on(async {
            let mut pending = Box::pin(sleep(Duration::from_secs(3600)));
            let mut forever = Box::pin(sleep(Duration::MAX));
            let mut fired = Box::pin(sleep(Duration::from_millis(1)));
            let mut cx = Context::from_waker(&waker);
            assert!(pending.as_mut().poll(&mut cx).is_pending());
            assert!(forever.as_mut().poll(&mut cx).is_pending());
            // On a slow machine (valgrind) the short one may be due at its first poll
            // already; then it registers nothing, and no wake is counted for it.
            let registered = fired.as_mut().poll(&mut cx).is_pending();
            // Let the short one fire: this later, longer timer fires after it.
            sleep(Duration::from_millis(20)).await;
            (pending, forever, fired, registered)
        });
        let before = wakes.0.load(Ordering::SeqCst);
        assert_eq!(
            before,
            usize::from(registered),
            "only the short timer fired: current_thread={current_thread}"
        );
        drop(rt);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            before + 2,
            "the shutdown woke both pending timers: current_thread={current_thread}"
        );
        let mut cx = Context::from_waker(&waker);
        assert_eq!(fired.as_mut().poll(&mut cx), Poll::Ready(()));
        for sleep in [&mut pending, &mut forever] {
            let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = sleep.as_mut().poll(&mut cx);
            }))
            .expect_err("polling a timer of a shut-down runtime panics");
            let msg = common::panic_message(&*panic);
            assert!(msg.contains("shut down"), "message: {msg}");
        }
        // Dropping them afterwards is fine.
        drop((pending, forever, fired));
    }
}
