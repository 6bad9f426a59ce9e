//! Fair under every load (issue 12): wakers that panic are contained, many tasks may wait on
//! one resource, a cooperative budget keeps always-ready tasks from starving the rest, and
//! one blocked task does not stall the others. Every bound is generous; what is asserted is
//! that the thing happens at all, not how fast.

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
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
            // One deadline for the panicking sleep and the bystanders, so that they fire in
            // one timer batch; far enough ahead (200 ms) that the first poll, slow under
            // valgrind, still finds it pending.
            let deadline = rawrt::time::Instant::now() + Duration::from_millis(200);
            let mut sleep = Box::pin(rawrt::time::sleep_until(deadline));
            register_panicking_waker(&mut sleep);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1];
            let mut read = Box::pin(server.read(&mut buf));
            register_panicking_waker(&mut read);
            let bystanders: Vec<_> = (0..8)
                .map(|_| rawrt::spawn(rawrt::time::sleep_until(deadline)))
                .collect();
            client.write_all(b"x").await.unwrap();
            rawrt::time::sleep_until(deadline + Duration::from_millis(50)).await;
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

#[test]
fn many_tasks_accepting_on_one_listener_all_get_connections() {
    const N: usize = 8;
    with_timeout("shared listener", LIMIT, || {
        let rt = common::runtime(2, "accept");
        rt.block_on(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let acceptors: Vec<_> = (0..N)
                .map(|_| {
                    let l = listener.clone();
                    rawrt::spawn(async move { l.accept().await.map(|(s, _)| s) })
                })
                .collect();
            // Every acceptor waits before the first connection arrives.
            rawrt::time::sleep(Duration::from_millis(50)).await;
            let mut clients = Vec::new();
            for _ in 0..N {
                clients.push(TcpStream::connect(addr).await.unwrap());
            }
            for a in acceptors {
                a.await.unwrap().expect("each acceptor got a connection");
            }
        });
    });
}

#[test]
fn many_tasks_receiving_on_one_udp_socket_all_get_datagrams() {
    const N: usize = 8;
    with_timeout("shared UDP socket", LIMIT, || {
        let rt = common::runtime(2, "udp");
        rt.block_on(async {
            let socket = Arc::new(rawrt::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let addr = socket.local_addr().unwrap();
            let receivers: Vec<_> = (0..N)
                .map(|_| {
                    let s = socket.clone();
                    rawrt::spawn(async move {
                        let mut buf = [0u8; 8];
                        s.recv_from(&mut buf).await.map(|(n, _)| buf[..n].to_vec())
                    })
                })
                .collect();
            rawrt::time::sleep(Duration::from_millis(50)).await;
            let sender = rawrt::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for i in 0..N as u8 {
                sender.send_to(&[i], addr).await.unwrap();
            }
            let mut got: Vec<u8> = Vec::new();
            for r in receivers {
                got.extend(r.await.unwrap().expect("each receiver got a datagram"));
            }
            got.sort_unstable();
            assert_eq!(got, (0..N as u8).collect::<Vec<_>>());
        });
    });
}

#[test]
fn several_tasks_wait_readable_on_one_stream_and_try_read_says_would_block() {
    with_timeout("readable waiters", LIMIT, || {
        let rt = common::runtime(2, "readable");
        rt.block_on(async {
            let (a, mut b) = rawrt::net::UnixStream::pair().unwrap();
            let a = Arc::new(a);
            let mut buf = [0u8; 4];
            let err = a.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let a = a.clone();
                    rawrt::spawn(async move { a.readable().await })
                })
                .collect();
            rawrt::time::sleep(Duration::from_millis(20)).await;
            b.write_all(b"data").await.unwrap();
            for w in waiters {
                w.await.unwrap().expect("every waiter is woken by the data");
            }
            assert_eq!(a.try_read(&mut buf).unwrap(), 4);
            assert_eq!(&buf, b"data");
            let ready = a
                .ready(rawrt::io::Interest::READABLE | rawrt::io::Interest::WRITABLE)
                .await
                .unwrap();
            assert!(ready.is_writable());
            drop(b);
            a.readable().await.unwrap();
            assert_eq!(a.try_read(&mut buf).unwrap(), 0, "end of stream");
        });
    });
}

