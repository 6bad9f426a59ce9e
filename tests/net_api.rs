//! The rest of `rawrt::net` (issue 13): name resolution off the workers, OS errors kept,
//! `TcpSocket`, split halves, vectored and custom `try_*` I/O, UDP's `ReadBuf` polls and
//! options, `UnixDatagram`, abstract Unix names, `peer_cred`, `TryFrom` std types, and
//! `io::unix::AsyncFd`.

mod common;

use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{runtime, with_timeout, LIMIT};
use rawrt::io::unix::AsyncFd;
use rawrt::io::{AsyncReadExt, AsyncWriteExt, Interest, ReadBuf, Ready};
use rawrt::net::{
    lookup_host, TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener,
    UnixStream,
};
use rawrt::time::timeout;

/// A connected loopback TCP pair.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Whether `fut` is still pending after `wait` (it must be, for the test to pass).
async fn stays_pending<F: std::future::Future>(wait: Duration, fut: F) -> bool {
    timeout(wait, fut).await.is_err()
}

#[test]
fn refused_connect_keeps_the_os_error() {
    with_timeout("refused", LIMIT, || {
        runtime(1, "refused").block_on(async {
            // A port that was just free: bind, note, drop.
            let addr = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err:?}");
            let err = TcpSocket::new_v4()
                .unwrap()
                .connect(addr)
                .await
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
            let path = std::env::temp_dir().join(format!("rawrt-none-{}.sock", std::process::id()));
            let err = UnixStream::connect(&path).await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        })
    });
}

#[test]
fn bind_in_use_keeps_the_os_error() {
    with_timeout("in use", LIMIT, || {
        runtime(1, "inuse").block_on(async {
            let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let err = TcpListener::bind(a.local_addr().unwrap())
                .await
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
            let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let err = UdpSocket::bind(u.local_addr().unwrap()).await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
        })
    });
}

#[test]
fn numeric_addresses_resolve_without_the_pool_and_names_on_it() {
    with_timeout("lookup", LIMIT, || {
        let rt = rawrt::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let handle = rawrt::Handle::current();
            let got: Vec<SocketAddr> = lookup_host("127.0.0.1:80").await.unwrap().collect();
            assert_eq!(got, ["127.0.0.1:80".parse().unwrap()]);
            let got: Vec<SocketAddr> = lookup_host(("::1", 9)).await.unwrap().collect();
            assert_eq!(got, ["[::1]:9".parse().unwrap()]);
            assert_eq!(
                handle.num_blocking_threads(),
                0,
                "numeric addresses need no blocking thread"
            );
            let got: Vec<SocketAddr> = lookup_host("localhost:8080").await.unwrap().collect();
            assert!(!got.is_empty());
            assert!(got.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
            assert!(
                handle.num_blocking_threads() >= 1,
                "a name is resolved on the blocking pool, not on the worker"
            );
            let err = match lookup_host("no-port-here").await {
                Err(e) => e,
                Ok(_) => panic!("a name without a port resolved"),
            };
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        })
    });
}

#[test]
fn connect_and_bind_accept_host_names() {
    with_timeout("names", LIMIT, || {
        runtime(2, "names").block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let accept = rawrt::spawn(async move { listener.accept().await.map(|_| ()) });
            // "localhost" may resolve to ::1 first; connect tries each address in turn.
            let mut s = TcpStream::connect(("localhost", port)).await.unwrap();
            accept.await.unwrap().unwrap();
            s.write_all(b"x").await.unwrap();
            let u = UdpSocket::bind(String::from("127.0.0.1:0")).await.unwrap();
            let v = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            u.send_to(
                b"dgram",
                format!("localhost:{}", v.local_addr().unwrap().port()),
            )
            .await
            .unwrap();
            let mut buf = [0u8; 8];
            let n = v.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"dgram");
        })
    });
}

