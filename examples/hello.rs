//! A hyper "Hello, World!" server on rawrt.
//!
//! ```text
//! cargo run --release --example hello -- --addr 127.0.0.1:3000 --workers 2
//! ```
//!
//! Serves `200 OK` with body `Hello, World!` to every request: HTTP/1.1 with keep-alive, or
//! HTTP/2 when the client opens with the HTTP/2 connection preface (prior knowledge).
//! `--workers` defaults to all cores; `--spread-threshold-us` sets
//! `Builder::spread_threshold` (0: wake a sibling worker as Tokio does). It prints the
//! address it listens on, and nothing per connection. When `accept` fails because the
//! process is out of file descriptors, it backs off (without spinning a worker) and keeps
//! serving the connections it has.
//!
//! # Graceful shutdown
//!
//! On `SIGINT` (`Ctrl-C`) or `SIGTERM` it stops accepting (the listener is closed), tells
//! every live connection to shut down gracefully (hyper's `graceful_shutdown`: an HTTP/1
//! connection finishes the response in progress, then closes, and an idle keep-alive
//! connection closes at once; an HTTP/2 connection sends `GOAWAY` and finishes its open
//! streams), waits for them all to end, and exits with status 0. A second signal while it
//! waits exits at once, with status 1.
//!
//! Both listeners exist before the server prints its address, so a signal sent once it
//! listens is always seen (rawrt's handler runs on whichever thread the kernel picks; nothing
//! has to be blocked, see `rawrt::signal`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use rawrt::net::{TcpListener, TcpStream};
use rawrt::signal::{signal, Signal, SignalKind};

