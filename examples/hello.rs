//! A hyper "Hello, World!" server on rawrt.
//!
//! ```text
//! cargo run --release --example hello -- --addr 127.0.0.1:3000 --workers 2
//! ```
//!
//! Serves `200 OK` with body `Hello, World!` to every request: HTTP/1.1 with keep-alive, or
//! HTTP/2 when the client opens with the HTTP/2 connection preface (prior knowledge).
//! `--workers` defaults to all cores. It prints the address it listens on, and nothing per
//! connection. When `accept` fails because the process is out of file descriptors, it backs
//! off (without spinning a worker) and keeps serving the connections it has.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use rawrt::net::{TcpListener, TcpStream};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Args {
    addr: SocketAddr,
    workers: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:3000".parse().unwrap(),
        workers: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--workers" => {
                let v = value("--workers")?;
                let n: usize = v.parse().map_err(|e| format!("--workers {v}: {e}"))?;
                args.workers = Some(n);
            }
            "-h" | "--help" => {
                return Err("usage: hello [--addr IP:PORT] [--workers N]".to_string());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// Reads (without consuming) enough of the first bytes to tell HTTP/2 prior knowledge from
/// HTTP/1.
async fn is_h2(stream: &TcpStream) -> io::Result<bool> {
    let mut buf = [0u8; 24];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 || buf[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
    }
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    match is_h2(&stream).await {
        Ok(true) => {
            let _ = http2::Builder::new(rawrt::hyper::Executor::new())
                .serve_connection(stream, service_fn(hello))
                .await;
        }
        Ok(false) => {
            let _ = http1::Builder::new()
                .serve_connection(stream, service_fn(hello))
                .await;
        }
        Err(_) => {}
    }
}

/// Waits `d` without blocking a worker: a helper thread sleeps and wakes the task. (rawrt's
/// timers will replace this.)
async fn backoff(d: Duration) {
    use std::sync::{Arc, Mutex};
    use std::task::{Poll, Waker};
    let state: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let s2 = state.clone();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let mut g = s2.lock().unwrap();
        g.0 = true;
        if let Some(w) = g.1.take() {
            w.wake();
        }
    });
    std::future::poll_fn(|cx| {
        let mut g = state.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    // EMFILE (24): the process is out of fds; ENFILE (23): the system is.
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

fn main() -> io::Result<()> {
    let args = parse_args().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut builder = rawrt::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        builder.worker_threads(n);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(args.addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    rawrt::spawn(serve(stream));
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    // Out of fds: the connection stays queued. Back off without blocking a
                    // worker, then retry.
                    backoff(Duration::from_millis(100)).await;
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    })
}
