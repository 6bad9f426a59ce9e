//! A hyper "Hello, World!" server on rawrt, small and safe to expose.
//!
//! ```text
//! cargo run --release --example hello -- --addr 127.0.0.1:3000 --workers 2
//! ```
//!
//! Serves `200 OK` with body `Hello, World!` to every request: HTTP/1.1 with keep-alive, or
//! HTTP/2 when the client opens with the HTTP/2 preface (prior knowledge), through
//! hyper-util's auto builder on rawrt's executor and timer. It prints the address it listens
//! on, and nothing per connection.
//!
//! What keeps it standing:
//! - **`header_read_timeout`** (default 10 s, `--header-read-timeout-ms`): a client that does
//!   not finish a request head in time (slowloris) is closed. A connection must also bring
//!   its first request within that time: before it, hyper-util's version check (HTTP/1 or the
//!   HTTP/2 preface) just waits in a read, costing nothing, and the connection is dropped at
//!   the deadline (a silent client, or half a preface).
//! - **Out of file descriptors**: `accept` failing with `EMFILE`/`ENFILE` backs off 100 ms on
//!   rawrt's timer (no thread, no spinning) while the open connections are served.
//! - **Graceful shutdown** on `SIGINT` or `SIGTERM`: stop accepting, tell every connection to
//!   finish (HTTP/1 ends after the response in progress; idle ones close at once; HTTP/2 sends
//!   `GOAWAY`), wait for them up to the drain deadline (default 5 s,
//!   `--drain-timeout-ms`), then close whatever is left, say so, and exit 0. A second signal
//!   exits at once with status 1.
//!
//! `--workers` defaults to all cores; `--spread-threshold-us` sets
//! `Builder::spread_threshold` (0: wake a sibling worker as Tokio does).

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rawrt::hyper::{Executor, Timer};
use rawrt::net::TcpListener;
use rawrt::signal::{signal, SignalKind};

#[path = "support/hello_common.rs"]
mod hello_common;
use hello_common::{hello, is_fd_exhaustion, parse_args, second_signal};

const USAGE: &str = "usage: hello [--addr IP:PORT] [--workers N] [--spread-threshold-us US] \
                     [--header-read-timeout-ms MS] [--drain-timeout-ms MS]";

fn main() -> io::Result<()> {
    let args = parse_args("127.0.0.1:3000", USAGE, true)?;
    let mut builder = rawrt::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        builder.worker_threads(n);
    }
    if let Some(t) = args.spread_threshold {
        builder.spread_threshold(t);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        // Both signal listeners exist before the address is printed, so a signal sent once
        // the server listens is always seen.
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = TcpListener::bind(args.addr).await?;
        println!("listening on http://{}", listener.local_addr()?);

        let mut http = auto::Builder::new(Executor::new());
        http.http1()
            .timer(Timer)
            .header_read_timeout(args.header_read_timeout);
        http.http2().timer(Timer);
        let http = Arc::new(http);
        let graceful = GracefulShutdown::new();

        let why = loop {
            // The first of: a connection, SIGINT, SIGTERM (`None`, the runtime shutting down,
            // stops the server too).
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
                    rawrt::spawn(async move {
                        let started = Arc::new(AtomicBool::new(false));
                        let seen = started.clone();
                        let svc = service_fn(move |req| {
                            seen.store(true, Ordering::Relaxed);
                            hello(req)
                        });
                        let mut conn = pin!(watcher.watch(http.serve_connection(stream, svc)));
                        // Until a first request arrives, hyper has no timer running (the
                        // version check just reads): give up on the connection at the same
                        // deadline as a request head.
                        let mut deadline = pin!(rawrt::time::sleep(first_request));
                        // Errors (a reset, a timed-out head) end this connection only.
                        let _ = poll_fn(|cx| match conn.as_mut().poll(cx) {
                            Poll::Ready(res) => Poll::Ready(res.map(drop)),
                            Poll::Pending if started.load(Ordering::Relaxed) => Poll::Pending,
                            Poll::Pending => deadline.as_mut().poll(cx).map(Ok),
                        })
                        .await;
                    });
                }
                // Out of fds: the connection stays queued; retry after a pause.
                Err(e) if is_fd_exhaustion(&e) => {
                    rawrt::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        };
        drop(listener); // stop accepting
        eprintln!(
            "{why}: shutting down gracefully ({} ms to drain; a second signal exits at once)",
            args.drain_timeout.as_millis()
        );
        let live = graceful.count();
        let mut drain = pin!(rawrt::time::timeout(
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
            // Returning drops the runtime, which closes them.
            Err(_) => eprintln!("drain deadline passed: closing the connections still open"),
        }
        Ok(())
    })
}
