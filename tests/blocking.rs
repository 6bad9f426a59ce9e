//! The blocking pool: results, panics, the thread cap, idle exit, and shutdown behaviour.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

fn rt(workers: usize, max_blocking: usize) -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(max_blocking)
        .thread_name("t")
        .build()
        .unwrap()
}

#[test]
fn returns_value_on_a_pool_thread_with_the_runtime_current() {
    let rt = rt(1, 4);
    rt.block_on(async {
        let (name, spawned) = rawrt::task::spawn_blocking(|| {
            let name = std::thread::current().name().unwrap_or("").to_string();
            // The runtime is current on pool threads.
            let inner = rawrt::spawn(async { 21 * 2 });
            (name, inner)
        })
        .await
        .unwrap();
        assert!(name.ends_with("-blocking"), "{name}");
        assert_eq!(spawned.await.unwrap(), 42);
    });
}

#[test]
fn panic_becomes_join_error() {
    let rt = rt(1, 4);
    rt.block_on(async {
        let err = rawrt::task::spawn_blocking(|| -> u32 { panic!("blocking boom") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(
            *err.into_panic().downcast::<&str>().unwrap(),
            "blocking boom"
        );
        // The pool keeps working.
        assert_eq!(rawrt::task::spawn_blocking(|| 5).await.unwrap(), 5);
    });
}

#[test]
fn thread_cap_is_respected_and_everything_runs() {
    let rt = rt(2, 2);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let running = running.clone();
                let peak = peak.clone();
                rawrt::task::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, (0..8).sum());
    });
    assert_eq!(peak.load(Ordering::SeqCst), 2, "two threads, both used");
    assert!(rt.handle().num_blocking_threads() <= 2);
}

#[test]
fn idle_threads_exit_after_keep_alive() {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        rawrt::task::spawn_blocking(|| ()).await.unwrap();
    });
    let start = Instant::now();
    while rt.handle().num_blocking_threads() > 0 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(rt.handle().num_blocking_threads(), 0);
}

#[test]
fn shutdown_waits_for_running_blocking_tasks() {
    let rt = rt(1, 4);
    let finished = Arc::new(AtomicBool::new(false));
    let f2 = finished.clone();
    let (started_tx, started_rx) = mpsc::channel();
    let _h = rt.spawn_blocking_via_handle(move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        f2.store(true, Ordering::SeqCst);
    });
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    rt.shutdown_timeout(Duration::from_secs(10));
    assert!(
        finished.load(Ordering::SeqCst),
        "shutdown waited for the closure"
    );
}

#[test]
fn shutdown_timeout_bounds_the_wait_and_cancels_queued_closures() {
    let rt = rt(1, 1);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel();
    let blocked = rt.spawn_blocking_via_handle(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(30));
    });
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let queued = rt.spawn_blocking_via_handle(move || ran2.store(true, Ordering::SeqCst));
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    release_tx.send(()).unwrap();
    let other = rawrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = other.block_on(queued).unwrap_err();
    assert!(err.is_cancelled(), "queued closure cancelled at shutdown");
    assert!(!ran.load(Ordering::SeqCst));
    other.block_on(blocked).unwrap();
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_with_a_message() {
    let err = std::panic::catch_unwind(|| rawrt::task::spawn_blocking(|| ())).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside of a rawrt runtime"), "{msg}");
}

#[test]
fn zero_blocking_threads_is_an_error() {
    let err = rawrt::Builder::new_multi_thread()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

trait SpawnBlockingViaHandle {
    fn spawn_blocking_via_handle<F: FnOnce() + Send + 'static>(
        &self,
        f: F,
    ) -> rawrt::JoinHandle<()>;
}

impl SpawnBlockingViaHandle for rawrt::Runtime {
    fn spawn_blocking_via_handle<F: FnOnce() + Send + 'static>(
        &self,
        f: F,
    ) -> rawrt::JoinHandle<()> {
        self.handle().spawn_blocking(f)
    }
}

#[test]
fn a_thread_that_cannot_start_cancels_the_task_with_the_os_error() {
    // A current-thread runtime starts no thread of its own; its blocking pool's threads get
    // this (impossible) stack size, so the pool cannot start one and has none.
    let rt = rawrt::Builder::new_current_thread()
        .thread_stack_size(1 << 50)
        .build()
        .unwrap();
    let err = rt
        .block_on(rt.handle().spawn_blocking(|| 42))
        .expect_err("no thread could run it");
    assert!(err.is_cancelled(), "{err:?}");
    let cause = std::error::Error::source(&err).expect("the OS error as the source");
    let os = cause
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error);
    assert!(
        matches!(
            os,
            Some(libc::EAGAIN) | Some(libc::ENOMEM) | Some(libc::EINVAL)
        ),
        "{err}: {os:?}"
    );
    assert!(err.to_string().contains("was cancelled: "), "{err}");
    // As an io::Error it is that OS error itself.
    let io: std::io::Error = err.into();
    assert_eq!(io.raw_os_error(), os);
    assert_eq!(rt.handle().num_blocking_threads(), 0);
}
