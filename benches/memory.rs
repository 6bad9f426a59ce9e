//! `cargo bench --bench memory`: what rawrt costs in memory next to Tokio, same worker count
//! (2 by default, `--workers N`), measured in the same run. Two measurements:
//!
//! **Heap per idle spawned task.** This binary's global allocator is the system allocator wrapped
//! in a counter ([`Counting`]): live bytes and live allocations, in all and per size class (8-byte
//! classes up to 1 KiB, then powers of two), in relaxed atomics. In this process, for each runtime:
//! build it with N workers, run one warm-up task to completion (so that anything a runtime
//! allocates lazily on its first spawn is not charged to the tasks), allocate the `Vec` that will
//! hold the `JoinHandle`s (with its full capacity, *before* the first snapshot, so handles cost
//! nothing in the figure), take a snapshot, spawn `--tasks` tasks from the main thread (a remote
//! spawn, through each runtime's global queue), wait until every task has been polled once, take a
//! second snapshot, and report `(live bytes after − before) / tasks`. The tasks run [`Idle`]: a
//! zero-sized future that is never ready, the same size and alignment as
//! `std::future::pending::<()>()` (checked at compile time), except that it counts its polls, which
//! is how "every task is spawned and idle" is seen without either runtime's metrics. Whatever a
//! runtime keeps beyond the task allocations (a global queue's grown buffer, for example) is in the
//! figure too; a second row breaks it down by size class (allocations per task × their mean size,
//! the rest as "other"). Rounds alternate the order (rawrt, Tokio / Tokio, rawrt) and the table
//! shows medians. Sizes are the sizes asked of the allocator (`Layout::size`), not what malloc
//! really uses (its chunk headers and alignment padding are not counted).
//!
//! **RSS at N idle keep-alive connections** (10,000 by default). For each runtime a separate
//! server process (this binary re-executed as `--serve rawrt|tokio --workers N`) runs a hyper
//! 1.x `http1` "Hello, World!" server like `examples/hello.rs` and `examples/tokio_hello.rs`
//! (`TCP_NODELAY`, HTTP/1.1 only), and prints `listening on 127.0.0.1:PORT`. This process is
//! the client, with plain blocking std sockets: one warm-up connection (one request, then
//! closed), then the server's `VmRSS` and `RssAnon` from `/proc/PID/status`; then it opens
//! the connections one after another, sends one keep-alive `GET /` on each and reads the
//! whole response (so hyper has allocated its per-connection buffers), keeps them all open,
//! and reads the server's status again. The server's own counting allocator (same binary)
//! gives its live heap too, by size class, asked over its stdin (`SEQ heap` →
//! `SEQ BYTES ALLOCATIONS CLASS:ALLOCATIONS:BYTES...`); before each reading the parent waits
//! until that answer stops changing, i.e. until every connection task is idle again. Per
//! connection = (with − without) / connections, and the heap's growth is broken down by
//! size class like the tasks'. Kernel socket buffers are not in RSS; the figures are the
//! server process's own memory. (RSS counts touched pages: a buffer allocated but barely
//! written costs its heap bytes but not all of its pages.)
//!
//! Output: one markdown table on stdout (metric, rawrt, Tokio, ratio rawrt/Tokio, method),
//! progress on stderr, and everything (every round) in `target/bench/memory.json`.
//!
//! Every child process is held by a guard that kills it on drop (`benches/http/child.rs`),
//! every wait has a time limit, and everything listens and connects on 127.0.0.1 only.
//! `RLIMIT_NOFILE` is raised in both processes (`rawrt_sys::resource`) to the connections plus
//! a margin; past the hard limit the run stops with an error that says so.
//!
//! `cargo test --benches` runs this binary without cargo bench's `--bench` argument: it then
//! runs the self-checks of its parsing helpers ([`self_check`]; a `harness = false` target
//! has no test harness to run `#[test]`s), prints a one-line hint and exits.

// Shared with the HTTP benchmark: child-process guards and the stdin command protocol, and
// the small JSON writer. Not every function of them is used here.
#[allow(dead_code)]
#[path = "http/child.rs"]
mod child;
#[path = "http/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "http/json.rs"]
mod json;

use cli::{fmt_int, split_flags};

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use child::ChildGuard;
use json::Json;

const USAGE: &str = "\
memory: rawrt's memory next to Tokio's, same worker count, same run

usage: cargo bench --bench memory [-- OPTIONS]

1. Heap bytes per idle spawned task: a counting global allocator, N never-ready tasks
   spawned on each runtime, (live bytes after - before) / N; JoinHandles excluded.
2. RSS of a hyper http1 server process (rawrt, then Tokio) with N idle keep-alive
   connections, each having served one request: VmRSS and RssAnon from /proc, and the
   server's live heap, before and with the connections.
Rounds alternate the runtime order; the table shows medians. Prints one markdown table;
progress goes to stderr; everything goes to target/bench/memory.json. About 15-30 s with
the defaults on 2 cores.

