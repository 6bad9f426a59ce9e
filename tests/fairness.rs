//! Fair under every load (issue 12): wakers that panic are contained, many tasks may wait on
//! one resource, a cooperative budget keeps always-ready tasks from starving the rest, and
//! one blocked task does not stall the others. Every bound is generous; what is asserted is
//! that the thing happens at all, not how fast.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use common::{with_timeout, LIMIT};
use rawrt::net::{TcpListener, TcpStream};

/// A waker whose `wake` panics.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics in wake");
    }
}

/// Polls `fut` once with a waker that panics when woken.
fn register_panicking_waker<F: Future + Unpin>(fut: &mut F) {
    let waker = Waker::from(Arc::new(PanickingWaker));
    let mut cx = Context::from_waker(&waker);
    assert!(std::pin::Pin::new(fut).poll(&mut cx).is_pending());
}

#[test]
fn a_panicking_waker_leaves_the_runtime_serving_and_its_drop_returning() {
    with_timeout("panicking waker", LIMIT, || {
        let rt = common::runtime(2, "panicky");
        rt.block_on(async {
            // A timer and a socket read, each with a waker that panics when the driver
            // wakes it, and beside them ordinary tasks waiting on the same driver batch.
            let mut sleep = Box::pin(rawrt::time::sleep(Duration::from_millis(10)));
            register_panicking_waker(&mut sleep);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1];
            let mut read = Box::pin(server.read(&mut buf));
            register_panicking_waker(&mut read);
            let bystanders: Vec<_> = (0..8)
                .map(|_| rawrt::spawn(rawrt::time::sleep(Duration::from_millis(10))))
                .collect();
            client.write_all(b"x").await.unwrap();
            rawrt::time::sleep(Duration::from_millis(50)).await;
            for b in bystanders {
                b.await.unwrap();
            }
            // The runtime still serves: new timers, new connections, new tasks.
            let echo = rawrt::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).await.unwrap();
                s.write_all(&b).await.unwrap();
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"ping");
            echo.await.unwrap();
            drop((read, sleep));
        });
        // Dropping it returns (the bound is the test's own limit).
        let start = Instant::now();
        drop(rt);
        assert!(start.elapsed() < Duration::from_secs(10));
    });
}

/// A connection whose peer (a plain thread) keeps writing, so that a reader always finds
/// data: `read` never returns `Pending` on it.
async fn always_readable(listener: &TcpListener) -> (TcpStream, std::thread::JoinHandle<()>) {
    let addr = listener.local_addr().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let chunk = [7u8; 64 * 1024];
        // Until the reader's side closes.
        while s.write_all(&chunk).is_ok() {}
    });
    let (stream, _) = listener.accept().await.unwrap();
    (stream, writer)
}

#[test]
fn always_ready_readers_on_every_worker_do_not_starve_the_rest() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    const WORKERS: usize = 2;
    with_timeout("always-ready readers", LIMIT, || {
        let rt = common::runtime(WORKERS, "busy");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let mut readers = Vec::new();
            let mut writers = Vec::new();
            // Two per worker, each reading one byte at a time from a socket that stays
            // readable: without a budget a poll of one never ends.
            for _ in 0..2 * WORKERS {
                let (mut stream, writer) = always_readable(&listener).await;
                writers.push(writer);
                let stop = stop.clone();
                readers.push(rawrt::spawn(async move {
                    let mut byte = [0u8; 1];
                    let mut n = 0u64;
                    while !stop.load(SeqCst) {
                        n += stream.read(&mut byte).await.unwrap() as u64;
                    }
                    n
                }));
            }
            // Let them occupy the workers.
            rawrt::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(50));

            let bound = Duration::from_secs(1);
            let start = Instant::now();
            assert_eq!(rawrt::spawn(async { 42 }).await.unwrap(), 42);
            assert!(
                start.elapsed() < bound,
                "a fresh task took {:?}",
                start.elapsed()
            );

            let start = Instant::now();
            rawrt::time::sleep(Duration::from_millis(100)).await;
            assert!(
                start.elapsed() < bound,
                "a 100 ms timer took {:?}",
                start.elapsed()
            );

            let start = Instant::now();
            let addr = listener.local_addr().unwrap();
            let (accepted, connected) = rawrt::spawn(async move {
                let accept = rawrt::spawn(async move { listener.accept().await.map(|_| ()) });
                let connect = TcpStream::connect(addr).await.map(|_| ());
                (accept.await.unwrap(), connect)
            })
            .await
            .unwrap();
            accepted.unwrap();
            connected.unwrap();
            assert!(
                start.elapsed() < bound,
                "a new connection took {:?}",
                start.elapsed()
            );

            stop.store(true, SeqCst);
            for r in readers {
                assert!(r.await.unwrap() > 0, "every reader made progress");
            }
        });
        drop(rt);
    });
}
