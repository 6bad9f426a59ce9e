//! The servers under test. Each runs in its own process (`http --serve KIND --addr ADDR
//! --workers N`), prints `listening on http://ADDR` on stdout once it accepts connections,
//! answers commands on its stdin ([`answer`]: `stats`, rawrt's syscall counters), and exits
//! when its stdin closes (so it cannot outlive the benchmark that started it).
//!
//! All of them answer every request with `200 OK` and `Hello, World!` over HTTP/1.1
//! keep-alive, with `TCP_NODELAY` set on every connection:
//!
//! - **blocking**: std only, one thread: accept a connection, serve it until the client
//!   closes it, accept the next. The other clients wait in the listen backlog.
//! - **threads**: std only, one OS thread per connection, same connection code.
//! - **rawrt**: hyper 1.x `http1` on a rawrt multi-thread runtime (the service of
//!   `examples/hello.rs`, without its timers and graceful shutdown), on the backend this binary was built with ([`BACKEND`]).
//! - **rawrt-mio**: the same server on rawrt's mio backend. The backend is chosen at compile
//!   time (`--features mio`), so in the usual build this row is served by a second build of
//!   this benchmark, with the feature, running `--serve rawrt` (see [`crate::mio_build`]); in a
//!   build with the feature it is this binary's own rawrt server, and `--serve rawrt-mio`
//!   is accepted as another name for it.
//! - **tokio**: hyper 1.x `http1` on a Tokio multi-thread runtime, same worker count (the
//!   service of `examples/tokio_hello.rs`, likewise without timers).
//!
//! The async servers speak HTTP/1.1 only (no HTTP/2 sniffing), so that rawrt and Tokio run
//! the same hyper code path.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::child::ChildGuard;
use crate::json::Json;
use crate::proto::{self, RequestParse};

/// Whether this binary's rawrt runs on mio: rawrt-bench's feature `mio`, which enables
/// rawrt's (`--features mio`).
pub const MIO_BUILD: bool = cfg!(feature = "mio");

/// This binary's rawrt backend, as the `stats` answer names it.
pub const BACKEND: &str = if MIO_BUILD { "mio" } else { "epoll" };

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
    /// hyper on rawrt's mio backend.
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

    /// [`Kind::from_id`], with an error that lists the kinds.
    pub fn parse(id: &str) -> Result<Kind, String> {
        Kind::from_id(id).ok_or_else(|| {
            let ids: Vec<&str> = Kind::ALL.iter().map(|k| k.id()).collect();
            format!("unknown server {id:?} (one of {})", ids.join(", "))
        })
    }

    /// A rawrt row: its syscalls come from rawrt's own counters.
    pub fn is_rawrt(self) -> bool {
        matches!(self, Kind::Rawrt | Kind::RawrtMio)
    }

    /// The rawrt backend this row's server must run on (`None` for the others); the parent
    /// checks it against the server's `stats` answer.
    pub fn backend(self) -> Option<&'static str> {
        match self {
            Kind::Rawrt => Some("epoll"),
            Kind::RawrtMio => Some("mio"),
            _ => None,
        }
    }
}

/// Runs server `kind` on `addr` with `workers` threads (async servers) until the process
/// exits. Returns only on a start-up error.
///
/// `rawrt` runs on this binary's backend ([`BACKEND`]), whichever it is; `rawrt-mio` is
/// accepted only by a build with `--features mio`, as another name for the same server.
pub fn serve(kind: Kind, addr: SocketAddr, workers: usize) -> Result<(), String> {
    if kind == Kind::RawrtMio && !MIO_BUILD {
        return Err(format!(
            "{}: this binary is not built with --features mio; the benchmark builds one that \
             is and runs `--serve rawrt` on it",
            kind.label()
        ));
    }
    let workers = workers.max(1);
    let result = match kind {
        Kind::Blocking => serve_blocking(addr),
        Kind::Threads => serve_threads(addr),
        Kind::Rawrt | Kind::RawrtMio => serve_rawrt(addr, workers),
        Kind::Tokio => serve_tokio(addr, workers),
    };
    result.map_err(|e| format!("{} server on {addr}: {e}", kind.label()))
}

