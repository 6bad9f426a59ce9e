//! The memory benchmark, `cargo bench -p rawrt-bench --bench memory`: what rawrt costs in
//! memory next to Tokio, same worker count (2 by default, `--workers N`), measured in the
//! same run. The bench target (`bench/benches/memory.rs`) installs the counting allocator
//! ([`Counting`]) and calls [`run`] with the parsed [`Options`], or [`serve`] in its server
//! children. Two measurements:
//!
//! **Heap per idle spawned task.** This binary's global allocator is the system allocator wrapped
//! in a counter ([`Counting`]): live bytes and live allocations, in all and per size class (8-byte
//! classes up to 1 KiB, then powers of two), in relaxed atomics. In this process, for each runtime:
//! build it with N workers, run one warm-up task to completion (so that anything a runtime
//! allocates lazily on its first spawn is not charged to the tasks), allocate the `Vec` that will
//! hold the `JoinHandle`s (with its full capacity, *before* the first snapshot, so handles cost
//! nothing in the figure), take a snapshot, spawn `--tasks` tasks from the main thread (a remote
//! spawn, through each runtime's global queue), wait until every task has been polled once, take a
//! second snapshot, and report `(live bytes after − before) / tasks`. The tasks run `Idle`: a
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
//! server process (this binary re-executed as `--serve rawrt|tokio --workers N`) runs the
//! hyper 1.x `http1` "Hello, World!" server of the HTTP benchmark's rawrt or Tokio row
//! ([`crate::servers`], like `examples/hello.rs` and `examples/tokio_hello.rs`: `TCP_NODELAY`,
//! HTTP/1.1 only), and prints `listening on http://127.0.0.1:PORT`. This process is
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
//! Every child process is held by a guard that kills it on drop ([`crate::child`]), every
//! wait has a time limit, and everything listens and connects on 127.0.0.1 only.
//! `RLIMIT_NOFILE` is raised in both processes (`rawrt_sys::resource`) to the connections plus
//! a margin; past the hard limit the run stops with an error that says so.

mod alloc;
mod report;
mod server;
mod tasks;

use std::time::Instant;

use crate::cli::{num, split_flags};
use crate::util::{display_path, median, write_results};
use server::{measure_server, raise_fd_limit, ServerSample};
use tasks::{measure_tasks, Rt, TaskSample};

pub use alloc::Counting;
pub use server::serve;

/// The benchmark's `--help`.
pub const USAGE: &str = "\
memory: rawrt's memory next to Tokio's, same worker count, same run

usage: cargo bench -p rawrt-bench --bench memory [-- OPTIONS]

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
      stdout: listening on http://127.0.0.1:PORT
      stdin: SEQ heap -> stdout: SEQ BYTES ALLOCATIONS CLASS:ALLOCATIONS:BYTES...
";

/// The command-line options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Worker threads of both runtimes.
    pub(crate) workers: usize,
    /// Idle tasks per runtime and round.
    pub(crate) tasks: usize,
    /// Idle connections per server and round.
    pub(crate) connections: usize,
    /// Rounds.
    pub(crate) rounds: usize,
}

impl Options {
    /// Parses the options (cargo bench's own `--bench` is accepted and ignored).
    pub fn parse(args: &[String]) -> Result<Options, String> {
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
                "--workers" => o.workers = num(&flag, &v, 1..=1024)?,
                "--tasks" => o.tasks = num(&flag, &v, 1..=10_000_000)?,
                "--connections" => o.connections = num(&flag, &v, 1..=1_000_000)?,
                "--rounds" => o.rounds = num(&flag, &v, 1..=100)?,
                _ => {} // --bench
            }
        }
        Ok(o)
    }
}

/// Every round's samples.
#[derive(Default)]
pub(crate) struct Results {
    /// `(round, runtime, sample)` of the idle-task measurement.
    pub(crate) tasks: Vec<(usize, Rt, TaskSample)>,
    /// `(round, runtime, sample)` of the server measurement.
    pub(crate) servers: Vec<(usize, Rt, ServerSample)>,
}

impl Results {
    /// The median over the rounds of `f` of `rt`'s task samples.
    pub(crate) fn task_median(&self, rt: Rt, f: impl Fn(&TaskSample) -> f64) -> f64 {
        let v: Vec<f64> = self
            .tasks
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| f(&s.2))
            .collect();
        median(&v)
    }

    /// The median over the rounds of `f` of `rt`'s server samples.
    pub(crate) fn server_median(&self, rt: Rt, f: impl Fn(&ServerSample) -> f64) -> f64 {
        let v: Vec<f64> = self
            .servers
            .iter()
            .filter(|s| s.1 == rt)
            .map(|s| f(&s.2))
            .collect();
        median(&v)
    }

    /// `rt`'s task sample of the median round (by bytes per task).
    pub(crate) fn median_task(&self, rt: Rt) -> Option<&TaskSample> {
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
    pub(crate) fn median_server(&self, rt: Rt, connections: usize) -> Option<&ServerSample> {
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
fn measure(o: &Options) -> Result<Results, String> {
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

/// The whole benchmark: every round (progress on stderr), then the table on stdout and
/// `target/bench/memory.json`.
pub fn run(o: &Options) -> Result<(), String> {
    eprintln!(
        "memory bench: {} workers, {} tasks, {} connections, {} rounds",
        o.workers, o.tasks, o.connections, o.rounds
    );
    let started = Instant::now();
    let results = measure(o)?;
    let lines = report::lines(o, &results);
    print!("{}", report::table(&lines));
    let json = format!("{:#}\n", report::to_json(o, &results, &lines));
    let paths = write_results(&[("memory.json", &json)])?;
    eprintln!(
        "memory bench: wrote {} ({:.1} s)",
        display_path(&paths[0]),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::alloc::{
        class_limit, class_of, describe_growth, Growth, Heap, HeapSnapshot, CLASSES,
    };
    use super::report::ratio;
    use super::server::{read_rss, response_len, status_bytes};
    use super::*;
    use crate::cli::tests::words as args;
    use crate::util::fmt_int;

    /// The self-checks of the parsing and formatting helpers.
    #[test]
    fn memory_bench_self_checks() {
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
}
