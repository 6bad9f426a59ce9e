//! `rawrt::net::{UnixListener, UnixStream}`, and hyper over Unix sockets.

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rawrt::net::unix::SocketAddr;
use rawrt::net::{UnixListener, UnixStream};

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

/// A unique socket path in the temp dir, removed (if it exists) on creation and on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("rawrt-{}-{n}-{tag}.sock", std::process::id());
        let mut path = std::env::temp_dir().join(&name);
        if path.as_os_str().len() > 100 {
            // sun_path holds 107 bytes; a long $TMPDIR would not fit.
            path = Path::new("/tmp").join(&name);
        }
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The bytes client `i` sends: a few KiB, different for every client.
fn message(i: usize) -> Vec<u8> {
    let len = 1000 + i * 97;
    (0..len).map(|j| (j * 7 + i * 13) as u8).collect()
}

#[test]
fn echo_with_100_concurrent_connections() {
    const CLIENTS: usize = 100;
    let tmp = TempPath::new("echo");
    let path = tmp.0.clone();
    run(async move {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = rawrt::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CLIENTS {
                let (mut stream, peer) = listener.accept().await.unwrap();
                assert!(peer.is_unnamed());
                conns.push(rawrt::spawn(async move {
                    // Echo until the client shuts down its write half.
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        stream.write_all(&buf[..n]).await.unwrap();
                    }
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        });

        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let path = path.clone();
                rawrt::spawn(async move {
                    let mut stream = UnixStream::connect(&path).await.unwrap();
                    let msg = message(i);
                    let mut r = Vec::new();
                    stream.write_all(&msg).await.unwrap();
                    stream.shutdown_std(Shutdown::Write).unwrap();
                    let mut buf = [0u8; 700];
                    loop {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        r.extend_from_slice(&buf[..n]);
                    }
                    assert_eq!(r, msg, "client {i} got a different echo");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn addresses_of_listener_client_and_accepted_stream() {
    let tmp = TempPath::new("addrs");
    let path = tmp.0.clone();
    run(async move {
        let listener = UnixListener::bind(&path).unwrap();
        assert!(path.exists(), "bind creates the socket file");
        let client = rawrt::spawn({
            let path = path.clone();
            async move { UnixStream::connect(&path).await.unwrap() }
        });
        let (server, peer) = listener.accept().await.unwrap();
        let client = client.await.unwrap();
        assert!(peer.is_unnamed(), "{peer:?}");
        assert!(client.local_addr().unwrap().is_unnamed());
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        assert_eq!(
            server.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        assert!(server.peer_addr().unwrap().is_unnamed());
        assert!(client.take_error().unwrap().is_none());
        assert!(listener.take_error().unwrap().is_none());
        assert!(format!("{listener:?}").contains("UnixListener"));
        assert!(format!("{client:?}").contains("UnixStream"));

        // A second listener on the same path: the file exists.
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EADDRINUSE),
            "the OS error is kept"
        );
    });
    assert!(tmp.0.exists(), "the socket file outlives the listener");
}

#[test]
fn connect_to_a_missing_path_is_not_found() {
    let tmp = TempPath::new("missing");
    let path = tmp.0.clone();
    run(async move {
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(
            err.raw_os_error(),
            Some(libc::ENOENT),
            "the OS error is kept"
        );

        // A socket file nobody listens on.
        let listener = UnixListener::bind(&path).unwrap();
        drop(listener);
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

        let err = UnixStream::connect("x".repeat(200)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn bind_outside_a_runtime_is_an_error() {
    let tmp = TempPath::new("outside");
    let err = UnixListener::bind(&tmp.0).unwrap_err();
    assert!(err.to_string().contains("needs a rawrt runtime"), "{err}");
    assert!(err.to_string().contains("UnixListener::bind"), "{err}");
    assert!(!tmp.0.exists(), "nothing was bound");
    let err = UnixStream::pair().unwrap_err();
    assert!(err.to_string().contains("needs a rawrt runtime"), "{err}");
}

#[test]
fn pair_transfers_both_ways() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(a.peer_addr().unwrap().is_unnamed());

        a.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(b.peek(&mut buf).await.unwrap(), 4);
        b.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"ping");

        let bufs = [IoSlice::new(b"po"), IoSlice::new(b""), IoSlice::new(b"ng")];
        let n = b.write_vectored(&bufs).await.unwrap();
        assert_eq!(n, 4);
        assert_eq!(b.write(b"!").await.unwrap(), 1);
        let mut got = Vec::new();
        while got.len() < 5 {
            let n = a.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"pong!");
        assert_eq!(a.write(b"").await.unwrap(), 0);
    });
}

#[test]
fn peer_close_and_shutdown_give_end_of_stream() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        // Shutting down one direction: the other side reads 0, the reverse still works.
        a.shutdown_std(Shutdown::Write).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
        assert_eq!(b.read(&mut buf).await.unwrap(), 0, "end of stream stays");
        b.write_all(b"back").await.unwrap();
        a.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"back");

        // A reader waiting when the peer closes is woken with 0.
        let (c, mut d) = UnixStream::pair().unwrap();
        let reader = rawrt::spawn(async move {
            let mut buf = [0u8; 8];
            d.read(&mut buf).await.unwrap()
        });
        rawrt::task::yield_now().await;
        drop(c);
        assert_eq!(reader.await.unwrap(), 0);

        // read_exact past the end is UnexpectedEof; writing to a closed peer is EPIPE.
        let (mut e, mut f) = UnixStream::pair().unwrap();
        e.write_all(b"ab").await.unwrap();
        drop(e);
        let err = f.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        let err = f.write_all(b"nobody").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    });
}

#[test]
fn large_transfer_with_backpressure() {
    const LEN: usize = 8 << 20;
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..LEN).map(|i| (i % 253) as u8).collect();
        let writer = rawrt::spawn(async move {
            a.write_all(&data).await.unwrap();
        });
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = b.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got.len(), LEN);
        assert!(got.iter().enumerate().all(|(i, &x)| x == (i % 253) as u8));
    });
}

