//! Load: 10,000 concurrent keep-alive connections served by hyper on rawrt, every request
//! answered, and a runtime dropped with thousands of live connections closes every fd.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use rawrt::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 10_000;

/// The tests of this file count the process's fds: they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        rawrt::spawn(async move {
            let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let body = format!("hello {}", req.uri().path());
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
            });
            let _ = http1::Builder::new().serve_connection(stream, svc).await;
        });
    }
}

async fn request(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
) -> String {
    let req = hyper::Request::get(path).body(Empty::new()).unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The client half of `ten_thousand_keep_alive_connections`, run in a child process (each
/// process gets its own fd limit): opens every connection, makes a request on each, holds them
/// all open, then makes a second request on each. Ignored unless started by the parent test.
#[test]
#[ignore = "runs as the child process of ten_thousand_keep_alive_connections"]
fn load_client_child() {
    let Ok(addr) = std::env::var("RAWRT_LOAD_ADDR") else {
        return;
    };
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let need = (CONNECTIONS + 256) as u64;
    let have = rawrt_sys::resource::raise_nofile_limit(need).unwrap();
    assert!(have >= need, "client: fd limit {have} < {need}");
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                rawrt::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(stream).await.unwrap();
                    rawrt::spawn(conn);
                    let body = request(&mut sender, &format!("/{i}/a")).await;
                    assert_eq!(body, format!("hello /{i}/a"));
                    sender
                })
            })
            .collect();
        let mut senders = Vec::with_capacity(CONNECTIONS);
        for c in clients {
            senders.push(c.await.unwrap());
        }
        // All of them are open at once now: a second request on each, concurrently.
        let seconds: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(i, mut sender)| {
                rawrt::spawn(async move {
                    let body = request(&mut sender, &format!("/{i}/b")).await;
                    assert_eq!(body, format!("hello /{i}/b"));
                    sender
                })
            })
            .collect();
        let mut open = Vec::with_capacity(CONNECTIONS);
        for s in seconds {
            open.push(s.await.unwrap());
        }
        println!("CLIENT-DONE {}", open.len());
    });
}

#[test]
fn ten_thousand_keep_alive_connections() {
    let _serial = serial();
    // The server half runs here; the clients in a child process (one fd per connection each).
    let need = (CONNECTIONS + 512) as u64;
    let have = rawrt_sys::resource::raise_nofile_limit(need).unwrap();
    if have < need {
        eprintln!("skipped: RLIMIT_NOFILE can only be raised to {have}, {need} needed");
        return;
    }
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let addr = {
        let (live, peak, served) = (live.clone(), peak.clone(), served.clone());
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            rawrt::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let (live, served) = (live.clone(), served.clone());
                    rawrt::spawn(async move {
                        let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            served.fetch_add(1, Ordering::SeqCst);
                            async move {
                                let body = format!("hello {}", req.uri().path());
                                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                                    body,
                                ))))
                            }
                        });
                        let _ = http1::Builder::new().serve_connection(stream, svc).await;
                        live.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
            addr
        })
    };
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "load_client_child", "--ignored", "--nocapture"])
        .env("RAWRT_LOAD_ADDR", addr.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the client process did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "client failed: {status}\n{out}");
    assert!(out.contains(&format!("CLIENT-DONE {CONNECTIONS}")), "{out}");
    eprintln!(
        "{CONNECTIONS} connections ({} at once), {} requests answered in {:.2?}",
        peak.load(Ordering::SeqCst),
        served.load(Ordering::SeqCst),
        start.elapsed()
    );
    assert_eq!(served.load(Ordering::SeqCst), CONNECTIONS * 2);
    assert_eq!(peak.load(Ordering::SeqCst), CONNECTIONS, "all open at once");
}

#[test]
fn runtime_drop_with_live_connections_closes_every_fd() {
    let _serial = serial();
    const N: usize = 2_000;
    let need = (N * 2 + 512) as u64;
    let have = rawrt_sys::resource::raise_nofile_limit(need).unwrap();
    if have < need {
        eprintln!("skipped: RLIMIT_NOFILE can only be raised to {have}, {need} needed");
        return;
    }
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let baseline = open_fds();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        rawrt::spawn(serve(listener));
        let clients: Vec<_> = (0..N)
            .map(|_| {
                rawrt::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(stream).await.unwrap();
                    rawrt::spawn(conn);
                    request(&mut sender, "/x").await;
                    // Park this task with its connection open, forever.
                    std::future::pending::<()>().await;
                    drop(sender);
                })
            })
            .collect();
        // Wait (bounded) until every client has its connection up and answered.
        let deadline = Instant::now() + Duration::from_secs(60);
        while open_fds() < baseline + 2 * N && Instant::now() < deadline {
            rawrt::time::sleep(Duration::from_millis(10)).await;
        }
        drop(clients); // detach; the runtime owns them
    });
    assert!(open_fds() >= baseline + 2 * N, "all connections open");
    drop(rt);
    // Every fd the runtime's tasks owned is closed by the time drop returns (epoll fd too).
    let after = open_fds();
    assert!(
        after <= baseline,
        "fds before the runtime's connections: {baseline}, after dropping it: {after}"
    );
}