#[test]
fn tcp_socket_options_and_reuseport() {
    with_timeout("tcp socket", LIMIT, || {
        runtime(1, "tcpsock").block_on(async {
            let a = TcpSocket::new_v4().unwrap();
            a.set_reuseport(true).unwrap();
            a.set_reuseaddr(true).unwrap();
            assert!(a.reuseport().unwrap() && a.reuseaddr().unwrap());
            a.set_keepalive(true).unwrap();
            assert!(a.keepalive().unwrap());
            a.set_recv_buffer_size(64 * 1024).unwrap();
            assert!(a.recv_buffer_size().unwrap() >= 64 * 1024);
            a.set_send_buffer_size(32 * 1024).unwrap();
            assert!(a.send_buffer_size().unwrap() >= 32 * 1024);
            a.set_linger(Some(Duration::from_secs(2))).unwrap();
            assert_eq!(a.linger().unwrap(), Some(Duration::from_secs(2)));
            a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = a.local_addr().unwrap();
            let la = a.listen(16).unwrap();

            // A second socket on the same port: allowed by SO_REUSEPORT on both.
            let b = TcpSocket::new_v4().unwrap();
            b.set_reuseport(true).unwrap();
            b.bind(addr).unwrap();
            let lb = b.listen(16).unwrap();
            assert_eq!(lb.local_addr().unwrap(), addr);

            // Without it, the port is taken.
            let c = TcpSocket::new_v4().unwrap();
            assert_eq!(
                c.bind(addr).unwrap_err().raw_os_error(),
                Some(libc::EADDRINUSE)
            );

            let client = TcpSocket::new_v4().unwrap();
            client.set_nodelay(true).unwrap();
            let stream = client.connect(addr).await.unwrap();
            assert!(stream.nodelay().unwrap());
            stream.set_ttl(33).unwrap();
            assert_eq!(stream.ttl().unwrap(), 33);
            la.set_ttl(40).unwrap();
            assert_eq!(la.ttl().unwrap(), 40);
            drop((la, lb, stream));

            let std_stream = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()
            };
            let s = TcpSocket::from_std_stream(std_stream);
            assert!(s.local_addr().unwrap().ip().is_loopback());
            assert!(
                TcpSocket::new_v6().is_ok()
                    || TcpSocket::new_v6().unwrap_err().raw_os_error().is_some()
            );
        })
    });
}

#[test]
fn owned_halves_work_from_two_tasks_and_reunite() {
    with_timeout("into_split", LIMIT, || {
        runtime(2, "halves").block_on(async {
            let (a, mut b) = tcp_pair().await;
            let (mut rd, mut wr) = a.into_split();
            let writer = rawrt::spawn(async move {
                for i in 0..100u32 {
                    wr.write_all(&i.to_be_bytes()).await?;
                }
                Ok::<_, io::Error>(wr)
            });
            let echo = rawrt::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 400];
                b.read_exact(&mut buf).await?;
                got.extend_from_slice(&buf);
                b.write_all(b"done").await?;
                Ok::<_, io::Error>((b, got))
            });
            let mut reply = [0u8; 4];
            rd.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"done");
            let wr = writer.await.unwrap().unwrap();
            let (mut b, got) = echo.await.unwrap().unwrap();
            let want: Vec<u8> = (0..100u32).flat_map(|i| i.to_be_bytes()).collect();
            assert_eq!(got, want);
            assert_eq!(rd.peer_addr().unwrap(), wr.peer_addr().unwrap());

            // Halves of different streams do not reunite, and both come back.
            let (c, _d) = tcp_pair().await;
            let (crd, cwr) = c.into_split();
            let err = rd.reunite(cwr).unwrap_err();
            let rawrt::net::tcp::ReuniteError(rd, cwr) = err;
            drop((crd, cwr));
            let mut a = rd.reunite(wr).expect("same stream");
            a.write_all(b"again").await.unwrap();
            let mut buf = [0u8; 5];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"again");
        })
    });
}

#[test]
fn dropping_the_owned_write_half_shuts_down_unless_forgotten() {
    with_timeout("drop half", LIMIT, || {
        runtime(1, "drophalf").block_on(async {
            let (a, mut b) = tcp_pair().await;
            let (rd, wr) = a.into_split();
            drop(wr);
            let mut buf = Vec::new();
            assert_eq!(
                b.read_to_end(&mut buf).await.unwrap(),
                0,
                "peer reads end of stream"
            );
            drop(rd);

            let (a, mut b) = tcp_pair().await;
            let (_rd, wr) = a.into_split();
            wr.forget();
            let mut one = [0u8; 1];
            assert!(
                stays_pending(Duration::from_millis(100), b.read(&mut one)).await,
                "forget leaves the write direction open"
            );
        })
    });
}