options:
  --workers N       worker threads of both runtimes (default 2)
  --tasks N         idle tasks spawned per runtime and round (default 100000)
  --connections N   idle keep-alive connections per server and round (default 10000;
                    limited by RLIMIT_NOFILE's hard limit)
  --rounds N        rounds (default 3)
  -h, --help        this text

Internal mode (the benchmark re-executes itself; it exits when its stdin closes):
  --serve rawrt|tokio --workers N --connections N
      stdout: listening on 127.0.0.1:PORT
      stdin: SEQ heap -> stdout: SEQ BYTES ALLOCATIONS CLASS:ALLOCATIONS:BYTES...
";

// ---------------------------------------------------------------------------------------
// The counting allocator.

/// Size classes up to 1 KiB are 8 bytes wide: class `i` (1..=128) holds allocations of
/// `8(i-1)+1 ..= 8i` bytes (class 0 would hold zero-sized ones, never asked of a global
/// allocator).
const SMALL_CLASSES: usize = 129;
/// Past 1 KiB they double: class `128 + k` holds `2^(9+k)+1 ..= 2^(10+k)` bytes.
const CLASSES: usize = SMALL_CLASSES + 54;

/// Live bytes (sum of `Layout::size` of the allocations not freed yet).
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Live allocations.
static LIVE_ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Live allocations per size class.
static CLASS_ALLOCS: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];
/// Live bytes per size class.
static CLASS_BYTES: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];

/// The size class of an allocation of `size` bytes (see [`SMALL_CLASSES`], [`CLASSES`]).
fn class_of(size: usize) -> usize {
    if size <= 1024 {
        size.div_ceil(8)
    } else {
        let log2 = usize::BITS - (size - 1).leading_zeros(); // 2^log2 >= size > 2^(log2-1)
        (SMALL_CLASSES - 1 + log2 as usize - 10).min(CLASSES - 1)
    }
}

/// The largest size in class `class`.
fn class_limit(class: usize) -> u64 {
    if class < SMALL_CLASSES {
        class as u64 * 8
    } else {
        1u64.checked_shl((class + 11 - SMALL_CLASSES) as u32)
            .unwrap_or(u64::MAX)
    }
}

/// The global allocator of this binary (parent and server children alike): [`System`],
/// counting live bytes and allocations, in all and per size class.
struct Counting;

// SAFETY: every allocation, reallocation and deallocation is done by `System` with the
// caller's arguments unchanged, so `System`'s guarantees are ours; beside it we only update
// atomic counters, which neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (a non-zero-sized layout), which is
        // what `System.alloc` asks for.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`, with `layout` (the
        // caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        count(layout.size(), false);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`, and `new_size` is valid for
        // it (the caller's contract, the same as `System.realloc`'s).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // The old block is gone, the new one is live.
            count(new_size, true);
            count(layout.size(), false);
        }
        p
    }
}