#[test]
fn block_in_place_keeps_the_other_tasks_running() {
    use std::sync::mpsc;
    with_timeout("block_in_place", LIMIT, || {
        // One worker: without the hand-off, nothing else could run while it blocks.
        let rt = common::runtime(1, "bip");
        rt.block_on(async {
            let (release, blocked) = mpsc::channel::<()>();
            let blocker = rawrt::spawn(async move {
                let here = std::thread::current().id();
                let got = rawrt::task::block_in_place(move || {
                    // Blocks this thread until the others have run.
                    blocked.recv_timeout(Duration::from_secs(20)).is_ok()
                });
                (got, here, std::thread::current().id())
            });
            // These run on the worker's new thread meanwhile.
            rawrt::time::sleep(Duration::from_millis(20)).await;
            let others: Vec<_> = (0..10).map(|i| rawrt::spawn(async move { i })).collect();
            let mut sum = 0;
            for o in others {
                sum += o.await.unwrap();
            }
            assert_eq!(sum, 45);
            release.send(()).unwrap();
            let (released, before, after) = blocker.await.unwrap();
            assert!(released, "the other tasks ran while block_in_place blocked");
            assert_eq!(before, after, "the task continues on its thread after f");
            // The runtime goes on with its (moved) worker.
            assert_eq!(rawrt::spawn(async { 1 }).await.unwrap(), 1);
        });
        drop(rt);
    });
}

#[test]
fn block_in_place_may_block_on_and_works_outside_workers() {
    let rt = common::runtime(2, "bip2");
    // On the block_on thread and outside any runtime it just runs.
    assert_eq!(rawrt::task::block_in_place(|| 1), 1);
    rt.block_on(async {
        assert_eq!(rawrt::task::block_in_place(|| 2), 2);
        let nested = rawrt::spawn(async {
            rawrt::task::block_in_place(|| {
                // Inside, the thread no longer drives the runtime: block_on is allowed.
                rawrt::Handle::current()
                    .block_on(async { rawrt::spawn(async { 3 }).await.unwrap() })
            })
        });
        assert_eq!(nested.await.unwrap(), 3);
    });
}

#[test]
fn block_in_place_on_a_current_thread_runtime_panics() {
    let rt = rawrt::Builder::new_current_thread().build().unwrap();
    let err = rt
        .block_on(async { rawrt::spawn(async { rawrt::task::block_in_place(|| ()) }).await })
        .unwrap_err();
    assert!(err.is_panic());
    let msg = common::panic_message(&*err.into_panic());
    assert!(msg.contains("current-thread runtime"), "{msg}");
    let direct = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { rawrt::task::block_in_place(|| ()) })
    }));
    assert!(direct.is_err(), "in block_on itself too");
    // The runtime is still usable.
    assert_eq!(rt.block_on(async { 5 }), 5);
}

/// A server whose connections each read one byte and answer it; a `b'B'` makes the
/// connection's task block its worker for `block` first (a blocking call in async code).
fn blocking_echo_server(rt: &rawrt::Runtime, block: Duration) -> std::net::SocketAddr {
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        rawrt::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                rawrt::spawn(async move {
                    let mut b = [0u8; 1];
                    while s.read_exact(&mut b).await.is_ok() {
                        if b[0] == b'B' {
                            std::thread::sleep(block);
                        }
                        if s.write_all(&b).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    })
}

/// Connects a new client to `addr`, sends one ordinary byte and waits for its echo: how
/// long that took.
fn fresh_round_trip(addr: std::net::SocketAddr) -> Duration {
    use std::io::{Read, Write};
    let sent = Instant::now();
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    sent.elapsed()
}

#[test]
fn a_blocked_worker_does_not_stall_the_other_connections() {
    use std::io::{Read, Write};
    const BLOCK: Duration = Duration::from_secs(2);
    with_timeout("blocked worker", LIMIT, || {
        let rt = common::runtime(2, "stall");
        let addr = blocking_echo_server(&rt, BLOCK);
        let mut conns: Vec<std::net::TcpStream> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for c in &conns {
            c.set_nodelay(true).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        }
        // Let the server accept all four and wait in their reads.
        std::thread::sleep(Duration::from_millis(100));
        // One batch: the blocker first, then three ordinary requests.
        let start = Instant::now();
        conns[0].write_all(b"B").unwrap();
        for c in &mut conns[1..] {
            c.write_all(b"x").unwrap();
        }
        let mut slowest = Duration::ZERO;
        for c in &mut conns[1..] {
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            slowest = slowest.max(start.elapsed());
        }
        // A bystander arriving 100 ms later.
        std::thread::sleep(Duration::from_millis(100));
        let bystander = fresh_round_trip(addr);
        let mut b = [0u8; 1];
        conns[0].read_exact(&mut b).unwrap();
        assert!(start.elapsed() >= BLOCK, "the blocker did block");
        assert!(
            slowest < Duration::from_millis(100),
            "the three requests batched with the blocker took {slowest:?}"
        );
        assert!(
            bystander < Duration::from_millis(100),
            "a connection arriving during the block took {bystander:?}"
        );
    });
}

#[test]
fn a_lone_blocked_task_does_not_leave_the_driver_unwatched() {
    use std::io::{Read, Write};
    const BLOCK: Duration = Duration::from_secs(1);
    with_timeout("lone blocker", LIMIT, || {
        let rt = common::runtime(2, "lone");
        let addr = blocking_echo_server(&rt, BLOCK);
        let mut blocker = std::net::TcpStream::connect(addr).unwrap();
        blocker
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // A batch of one: its worker runs it, so it wakes nobody, and blocks.
        blocker.write_all(b"B").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let took = fresh_round_trip(addr);
        let mut b = [0u8; 1];
        blocker.read_exact(&mut b).unwrap();
        assert!(
            took < Duration::from_millis(100),
            "a connection arriving while the only busy worker blocks took {took:?}"
        );
    });
}

#[test]
fn shutdown_timeout_does_not_wait_for_a_block_in_place_closure() {
    with_timeout("shutdown during block_in_place", LIMIT, || {
        let rt = common::runtime(2, "bipshut");
        let (entered, inside) = std::sync::mpsc::channel();
        rt.spawn(async move {
            rawrt::task::block_in_place(move || {
                entered.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(3));
            })
        });
        inside.recv_timeout(Duration::from_secs(10)).unwrap();
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "shutdown_timeout(100 ms) waited {took:?} for a closure blocking 3 s"
        );
    });
}