#[test]
fn borrowed_halves_copy_both_ways_in_one_task() {
    with_timeout("split", LIMIT, || {
        runtime(1, "split").block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let (mut rd, mut wr) = a.split();
            let both = async {
                wr.write_all(b"from a").await?;
                AsyncWriteExt::shutdown(&mut wr).await?;
                let mut got = Vec::new();
                rd.read_to_end(&mut got).await?;
                Ok::<_, io::Error>(got)
            };
            let other = async {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await?;
                b.write_all(b"from b").await?;
                AsyncWriteExt::shutdown(&mut b).await?;
                Ok::<_, io::Error>(got)
            };
            let (x, y) = futures_util::future::join(both, other).await;
            assert_eq!(x.unwrap(), b"from b");
            assert_eq!(y.unwrap(), b"from a");
        })
    });
}

#[test]
fn shutdown_through_the_trait_ends_the_stream_on_every_stream_type() {
    with_timeout("shutdown", LIMIT, || {
        runtime(1, "shutdown").block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            a.write_all(b"bye").await.unwrap();
            a.shutdown().await.unwrap();
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"bye");
            // The other direction still works.
            b.write_all(b"ok").await.unwrap();
            let mut two = [0u8; 2];
            a.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"ok");
            // A second shutdown is fine.
            a.shutdown().await.unwrap();

            let (mut u, mut v) = UnixStream::pair().unwrap();
            u.shutdown().await.unwrap();
            assert_eq!(v.read(&mut two).await.unwrap(), 0);
            u.shutdown_std(std::net::Shutdown::Both).unwrap();
        })
    });
}

#[test]
fn vectored_and_custom_try_io() {
    with_timeout("try io", LIMIT, || {
        runtime(1, "tryio").block_on(async {
            let (a, b) = tcp_pair().await;
            b.writable().await.unwrap();
            let n = loop {
                match b.try_write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"defg")]) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => b.writable().await.unwrap(),
                    res => break res.unwrap(),
                }
            };
            assert_eq!(n, 7);
            let (mut x, mut y) = ([0u8; 2], [0u8; 10]);
            let mut total = 0;
            while total < 7 {
                a.readable().await.unwrap();
                let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
                match a.try_read_vectored(&mut bufs) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    res => total += res.unwrap(),
                }
            }
            assert_eq!(&x, b"ab");
            assert_eq!(&y[..5], b"cdefg");

            // Nothing to read: try_io does not call `f` (no readiness) or clears on WouldBlock.
            let mut calls = 0;
            let res = a.try_io(Interest::READABLE, || {
                calls += 1;
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            assert!(calls <= 1);
            let res = a.try_io(Interest::READABLE, || {
                calls += 1;
                Ok(())
            });
            assert!(res.is_err(), "readiness was cleared by the WouldBlock");
            assert!(calls <= 1);

            // async_io waits for readiness, then runs the caller's own read.
            let reader = rawrt::spawn(async move {
                let mut buf = [0u8; 4];
                let n = a
                    .async_io(Interest::READABLE, || a.try_read(&mut buf))
                    .await?;
                Ok::<_, io::Error>(buf[..n].to_vec())
            });
            b.writable().await.unwrap();
            let mut b = b;
            b.write_all(b"late").await.unwrap();
            let got = reader.await.unwrap().unwrap();
            assert!(!got.is_empty() && b"late".starts_with(&got));
        })
    });
}

#[test]
fn poll_peek_and_poll_read_ready() {
    with_timeout("poll peek", LIMIT, || {
        runtime(1, "pollpeek").block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            b.write_all(b"peeked").await.unwrap();
            poll_fn(|cx| a.poll_read_ready(cx)).await.unwrap();
            let mut storage = [MaybeUninit::<u8>::uninit(); 16];
            let mut buf = ReadBuf::uninit(&mut storage);
            let n = poll_fn(|cx| a.poll_peek(cx, &mut buf)).await.unwrap();
            assert_eq!(buf.filled(), &b"peeked"[..n]);
            poll_fn(|cx| b.poll_write_ready(cx)).await.unwrap();
            let mut a = a;
            let mut all = [0u8; 6];
            a.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"peeked", "peek left the bytes queued");
        })
    });
}