/// Counts an allocation of `size` bytes in (`live`) or out.
fn count(size: usize, live: bool) {
    let class = class_of(size);
    if live {
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        CLASS_BYTES[class].fetch_add(size, Ordering::Relaxed);
        CLASS_ALLOCS[class].fetch_add(1, Ordering::Relaxed);
    } else {
        LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
        CLASS_BYTES[class].fetch_sub(size, Ordering::Relaxed);
        CLASS_ALLOCS[class].fetch_sub(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocator's counters at one moment. Taking one allocates nothing, so it can be taken
/// between two points without disturbing what is measured; [`HeapSnapshot::heap`] turns it
/// into a [`Heap`] afterwards.
#[derive(Clone, Copy)]
struct HeapSnapshot {
    /// Live bytes.
    bytes: usize,
    /// Live allocations.
    allocs: usize,
    /// Live allocations per size class.
    class_allocs: [usize; CLASSES],
    /// Live bytes per size class.
    class_bytes: [usize; CLASSES],
}

impl HeapSnapshot {
    /// Reads the counters.
    fn now() -> HeapSnapshot {
        let mut s = HeapSnapshot {
            bytes: LIVE_BYTES.load(Ordering::SeqCst),
            allocs: LIVE_ALLOCS.load(Ordering::SeqCst),
            class_allocs: [0; CLASSES],
            class_bytes: [0; CLASSES],
        };
        for c in 0..CLASSES {
            s.class_allocs[c] = CLASS_ALLOCS[c].load(Ordering::SeqCst);
            s.class_bytes[c] = CLASS_BYTES[c].load(Ordering::SeqCst);
        }
        s
    }

    /// The same as a [`Heap`] (which allocates).
    fn heap(&self) -> Heap {
        Heap {
            bytes: self.bytes as u64,
            allocs: self.allocs as u64,
            classes: (0..CLASSES)
                .filter(|&c| self.class_allocs[c] > 0)
                .map(|c| (c, self.class_allocs[c] as u64, self.class_bytes[c] as u64))
                .collect(),
        }
    }
}

/// A live heap: in this process (from a [`HeapSnapshot`]) or in a server child (its answer
/// to `heap`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Heap {
    /// Live bytes.
    bytes: u64,
    /// Live allocations.
    allocs: u64,
    /// `(class, live allocations, live bytes)` of the size classes that hold any, ascending.
    classes: Vec<(usize, u64, u64)>,
}

impl Heap {
    /// The server's answer to `heap`: `BYTES ALLOCATIONS CLASS:ALLOCATIONS:BYTES...`.
    fn to_answer(&self) -> String {
        let mut out = format!("{} {}", self.bytes, self.allocs);
        for (c, n, b) in &self.classes {
            out.push_str(&format!(" {c}:{n}:{b}"));
        }
        out
    }

    /// Parses [`Heap::to_answer`]'s text.
    fn from_answer(answer: &str) -> Result<Heap, String> {
        let bad = || format!("unexpected answer to heap: {answer:?}");
        let mut words = answer.split_whitespace();
        let mut number = || {
            words
                .next()
                .and_then(|w| w.parse::<u64>().ok())
                .ok_or_else(bad)
        };
        let (bytes, allocs) = (number()?, number()?);
        let classes = words
            .map(|w| {
                let mut it = w.split(':');
                let c = it.next()?.parse::<usize>().ok().filter(|&c| c < CLASSES)?;
                let n = it.next()?.parse::<u64>().ok()?;
                let b = it.next()?.parse::<u64>().ok()?;
                it.next().is_none().then_some((c, n, b))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        Ok(Heap {
            bytes,
            allocs,
            classes,
        })
    }

    /// What `self` holds more than `before`, per size class, divided by `per` (tasks,
    /// connections): the classes that changed, ascending.
    fn growth_since(&self, before: &Heap, per: usize) -> Vec<Growth> {
        let find = |h: &Heap, c: usize| {
            h.classes
                .iter()
                .find(|e| e.0 == c)
                .map_or((0.0, 0.0), |e| (e.1 as f64, e.2 as f64))
        };
        let mut classes: Vec<usize> = before
            .classes
            .iter()
            .chain(&self.classes)
            .map(|e| e.0)
            .collect();
        classes.sort_unstable();
        classes.dedup();
        let per = per as f64;
        classes
            .into_iter()
            .map(|c| {
                let ((n0, b0), (n1, b1)) = (find(before, c), find(self, c));
                Growth {
                    max_size: class_limit(c),
                    allocs: (n1 - n0) / per,
                    bytes: (b1 - b0) / per,
                }
            })
            .filter(|g| g.allocs != 0.0 || g.bytes != 0.0)
            .collect()
    }
}

/// The growth of one size class, per task or connection.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Growth {
    /// The largest size in the class.
    max_size: u64,
    /// Live allocations added.
    allocs: f64,
    /// Live bytes added.
    bytes: f64,
}

/// A growth by size class in words: the classes that gained at least 0.5 allocations per
/// unit, biggest share of bytes first, each as `ALLOCATIONS × MEAN SIZE`, then the bytes of
/// everything else as `other` (a grown queue buffer shared by all, for example):
/// `2.00 × 8,192 B + 1.00 × 600 B + 3 B other`.
fn describe_growth(growth: &[Growth]) -> String {
    let (mut main, rest): (Vec<Growth>, Vec<Growth>) = growth
        .iter()
        .partition(|g| g.allocs >= 0.5 && g.bytes > 0.0);
    main.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    let mut parts: Vec<String> = main
        .iter()
        .map(|g| format!("{:.2} × {} B", g.allocs, fmt_int(g.bytes / g.allocs)))
        .collect();
    let other: f64 = rest.iter().map(|g| g.bytes).sum();
    if other.abs() >= 0.5 || parts.is_empty() {
        parts.push(format!("{} B other", fmt_int(other)));
    }
    parts.join(" + ")
}

// ---------------------------------------------------------------------------------------
// Heap per idle task.

/// Polls of [`Idle`] futures so far.
static IDLE_POLLS: AtomicUsize = AtomicUsize::new(0);

/// A future that is never ready and counts its polls: `std::future::pending::<()>()` with a
/// counter. Zero-sized, so a task running it is exactly as large as one running `pending`.
struct Idle;

// The task allocations must be those of `std::future::pending::<()>()`.
const _: () = assert!(
    std::mem::size_of::<Idle>() == std::mem::size_of::<std::future::Pending<()>>()
        && std::mem::align_of::<Idle>() == std::mem::align_of::<std::future::Pending<()>>()
);

impl Future for Idle {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        IDLE_POLLS.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

/// The two runtimes compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rt {
    /// rawrt's multi-thread runtime.
    Rawrt,
    /// Tokio's multi-thread runtime.
    Tokio,
}

impl Rt {
    /// The name on the command line and in the JSON.
    fn id(self) -> &'static str {
        match self {
            Rt::Rawrt => "rawrt",
            Rt::Tokio => "tokio",
        }
    }

    /// Looks a runtime up by [`Rt::id`].
    fn from_id(id: &str) -> Option<Rt> {
        [Rt::Rawrt, Rt::Tokio].into_iter().find(|r| r.id() == id)
    }

    /// Round `round`'s order: rawrt first in even rounds, Tokio first in odd ones.
    fn order(round: usize) -> [Rt; 2] {
        if round % 2 == 0 {
            [Rt::Rawrt, Rt::Tokio]
        } else {
            [Rt::Tokio, Rt::Rawrt]
        }
    }
}

/// One runtime's idle-task measurement in one round.
#[derive(Clone, Debug)]
struct TaskSample {
    /// Live heap bytes added per task.
    bytes_per_task: f64,
    /// Live allocations added per task.
    allocs_per_task: f64,
    /// What was added per task, by size class.
    growth: Vec<Growth>,
    /// Live bytes left over once the handles and the runtime were dropped, compared with
    /// before the runtime was built (a leak check; a few bytes of lazily initialised
    /// globals are normal).
    left_after_drop: i64,
}

/// How long the tasks may take to be polled once.
const TASK_POLL_LIMIT: Duration = Duration::from_secs(60);

/// Measures `rt` with `workers` workers and `tasks` idle tasks (see the module docs).
fn measure_tasks(rt: Rt, workers: usize, tasks: usize) -> Result<TaskSample, String> {
    let start = HeapSnapshot::now();
    let sample = match rt {
        Rt::Rawrt => {
            let runtime = rawrt::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .map_err(|e| format!("building rawrt: {e}"))?;
            runtime
                .block_on(runtime.spawn(async {}))
                .map_err(|e| format!("rawrt warm-up task: {e:?}"))?;
            spawn_idle(tasks, || runtime.spawn(Idle))?
        }
        Rt::Tokio => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .map_err(|e| format!("building Tokio: {e}"))?;
            runtime
                .block_on(runtime.spawn(async {}))
                .map_err(|e| format!("Tokio warm-up task: {e}"))?;
            spawn_idle(tasks, || runtime.spawn(Idle))?
        }
    };
    let end = HeapSnapshot::now();
    Ok(TaskSample {
        left_after_drop: end.bytes as i64 - start.bytes as i64,
        ..sample
    })
}

/// Spawns `tasks` [`Idle`] tasks with `spawn`, waits until each has been polled, and returns
/// what they added to the heap. The handles are dropped before returning.
fn spawn_idle<H>(tasks: usize, mut spawn: impl FnMut() -> H) -> Result<TaskSample, String> {
    let mut handles: Vec<H> = Vec::with_capacity(tasks);
    let polls_before = IDLE_POLLS.load(Ordering::SeqCst);
    let before = HeapSnapshot::now();
    for _ in 0..tasks {
        handles.push(spawn());
    }
    let deadline = Instant::now() + TASK_POLL_LIMIT;
    loop {
        let polled = IDLE_POLLS.load(Ordering::SeqCst) - polls_before;
        if polled >= tasks {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {polled} of {tasks} tasks were polled within {TASK_POLL_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let after = HeapSnapshot::now();
    drop(handles);
    let n = tasks as f64;
    Ok(TaskSample {
        bytes_per_task: (after.bytes as f64 - before.bytes as f64) / n,
        allocs_per_task: (after.allocs as f64 - before.allocs as f64) / n,
        growth: after.heap().growth_since(&before.heap(), tasks),
        left_after_drop: 0,
    })
}

// ---------------------------------------------------------------------------------------
// The server child.

/// File descriptors each process needs beyond one per connection.
const FD_MARGIN: u64 = 256;

/// `--serve rawrt|tokio --workers N --connections N`: serves until stdin closes.
fn child_serve(args: &[String]) -> Result<(), String> {
    let id = args.first().ok_or("--serve needs rawrt or tokio")?;
    let rt = Rt::from_id(id).ok_or_else(|| format!("--serve {id:?}: rawrt or tokio"))?;
    let mut workers = 2;
    let mut connections = 1;
    for (flag, v) in split_flags(&args[1..], &["--workers", "--connections"], &[])? {
        match flag.as_str() {
            "--workers" => workers = number(&flag, &v, 1, 1024)?,
            _ => connections = number(&flag, &v, 1, 1_000_000)?,
        }
    }
    raise_fd_limit(connections)?;
    child::answer_stdin_commands(|command| match command {
        "heap" => HeapSnapshot::now().heap().to_answer(),
        other => format!("error: unknown command {other:?} (try heap)"),
    });
    let result = match rt {
        Rt::Rawrt => serve_rawrt(workers),
        Rt::Tokio => serve_tokio(workers),
    };
    result.map_err(|e| format!("{} server: {e}", rt.id()))
}

/// Raises this process's `RLIMIT_NOFILE` to `connections` plus [`FD_MARGIN`].
fn raise_fd_limit(connections: usize) -> Result<(), String> {
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

/// The "Hello, World!" service of `examples/hello.rs` and `examples/tokio_hello.rs`.
async fn hello(
    _req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, Infallible> {
    Ok(hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(b"Hello, World!"),
    )))
}

/// Tells the parent where we listen: one line on stdout, flushed.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// The loopback address with a port chosen by the kernel.
fn any_loopback_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// hyper `http1` on rawrt, like `examples/hello.rs` (HTTP/1.1 only, `TCP_NODELAY`).
fn serve_rawrt(workers: usize) -> io::Result<()> {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;

    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()?;
    rt.block_on(async {
        let listener = rawrt::net::TcpListener::bind(any_loopback_port()).await?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    rawrt::spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(stream, service_fn(hello))
                            .await;
                    });
                }
                Err(e) => {
                    eprintln!("memory --serve rawrt: accept: {e}");
                    rawrt::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// hyper `http1` on Tokio, like `examples/tokio_hello.rs` (HTTP/1.1 only, `TCP_NODELAY`).
fn serve_tokio(workers: usize) -> io::Result<()> {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(any_loopback_port()).await?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service_fn(hello))
                            .await;
                    });
                }
                Err(e) => {
                    eprintln!("memory --serve tokio: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// The client side and the /proc readings.

/// The request sent on every connection.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
/// The response body every request must get.
const BODY: &[u8] = b"Hello, World!";
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
/// an error if it is not a `200` with a `content-length`.
fn response_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200 ") {
        return Err(format!("unexpected status line {status:?}"));
    }
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .ok_or("response has no content-length")?
        .1
        .trim()
        .parse::<usize>()
        .map_err(|e| format!("bad content-length: {e}"))?;
    let total = end + 4 + length;
    Ok((buf.len() >= total).then_some(total))
}

/// Opens a connection to `addr`, sends [`REQUEST`] and reads the whole response; returns the
/// connection, still open (keep-alive).
fn open_and_request(addr: SocketAddr) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect_timeout(&addr, IO_LIMIT).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true)
        .and_then(|()| s.set_read_timeout(Some(IO_LIMIT)))
        .and_then(|()| s.write_all(REQUEST))
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
            if len != buf.len() || !buf.ends_with(BODY) {
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
fn status_bytes(status: &str, key: &str) -> Option<u64> {
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
struct Rss {
    /// Resident set size.
    vm_rss: u64,
    /// Its anonymous part (heap, stacks; not the mapped binary).
    rss_anon: u64,
}

/// Reads `/proc/PID/status`.
fn read_rss(pid: u32) -> Result<Rss, String> {
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
struct ServerSample {
    /// RSS after the warm-up request, no connection open.
    rss_idle: Rss,
    /// RSS with every connection open and idle.
    rss_loaded: Rss,
    /// Live heap with no connection open.
    heap_idle: Heap,
    /// Live heap with every connection open and idle.
    heap_loaded: Heap,
    /// The server's open file descriptors with every connection open.
    fds_loaded: usize,
}

impl ServerSample {
    /// The RSS with the connections (`with`) or without.
    fn rss(&self, with: bool) -> Rss {
        if with {
            self.rss_loaded
        } else {
            self.rss_idle
        }
    }

    /// The live heap with the connections (`with`) or without.
    fn heap(&self, with: bool) -> &Heap {
        if with {
            &self.heap_loaded
        } else {
            &self.heap_idle
        }
    }

    /// Per-connection figure of `f(loaded) - f(idle)`.
    fn per_conn(&self, connections: usize, f: impl Fn(&ServerSample, bool) -> u64) -> f64 {
        (f(self, true) as f64 - f(self, false) as f64) / connections as f64
    }
}

/// Starts a `rt` server child and measures it with `connections` connections.
fn measure_server(
    exe: &std::path::Path,
    rt: Rt,
    workers: usize,
    connections: usize,
) -> Result<ServerSample, String> {
    let mut cmd = Command::new(exe);
    cmd.args(["--serve", rt.id(), "--workers"])
        .arg(workers.to_string())
        .arg("--connections")
        .arg(connections.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let what = format!("the {} server", rt.id());
    let mut server = ChildGuard::spawn(cmd, &what)?;
    let pid = server.pid();
    let line = server.next_line(START_LIMIT)?;
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{what} printed {line:?}, not \"listening on ADDR\""))?;

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

// ---------------------------------------------------------------------------------------
// Options, the run, the report.

/// The command-line options.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Options {
    /// Worker threads of both runtimes.
    workers: usize,
    /// Idle tasks per runtime and round.
    tasks: usize,
    /// Idle connections per server and round.
    connections: usize,
    /// Rounds.
    rounds: usize,
}

impl Options {
    /// Parses the options (cargo bench's own `--bench` is accepted and ignored).
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            workers: 2,
            tasks: 100_000,
            connections: 10_000,
            rounds: 3,
        };
        let flags = split_flags(
            args,
            &["--workers", "--tasks", "--connections", "--rounds"],
            &["--bench"],
        )?;
        for (flag, v) in flags {
            match flag.as_str() {
                "--workers" => o.workers = number(&flag, &v, 1, 1024)?,
                "--tasks" => o.tasks = number(&flag, &v, 1, 10_000_000)?,
                "--connections" => o.connections = number(&flag, &v, 1, 1_000_000)?,
                "--rounds" => o.rounds = number(&flag, &v, 1, 100)?,
                _ => {} // --bench
            }
        }
        Ok(o)
    }
}

/// Parses `v`, the value of `flag`, as a number in `min..=max`.
fn number(flag: &str, v: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = v.parse().map_err(|e| format!("{flag} {v:?}: {e}"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("{flag} {n}: must be between {min} and {max}"));
    }
    Ok(n)
}

/// The median of `values` (the mean of the middle two for an even count; NaN when empty).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `rawrt / tokio` with two decimals, `—` when undefined.
fn ratio(rawrt: f64, tokio: f64) -> String {
    if tokio == 0.0 || !rawrt.is_finite() || !tokio.is_finite() {
        "—".to_string()
    } else {
        format!("{:.2}", rawrt / tokio)
    }
}

/// The target directory: `CARGO_TARGET_DIR` if absolute, else the nearest ancestor of this
/// executable holding cargo's `CACHEDIR.TAG`, else `./target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        if dir.is_absolute() {
            return dir;
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(|d| d.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Every round's samples.
#[derive(Default)]
struct Results {
    /// `(round, runtime, sample)` of the idle-task measurement.
    tasks: Vec<(usize, Rt, TaskSample)>,
    /// `(round, runtime, sample)` of the server measurement.
    servers: Vec<(usize, Rt, ServerSample)>,
}

impl Results {
    /// The median over the rounds of `f` of `rt`'s task samples.
    fn task_median(&self, rt: Rt, f: impl Fn(&TaskSample) -> f64) -> f64 {
        let v: Vec<f64> = self
            .tasks
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| f(&s.2))
            .collect();
        median(&v)
    }

    /// The median over the rounds of `f` of `rt`'s server samples.
    fn server_median(&self, rt: Rt, f: impl Fn(&ServerSample) -> f64) -> f64 {
        let v: Vec<f64> = self
            .servers
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| f(&s.2))
            .collect();
        median(&v)
    }

    /// `rt`'s task sample of the median round (by bytes per task).
    fn median_task(&self, rt: Rt) -> Option<&TaskSample> {
        let m = self.task_median(rt, |s| s.bytes_per_task);
        self.tasks
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| &s.2)
            .min_by(|a, b| {
                (a.bytes_per_task - m)
                    .abs()
                    .total_cmp(&(b.bytes_per_task - m).abs())
            })
    }

    /// `rt`'s server sample of the median round (by heap bytes per connection).
    fn median_server(&self, rt: Rt, connections: usize) -> Option<&ServerSample> {
        let per = |s: &ServerSample| s.per_conn(connections, |s, with| s.heap(with).bytes);
        let m = self.server_median(rt, per);
        self.servers
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| &s.2)
            .min_by(|a, b| (per(a) - m).abs().total_cmp(&(per(b) - m).abs()))
    }
}

