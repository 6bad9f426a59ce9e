//! `rawrt::net::UdpSocket` on loopback.

mod common;

use rawrt::io::ReadBuf;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;

use futures_util::FutureExt;
use rawrt::net::UdpSocket;

/// Runs `fut` on a fresh two-worker runtime, under the shared watchdog
/// (`common::with_timeout`): a hang fails the test instead of blocking the run.
fn run(fut: impl Future<Output = ()> + Send + 'static) {
    common::with_timeout("test body", common::LIMIT, move || {
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(fut);
    });
}

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

#[test]
fn send_to_recv_from_round_trip_with_addresses() {
    run(async {
        let a = bind().await;
        let b = bind().await;
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert!(a_addr.ip().is_loopback() && a_addr.port() != 0 && a_addr != b_addr);
        assert_eq!(
            a.peer_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );

        assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
        let mut buf = [0u8; 64];
        // Peeking leaves the datagram queued.
        assert_eq!(b.peek_from(&mut buf).await.unwrap(), (5, a_addr));
        assert_eq!(b.recv_from(&mut buf).await.unwrap(), (5, a_addr));
        assert_eq!(&buf[..5], b"hello");

        // Reply to the address the datagram came from, given as a string this time.
        assert_eq!(b.send_to(b"hi there", a_addr.to_string()).await.unwrap(), 8);
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"hi there"[..], b_addr));

        // Empty datagrams are datagrams.
        assert_eq!(a.send_to(b"", b_addr).await.unwrap(), 0);
        assert_eq!(b.recv_from(&mut buf).await.unwrap(), (0, a_addr));
    });
}

#[test]
fn connected_send_and_recv() {
    run(async {
        let a = bind().await;
        let b = bind().await;
        let c = bind().await;
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        assert_eq!(b.peer_addr().unwrap(), a_addr);

        let mut buf = [0u8; 64];
        assert_eq!(a.send(b"one").await.unwrap(), 3);
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"one");

        // Only the peer's datagrams reach a connected socket.
        c.send_to(b"stranger", a_addr).await.unwrap();
        b.send(b"two").await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"two"[..], b_addr));
    });
}

#[test]
fn connected_to_a_closed_port_reports_refused() {
    run(async {
        let gone = bind().await;
        let gone_addr = gone.local_addr().unwrap();
        drop(gone);
        let a = bind().await;
        a.connect(gone_addr).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        // The ICMP port unreachable arrives as an error event, which wakes the receiver; the
        // receive reports it.
        let mut buf = [0u8; 16];
        let err = a.recv(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert!(a.take_error().unwrap().is_none());
    });
}

/// The bytes of datagram `seq` from sender `task`: a header, then a pattern of varying length.
fn datagram(task: u8, seq: u16) -> Vec<u8> {
    let mut d = vec![task];
    d.extend_from_slice(&seq.to_be_bytes());
    let len = 16 + (usize::from(seq) * 7 + usize::from(task) * 13) % 180;
    d.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ task ^ seq as u8));
    d
}

#[test]
fn many_datagrams_from_concurrent_tasks() {
    const TASKS: u8 = 4;
    const PER_TASK: u16 = 250;
    // Datagrams a sender may have unacknowledged. UDP drops what a full receive buffer cannot
    // take, so the senders are flow-controlled: at most TASKS * WINDOW small datagrams are
    // ever queued at the receiver, far below the default buffer (about 200 KiB).
    const WINDOW: u16 = 16;

    run(async {
        let server = bind().await;
        let server_addr = server.local_addr().unwrap();

        // The receiver checks each datagram and acknowledges it to its sender.
        let receiver = rawrt::spawn(async move {
            let mut seen = vec![vec![false; usize::from(PER_TASK)]; usize::from(TASKS)];
            let mut buf = [0u8; 512];
            for _ in 0..u32::from(TASKS) * u32::from(PER_TASK) {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                let got = &buf[..n];
                let (task, seq) = (got[0], u16::from_be_bytes([got[1], got[2]]));
                assert_eq!(got, datagram(task, seq), "datagram {task}/{seq} corrupted");
                let slot = &mut seen[usize::from(task)][usize::from(seq)];
                assert!(!*slot, "datagram {task}/{seq} received twice");
                *slot = true;
                server.send_to(&got[..3], from).await.unwrap();
            }
            assert!(seen.iter().flatten().all(|&s| s));
        });

        let senders: Vec<_> = (0..TASKS)
            .map(|task| {
                rawrt::spawn(async move {
                    let sock = bind().await;
                    let mut acked = vec![false; usize::from(PER_TASK)];
                    let mut acks = 0u16;
                    // Receives one acknowledgement and records it.
                    async fn wait_ack(
                        sock: &UdpSocket,
                        from_addr: SocketAddr,
                        task: u8,
                        acked: &mut [bool],
                    ) {
                        let mut buf = [0u8; 16];
                        let (n, from) = sock.recv_from(&mut buf).await.unwrap();
                        assert_eq!((n, from), (3, from_addr));
                        assert_eq!(buf[0], task);
                        let seq = u16::from_be_bytes([buf[1], buf[2]]);
                        assert!(!acked[usize::from(seq)], "ack {task}/{seq} twice");
                        acked[usize::from(seq)] = true;
                    }
                    for seq in 0..PER_TASK {
                        if seq >= WINDOW {
                            wait_ack(&sock, server_addr, task, &mut acked).await;
                            acks += 1;
                        }
                        let d = datagram(task, seq);
                        assert_eq!(sock.send_to(&d, server_addr).await.unwrap(), d.len());
                    }
                    while acks < PER_TASK {
                        wait_ack(&sock, server_addr, task, &mut acked).await;
                        acks += 1;
                    }
                    assert!(acked.iter().all(|&a| a));
                })
            })
            .collect();

        for s in senders {
            s.await.unwrap();
        }
        receiver.await.unwrap();
    });
}