#[test]
fn udp_readbuf_polls_peeks_and_options() {
    with_timeout("udp", LIMIT, || {
        runtime(1, "udpapi").block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            a.send_to(b"first", ba).await.unwrap();
            a.send_to(b"second", ba).await.unwrap();

            assert_eq!(b.peek_sender().await.unwrap(), aa);
            let mut storage = [MaybeUninit::<u8>::uninit(); 3];
            let mut buf = ReadBuf::uninit(&mut storage);
            let from = poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await.unwrap();
            assert_eq!((buf.filled(), from), (&b"fir"[..], aa), "truncated peek");
            let mut big = [0u8; 16];
            let (n, from) = b.try_peek_from(&mut big).unwrap();
            assert_eq!((&big[..n], from), (&b"first"[..], aa), "still queued");

            let mut storage = [MaybeUninit::<u8>::uninit(); 16];
            let mut buf = ReadBuf::uninit(&mut storage);
            let from = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
            assert_eq!((buf.filled(), from), (&b"first"[..], aa));

            b.connect(aa).await.unwrap();
            let mut buf = [0u8; 16];
            let n = b.peek(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"second");
            let mut storage = [MaybeUninit::<u8>::uninit(); 16];
            let mut rb = ReadBuf::uninit(&mut storage);
            poll_fn(|cx| b.poll_recv(cx, &mut rb)).await.unwrap();
            assert_eq!(rb.filled(), b"second");

            a.set_ttl(17).unwrap();
            assert_eq!(a.ttl().unwrap(), 17);
            a.set_multicast_ttl_v4(3).unwrap();
            assert_eq!(a.multicast_ttl_v4().unwrap(), 3);
            a.set_multicast_loop_v4(false).unwrap();
            assert!(!a.multicast_loop_v4().unwrap());
            a.set_multicast_loop_v4(true).unwrap();
            assert!(a.multicast_loop_v4().unwrap());
            let err = a
                .join_multicast_v4("10.0.0.1".parse().unwrap(), std::net::Ipv4Addr::UNSPECIFIED)
                .unwrap_err();
            assert_eq!(
                err.raw_os_error(),
                Some(libc::EINVAL),
                "not a multicast group"
            );

            // try_io with the caller's own syscall.
            a.writable().await.unwrap();
            let n = a
                .try_io(Interest::WRITABLE, || a.try_send_to(b"x", ba))
                .unwrap();
            assert_eq!(n, 1);
            let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let c = UdpSocket::try_from(std_sock).unwrap();
            assert!(c.local_addr().unwrap().ip().is_loopback());
        })
    });
}

#[test]
fn unix_datagrams_by_pair_path_and_abstract_name() {
    with_timeout("unix dgram", LIMIT, || {
        runtime(1, "udgram").block_on(async {
            let (a, b) = UnixDatagram::pair().unwrap();
            a.send(b"one").await.unwrap();
            a.send(b"two").await.unwrap();
            let mut buf = [0u8; 2];
            assert_eq!(
                b.recv(&mut buf).await.unwrap(),
                2,
                "truncated to the buffer"
            );
            assert_eq!(&buf, b"on");
            let mut buf = [0u8; 8];
            let n = b.try_recv(&mut buf).unwrap_or(0);
            if n == 0 {
                let n = b.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"two");
            } else {
                assert_eq!(&buf[..n], b"two");
            }

            let dir = std::env::temp_dir();
            let path = dir.join(format!("rawrt-dgram-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let server = UnixDatagram::bind(&path).unwrap();
            let client = UnixDatagram::unbound().unwrap();
            client.send_to(b"to path", &path).await.unwrap();
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"to path");
            assert!(from.is_unnamed(), "an unbound sender has no address");
            assert_eq!(
                server.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            std::fs::remove_file(&path).unwrap();

            let name = format!("\0rawrt-dgram-test-{}", std::process::id());
            let server = UnixDatagram::bind(&name).unwrap();
            let client_name = format!("\0rawrt-dgram-client-{}", std::process::id());
            let client = UnixDatagram::bind(&client_name).unwrap();
            client.connect(&name).unwrap();
            client.send(b"abstract").await.unwrap();
            let mut storage = [MaybeUninit::<u8>::uninit(); 16];
            let mut rb = ReadBuf::uninit(&mut storage);
            let from = poll_fn(|cx| server.poll_recv_from(cx, &mut rb))
                .await
                .unwrap();
            assert_eq!(rb.filled(), b"abstract");
            use std::os::linux::net::SocketAddrExt;
            assert_eq!(from.as_abstract_name(), Some(&client_name.as_bytes()[1..]));
            server.send_to(b"reply", &client_name).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"reply");
            assert_eq!(
                client.peer_addr().unwrap().as_abstract_name(),
                Some(&name.as_bytes()[1..])
            );

            // Errors keep the OS's number.
            let err = client
                .send_to(b"x", "\0rawrt-nobody-here")
                .await
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
        })
    });
}

