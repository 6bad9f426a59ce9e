//! The servers under test. Each runs in its own process (`http --serve KIND --addr ADDR
//! --workers N`), prints `listening on http://ADDR` on stdout once it accepts connections,
//! and exits when its stdin closes (so it cannot outlive the benchmark that started it).
//!
//! All of them answer every request with `200 OK` and `Hello, World!` over HTTP/1.1
//! keep-alive, with `TCP_NODELAY` set on every connection:
//!
//! - **blocking**: std only, one thread: accept a connection, serve it until the client
//!   closes it, accept the next. The other clients wait in the listen backlog.
//! - **threads**: std only, one OS thread per connection, same connection code.
//! - **rawrt**: hyper 1.x `http1` on a rawrt multi-thread runtime (the service of
//!   `examples/hello.rs`).
//! - **rawrt-mio**: rawrt on its mio backend, which does not exist yet (issue #5).
//! - **tokio**: hyper 1.x `http1` on a Tokio multi-thread runtime, same worker count (the
//!   server of `examples/tokio_hello.rs`).
//!
//! The async servers speak HTTP/1.1 only (no HTTP/2 sniffing), so that rawrt and Tokio run
//! the same hyper code path.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::proto::{self, RequestParse};

/// How long a std server waits for a request on an idle connection before closing it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// One architecture of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Single-threaded, blocking, one connection at a time.
    Blocking,
    /// One OS thread per connection.
    Threads,
    /// hyper on rawrt (raw epoll).
    Rawrt,
    /// hyper on rawrt's mio backend (not built yet).
    RawrtMio,
    /// hyper on Tokio.
    Tokio,
}

impl Kind {
    /// All rows of the table, in table order.
    pub const ALL: [Kind; 5] = [
        Kind::Blocking,
        Kind::Threads,
        Kind::Rawrt,
        Kind::RawrtMio,
        Kind::Tokio,
    ];

    /// The name used on the command line (`--serve`, `--only`) and in the JSON.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Blocking => "blocking",
            Kind::Threads => "threads",
            Kind::Rawrt => "rawrt",
            Kind::RawrtMio => "rawrt-mio",
            Kind::Tokio => "tokio",
        }
    }

    /// The row label in the table.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Blocking => "Single-threaded blocking",
            Kind::Threads => "One thread per connection",
            Kind::Rawrt => "rawrt (raw epoll)",
            Kind::RawrtMio => "rawrt (mio backend)",
            Kind::Tokio => "Tokio + hyper",
        }
    }

    /// Looks a kind up by [`Kind::id`].
    pub fn from_id(id: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// `Err(why)` when this server cannot be built in this checkout.
    pub fn availability(self) -> Result<(), &'static str> {
        match self {
            // When issue #5 lands, this becomes a `cfg(feature = "mio")` server: the same
            // hyper service on a runtime built with the mio backend.
            Kind::RawrtMio => Err("not built yet (feature \"mio\" pending, issue #5)"),
            _ => Ok(()),
        }
    }
}

/// Runs server `kind` on `addr` with `workers` threads (async servers) until the process
/// exits. Returns only on a start-up error.
pub fn serve(kind: Kind, addr: SocketAddr, workers: usize) -> Result<(), String> {
    kind.availability()
        .map_err(|why| format!("{}: {why}", kind.label()))?;
    let workers = workers.max(1);
    let result = match kind {
        Kind::Blocking => serve_blocking(addr),
        Kind::Threads => serve_threads(addr),
        Kind::Rawrt => serve_rawrt(addr, workers),
        Kind::Tokio => serve_tokio(addr, workers),
        Kind::RawrtMio => unreachable_kind(),
    };
    result.map_err(|e| format!("{} server on {addr}: {e}", kind.label()))
}

fn unreachable_kind() -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "not available"))
}

/// Tells the parent where we listen: one line, flushed.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    out.flush()
}

/// EMFILE / ENFILE: out of file descriptors; the connection stays queued, so back off.
fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

fn serve_blocking(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = serve_std_connection(stream);
            }
            Err(e) if is_fd_exhaustion(&e) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => {}
        }
    }
}

fn serve_threads(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                // Small stacks: the connection code needs a few KiB.
                let spawned = std::thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || serve_std_connection(stream));
                if let Err(e) = spawned {
                    eprintln!("threads server: cannot spawn a connection thread: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Err(e) if is_fd_exhaustion(&e) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => {}
        }
    }
}