/// Runs every round; progress on stderr.
fn run(o: &Options) -> Result<Results, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    raise_fd_limit(o.connections)?;
    let mut results = Results::default();
    for round in 0..o.rounds {
        eprintln!("round {}/{}", round + 1, o.rounds);
        for rt in Rt::order(round) {
            let s = measure_tasks(rt, o.workers, o.tasks)?;
            eprintln!(
                "  {:5} {} idle tasks: {:.1} B/task, {:.3} allocations/task",
                rt.id(),
                o.tasks,
                s.bytes_per_task,
                s.allocs_per_task
            );
            results.tasks.push((round, rt, s));
        }
        for rt in Rt::order(round) {
            eprintln!("  {:5} server, {} connections", rt.id(), o.connections);
            let s = measure_server(&exe, rt, o.workers, o.connections)?;
            eprintln!(
                "    VmRSS {} -> {} KiB, heap {} -> {} KiB",
                s.rss_idle.vm_rss / 1024,
                s.rss_loaded.vm_rss / 1024,
                s.heap_idle.bytes / 1024,
                s.heap_loaded.bytes / 1024
            );
            results.servers.push((round, rt, s));
        }
    }
    Ok(results)
}

/// One row of the table.
struct Line {
    /// The metric.
    label: String,
    /// rawrt's cell.
    rawrt: String,
    /// Tokio's cell.
    tokio: String,
    /// The ratio cell.
    ratio: String,
    /// How it was measured.
    method: String,
    /// For numeric rows: the JSON key and rawrt's and Tokio's medians.
    values: Option<(&'static str, f64, f64)>,
}

impl Line {
    /// A numeric row: the medians, written with `fmt`, and their ratio.
    fn metric(
        key: &'static str,
        label: impl Into<String>,
        (rawrt, tokio): (f64, f64),
        fmt: fn(f64) -> String,
        method: impl Into<String>,
    ) -> Line {
        Line {
            label: label.into(),
            rawrt: fmt(rawrt),
            tokio: fmt(tokio),
            ratio: ratio(rawrt, tokio),
            method: method.into(),
            values: Some((key, rawrt, tokio)),
        }
    }

