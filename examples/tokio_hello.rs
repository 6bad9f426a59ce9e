//! `examples/hello.rs` on Tokio, for side-by-side comparisons: the same program, line for
//! line where the two runtimes allow, so that a benchmark of the two measures the runtimes,
//! not two different servers.
//!
//! ```text
//! cargo run --release --example tokio_hello -- --addr 127.0.0.1:3001 --workers 2
//! ```
//!
//! Like `hello`: hyper-util's `auto::Builder` (HTTP/1.1 keep-alive, or HTTP/2 with prior
//! knowledge), `TCP_NODELAY`, hyper's `header_read_timeout` on hyper-util's `TokioTimer`
//! (default 10 s, `--header-read-timeout-ms`) with the same deadline for a connection's first
//! request, `EMFILE`/`ENFILE` back-off, and graceful shutdown on `SIGINT`/`SIGTERM` through
//! hyper-util's `GracefulShutdown` (drain deadline `--drain-timeout-ms`, default 5 s; a second
//! signal exits with status 1). Each connection is served under the same wrappers as in
//! `hello` (the graceful watcher and the first-request deadline), so both servers do the same
//! work per request: one timer armed and cancelled per request head, one extra poll of the
//! watcher per wake-up.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::signal::unix::{signal, SignalKind};

const USAGE: &str = "usage: tokio_hello [--addr IP:PORT] [--workers N] \
                     [--header-read-timeout-ms MS] [--drain-timeout-ms MS]";

struct Args {
    addr: SocketAddr,
    workers: Option<usize>,
    header_read_timeout: Duration,
    drain_timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:3001".parse().unwrap(),
        workers: None,
        header_read_timeout: Duration::from_secs(10),
        drain_timeout: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let mut number = |name: &str| -> Result<u64, String> {
            let v = value(name)?;
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--workers" => args.workers = Some(number("--workers")? as usize),
            "--header-read-timeout-ms" => {
                args.header_read_timeout =
                    Duration::from_millis(number("--header-read-timeout-ms")?)
            }
            "--drain-timeout-ms" => {
                args.drain_timeout = Duration::from_millis(number("--drain-timeout-ms")?)
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
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

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

fn main() -> io::Result<()> {
    let args = parse_args().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.workers {
        builder.worker_threads(n);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        println!("listening on http://{}", listener.local_addr()?);

        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(args.header_read_timeout);
        http.http2().timer(TokioTimer::new());
        let http = Arc::new(http);
        let graceful = GracefulShutdown::new();

        let why = loop {
            let accepted = poll_fn(|cx| {
                if sigint.poll_recv(cx).is_ready() {
                    return Poll::Ready(Err("SIGINT"));
                }
                if sigterm.poll_recv(cx).is_ready() {
                    return Poll::Ready(Err("SIGTERM"));
                }
                listener.poll_accept(cx).map(Ok)
            })
            .await;
            let accepted = match accepted {
                Ok(res) => res,
                Err(why) => break why,
            };
            match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let http = http.clone();
                    let watcher = graceful.watcher();
                    let first_request = args.header_read_timeout;
                    tokio::spawn(async move {
                        let started = Arc::new(AtomicBool::new(false));
                        let seen = started.clone();
                        let svc = service_fn(move |req| {
                            seen.store(true, Ordering::Relaxed);
                            hello(req)
                        });
                        let mut conn =
                            pin!(watcher.watch(http.serve_connection(TokioIo::new(stream), svc)));
                        let mut deadline = pin!(tokio::time::sleep(first_request));
                        let _ = poll_fn(|cx| match conn.as_mut().poll(cx) {
                            Poll::Ready(res) => Poll::Ready(res.map(drop)),
                            Poll::Pending if started.load(Ordering::Relaxed) => Poll::Pending,
                            Poll::Pending => deadline.as_mut().poll(cx).map(Ok),
                        })
                        .await;
                    });
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        };
        drop(listener);
        eprintln!(
            "{why}: shutting down gracefully ({} ms to drain; a second signal exits at once)",
            args.drain_timeout.as_millis()
        );
        let live = graceful.count();
        let mut drain = pin!(tokio::time::timeout(
            args.drain_timeout,
            graceful.shutdown()
        ));
        let drained = poll_fn(|cx| {
            if sigint.poll_recv(cx).is_ready() || sigterm.poll_recv(cx).is_ready() {
                second_signal();
            }
            drain.as_mut().poll(cx)
        })
        .await;
        match drained {
            Ok(()) => eprintln!("drained {live} connections"),
            Err(_) => eprintln!("drain deadline passed: closing the connections still open"),
        }
        Ok(())
    })
}

fn second_signal() -> ! {
    eprintln!("second signal: exiting without waiting for the connections");
    std::process::exit(1)
}