#[test]
fn abstract_names_through_the_path_api() {
    with_timeout("abstract", LIMIT, || {
        runtime(1, "abstract").block_on(async {
            let name = format!("\0rawrt-abstract-{}", std::process::id());
            let listener = UnixListener::bind(&name).unwrap();
            use std::os::linux::net::SocketAddrExt;
            assert_eq!(
                listener.local_addr().unwrap().as_abstract_name(),
                Some(&name.as_bytes()[1..])
            );
            let mut c = UnixStream::connect(&name).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            c.write_all(b"abs").await.unwrap();
            let mut buf = [0u8; 3];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"abs");
            // A second bind of the name is taken.
            let err = UnixListener::bind(&name).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
        })
    });
}

#[test]
fn peer_cred_names_this_process() {
    with_timeout("peer cred", LIMIT, || {
        runtime(1, "peercred").block_on(async {
            let (a, _b) = UnixStream::pair().unwrap();
            let cred = a.peer_cred().unwrap();
            assert_eq!(cred.pid(), Some(std::process::id() as i32));
            let me = std::fs::metadata("/proc/self").unwrap();
            assert_eq!(cred.uid(), me.uid());
            assert_eq!(cred.gid(), me.gid());
        })
    });
}

#[test]
fn try_from_std_types() {
    with_timeout("try_from", LIMIT, || {
        runtime(1, "tryfrom").block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let s = std::net::TcpStream::connect(addr).unwrap();
            let mut s = TcpStream::try_from(s).unwrap();
            let l = TcpListener::try_from(l).unwrap();
            let (mut t, _) = l.accept().await.unwrap();
            s.write_all(b"std").await.unwrap();
            let mut buf = [0u8; 3];
            t.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"std");
            let (x, y) = std::os::unix::net::UnixStream::pair().unwrap();
            let mut x = UnixStream::try_from(x).unwrap();
            let mut y = UnixStream::try_from(y).unwrap();
            x.write_all(b"u").await.unwrap();
            let mut one = [0u8; 1];
            y.read_exact(&mut one).await.unwrap();
            let (d, e) = std::os::unix::net::UnixDatagram::pair().unwrap();
            let d = UnixDatagram::try_from(d).unwrap();
            let e = UnixDatagram::try_from(e).unwrap();
            d.send(b"d").await.unwrap();
            assert_eq!(e.recv(&mut one).await.unwrap(), 1);
        })
    });
}

