//! hyper 1.x on rawrt, client and server both on rawrt sockets: many HTTP/1.1 keep-alive
//! requests with verified bodies, and concurrent HTTP/2 streams on one connection through
//! `rawrt::hyper::Executor`.
#![cfg(feature = "hyper")]

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::convert::Infallible;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use bytes::Bytes;
use common::{runtime, scaled, with_timeout, LIMIT};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use rawrt::net::{TcpListener, TcpStream};

/// The body the server answers for `path` and request body `body`: both, with the body
/// reversed, so that a response cannot be confused with another request's.
fn expected_response(path: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("{path}|").into_bytes();
    v.extend(body.iter().rev());
    v
}

async fn echo_service(
    req: Request<Incoming>,
    served: Arc<AtomicUsize>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .expect("request body")
        .to_bytes();
    served.fetch_add(1, Ordering::Relaxed);
    let resp = Response::builder()
        .header("x-path", path.as_str())
        .body(Full::new(Bytes::from(expected_response(&path, &body))))
        .unwrap();
    Ok(resp)
}

fn request(path: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[test]
fn http1_keep_alive_10k_requests() {
    // 50 × 200; fewer under RAWRT_TEST_SCALE (valgrind).
    let n_conns = scaled(50);
    let per_conn = scaled(200);
    with_timeout("http1_10k", LIMIT, move || {
        let rt = runtime(2, "h1");
        let served = Arc::new(AtomicUsize::new(0));
        let served2 = served.clone();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..n_conns {
                    let (stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let served = served2.clone();
                    conns.push(rawrt::spawn(async move {
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(
                                stream,
                                service_fn(move |req| echo_service(req, served.clone())),
                            )
                            .await
                    }));
                }
                for c in conns {
                    c.await.unwrap().expect("server connection error");
                }
            });

            let clients: Vec<_> = (0..n_conns)
                .map(|c| {
                    rawrt::spawn(async move {
                        let stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
                            .await
                            .expect("handshake");
                        let conn = rawrt::spawn(conn);
                        for r in 0..per_conn {
                            let path = format!("/c{c}/r{r}");
                            let body = format!("payload-{c}-{r}-").repeat(1 + r % 7);
                            let want = expected_response(&path, body.as_bytes());
                            sender.ready().await.expect("ready");
                            let res = sender
                                .send_request(request(&path, body))
                                .await
                                .expect("send_request");
                            assert_eq!(res.status(), StatusCode::OK);
                            assert_eq!(res.headers()["x-path"], path.as_str());
                            let got = res.into_body().collect().await.unwrap().to_bytes();
                            assert!(got == want, "{path}: wrong body {got:?}");
                        }
                        drop(sender);
                        conn.await.unwrap().expect("client connection error");
                        per_conn
                    })
                })
                .collect();
            let mut done = 0;
            for c in clients {
                done += c.await.unwrap();
            }
            assert_eq!(done, n_conns * per_conn);
            server.await.unwrap();
        });
        assert_eq!(served.load(Ordering::Relaxed), n_conns * per_conn);
    });
}

/// Counts the futures hyper hands to an executor, and runs them with rawrt's.
#[derive(Clone)]
struct Counted {
    inner: rawrt::hyper::Executor,
    count: Arc<AtomicUsize>,
}

impl<F> hyper::rt::Executor<F> for Counted
where
    rawrt::hyper::Executor: hyper::rt::Executor<F>,
{
    fn execute(&self, fut: F) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.execute(fut);
    }
}

/// Holds every caller until `n` have arrived.
struct Barrier {
    n: usize,
    state: Mutex<(usize, Vec<Waker>)>,
}