/// Serves one connection with blocking I/O until the client closes it, asks to close, sends
/// something unparsable, or stays idle for [`IDLE_TIMEOUT`]. Every complete request in what
/// has been read is answered (pipelining), and the answers go out in one write.
pub fn serve_std_connection(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let (consumed, close) = answer_requests(&buf, &mut out);
        buf.drain(..consumed);
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if close {
            return Ok(());
        }
        let filled = buf.len();
        buf.resize(filled + 4096, 0);
        let n = loop {
            match stream.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e), // includes the idle timeout
            }
        };
        buf.truncate(filled + n);
        if n == 0 {
            return Ok(()); // the client closed the connection
        }
    }
}

/// Answers every complete request at the start of `buf`, appending the responses to `out`.
/// Returns how many bytes of `buf` were consumed and whether the connection must close.
pub fn answer_requests(buf: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
    let mut at = 0;
    loop {
        match proto::parse_request(&buf[at..]) {
            RequestParse::Partial => return (at, false),
            RequestParse::Complete {
                len,
                close,
                keep_alive_10,
            } => {
                proto::write_hello(out, close, keep_alive_10);
                at += len;
                if close {
                    return (at, true);
                }
            }
            RequestParse::Reject(response) => {
                out.extend_from_slice(response);
                return (buf.len(), true);
            }
        }
    }
}

type HelloResponse = hyper::Response<http_body_util::Full<hyper::body::Bytes>>;

/// The service of `examples/hello.rs` and `examples/tokio_hello.rs`.
async fn hello(_req: hyper::Request<hyper::body::Incoming>) -> Result<HelloResponse, Infallible> {
    Ok(hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(proto::HELLO_BODY),
    )))
}

fn serve_rawrt(addr: SocketAddr, workers: usize) -> io::Result<()> {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;

    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()?;
    rt.block_on(async move {
        let listener = rawrt::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    rawrt::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let _ = http1::Builder::new()
                            .serve_connection(stream, service_fn(hello))
                            .await;
                    });
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    rawrt::time::sleep(Duration::from_millis(100)).await;
                }
                Err(_) => {}
            }
        }
    })
}

fn serve_tokio(addr: SocketAddr, workers: usize) -> io::Result<()> {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service_fn(hello))
                            .await;
                    });
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(_) => {}
            }
        }
    })
}

// Cargo compiles harness = false benches with `--cfg test` but without a test harness, so
// these tests only run from `tests/bench_http.rs`; here their helpers would look unused.
#[cfg(test)]
#[allow(dead_code, unused_imports)]
mod tests {
    use super::super::proto::{parse_response, ResponseParse};
    use super::*;

    #[test]
    fn kinds_round_trip_and_mio_is_pending() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_id(k.id()), Some(k));
        }
        assert!(Kind::RawrtMio.availability().is_err());
        assert!(Kind::Rawrt.availability().is_ok());
        assert_eq!(Kind::from_id("nope"), None);
    }

    /// Splits `out` into the responses it holds.
    fn responses(out: &[u8]) -> Vec<(u16, bool)> {
        let mut at = 0;
        let mut v = Vec::new();
        while at < out.len() {
            match parse_response(&out[at..]) {
                ResponseParse::Complete { len, status, close } => {
                    v.push((status, close));
                    at += len;
                }
                other => panic!("{other:?}"),
            }
        }
        v
    }

    #[test]
    fn answers_pipelined_requests_and_keeps_the_rest() {
        let buf = b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HT";
        let mut out = Vec::new();
        let (consumed, close) = answer_requests(buf, &mut out);
        assert_eq!(consumed, buf.len() - b"GET / HT".len());
        assert!(!close);
        assert_eq!(responses(&out), vec![(200, false), (200, false)]);
    }

    #[test]
    fn stops_at_connection_close_and_at_garbage() {
        let buf = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        let mut out = Vec::new();
        let (_, close) = answer_requests(buf, &mut out);
        assert!(close);
        assert_eq!(responses(&out), vec![(200, true)]);

        let mut out = Vec::new();
        let (consumed, close) = answer_requests(b"GET / HTTP/1.1\r\n\r\nhello?\r\n\r\n", &mut out);
        assert!(close);
        assert_eq!(consumed, 28);
        assert_eq!(responses(&out), vec![(200, false), (400, true)]);
    }

    #[test]
    fn std_connection_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            serve_std_connection(s)
        });
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Two requests in one write, then one split across two writes, then close.
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        c.write_all(b"st: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap(); // ends when the server closes
        assert_eq!(
            responses(&all),
            vec![(200, false), (200, false), (200, true)]
        );
        server.join().unwrap().unwrap();
    }
}