#[test]
fn std_conversions() {
    let tmp = TempPath::new("std");
    let path = tmp.0.clone();
    run(async move {
        let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let listener = UnixListener::from_std(std_listener).unwrap();
        // A std client: a Unix connect completes at once, so this does not block.
        let std_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let mut client = UnixStream::from_std(std_client).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"std").await.unwrap();
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std");

        let std_server = server.into_std().unwrap();
        let mut buf = [0u8; 3];
        let err = io::Read::read(&mut &std_server, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "left nonblocking");
        let std_listener = listener.into_std().unwrap();
        assert_eq!(
            std_listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
    });
}

#[test]
fn abstract_namespace() {
    run(async {
        let name = format!("rawrt-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
        let client = rawrt::spawn(async move {
            let mut s = UnixStream::connect_addr(&addr).await.unwrap();
            s.write_all(b"abstract").await.unwrap();
            s
        });
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
        let client = client.await.unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
    });
}

/// hyper's HTTP/1 server and client, both on rawrt, over a Unix socket.
#[cfg(feature = "hyper")]
#[test]
fn hyper_http1_over_unix() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};

    async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
        let head = format!("{} {}\n", req.method(), req.uri().path());
        let body = req.into_body().collect().await?.to_bytes();
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        Ok(Response::new(Full::new(Bytes::from(out))))
    }

    let tmp = TempPath::new("hyper");
    let path = tmp.0.clone();
    run(async move {
        let listener = UnixListener::bind(&path).unwrap();
        let server = rawrt::spawn(async move {
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                rawrt::spawn(async move {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(stream, hyper::service::service_fn(echo))
                        .await
                        .unwrap();
                });
            }
        });

        for conn in 0..2 {
            let stream = UnixStream::connect(&path).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(stream).await.unwrap();
            let driver = rawrt::spawn(connection);
            for i in 0..3 {
                let body = format!("conn {conn} request {i} ").repeat(100 * (i + 1));
                let req = Request::post(format!("/echo/{conn}/{i}"))
                    .header("host", "localhost")
                    .body(Full::new(Bytes::from(body.clone())))
                    .unwrap();
                sender.ready().await.unwrap();
                let res = sender.send_request(req).await.unwrap();
                assert_eq!(res.status(), 200);
                let got = res.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(got, format!("POST /echo/{conn}/{i}\n{body}").into_bytes());
            }
            drop(sender);
            driver.await.unwrap().unwrap();
        }
        server.await.unwrap();
    });
}

/// A peek that returns less than asked for leaves the bytes queued, so it must not clear the
/// read readiness (no new edge would come); the read after it completes at once. Checked for
/// both stream types, which share the code.
#[test]
fn short_peek_keeps_read_readiness() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(b.peek(&mut buf).await.unwrap(), 3);
        assert_eq!(b.read(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");

        let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = rawrt::net::TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"xyz").await.unwrap();
        assert_eq!(server.peek(&mut buf).await.unwrap(), 3);
        assert_eq!(server.peek(&mut buf).await.unwrap(), 3);
        server.read_exact(&mut buf[..3]).await.unwrap();
        assert_eq!(&buf[..3], b"xyz");
    });
}
