//! TCP integration tests on loopback: many concurrent echo connections, short reads, errors
//! (refused, reset, no runtime), addresses, and deregistration of closed sockets.

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout, LIMIT};
use rawrt::net::{TcpListener, TcpStream};

/// A payload unique to client `i`: its index in the first bytes, then a pattern seeded by it.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut v = format!("client-{i:05}:").into_bytes();
    let mut x = i as u32 ^ 0x9E37_79B9;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    v.truncate(len);
    v
}

/// Echoes everything until the peer shuts down its write half.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

#[test]
fn echo_1000_concurrent_connections() {
    const CLIENTS: usize = 1000;
    match common::nofile_soft_limit() {
        Some(n) if n < 2500 => {
            eprintln!(
                "skipping echo_1000_concurrent_connections: RLIMIT_NOFILE soft limit is {n}, \
                 need 2500 (raise it with `ulimit -n`)"
            );
            return;
        }
        _ => {}
    }
    with_timeout("echo_1000", LIMIT, || {
        let rt = runtime(4, "echo1k");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let mut conns = Vec::with_capacity(CLIENTS);
                for _ in 0..CLIENTS {
                    let (stream, _) = listener.accept().await.expect("accept");
                    conns.push(rawrt::spawn(echo(stream)));
                }
                let mut echoed = 0;
                for c in conns {
                    echoed += c.await.expect("echo task").expect("echo io");
                }
                echoed
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    rawrt::spawn(async move {
                        let data = payload(i, 1000 + i % 100);
                        let mut s = TcpStream::connect(addr).await.expect("connect");
                        s.set_nodelay(true).unwrap();
                        let (a, b) = data.split_at(data.len() / 3);
                        s.write_all(a).await.expect("write 1");
                        s.write_all(b).await.expect("write 2");
                        let mut back = vec![0u8; data.len()];
                        s.read_exact(&mut back).await.expect("read back");
                        assert!(back == data, "client {i} got someone else's bytes");
                        s.shutdown_std(Shutdown::Write).unwrap();
                        let mut rest = [0u8; 16];
                        assert_eq!(s.read(&mut rest).await.unwrap(), 0, "client {i}: EOF");
                        data.len() as u64
                    })
                })
                .collect();
            let mut sent = 0;
            for c in clients {
                sent += c.await.expect("client task");
            }
            let echoed = server.await.expect("server task");
            assert_eq!(sent, echoed);
            let expected: u64 = (0..CLIENTS).map(|i| 1000 + (i % 100) as u64).sum();
            assert_eq!(sent, expected);
        });
    });
}

#[test]
fn short_reads_until_eof() {
    const LEN: usize = 100 * 1024;
    with_timeout("short_reads", LIMIT, || {
        let rt = runtime(2, "shortrd");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = rawrt::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(&payload(7, LEN)).await.unwrap();
                s.shutdown_std(Shutdown::Write).unwrap();
                // Keep the socket open until the server has read everything.
                let mut b = [0u8; 1];
                s.read(&mut b).await.unwrap()
            });
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::with_capacity(LEN);
            let mut buf = vec![0u8; 16 * 1024];
            let mut reads = 0;
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert!(n <= buf.len());
                reads += 1;
                got.extend_from_slice(&buf[..n]);
                assert!(got.len() <= LEN, "read more than was written");
            }
            assert_eq!(got.len(), LEN);
            assert!(got == payload(7, LEN), "bytes differ");
            assert!(reads >= LEN / buf.len(), "{reads} reads of at most 16 KiB");
            // A read after EOF keeps returning 0.
            assert_eq!(s.read(&mut buf).await.unwrap(), 0);
            drop(s);
            assert_eq!(client.await.unwrap(), 0);
        });
    });
}

#[test]
fn connect_to_closed_port_is_refused() {
    with_timeout("refused", LIMIT, || {
        // Take a free port, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let rt = runtime(1, "refused");
        let err = rt
            .block_on(TcpStream::connect(("127.0.0.1", port)))
            .expect_err("connect to a closed port succeeded");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        // The failed socket was deregistered.
        assert!(common::wait_until(Duration::from_secs(5), || rt
            .handle()
            .num_io_registrations()
            == 0));
    });
}