    /// A row of words (no ratio).
    fn text(label: &str, (rawrt, tokio): (String, String), method: impl Into<String>) -> Line {
        Line {
            label: label.into(),
            rawrt,
            tokio,
            ratio: "—".into(),
            method: method.into(),
            values: None,
        }
    }
}

/// `n` bytes, grouped: `1,234 B`.
fn fmt_bytes(n: f64) -> String {
    format!("{} B", fmt_int(n))
}

/// `n` bytes in KiB, grouped: `1,234 KiB`.
fn fmt_kib(n: f64) -> String {
    format!("{} KiB", fmt_int(n / 1024.0))
}

/// The table's rows.
fn lines(o: &Options, r: &Results) -> Vec<Line> {
    let (n, c) = (fmt_int(o.tasks as f64), fmt_int(o.connections as f64));
    let both = |f: &dyn Fn(Rt) -> f64| (f(Rt::Rawrt), f(Rt::Tokio));
    let task = |f: fn(&TaskSample) -> f64| both(&|rt| r.task_median(rt, f));
    let server = |f: &dyn Fn(&ServerSample) -> f64| both(&|rt| r.server_median(rt, f));
    let per_conn = |f: fn(&ServerSample, bool) -> u64| {
        server(&|s: &ServerSample| s.per_conn(o.connections, f))
    };
    let words = |f: &dyn Fn(Rt) -> String| (f(Rt::Rawrt), f(Rt::Tokio));
    vec![
        Line::metric(
            "heap_bytes_per_task",
            "Heap per idle spawned task",
            task(|s| s.bytes_per_task),
            fmt_bytes,
            format!(
                "counting global allocator; {n} never-ready zero-sized tasks spawned from outside \
                 the runtime, all polled once: (live bytes after − before) / {n}; JoinHandles \
                 excluded (their Vec allocated before)"
            ),
        ),
        Line::text(
            "… by allocation (median round)",
            words(&|rt| {
                r.median_task(rt)
                    .map_or_else(|| "—".into(), |s| describe_growth(&s.growth))
            }),
            "live allocations added per task × their mean size; other: what is not one per \
             task (a queue's grown buffer)",
        ),
        Line::metric(
            "server_vm_rss_idle",
            "Server VmRSS, no connection",
            server(&|s| s.rss_idle.vm_rss as f64),
            fmt_kib,
            "hyper http1 \"Hello, World!\" server process, after one warm-up request on a \
             connection since closed; /proc/PID/status",
        ),
        Line::metric(
            "server_vm_rss_loaded",
            format!("Server VmRSS, {c} idle connections"),
            server(&|s| s.rss_loaded.vm_rss as f64),
            fmt_kib,
            format!(
                "{c} keep-alive connections from the bench process, one GET / answered on \
                 each, all left open and idle"
            ),
        ),
        Line::metric(
            "vm_rss_per_connection",
            "VmRSS per idle connection",
            per_conn(|s, with| s.rss(with).vm_rss),
            fmt_bytes,
            format!("(VmRSS with − without) / {c}"),
        ),
        Line::metric(
            "rss_anon_per_connection",
            "RssAnon per idle connection",
            per_conn(|s, with| s.rss(with).rss_anon),
            fmt_bytes,
            format!("(RssAnon with − without) / {c}"),
        ),
        Line::metric(
            "heap_bytes_per_connection",
            "Server heap per idle connection",
            per_conn(|s, with| s.heap(with).bytes),
            fmt_bytes,
            format!(
                "the server's own counting allocator, read once it stops changing: (live \
                 bytes with − without) / {c}"
            ),
        ),
        Line::text(
            "… by allocation (median round)",
            words(&|rt| {
                r.median_server(rt, o.connections).map_or_else(
                    || "—".into(),
                    |s| describe_growth(&s.heap_loaded.growth_since(&s.heap_idle, o.connections)),
                )
            }),
            "live allocations added per connection × their mean size",
        ),
    ]
}

/// The markdown table.
fn table(lines: &[Line]) -> String {
    let mut out = String::from(
        "| Metric | rawrt | Tokio | rawrt/Tokio | Method |\n|---|---:|---:|---:|---|\n",
    );
    for l in lines {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            l.label, l.rawrt, l.tokio, l.ratio, l.method
        ));
    }
    out
}