impl Barrier {
    async fn wait(&self) {
        {
            let mut st = self.state.lock().unwrap();
            st.0 += 1;
            if st.0 >= self.n {
                for w in st.1.drain(..) {
                    w.wake();
                }
                return;
            }
        }
        poll_fn(|cx| {
            let mut st = self.state.lock().unwrap();
            if st.0 >= self.n {
                Poll::Ready(())
            } else {
                st.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn http2_100_concurrent_streams_through_executor() {
    const STREAMS: usize = 100;
    with_timeout("http2_100", LIMIT, || {
        let rt = runtime(2, "h2");
        let served = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier {
            n: STREAMS,
            state: Mutex::new((0, Vec::new())),
        });
        let max_alive = Arc::new(AtomicUsize::new(0));
        let (served2, barrier2, max_alive2) = (served.clone(), barrier.clone(), max_alive.clone());
        let server_exec = Counted {
            inner: rawrt::hyper::Executor::new(),
            count: Arc::default(),
        };
        let client_exec = Counted {
            inner: rawrt::hyper::Executor::new(),
            count: Arc::default(),
        };
        let (server_spawned, client_spawned) =
            (server_exec.count.clone(), client_exec.count.clone());
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (served, barrier, max_alive) =
                        (served2.clone(), barrier2.clone(), max_alive2.clone());
                    async move {
                        // Every request is in flight at once before any is answered: the
                        // streams really are concurrent on the one connection.
                        barrier.wait().await;
                        let alive = rawrt::Handle::current().num_alive_tasks();
                        max_alive.fetch_max(alive, Ordering::SeqCst);
                        echo_service(req, served).await
                    }
                });
                hyper::server::conn::http2::Builder::new(server_exec)
                    .serve_connection(stream, svc)
                    .await
            });

            let stream = TcpStream::connect(addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http2::handshake(client_exec, stream)
                .await
                .expect("h2 handshake");
            let conn = rawrt::spawn(conn);
            let requests: Vec<_> = (0..STREAMS)
                .map(|i| {
                    let mut sender = sender.clone();
                    rawrt::spawn(async move {
                        let path = format!("/stream/{i}");
                        let body = format!("h2-body-{i}-").repeat(1 + i % 13);
                        let want = expected_response(&path, body.as_bytes());
                        sender.ready().await.expect("ready");
                        let res = sender
                            .send_request(request(&path, body))
                            .await
                            .expect("send_request");
                        assert_eq!(res.status(), StatusCode::OK);
                        assert_eq!(res.version(), hyper::Version::HTTP_2);
                        let got = res.into_body().collect().await.unwrap().to_bytes();
                        assert!(got == want, "{path}: wrong body {got:?}");
                        i
                    })
                })
                .collect();
            let mut seen = [false; STREAMS];
            for r in requests {
                seen[r.await.unwrap()] = true;
            }
            assert!(seen.iter().all(|&s| s));
            drop(sender);
            conn.await.unwrap().expect("client connection error");
            server.await.unwrap().expect("server connection error");
        });
        assert_eq!(served.load(Ordering::SeqCst), STREAMS);
        // hyper ran each server stream as a task through the Executor, on rawrt: with the
        // client's 100 request tasks, at least 200 tasks were alive at the barrier.
        let server_spawned = server_spawned.load(Ordering::SeqCst);
        assert!(
            server_spawned >= STREAMS,
            "server executed {server_spawned} futures"
        );
        assert!(
            client_spawned.load(Ordering::SeqCst) > 0,
            "client executor unused"
        );
        let alive = max_alive.load(Ordering::SeqCst);
        assert!(
            alive >= 2 * STREAMS,
            "only {alive} rawrt tasks alive with {STREAMS} streams in flight"
        );
    });
}

#[test]
fn http1_large_bodies_both_ways() {
    // 8 requests of 1 MiB each way; fewer under RAWRT_TEST_SCALE (valgrind).
    let requests = scaled(8);
    const LEN: usize = 1 << 20;
    with_timeout("http1_large", LIMIT, move || {
        let rt = runtime(2, "h1big");
        let served = Arc::new(AtomicUsize::new(0));
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        stream,
                        service_fn(move |req| echo_service(req, served.clone())),
                    )
                    .await
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
            let conn = rawrt::spawn(conn);
            for r in 0..requests {
                let path = format!("/big/{r}");
                let body: String = (0..LEN)
                    .map(|i| char::from(b'a' + ((i * 7 + r * 13) % 26) as u8))
                    .collect();
                let want = expected_response(&path, body.as_bytes());
                sender.ready().await.unwrap();
                let res = sender.send_request(request(&path, body)).await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                let got = res.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(got.len(), want.len());
                assert!(got == want, "{path}: body differs");
            }
            drop(sender);
            conn.await.unwrap().unwrap();
            server.await.unwrap().unwrap();
        });
    });
}

#[test]
fn http1_after_protocol_sniffing_peek() {
    // The pattern of examples/hello.rs: peek at the first bytes to tell an HTTP/2 preface
    // from HTTP/1, then hand the stream to hyper. A complete HTTP/1.0 request shorter than
    // the 24-byte preface must still be answered.
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    with_timeout("sniff", std::time::Duration::from_secs(20), || {
        let rt = runtime(2, "sniff");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 24];
                loop {
                    let n = stream.peek(&mut buf).await.unwrap();
                    assert!(n > 0);
                    if buf[..n] != H2_PREFACE[..n] {
                        break;
                    }
                }
                let served = Arc::new(AtomicUsize::new(0));
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        stream,
                        service_fn(move |req| echo_service(req, served.clone())),
                    )
                    .await
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            let req = b"GET /x HTTP/1.0\r\n\r\n";
            assert!(req.len() < H2_PREFACE.len());
            c.write_all(req).await.unwrap();
            let mut resp = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                let n = c.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                resp.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&resp);
            assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\n/x|"), "{text}");
            server.await.unwrap().unwrap();
        });
    });
}