#[test]
fn peer_reset_is_reported_not_hung() {
    with_timeout("reset", LIMIT, || {
        let rt = runtime(2, "reset");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.set_linger(Some(Duration::ZERO)).unwrap();
            drop(client); // RST
            let mut buf = [0u8; 64];
            match server.read(&mut buf).await {
                Ok(0) => {}
                Ok(n) => panic!("read {n} bytes from a reset connection"),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            }
        });
    });
}

#[test]
fn peer_reset_wakes_a_parked_reader() {
    // As above, but the reader is already waiting in `read` when the RST arrives.
    with_timeout("reset_parked", LIMIT, || {
        let rt = runtime(2, "resetpk");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let (tx, rx) = mpsc::channel();
            let reader = rawrt::spawn(async move {
                tx.send(()).unwrap();
                let mut buf = [0u8; 64];
                server.read(&mut buf).await
            });
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
            client.set_linger(Some(Duration::ZERO)).unwrap();
            drop(client);
            match reader.await.unwrap() {
                Ok(0) => {}
                Ok(n) => panic!("read {n} bytes from a reset connection"),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            }
        });
    });
}

#[test]
fn addresses_agree_between_ends() {
    with_timeout("addrs", LIMIT, || {
        let rt = runtime(2, "addrs");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let laddr = listener.local_addr().unwrap();
            assert!(laddr.ip().is_loopback());
            assert_ne!(laddr.port(), 0);
            let client = TcpStream::connect(laddr).await.unwrap();
            let (server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
            assert_eq!(server.local_addr().unwrap(), laddr);
            assert_eq!(client.peer_addr().unwrap(), laddr);
            assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            client.set_nodelay(false).unwrap();
            assert!(!client.nodelay().unwrap());
        });
    });
}

#[test]
fn io_constructors_outside_a_runtime_are_errors() {
    with_timeout("no_runtime", LIMIT, || {
        // The constructors check for a runtime before doing anything, so the first poll of
        // their futures is ready.
        let bind = common::poll_once(TcpListener::bind("127.0.0.1:0"));
        let err = match bind {
            std::task::Poll::Ready(Err(e)) => e,
            std::task::Poll::Ready(Ok(l)) => panic!("bind outside a runtime succeeded: {l:?}"),
            std::task::Poll::Pending => panic!("bind outside a runtime is pending"),
        };
        assert!(err.to_string().contains("rawrt runtime"), "{err}");

        let connect = common::poll_once(TcpStream::connect("127.0.0.1:1"));
        let err = match connect {
            std::task::Poll::Ready(Err(e)) => e,
            other => panic!("connect outside a runtime: {:?}", other.map(|r| r.is_ok())),
        };
        assert!(err.to_string().contains("rawrt runtime"), "{err}");

        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = TcpListener::from_std(std_listener).expect_err("from_std outside a runtime");
        assert!(err.to_string().contains("rawrt runtime"), "{err}");

        // Under `Handle::enter` the same constructors work, without `block_on`.
        let rt = runtime(1, "noruntm");
        let _guard = rt.enter();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listener = TcpListener::from_std(std_listener).expect("from_std under enter");
        assert_eq!(rt.handle().num_io_registrations(), 1);
        drop(listener);
        assert_eq!(rt.handle().num_io_registrations(), 0);
    });
}

#[test]
fn closed_streams_are_deregistered() {
    const CONNS: usize = 100;
    with_timeout("deregister", LIMIT, || {
        let rt = runtime(2, "dereg");
        let handle = rt.handle().clone();
        let baseline = handle.num_io_registrations();
        assert_eq!(baseline, 0);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            assert_eq!(handle.num_io_registrations(), baseline + 1);
            let mut pairs = Vec::with_capacity(CONNS);
            for i in 0..CONNS {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let (mut s, _) = listener.accept().await.unwrap();
                c.write_all(&[i as u8]).await.unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                assert_eq!(b[0], i as u8);
                pairs.push((c, s));
            }
            assert_eq!(handle.num_io_registrations(), baseline + 1 + 2 * CONNS);
            // Close half in tasks on the workers, half here.
            let mut tasks = Vec::new();
            for (i, pair) in pairs.into_iter().enumerate() {
                if i % 2 == 0 {
                    tasks.push(rawrt::spawn(async move { drop(pair) }));
                } else {
                    drop(pair);
                }
            }
            for t in tasks {
                t.await.unwrap();
            }
            drop(listener);
        });
        let ok = common::wait_until(Duration::from_secs(10), || {
            handle.num_io_registrations() == baseline
        });
        assert!(
            ok,
            "{} registrations left after closing every socket (baseline {baseline})",
            handle.num_io_registrations()
        );
    });
}