#[test]
fn async_fd_guards_clear_and_keep_readiness() {
    with_timeout("async fd", LIMIT, || {
        runtime(2, "asyncfd").block_on(async {
            let handle = rawrt::Handle::current();
            let before = handle.num_io_registrations();
            let afd = AsyncFd::new(rawrt_sys::EventFd::new().unwrap()).unwrap();
            assert_eq!(handle.num_io_registrations(), before + 1);
            assert!(
                stays_pending(Duration::from_millis(50), afd.readable()).await,
                "nothing written yet"
            );
            afd.get_ref().notify().unwrap();
            {
                let mut guard = afd.readable().await.unwrap();
                assert!(guard.ready().is_readable());
                guard.retain_ready();
            }
            // Kept: readable again at once, and the value is there.
            let mut guard = afd.readable().await.unwrap();
            assert_eq!(guard.try_io(|fd| fd.get_ref().drain()).unwrap().unwrap(), 1);
            // Drained, but the guard was not cleared by a WouldBlock yet: the next try_io
            // meets EAGAIN (which `drain` reports as 0) and clears.
            let mut guard = afd.readable().await.unwrap();
            let drain = |fd: &AsyncFd<rawrt_sys::EventFd>| match fd.get_ref().drain()? {
                0 => Err(io::ErrorKind::WouldBlock.into()),
                n => Ok(n),
            };
            assert!(guard.try_io(drain).is_err());
            assert!(guard.ready().is_empty());
            drop(guard);
            // Cleared: the next wait blocks for a new edge. (An edge of the reactor's own that
            // raced the clear — the kernel reports the eventfd writable after the drain — may
            // leave the readiness set once; the caller's WouldBlock clears it again.)
            let mut spurious = 0;
            while !stays_pending(Duration::from_millis(50), async {
                let mut g = afd.readable().await.unwrap();
                assert!(g.try_io(drain).is_err(), "nothing was written");
            })
            .await
            {
                spurious += 1;
                assert!(spurious < 5, "the readiness never cleared");
            }

            // Several tasks wait at once; one write wakes all of them.
            let afd = std::sync::Arc::new(afd);
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let afd = afd.clone();
                    rawrt::spawn(async move { afd.readable().await.map(|g| g.ready()) })
                })
                .collect();
            rawrt::time::sleep(Duration::from_millis(20)).await;
            afd.get_ref().notify().unwrap();
            for w in waiters {
                assert!(w.await.unwrap().unwrap().is_readable());
            }
            let n = afd
                .async_io(Interest::READABLE, |e| e.drain())
                .await
                .unwrap();
            assert_eq!(n, 1);

            // An eventfd is writable; clear_ready_matching keeps the other bit.
            let mut guard = afd
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await
                .unwrap();
            assert!(guard.ready().is_writable());
            guard.clear_ready_matching(Ready::READABLE);
            assert!(guard.ready().is_writable());
            drop(guard);
            let afd = std::sync::Arc::try_unwrap(afd).unwrap();
            let efd = afd.into_inner();
            assert_eq!(
                handle.num_io_registrations(),
                before,
                "into_inner deregisters"
            );
            efd.notify().unwrap();

            // Read-only interest: writable never comes.
            let ro = AsyncFd::with_interest(efd, Interest::READABLE).unwrap();
            assert!(stays_pending(Duration::from_millis(50), ro.writable()).await);
            let mut guard = ro.readable().await.unwrap();
            assert!(guard.ready().is_readable());
            guard.clear_ready();
            drop(guard);
            drop(ro);
            assert_eq!(handle.num_io_registrations(), before, "drop deregisters");

            // A regular file cannot be in epoll: the OS's EPERM comes back.
            let file = std::fs::File::open("/proc/self/status").unwrap();
            let err = AsyncFd::new(file).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        })
    });
}

#[test]
fn async_fd_outside_a_runtime_is_an_error() {
    let err = AsyncFd::new(rawrt_sys::EventFd::new().unwrap()).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
}

#[test]
fn unix_owned_halves_and_async_fd_mut_guards() {
    with_timeout("unix halves", LIMIT, || {
        runtime(2, "uhalves").block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (mut rd, wr) = a.into_split();
            let mut wr = wr;
            wr.write_all(b"half").await.unwrap();
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            b.write_all(b"back").await.unwrap();
            rd.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"back");
            assert!(rd.peer_addr().unwrap().is_unnamed());
            let a = rd.reunite(wr).unwrap();
            drop(a);
            let mut rest = Vec::new();
            assert_eq!(
                b.read_to_end(&mut rest).await.unwrap(),
                0,
                "closed with the stream"
            );

            let mut afd = AsyncFd::new(rawrt_sys::EventFd::new().unwrap()).unwrap();
            afd.get_mut().notify().unwrap();
            let mut guard = afd.readable_mut().await.unwrap();
            let n = guard.try_io(|fd| fd.get_mut().drain()).unwrap().unwrap();
            assert_eq!(n, 1);
            guard.get_inner_mut().notify().unwrap();
            drop(guard);
            let n = afd
                .async_io_mut(Interest::READABLE, |e| match e.drain()? {
                    0 => Err(io::ErrorKind::WouldBlock.into()),
                    n => Ok(n),
                })
                .await
                .unwrap();
            assert_eq!(n, 1);
        })
    });
}