const USAGE: &str = "usage: hello [--addr IP:PORT] [--workers N] [--spread-threshold-us US]";

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Args {
    addr: SocketAddr,
    workers: Option<usize>,
    spread_threshold: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:3000".parse().unwrap(),
        workers: None,
        spread_threshold: None,
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
            "--spread-threshold-us" => {
                let v = value("--spread-threshold-us")?;
                let us: u64 = v
                    .parse()
                    .map_err(|e| format!("--spread-threshold-us {v}: {e}"))?;
                args.spread_threshold = Some(Duration::from_micros(us));
            }
            "-h" | "--help" => {
                return Err(USAGE.to_string());
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
/// HTTP/1. Almost always the first peek decides. A client that sends a prefix of the preface
/// and pauses is re-peeked every millisecond (a peek consumes nothing, so the socket stays
/// readable and would otherwise be peeked in a tight loop) for up to 10 s; then it is handed
/// to HTTP/1, which rejects it.
async fn is_h2(stream: &TcpStream) -> io::Result<bool> {
    let mut buf = [0u8; 24];
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 || buf[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        if std::time::Instant::now() >= give_up {
            return Ok(false);
        }
        rawrt::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn serve(stream: TcpStream, mut conn: Tracked) {
    let _ = stream.set_nodelay(true);
    // Until the client's first bytes arrive no request is in flight: on shutdown, just close.
    match conn.unless_shutdown(is_h2(&stream)).await {
        Some(Ok(true)) => {
            let c = http2::Builder::new(rawrt::hyper::Executor::new())
                .serve_connection(stream, service_fn(hello));
            let _ = conn.graceful(pin!(c), |c| c.graceful_shutdown()).await;
        }
        Some(Ok(false)) => {
            let c = http1::Builder::new().serve_connection(stream, service_fn(hello));
            let _ = conn.graceful(pin!(c), |c| c.graceful_shutdown()).await;
        }
        Some(Err(_)) | None => {}
    }
}

/// The live connections, and the "shut down now" flag they watch.
///
/// The accept loop counts a connection in ([`Graceful::track`]) before spawning its task;
/// the task's [`Tracked`] guard counts it out when the task ends, however it ends. Each task
/// registers its waker once, on its first poll, and then checks the flag (one atomic load)
/// each time it is polled. (The first waker is enough: every waker of a task wakes the same
/// task, and `serve` is the whole task.)
#[derive(Default)]
struct Graceful {
    shutting_down: AtomicBool,
    inner: Mutex<GracefulInner>,
}

#[derive(Default)]
struct GracefulInner {
    next_id: u64,
    live: usize,
    /// The wakers of the connection tasks polled so far, by connection id.
    wakers: HashMap<u64, Waker>,
    /// The task waiting in `drained`.
    drained: Option<Waker>,
}

impl Graceful {
    /// Counts a new connection in.
    fn track(self: &Arc<Self>) -> Tracked {
        let mut inner = self.inner.lock().unwrap();
        inner.live += 1;
        inner.next_id += 1;
        Tracked {
            graceful: self.clone(),
            id: inner.next_id,
            registered: false,
        }
    }

    /// Raises the flag and wakes every connection task, so that each sees it.
    fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let wakers: Vec<Waker> = self
            .inner
            .lock()
            .unwrap()
            .wakers
            .values()
            .cloned()
            .collect();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Waits until every tracked connection has ended.
    async fn drained(&self) {
        poll_fn(|cx| {
            let mut inner = self.inner.lock().unwrap();
            if inner.live == 0 {
                Poll::Ready(())
            } else {
                inner.drained = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// One live connection, counted out when dropped.
struct Tracked {
    graceful: Arc<Graceful>,
    id: u64,
    registered: bool,
}

impl Tracked {
    /// Whether shutdown has begun; registers the task's waker on the first call.
    fn poll_shutdown(&mut self, cx: &Context<'_>) -> bool {
        if !self.registered {
            self.registered = true;
            let mut inner = self.graceful.inner.lock().unwrap();
            inner.wakers.insert(self.id, cx.waker().clone());
        }
        self.graceful.shutting_down.load(Ordering::Acquire)
    }

    /// Runs `fut`, or gives up (`None`) once shutdown begins.
    async fn unless_shutdown<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if self.poll_shutdown(cx) {
                return Poll::Ready(None);
            }
            fut.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// Runs the hyper connection `conn` to its end, calling `graceful_shutdown` on it once,
    /// when shutdown begins.
    async fn graceful<C: Future>(
        mut self,
        mut conn: Pin<&mut C>,
        graceful_shutdown: impl FnOnce(Pin<&mut C>),
    ) -> C::Output {
        let mut graceful_shutdown = Some(graceful_shutdown);
        poll_fn(|cx| {
            if graceful_shutdown.is_some() && self.poll_shutdown(cx) {
                (graceful_shutdown.take().unwrap())(conn.as_mut());
            }
            conn.as_mut().poll(cx)
        })
        .await
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut inner = self.graceful.inner.lock().unwrap();
        inner.wakers.remove(&self.id);
        inner.live -= 1;
        if inner.live == 0 {
            if let Some(w) = inner.drained.take() {
                w.wake();
            }
        }
    }
}

/// What the accept loop waits for.
enum Next {
    Conn(io::Result<(TcpStream, SocketAddr)>),
    Stop(&'static str),
}

/// The first of: a connection, SIGINT, SIGTERM.
async fn next(listener: &TcpListener, sigint: &mut Signal, sigterm: &mut Signal) -> Next {
    poll_fn(|cx| {
        // `None` (the runtime is shutting down) stops the server too.
        if sigint.poll_recv(cx).is_ready() {
            return Poll::Ready(Next::Stop("SIGINT"));
        }
        if sigterm.poll_recv(cx).is_ready() {
            return Poll::Ready(Next::Stop("SIGTERM"));
        }
        listener.poll_accept(cx).map(Next::Conn)
    })
    .await
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
    if let Some(t) = args.spread_threshold {
        builder.spread_threshold(t);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = TcpListener::bind(args.addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let graceful = Arc::new(Graceful::default());
        let why = loop {
            match next(&listener, &mut sigint, &mut sigterm).await {
                Next::Conn(Ok((stream, _))) => {
                    rawrt::spawn(serve(stream, graceful.track()));
                }
                Next::Conn(Err(e)) if is_fd_exhaustion(&e) => {
                    // Out of fds: the connection stays queued. Back off without blocking a
                    // worker, then retry.
                    backoff(Duration::from_millis(100)).await;
                }
                Next::Conn(Err(e)) => eprintln!("accept: {e}"),
                Next::Stop(why) => break why,
            }
        };
        // Stop accepting (connections still in the accept queue are reset).
        drop(listener);
        eprintln!("{why}: shutting down gracefully (a second signal exits at once)");
        graceful.shut_down();
        let mut drained = pin!(graceful.drained());
        poll_fn(|cx| {
            if sigint.poll_recv(cx).is_ready() || sigterm.poll_recv(cx).is_ready() {
                eprintln!("second signal: exiting without waiting for the connections");
                std::process::exit(1);
            }
            drained.as_mut().poll(cx)
        })
        .await;
        Ok(())
    })
}