#[test]
fn recv_on_an_empty_socket_waits_for_a_later_send() {
    run(async {
        let rx = bind().await;
        let tx = bind().await;
        let rx_addr = rx.local_addr().unwrap();
        let tx_addr = tx.local_addr().unwrap();

        // Poll once: nothing there, so the receive registers this task's waker.
        let mut buf = [0u8; 16];
        let (sender, (n, from)) = {
            let mut recv = pin!(rx.recv_from(&mut buf));
            let first = poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx).is_pending())).await;
            assert!(first, "recv_from on an empty socket must wait");

            // The send comes from another task; only the reactor can wake this one.
            let sender = rawrt::spawn(async move {
                tx.send_to(b"late", rx_addr).await.unwrap();
                tx
            });
            (sender, recv.await.unwrap())
        };
        assert_eq!((&buf[..n], from), (&b"late"[..], tx_addr));
        let tx = sender.await.unwrap();

        // And the usual shape: a task blocked in recv, woken by a send from here.
        let rx = std::sync::Arc::new(rx);
        let waiting = rawrt::spawn({
            let rx = rx.clone();
            async move {
                let mut buf = [0u8; 16];
                let (n, from) = rx.recv_from(&mut buf).await.unwrap();
                (buf[..n].to_vec(), from)
            }
        });
        rawrt::task::yield_now().await;
        tx.send_to(b"again", rx_addr).await.unwrap();
        assert_eq!(waiting.await.unwrap(), (b"again".to_vec(), tx_addr));
    });
}

#[test]
fn poll_variants() {
    run(async {
        let a = bind().await;
        let b = bind().await;
        let b_addr = b.local_addr().unwrap();
        let n = poll_fn(|cx| a.poll_send_to(cx, b"via poll", b_addr))
            .await
            .unwrap();
        assert_eq!(n, 8);
        let mut storage = [0u8; 16];
        let mut buf = ReadBuf::new(&mut storage);
        let from = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
        assert_eq!(
            (buf.filled(), from),
            (&b"via poll"[..], a.local_addr().unwrap())
        );
        let mut buf = ReadBuf::new(&mut storage);
        a.send_to(b"peek", b_addr).await.unwrap();
        poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await.unwrap();
        assert_eq!(buf.filled(), b"peek");
        let mut raw = [0u8; 16];
        b.recv_from(&mut raw).await.unwrap();

        a.connect(b_addr).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"conn")).await.unwrap(), 4);
        let mut buf = ReadBuf::new(&mut storage);
        poll_fn(|cx| b.poll_recv(cx, &mut buf)).await.unwrap();
        assert_eq!(buf.filled(), b"conn");
    });
}

#[test]
fn std_conversion_options_and_errors() {
    run(async {
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_sock.local_addr().unwrap();
        let sock = UdpSocket::from_std(std_sock).unwrap();
        assert_eq!(sock.local_addr().unwrap(), addr);
        let other = bind().await;
        other.send_to(b"to std", addr).await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(sock.recv_from(&mut buf).await.unwrap().0, 6);

        assert!(!sock.broadcast().unwrap());
        sock.set_broadcast(true).unwrap();
        assert!(sock.broadcast().unwrap());
        assert!(sock.take_error().unwrap().is_none());
        assert!(format!("{sock:?}").contains("UdpSocket"));

        // Back to std: still bound to the same address, and left nonblocking.
        let std_sock = sock.into_std().unwrap();
        assert_eq!(std_sock.local_addr().unwrap(), addr);
        let err = std_sock.recv_from(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        let taken = other.local_addr().unwrap();
        let err = UdpSocket::bind(taken).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        let none: &[SocketAddr] = &[];
        let err = UdpSocket::bind(none).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let err = other.send_to(b"x", none).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn bind_outside_a_runtime_is_an_error() {
    let err = UdpSocket::bind("127.0.0.1:0")
        .now_or_never()
        .expect("fails at once")
        .unwrap_err();
    assert!(err.to_string().contains("needs a rawrt runtime"), "{err}");
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = UdpSocket::from_std(std_sock).unwrap_err();
    assert!(err.to_string().contains("UdpSocket::from_std"), "{err}");
}
