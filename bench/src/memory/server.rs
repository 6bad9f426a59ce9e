//! RSS at N idle keep-alive connections: the server child (`--serve rawrt|tokio`, the hyper
//! server of [`crate::servers`] with a counting allocator and a `heap` command on its
//! stdin), and this process's side: the blocking client that opens the connections, and
//! the readings of the server's `/proc/PID/status`, `/proc/PID/fd` and heap.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::alloc::{Heap, HeapSnapshot};
use super::tasks::Rt;
use crate::child::{self, ChildGuard};
use crate::cli::{num, split_flags};
use crate::proto::{self, ResponseParse};
use crate::servers;

/// File descriptors each process needs beyond one per connection.
const FD_MARGIN: u64 = 256;

/// The `--serve rawrt|tokio --workers N --connections N` mode: a hyper `http1` "Hello,
/// World!" server on 127.0.0.1 ([`servers::serve`]), answering `heap` on its stdin, until
/// stdin closes.
pub fn serve(args: &[String]) -> Result<(), String> {
    let id = args.first().ok_or("--serve needs rawrt or tokio")?;
    let rt = Rt::from_id(id).ok_or_else(|| format!("--serve {id:?}: rawrt or tokio"))?;
    let mut workers = 2;
    let mut connections = 1;
    for (flag, v) in split_flags(&args[1..], &["--workers", "--connections"], &[])? {
        match flag.as_str() {
            "--workers" => workers = num(&flag, &v, 1..=1024)?,
            _ => connections = num(&flag, &v, 1..=1_000_000)?,
        }
    }
    raise_fd_limit(connections)?;
    child::answer_stdin_commands(|command| match command {
        "heap" => HeapSnapshot::now().heap().to_answer(),
        other => format!("error: unknown command {other:?} (try heap)"),
    });
    servers::serve(rt.kind(), SocketAddr::from(([127, 0, 0, 1], 0)), workers)
}

/// Raises this process's `RLIMIT_NOFILE` to `connections` plus [`FD_MARGIN`].
pub(crate) fn raise_fd_limit(connections: usize) -> Result<(), String> {
    let want = connections as u64 + FD_MARGIN;
    let got = rawrt_sys::resource::raise_nofile_limit(want)
        .map_err(|e| format!("raising RLIMIT_NOFILE to {want}: {e}"))?;
    if got < want {
        return Err(format!(
            "{connections} connections need {want} file descriptors, but RLIMIT_NOFILE's \
             hard limit allows {got}: use --connections {} or less",
            got.saturating_sub(FD_MARGIN)
        ));
    }
    Ok(())
}

/// Limit for one connect, and for one response to arrive.
const IO_LIMIT: Duration = Duration::from_secs(10);
/// Limit for opening all the connections of one server.
const OPEN_LIMIT: Duration = Duration::from_secs(120);
/// Limit for the server process to start listening.
const START_LIMIT: Duration = Duration::from_secs(30);
/// Limit for the server's heap to stop changing.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Where a response ends: `Ok(None)` while `buf` holds less than a whole response,
/// `Ok(Some(len))` once its first `len` bytes are one (headers and a `content-length` body),
/// an error if it is not a `200` with a `content-length` ([`proto::parse_response`]).
pub(crate) fn response_len(buf: &[u8]) -> Result<Option<usize>, String> {
    match proto::parse_response(buf) {
        ResponseParse::Partial => Ok(None),
        ResponseParse::Complete {
            len, status: 200, ..
        } => Ok(Some(len)),
        ResponseParse::Complete { status, .. } => Err(format!("unexpected status {status}")),
        ResponseParse::Invalid(why) => Err(why.to_string()),
    }
}

/// Opens a connection to `addr`, sends [`proto::hello_request`] and reads the whole
/// response; returns the connection, still open (keep-alive).
fn open_and_request(addr: SocketAddr) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect_timeout(&addr, IO_LIMIT).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true)
        .and_then(|()| s.set_read_timeout(Some(IO_LIMIT)))
        .and_then(|()| s.write_all(&proto::hello_request(addr)))
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the response (limit {IO_LIMIT:?}): {e}")),
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(len) = response_len(&buf)? {
            if len != buf.len() || !buf.ends_with(proto::HELLO_BODY) {
                return Err(format!(
                    "unexpected response {:?}",
                    String::from_utf8_lossy(&buf)
                ));
            }
            return Ok(s);
        }
    }
}

/// The value of field `key` (`VmRSS`, `RssAnon`, ...) of a `/proc/PID/status` text, in bytes
/// (the file gives kB, i.e. KiB).
pub(crate) fn status_bytes(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k != key {
            return None;
        }
        let kib: u64 = v.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kib * 1024)
    })
}

/// A process's `VmRSS` and `RssAnon`, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rss {
    /// Resident set size.
    pub(crate) vm_rss: u64,
    /// Its anonymous part (heap, stacks; not the mapped binary).
    pub(crate) rss_anon: u64,
}

