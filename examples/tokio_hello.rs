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

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::signal::unix::{signal, SignalKind};

#[path = "support/hello_common.rs"]
mod hello_common;
use hello_common::{hello, is_fd_exhaustion, parse_args, second_signal};

const USAGE: &str = "usage: tokio_hello [--addr IP:PORT] [--workers N] \
                     [--header-read-timeout-ms MS] [--drain-timeout-ms MS]";

fn main() -> io::Result<()> {
    let args = parse_args("127.0.0.1:3001", USAGE, false)?;
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
