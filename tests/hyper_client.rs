//! hyper-util's pooled client on rawrt through `rawrt::hyper::Connector` (feature
//! `hyper-util`): requests reuse pooled connections; refused and timed-out connects come back
//! as `io::Error`s with the OS's errno (or `TimedOut`); a Unix-socket connector.
#![cfg(feature = "hyper-util")]

mod common;

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout, LIMIT};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use rawrt::hyper::{Connector, Executor, Timer, UnixConnector};
use rawrt::net::{TcpListener, UnixListener};

/// Serves "ok" on `listener`, counting the connections accepted.
fn serve(listener: TcpListener, accepted: Arc<AtomicUsize>) {
    rawrt::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            accepted.fetch_add(1, Ordering::SeqCst);
            rawrt::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("ok"))))
                });
                let _ = http1::Builder::new().serve_connection(stream, svc).await;
            });
        }
    });
}

/// The `io::Error` somewhere in `err`'s source chain.
fn io_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

#[test]
fn pooled_requests_reuse_connections() {
    with_timeout("pool", LIMIT, || {
        runtime(2, "pool").block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = Arc::new(AtomicUsize::new(0));
            serve(listener, accepted.clone());
            let client = Client::builder(Executor::new())
                .pool_timer(Timer)
                .build::<_, Empty<Bytes>>(Connector::new());
            let uri: hyper::Uri = format!("http://{addr}/").parse().unwrap();
            for _ in 0..20 {
                let res = client.get(uri.clone()).await.unwrap();
                assert_eq!(res.status(), 200);
                let body = res.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(&body[..], b"ok");
            }
            // The pool gets a connection back once its response is read (a moment after the
            // body ends), so a request right behind the last may open a second one.
            let n = accepted.load(Ordering::SeqCst);
            assert!(
                (1..=5).contains(&n),
                "20 sequential requests over {n} connections"
            );
            // Concurrent requests open more, but never more than there are requests.
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (client, uri) = (client.clone(), uri.clone());
                tasks.push(rawrt::spawn(async move {
                    client.get(uri).await.map(|r| r.status())
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap().unwrap(), 200);
            }
            let m = accepted.load(Ordering::SeqCst);
            assert!(m <= n + 8, "{m} connections");
            // A name works too (resolved on the blocking pool).
            let by_name: hyper::Uri = format!("http://localhost:{}/", addr.port())
                .parse()
                .unwrap();
            match client.get(by_name).await {
                Ok(res) => assert_eq!(res.status(), 200),
                // "localhost" may resolve to ::1 only on some machines, where nothing listens.
                Err(e) => assert!(io_error(&e).is_some(), "{e:?}"),
            }
        })
    });
}

#[test]
fn refused_and_timed_out_connects_are_io_errors() {
    with_timeout("connect errors", LIMIT, || {
        runtime(2, "connerr").block_on(async {
            let free = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let client =
                Client::builder(Executor::new()).build::<_, Empty<Bytes>>(Connector::new());
            let err = client
                .get(format!("http://{free}/").parse().unwrap())
                .await
                .unwrap_err();
            assert!(err.is_connect(), "{err:?}");
            let io = io_error(&err).expect("an io::Error in the chain");
            assert_eq!(io.raw_os_error(), Some(libc::ECONNREFUSED), "{io:?}");

            // A listener whose accept queue is full drops new SYNs: the connect hangs until
            // the connector's timeout.
            let socket = rawrt::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let full = socket.listen(0).unwrap();
            let full_addr = full.local_addr().unwrap();
            let mut fillers = Vec::new();
            for _ in 0..4 {
                let s = rawrt::net::TcpSocket::new_v4().unwrap();
                let attempt =
                    rawrt::time::timeout(Duration::from_millis(200), s.connect(full_addr));
                if let Ok(Ok(stream)) = attempt.await {
                    fillers.push(stream);
                }
            }
            let client = Client::builder(Executor::new()).build::<_, Empty<Bytes>>(
                Connector::new().connect_timeout(Some(Duration::from_millis(300))),
            );
            let started = Instant::now();
            let err = client
                .get(format!("http://{full_addr}/").parse().unwrap())
                .await
                .unwrap_err();
            let io = io_error(&err).expect("an io::Error in the chain");
            assert_eq!(io.kind(), io::ErrorKind::TimedOut, "{io:?}");
            assert!(started.elapsed() < Duration::from_secs(5));
            drop((full, fillers));

            let err = client
                .get("https://example.invalid/".parse().unwrap())
                .await
                .unwrap_err();
            let io = io_error(&err).expect("an io::Error in the chain");
            assert_eq!(io.kind(), io::ErrorKind::InvalidInput);
        })
    });
}

#[test]
fn unix_connector_reaches_one_socket() {
    with_timeout("unix connector", LIMIT, || {
        runtime(1, "unixconn").block_on(async {
            let name = format!("\0rawrt-unix-connector-{}", std::process::id());
            let listener = UnixListener::bind(&name).unwrap();
            rawrt::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let path = req.uri().path().to_string();
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(path))))
                });
                let _ = http1::Builder::new().serve_connection(stream, svc).await;
            });
            let client =
                Client::builder(Executor::new()).build::<_, Empty<Bytes>>(UnixConnector::new(name));
            let res = client
                .get("http://localhost/v1/version".parse().unwrap())
                .await
                .unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"/v1/version");
        })
    });
}
