//! The current-thread flavour: same API, I/O and timers, everything on the `block_on` thread.

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rawrt::net::{TcpListener, TcpStream};

mod common;

fn rt() -> rawrt::Runtime {
    rawrt::Builder::new_current_thread().build().unwrap()
}

#[test]
fn tasks_run_on_the_block_on_thread() {
    let rt = rt();
    let me = std::thread::current().id();
    let ids = rt.block_on(async {
        let hs: Vec<_> = (0..100)
            .map(|_| rawrt::spawn(async { std::thread::current().id() }))
            .collect();
        let mut v = Vec::new();
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    });
    assert!(ids.iter().all(|&id| id == me));
    assert_eq!(rt.handle().num_workers(), 1);
}

#[test]
fn tcp_echo_and_timers() {
    let rt = rt();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rawrt::spawn(async move {
            for _ in 0..20 {
                let (mut s, _) = listener.accept().await.unwrap();
                rawrt::spawn(async move {
                    let mut buf = [0u8; 64];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..20u8)
            .map(|i| {
                rawrt::spawn(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    rawrt::time::sleep(Duration::from_millis(u64::from(i))).await;
                    c.write_all(&[i; 10]).await.unwrap();
                    let mut back = [0u8; 10];
                    c.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, [i; 10]);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
        let start = Instant::now();
        rawrt::time::sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn spawn_from_another_thread_wakes_the_parked_driver() {
    let rt = rt();
    let handle = rt.handle().clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let spawner = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let h = handle.spawn(async { 99 });
        tx.send(h).unwrap();
    });
    let got = rt.block_on(async {
        // Park on I/O until the remote spawn's task completes; bounded by a timeout.
        let join = rawrt::task::spawn_blocking(move || rx.recv().unwrap())
            .await
            .unwrap();
        rawrt::time::timeout(Duration::from_secs(10), join).await
    });
    spawner.join().unwrap();
    assert_eq!(got.expect("woken in time").unwrap(), 99);
}

#[test]
fn drop_cancels_pending_tasks_exactly_once() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = rt();
    rt.block_on(async {
        for _ in 0..500 {
            let g = Guard(drops.clone());
            rawrt::spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            });
        }
        rawrt::task::yield_now().await;
    });
    // Some never ran at all: they must be dropped too.
    for _ in 0..500 {
        let g = Guard(drops.clone());
        rt.spawn(async move {
            let _g = g;
        });
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 1000);
}

#[test]
fn a_second_block_on_thread_completes_its_own_future() {
    let rt = Arc::new(rt());
    let rt2 = rt.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let driver = std::thread::spawn(move || {
        rt2.block_on(async {
            // Drive for a while: until the other thread is done.
            let mut spins = 0u64;
            while rx.try_recv().is_err() && spins < 2_000_000 {
                rawrt::task::yield_now().await;
                spins += 1;
            }
        })
    });
    let v = rt.block_on(async { rawrt::spawn(async { 5 }).await.unwrap() });
    assert_eq!(v, 5);
    tx.send(()).unwrap();
    driver.join().unwrap();
}

#[test]
fn a_panicking_block_on_future_leaves_the_runtime_usable() {
    let rt = rt();
    let background = rt.spawn(async {
        rawrt::time::sleep(std::time::Duration::from_millis(20)).await;
        7
    });
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            rawrt::task::yield_now().await;
            panic!("in the block_on future");
        })
    }));
    assert!(panicked.is_err());
    // The core (queue and driver) came back: the next block_on drives the spawned task
    // (without it, this would wait for the core for ever: bounded).
    let got = common::with_timeout(
        "block_on after a panic",
        Duration::from_secs(30),
        move || {
            let a = rt.block_on(background).unwrap();
            let b = rt.block_on(async { rawrt::spawn(async { 1 }).await.unwrap() });
            (a, b)
        },
    );
    assert_eq!(got, (7, 1));
}