/// The answer of a `kind` server process to `command` (one line from its stdin; see
/// `child::answer_stdin_commands`), as one line of JSON:
///
/// - `stats`: rawrt's syscall counters now, for the whole process:
///   `{"server":"rawrt","backend":"epoll","total":N,"by_kind":{"epoll_wait":N,...}}`
///   (`rawrt::stats::syscalls()`, every kind in `Syscall::ALL` order). Servers that do not
///   run on rawrt answer `{"server":...,"error":...}`: their syscalls are not rawrt's.
/// - anything else: `{"error":"unknown command ..."}`.
///
/// Answering reads counters only: the thread that answers makes no syscall through
/// `rawrt-sys` (it reads stdin and writes stdout with std), so asking does not change them.
pub fn answer(kind: Kind, command: &str) -> String {
    let reply = match command {
        "stats" if kind.is_rawrt() => {
            let now = rawrt::stats::syscalls();
            let mut by_kind = Json::obj();
            for (k, n) in now.iter() {
                by_kind = by_kind.set(k.name(), n);
            }
            Json::obj()
                .set("server", kind.id())
                .set("backend", BACKEND)
                .set("total", now.total())
                .set("by_kind", by_kind)
        }
        "stats" => Json::obj().set("server", kind.id()).set(
            "error",
            "no rawrt counters: this server does not run on rawrt",
        ),
        other => Json::obj().set("error", format!("unknown command {other:?} (try stats)")),
    };
    reply.to_string()
}

/// Tells the parent where we listen: one line, flushed.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    out.flush()
}

/// Starts `exe` with `args` as a server child (stdin and stdout piped: the command protocol
/// of [`crate::child`]; stderr inherited) and waits at most `limit` for the first line every
/// server prints, `listening on http://ADDR`; returns the child and the address, which must
/// be a loopback one. `what` names the server in errors.
pub fn start(
    exe: &Path,
    args: &[&str],
    what: &str,
    limit: Duration,
) -> Result<(ChildGuard, SocketAddr), String> {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut server = ChildGuard::spawn(cmd, what)?;
    let line = server.next_line(limit)?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .ok_or_else(|| format!("{what}: unexpected first line {line:?}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{what} listens on {addr}, not loopback"));
    }
    Ok((server, addr))
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
/// something unparsable, or stays idle for 10 s (`IDLE_TIMEOUT`). Every complete request in
/// what has been read is answered (pipelining), and the answers go out in one write.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{parse_response, ResponseParse};

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_id(k.id()), Some(k));
        }
        assert_eq!(Kind::from_id("nope"), None);
        assert!(Kind::Rawrt.is_rawrt() && Kind::RawrtMio.is_rawrt());
        assert!(!Kind::Tokio.is_rawrt());
    }

    #[test]
    fn rawrt_mio_needs_the_mio_build() {
        if !MIO_BUILD {
            let e = serve(Kind::RawrtMio, ([127, 0, 0, 1], 0).into(), 1).unwrap_err();
            assert!(e.contains("--features mio"), "{e}");
        }
    }

    #[test]
    fn stats_answers() {
        use crate::syscalls::parse_counters;
        let own = Kind::Rawrt;
        // Make some counted calls in this process first.
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        rt.block_on(async {
            let l = rawrt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let _c = rawrt::net::TcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
        });
        let a = answer(own, "stats");
        assert!(!a.contains('\n'));
        let (backend, c) = parse_counters(&a).unwrap();
        assert_eq!(backend, BACKEND);
        assert!(c.get("connect") >= 1, "{a}");
        assert_eq!(c.by_call.len(), rawrt::stats::Syscall::ALL.len());
        let e = parse_counters(&answer(Kind::Tokio, "stats")).unwrap_err();
        assert!(e.contains("does not run on rawrt"), "{e}");
        assert!(parse_counters(&answer(own, "frobnicate"))
            .unwrap_err()
            .contains("unknown command"));
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