/// A growth by size class as JSON: `[{"max_size":..,"allocs":..,"bytes":..},...]`.
fn growth_json(growth: &[Growth]) -> Json {
    Json::Arr(
        growth
            .iter()
            .map(|g| {
                Json::obj()
                    .set("max_size", g.max_size)
                    .set("allocs", g.allocs)
                    .set("bytes", g.bytes)
            })
            .collect(),
    )
}

/// Everything, for `target/bench/memory.json`.
fn to_json(o: &Options, r: &Results, lines: &[Line]) -> Json {
    let mut medians = Json::obj();
    let mut numeric: Vec<(&str, f64, f64)> = lines.iter().filter_map(|l| l.values).collect();
    numeric.push((
        "heap_allocs_per_task",
        r.task_median(Rt::Rawrt, |s| s.allocs_per_task),
        r.task_median(Rt::Tokio, |s| s.allocs_per_task),
    ));
    let allocs_per_conn = |rt| {
        r.server_median(rt, |s| {
            s.per_conn(o.connections, |s, with| s.heap(with).allocs)
        })
    };
    numeric.push((
        "heap_allocs_per_connection",
        allocs_per_conn(Rt::Rawrt),
        allocs_per_conn(Rt::Tokio),
    ));
    for (key, rawrt, tokio) in numeric {
        medians = medians.set(
            key,
            Json::obj()
                .set("rawrt", rawrt)
                .set("tokio", tokio)
                .set("ratio", rawrt / tokio),
        );
    }
    let tasks: Vec<Json> = r
        .tasks
        .iter()
        .map(|(round, rt, s)| {
            Json::obj()
                .set("round", round + 1)
                .set("runtime", rt.id())
                .set("bytes_per_task", s.bytes_per_task)
                .set("allocs_per_task", s.allocs_per_task)
                .set("growth_per_task_by_size_class", growth_json(&s.growth))
                .set("bytes_left_after_drop", s.left_after_drop as f64)
        })
        .collect();
    let rss = |x: Rss| {
        Json::obj()
            .set("vm_rss", x.vm_rss)
            .set("rss_anon", x.rss_anon)
    };
    let heap = |h: &Heap| Json::obj().set("bytes", h.bytes).set("allocs", h.allocs);
    let servers: Vec<Json> = r
        .servers
        .iter()
        .map(|(round, rt, s)| {
            let growth = s.heap_loaded.growth_since(&s.heap_idle, o.connections);
            Json::obj()
                .set("round", round + 1)
                .set("runtime", rt.id())
                .set("rss_no_connection", rss(s.rss_idle))
                .set("rss_connections", rss(s.rss_loaded))
                .set("heap_no_connection", heap(&s.heap_idle))
                .set("heap_connections", heap(&s.heap_loaded))
                .set("growth_per_connection_by_size_class", growth_json(&growth))
                .set("server_fds_with_connections", s.fds_loaded)
        })
        .collect();
    let handle_sizes = Json::obj()
        .set("rawrt", std::mem::size_of::<rawrt::task::JoinHandle<()>>())
        .set("tokio", std::mem::size_of::<tokio::task::JoinHandle<()>>());
    Json::obj()
        .set("bench", "memory")
        .set("workers", o.workers)
        .set("tasks", o.tasks)
        .set("connections", o.connections)
        .set("rounds", o.rounds)
        .set(
            "cores",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        )
        .set("join_handle_bytes", handle_sizes)
        .set("medians", medians)
        .set("task_rounds", Json::Arr(tasks))
        .set("server_rounds", Json::Arr(servers))
}