#[test]
fn std_peer_sees_eof_and_data() {
    // Interop with a blocking std socket on another thread, and `from_std` for streams.
    with_timeout("std_interop", LIMIT, || {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = std_listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got).unwrap();
            got.len()
        });
        let rt = runtime(2, "stdpeer");
        let start = Instant::now();
        let echoed = rt.block_on(async {
            let std_stream = std::net::TcpStream::connect(addr).unwrap();
            let mut s = TcpStream::from_std(std_stream).unwrap();
            let data = payload(3, 200_000);
            s.write_all(&data).await.unwrap();
            s.shutdown_std(Shutdown::Write).unwrap();
            let mut back = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&buf[..n]);
            }
            assert!(back == data);
            back.len()
        });
        assert_eq!(peer.join().unwrap(), echoed);
        assert!(start.elapsed() < Duration::from_secs(30));
    });
}

#[test]
fn full_duplex_reader_and_writer_tasks_share_a_stream() {
    const LEN: usize = 4 << 20;
    with_timeout("full_duplex", LIMIT, || {
        let rt = runtime(2, "duplex");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                echo(s).await.unwrap()
            });
            let stream = Arc::new(TcpStream::connect(addr).await.unwrap());
            let data = Arc::new(payload(11, LEN));
            // The echo server only reads as fast as we read its replies: writing everything
            // before reading would fill both socket buffers, so the two directions must
            // progress independently, in two tasks waiting on one socket.
            let (s, d) = (stream.clone(), data.clone());
            let writer = rawrt::spawn(async move {
                let mut off = 0;
                while off < d.len() {
                    let end = (off + 64 * 1024).min(d.len());
                    off += (&*s).write(&d[off..end]).await.unwrap();
                }
                s.shutdown_std(Shutdown::Write).unwrap();
            });
            let (s, d) = (stream.clone(), data.clone());
            let reader = rawrt::spawn(async move {
                let mut got = Vec::with_capacity(d.len());
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = (&*s).read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got.len(), d.len());
                assert!(got == *d, "echoed bytes differ");
            });
            writer.await.unwrap();
            reader.await.unwrap();
            assert_eq!(server.await.unwrap(), LEN as u64);
        });
    });
}

#[test]
fn peek_does_not_consume() {
    with_timeout("peek", LIMIT, || {
        let rt = runtime(2, "peek");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            c.write_all(b"hello world").await.unwrap();
            // A buffer exactly the size of the message: peek until all of it is there (each
            // peek that sees less waits for more data).
            let mut buf = [0u8; 11];
            let mut n = 0;
            for _ in 0..1000 {
                n = s.peek(&mut buf).await.unwrap();
                if n == 11 {
                    break;
                }
            }
            assert_eq!(&buf[..n], b"hello world");
            let mut again = [0u8; 11];
            s.read_exact(&mut again).await.unwrap();
            assert_eq!(&again, b"hello world");
        });
    });
}

#[test]
fn read_after_a_short_peek_returns_the_peeked_bytes() {
    // `peek` into a buffer larger than what is queued returns fewer bytes than asked for.
    // The bytes are still queued (peek does not consume), so a following `read` (or `peek`)
    // must return them, with no new data from the peer.
    with_timeout("short_peek", Duration::from_secs(20), || {
        let rt = runtime(2, "shortpk");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            c.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 64];
            let mut n = 0;
            for _ in 0..1000 {
                n = s.peek(&mut buf).await.unwrap();
                if n == 5 {
                    break;
                }
            }
            assert_eq!(&buf[..n], b"hello");
            // The peer sends nothing more and keeps the connection open.
            let n = s.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            drop(c);
        });
    });
}