/// Reads `/proc/PID/status`.
pub(crate) fn read_rss(pid: u32) -> Result<Rss, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    let field = |k| status_bytes(&text, k).ok_or_else(|| format!("{path} has no {k}"));
    Ok(Rss {
        vm_rss: field("VmRSS")?,
        rss_anon: field("RssAnon")?,
    })
}

/// The number of open file descriptors of process `pid`.
fn count_fds(pid: u32) -> Result<usize, String> {
    let path = format!("/proc/{pid}/fd");
    Ok(std::fs::read_dir(&path)
        .map_err(|e| format!("reading {path}: {e}"))?
        .count())
}

/// A server child's live heap, asked over its stdin.
fn ask_heap(server: &mut ChildGuard) -> Result<Heap, String> {
    let answer = server.ask("heap", Duration::from_secs(5))?;
    Heap::from_answer(&answer)
}

/// Waits until the server's live heap is the same in two readings 50 ms apart (every
/// connection task idle again), at most [`SETTLE_LIMIT`]; returns that reading.
fn settled_heap(server: &mut ChildGuard) -> Result<Heap, String> {
    let deadline = Instant::now() + SETTLE_LIMIT;
    let mut last = ask_heap(server)?;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = ask_heap(server)?;
        if now == last {
            return Ok(now);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server's heap kept changing for {SETTLE_LIMIT:?} ({} then {} bytes)",
                last.bytes, now.bytes
            ));
        }
        last = now;
    }
}

/// One server's readings in one round.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerSample {
    /// RSS after the warm-up request, no connection open.
    pub(crate) rss_idle: Rss,
    /// RSS with every connection open and idle.
    pub(crate) rss_loaded: Rss,
    /// Live heap with no connection open.
    pub(crate) heap_idle: Heap,
    /// Live heap with every connection open and idle.
    pub(crate) heap_loaded: Heap,
    /// The server's open file descriptors with every connection open.
    pub(crate) fds_loaded: usize,
}

impl ServerSample {
    /// The RSS with the connections (`with`) or without.
    pub(crate) fn rss(&self, with: bool) -> Rss {
        if with {
            self.rss_loaded
        } else {
            self.rss_idle
        }
    }

    /// The live heap with the connections (`with`) or without.
    pub(crate) fn heap(&self, with: bool) -> &Heap {
        if with {
            &self.heap_loaded
        } else {
            &self.heap_idle
        }
    }

    /// Per-connection figure of `f(loaded) - f(idle)`.
    pub(crate) fn per_conn(
        &self,
        connections: usize,
        f: impl Fn(&ServerSample, bool) -> u64,
    ) -> f64 {
        (f(self, true) as f64 - f(self, false) as f64) / connections as f64
    }
}

/// Starts a `rt` server child and measures it with `connections` connections.
pub(crate) fn measure_server(
    exe: &Path,
    rt: Rt,
    workers: usize,
    connections: usize,
) -> Result<ServerSample, String> {
    let (workers, n) = (workers.to_string(), connections.to_string());
    let args = [
        "--serve",
        rt.id(),
        "--workers",
        &workers,
        "--connections",
        &n,
    ];
    let what = format!("the {} server", rt.id());
    let (mut server, addr) = servers::start(exe, &args, &what, START_LIMIT)?;
    let pid = server.pid();

    // Warm-up: one request on a connection of its own, closed again.
    drop(open_and_request(addr).map_err(|e| format!("{what}, warm-up request: {e}"))?);
    let heap_idle = settled_heap(&mut server)?;
    let rss_idle = read_rss(pid)?;

    let started = Instant::now();
    let deadline = started + OPEN_LIMIT;
    let mut streams = Vec::with_capacity(connections);
    for i in 0..connections {
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: only {i} of {connections} connections opened within {OPEN_LIMIT:?}"
            ));
        }
        let s = open_and_request(addr).map_err(|e| format!("{what}, connection {}: {e}", i + 1))?;
        streams.push(s);
        if (i + 1) % 2500 == 0 && i + 1 < connections {
            eprintln!("    {} connections open", i + 1);
        }
    }
    eprintln!(
        "    {connections} connections open, one request answered on each ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let heap_loaded = settled_heap(&mut server)?;
    let rss_loaded = read_rss(pid)?;
    let fds_loaded = count_fds(pid)?;
    if fds_loaded < connections {
        return Err(format!(
            "{what} holds {fds_loaded} file descriptors, fewer than the {connections} \
             connections"
        ));
    }
    // The server goes first (killed), then our ends of the connections.
    drop(server);
    drop(streams);
    Ok(ServerSample {
        rss_idle,
        rss_loaded,
        heap_idle,
        heap_loaded,
        fds_loaded,
    })
}