/// The self-checks of the parsing and formatting helpers, run by `cargo test --benches`
/// (which runs this binary without `--bench`). Panics on a failure.
pub(crate) fn self_check() {
    // /proc/PID/status fields.
    let status = "Name:\tmemory\nVmPeak:\t  20000 kB\nVmRSS:\t    4321 kB\n\
                  RssAnon:\t    1200 kB\nRssFile:\t 3121 kB\nThreads:\t3\n";
    assert_eq!(status_bytes(status, "VmRSS"), Some(4321 * 1024));
    assert_eq!(status_bytes(status, "RssAnon"), Some(1200 * 1024));
    assert_eq!(status_bytes(status, "Rss"), None);
    assert_eq!(status_bytes(status, "Threads"), None); // no kB: not a size
    let own = read_rss(std::process::id()).expect("own /proc status");
    assert!(own.vm_rss > 0 && own.rss_anon <= own.vm_rss);

    // Responses, whole and partial.
    let resp = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ndate: x\r\n\r\nHello, World!";
    assert_eq!(response_len(resp), Ok(Some(resp.len())));
    assert_eq!(response_len(&resp[..resp.len() - 1]), Ok(None));
    assert_eq!(response_len(&resp[..20]), Ok(None));
    assert!(response_len(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_err());
    assert!(response_len(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    assert_eq!(
        response_len(b"HTTP/1.1 200 OK\r\nContent-Length:0\r\n\r\nX"),
        Ok(Some(37))
    );

    // The servers' heap answers, and growth by size class.
    let before = Heap::from_answer("1000 3 13:1:104 131:2:16384").unwrap();
    assert_eq!(before.to_answer(), "1000 3 13:1:104 131:2:16384");
    assert_eq!(Heap::from_answer("123 4").unwrap().classes, vec![]);
    for bad in [
        "123",
        "error: unknown command",
        "1 2 3",
        "1 2 3:4",
        "1 2 999:1:1",
    ] {
        assert!(Heap::from_answer(bad).is_err(), "{bad}");
    }
    let after = Heap::from_answer("1000 3 13:3:312 16:2:256 131:4:32768 140:1:2000").unwrap();
    let growth = after.growth_since(&before, 2);
    assert_eq!(
        growth,
        vec![
            Growth {
                max_size: 104,
                allocs: 1.0,
                bytes: 104.0
            },
            Growth {
                max_size: 128,
                allocs: 1.0,
                bytes: 128.0
            },
            Growth {
                max_size: 8192,
                allocs: 1.0,
                bytes: 8192.0
            },
            Growth {
                max_size: 1 << 22,
                allocs: 0.5,
                bytes: 1000.0
            },
        ]
    );
    assert_eq!(
        describe_growth(&growth),
        "1.00 × 8,192 B + 0.50 × 2,000 B + 1.00 × 128 B + 1.00 × 104 B"
    );
    let queue = Growth {
        max_size: 1 << 20,
        allocs: 0.00001,
        bytes: 2.6,
    };
    assert_eq!(
        describe_growth(&[growth[0], queue]),
        "1.00 × 104 B + 3 B other"
    );
    assert_eq!(describe_growth(&[]), "0 B other");
    let live = HeapSnapshot::now().heap();
    assert_eq!(live.classes.iter().map(|c| c.1).sum::<u64>(), live.allocs);

    // Options.
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let o = Options::parse(&args("--bench --workers 4 --tasks=1000 --rounds 1")).unwrap();
    assert_eq!(
        (o.workers, o.tasks, o.connections, o.rounds),
        (4, 1000, 10_000, 1)
    );
    assert!(Options::parse(&args("--workers 0")).is_err());
    assert!(Options::parse(&args("--connections")).is_err());
    assert!(Options::parse(&args("--frobnicate")).is_err());

    // Formatting and medians.
    assert_eq!(fmt_int(1_234_567.6), "1,234,568");
    assert_eq!(fmt_int(999.0), "999");
    assert_eq!(fmt_int(-1234.0), "-1,234");
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0]), 2.5);
    assert_eq!(ratio(1.0, 0.0), "—");
    for size in [
        1,
        8,
        9,
        104,
        1024,
        1025,
        2048,
        8192,
        8193,
        1 << 30,
        usize::MAX,
    ] {
        let c = class_of(size);
        assert!(c < CLASSES && size as u64 <= class_limit(c), "{size}");
        assert!(c == 1 || size as u64 > class_limit(c - 1), "{size}");
    }
    assert_eq!(
        (class_of(104), class_of(1025), class_of(8192)),
        (13, 129, 131)
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return match child_serve(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("memory --serve: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !args.iter().any(|a| a == "--bench") {
        self_check();
        println!("memory bench: self-checks passed; run with cargo bench --bench memory (--help for options)");
        return ExitCode::SUCCESS;
    }
    let o = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("memory bench: {e} (try --help)");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "memory bench: {} workers, {} tasks, {} connections, {} rounds",
        o.workers, o.tasks, o.connections, o.rounds
    );
    let started = Instant::now();
    let results = match run(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("memory bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lines = lines(&o, &results);
    print!("{}", table(&lines));
    let dir = target_dir().join("bench");
    let path = dir.join("memory.json");
    let json = format!("{:#}\n", to_json(&o, &results, &lines));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        Ok(()) => eprintln!(
            "memory bench: wrote {} ({:.1} s)",
            path.display(),
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("memory bench: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