#[test]
fn consume_budget_yields_once_the_budget_is_spent_and_unconstrained_lifts_it() {
    use std::future::Future;
    let rt = common::runtime(1, "budget");
    rt.block_on(async {
        rawrt::spawn(async {
            assert!(rawrt::task::coop::has_budget_remaining());
            for _ in 0..128 {
                rawrt::task::consume_budget().await;
            }
            assert!(
                !rawrt::task::coop::has_budget_remaining(),
                "128 units spent"
            );
            // The next one must hand the worker back first: Pending once, then done.
            let mut next = std::pin::pin!(rawrt::task::consume_budget());
            let first =
                std::future::poll_fn(|cx| std::task::Poll::Ready(next.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "a spent budget yields");
            next.await;
            assert!(
                rawrt::task::coop::has_budget_remaining(),
                "a fresh poll, a fresh budget"
            );
            // Unconstrained: never refused, however much is spent.
            rawrt::task::unconstrained(async {
                for _ in 0..1000 {
                    let mut op = std::pin::pin!(rawrt::task::consume_budget());
                    let polled =
                        std::future::poll_fn(|cx| std::task::Poll::Ready(op.as_mut().poll(cx)))
                            .await;
                    assert!(polled.is_ready());
                }
                assert!(rawrt::task::coop::has_budget_remaining());
            })
            .await;
        })
        .await
        .unwrap();
    });
}

#[test]
fn try_write_and_try_send_act_only_on_known_readiness() {
    with_timeout("try_write", LIMIT, || {
        let rt = common::runtime(2, "try");
        rt.block_on(async {
            let (a, b) = rawrt::net::UnixStream::pair().unwrap();
            a.writable().await.unwrap();
            assert_eq!(a.try_write(b"hello").unwrap(), 5);
            let mut buf = [0u8; 5];
            b.readable().await.unwrap();
            assert_eq!(b.try_read(&mut buf).unwrap(), 5);
            assert_eq!(&buf, b"hello");
            // Fill the socket: the first WouldBlock clears the readiness, the next is
            // answered from it without a syscall.
            let chunk = [0u8; 64 * 1024];
            while a.try_write(&chunk).is_ok() {}
            let before = rawrt::stats::syscalls();
            let err = a.try_write(&chunk).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            let made = rawrt::stats::syscalls() - before;
            assert_eq!(
                made.get(rawrt::stats::Syscall::Write),
                0,
                "no syscall: {made}"
            );

            let u = rawrt::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let v = rawrt::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            u.writable().await.unwrap();
            assert_eq!(u.try_send_to(b"dgram", v.local_addr().unwrap()).unwrap(), 5);
            v.readable().await.unwrap();
            let mut d = [0u8; 8];
            let (n, from) = v.try_recv_from(&mut d).unwrap();
            assert_eq!((&d[..n], from), (&b"dgram"[..], u.local_addr().unwrap()));
        });
    });
}