#[test]
fn into_std_deregisters_and_keeps_the_connection() {
    with_timeout("into_std", LIMIT, || {
        let rt = runtime(2, "intostd");
        let handle = rt.handle().clone();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            assert_eq!(handle.num_io_registrations(), 3);
            let mut std_c = c.into_std().unwrap();
            assert_eq!(handle.num_io_registrations(), 2);
            std_c.set_nonblocking(false).unwrap();
            std_c.write_all(b"via std").unwrap();
            let mut buf = [0u8; 7];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"via std");
            let std_l = listener.into_std().unwrap();
            assert_eq!(handle.num_io_registrations(), 1);
            assert_eq!(std_l.local_addr().unwrap(), addr);
        });
    });
}

#[test]
fn io_after_runtime_drop_fails_instead_of_hanging() {
    with_timeout("io_after_drop", LIMIT, || {
        let rt = runtime(1, "afterdrp");
        let handle = rt.handle().clone();
        let (c, s) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            (c, s)
        });
        // A read parked in a `block_on` on another thread when the runtime shuts down.
        let (started_tx, started_rx) = mpsc::channel();
        let h = handle.clone();
        let parked = std::thread::spawn(move || {
            let mut s = s;
            h.block_on(async move {
                started_tx.send(()).unwrap();
                let mut buf = [0u8; 8];
                s.read(&mut buf).await
            })
        });
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(rt);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || done_tx.send(parked.join()).unwrap());
        let res = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a read parked across runtime shutdown was never woken")
            .unwrap();
        let err = res.expect_err("read succeeded on a shut-down runtime");
        assert!(err.to_string().contains("shut down"), "{err}");

        // A fresh read on a stream of the dead runtime errors at once.
        let mut c = c;
        let mut buf = [0u8; 8];
        match common::poll_once(c.read(&mut buf)) {
            std::task::Poll::Ready(Err(_)) => {}
            other => panic!("read after shutdown: {other:?}"),
        }
        // New sockets cannot register with it.
        let _g = handle.enter();
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(TcpListener::from_std(std_l).is_err());
    });
}

#[test]
fn io_is_not_starved_by_busy_workers() {
    // Every worker is busy with a task that only yields; I/O readiness must still be picked
    // up (busy workers poll the reactor every `event_interval` ticks).
    const MAX_SPINS: u64 = 5_000_000;
    with_timeout("io_starvation", LIMIT, || {
        let rt = runtime(2, "busyio");
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (connected_tx, connected_rx) = mpsc::channel();
        let d = done.clone();
        let reader = rt.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            connected_tx.send(()).unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            d.store(true, std::sync::atomic::Ordering::SeqCst);
            buf
        });
        let (mut peer, _) = std_listener.accept().unwrap();
        connected_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let (spinning_tx, spinning_rx) = mpsc::channel();
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let d = done.clone();
                let tx = spinning_tx.clone();
                rt.spawn(async move {
                    let _ = tx.send(());
                    let mut spins = 0u64;
                    while !d.load(std::sync::atomic::Ordering::SeqCst) {
                        spins += 1;
                        if spins > MAX_SPINS {
                            return false;
                        }
                        rawrt::task::yield_now().await;
                    }
                    true
                })
            })
            .collect();
        for _ in 0..2 {
            spinning_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        peer.write_all(b"ping").unwrap();
        assert_eq!(&rt.block_on(reader).unwrap(), b"ping");
        for s in spinners {
            assert!(
                rt.block_on(s).unwrap(),
                "I/O was never polled while workers were busy"
            );
        }
    });
}

#[test]
fn connect_tries_each_resolved_address() {
    with_timeout("connect_each", LIMIT, || {
        let rt = runtime(1, "resolve");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            // Refused on the first address, accepted on the second.
            let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let closed = refused.local_addr().unwrap();
            drop(refused);
            let addrs = [closed, listener.local_addr().unwrap()];
            let c = TcpStream::connect(&addrs[..]).await.unwrap();
            let (_s, peer) = listener.accept().await.unwrap();
            assert_eq!(c.local_addr().unwrap(), peer);
            assert_eq!(c.peer_addr().unwrap().port(), port);
            // An empty address list is an error, not a hang.
            let none: &[std::net::SocketAddr] = &[];
            assert!(TcpStream::connect(none).await.is_err());
        });
    });
}
