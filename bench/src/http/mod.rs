//! The HTTP benchmark, `cargo bench -p rawrt-bench --bench http`: the README's benchmark
//! table (issue #4). The bench target (`bench/benches/http.rs`) parses the command line
//! and calls [`run()`], [`serve`] or [`load`].
//!
//! Five architectures answer `GET /` with `200 OK` / `Hello, World!` over HTTP/1.1
//! keep-alive ([`crate::servers`]): a single-threaded blocking server, one thread per
//! connection, hyper on rawrt (raw epoll), hyper on rawrt's mio backend, and hyper on Tokio.
//! Each runs in its own process, and the load comes from yet another process: the built-in
//! closed-loop generator ([`crate::load`]) or `wrk` (`--wrk`). The benchmark binary plays
//! all these parts by re-executing itself (`--serve ...` is [`serve`], `--load ...` is
//! [`load`]).
//!
//! rawrt's backend is a compile-time choice (rawrt-bench's feature `mio`, which enables
//! rawrt's), so one binary holds one backend. Built without the feature (the usual case),
//! the benchmark first builds its own mio twin with a nested cargo in `target/bench-mio`
//! ([`crate::mio_build`]; a few minutes the first time, about a second once cached) and
//! runs that as the mio row's server. Built with it, its own rawrt server is the mio row,
//! and the raw-epoll row says so.
//!
//! A run ([`run()`], in named steps): start every server, warm each up, then `--rounds`
//! rounds in which every server is measured once, the order alternating (A B C D,
//! D C B A, ...) so that drift (thermal, neighbours) does not favour one side. Syscalls per
//! request ([`crate::syscalls`]): the rawrt rows read rawrt's own counters, asking the
//! server process for a snapshot (`stats` on its stdin) before and after every load; the
//! other rows are counted by `perf stat` in round 1, which also runs on the rawrt rows
//! there as a cross-check of the counters. The medians per row make one markdown table on
//! stdout ([`crate::report`]); everything, every round included, also goes to
//! `target/bench/http.json`, and a chart ([`crate::svg`]) to `target/bench/http.svg`.
//! Progress goes to stderr.
//!
//! Every child process is held by a guard that kills it on drop ([`crate::child`]), every
//! wait has a time limit, and everything listens and connects on 127.0.0.1 only.

mod cpus;
mod header;
mod plan;
mod run;

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::{num, split_flags};
use crate::load::LoadParams;
use crate::servers::{self, Kind};

pub use plan::Plan;
pub use run::run;

/// The benchmark's `--help`.
pub const USAGE: &str = "\
http: rawrt's HTTP/1.1 \"Hello, World!\" benchmark (issue #4)

usage: cargo bench -p rawrt-bench --bench http [-- OPTIONS]

Starts every server in its own process, loads each one from another process, and prints
one markdown table of medians over the rounds. Also writes target/bench/http.json (all
rounds, machine, parameters) and target/bench/http.svg (chart). Progress goes to stderr.
With the defaults it takes about 90 s on 2 cores, plus building the mio variant first:
rawrt's backend is chosen at compile time, so the rawrt-mio row runs this benchmark built
again with --features mio, in target/bench-mio (a few minutes the first time, as it compiles
the dependencies again; about a second once cached). Syscalls/req: rawrt's own counters for
the rawrt rows, perf for the others.

options:
  --duration SECS   measured seconds per server and round (default 5)
  --rounds N        rounds; the server order alternates A B C D / D C B A (default 3)
  --warmup SECS     unmeasured warm-up of each server before round 1 (default 1; 0: none)
  --connections N   keep-alive connections (default 50 x cores, at most 500)
  --threads N       load-generator threads (default max(1, cores / 2))
  --workers N       worker threads of the async servers (default: all cores)
  --load-cpus LIST  CPUs the load generator may run on, as taskset -c writes them (0,2-3),
                    or `all` (default: the last --threads allowed CPUs, when at least two
                    are allowed), so the load cannot take more than its share
  --server-cpus LIST
                    CPUs the servers may run on, or `all` (default: all; `rest` gives them
                    the allowed CPUs the load does not get, so the two never share a CPU)
  --timeout SECS    request timeout of the load generator (default 1)
  --only LIST       comma-separated subset of: blocking,threads,rawrt,rawrt-mio,tokio
  --wrk             load with wrk (installed separately) instead of the built-in generator
  --no-syscalls     leave the Syscalls/req column empty (no counters, no perf)
  -h, --help        this text

A quick run: cargo bench -p rawrt-bench --bench http -- --duration 3 --rounds 1

Internal modes (the benchmark re-executes itself; each exits when its stdin closes):
  --serve KIND --addr 127.0.0.1:PORT --workers N
      stdin: SEQ stats -> stdout: SEQ {rawrt's syscall counters, one line of JSON}
  --load --addr 127.0.0.1:PORT --connections N --threads N --duration-ms MS --timeout-ms MS
";

/// The `--serve KIND --addr ADDR --workers N` mode: serves until stdin closes.
pub fn serve(args: &[String]) -> Result<(), String> {
    let id = args.first().ok_or("--serve needs a server kind")?;
    let kind = Kind::parse(id)?;
    let mut addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut workers = default_workers();
    for (flag, v) in split_flags(&args[1..], &["--addr", "--workers"], &[])? {
        match flag.as_str() {
            "--addr" => addr = parse_loopback(&v)?,
            _ => workers = num(&flag, &v, 1..=1024)?,
        }
    }
    crate::child::answer_stdin_commands(move |command| servers::answer(kind, command));
    servers::serve(kind, addr, workers)
}

/// The `--load --addr ADDR --connections N --threads N --duration-ms MS --timeout-ms MS`
/// mode: runs the built-in load generator and prints its result as one JSON line.
pub fn load(args: &[String]) -> Result<(), String> {
    let mut p = LoadParams {
        addr: ([127, 0, 0, 1], 80).into(),
        connections: 1,
        threads: 1,
        duration: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
    };
    let mut have_addr = false;
    let flags = split_flags(
        args,
        &[
            "--addr",
            "--connections",
            "--threads",
            "--duration-ms",
            "--timeout-ms",
        ],
        &[],
    )?;
    for (flag, v) in flags {
        match flag.as_str() {
            "--addr" => {
                p.addr = parse_loopback(&v)?;
                have_addr = true;
            }
            "--connections" => p.connections = num(&flag, &v, 1..=100_000)?,
            "--threads" => p.threads = num(&flag, &v, 1..=1024)?,
            "--duration-ms" => p.duration = Duration::from_millis(num(&flag, &v, 1..=3_600_000)?),
            _ => p.timeout = Duration::from_millis(num(&flag, &v, 1..=600_000)?),
        }
    }
    if !have_addr {
        return Err("--load needs --addr".into());
    }
    crate::child::exit_when_stdin_closes();
    let r = crate::load::run_builtin(&p)?;
    println!("{}", r.to_json());
    Ok(())
}

/// Parses an `--addr` value, which must be a loopback address.
fn parse_loopback(v: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = v.parse().map_err(|e| format!("--addr {v:?}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("--addr {v}: loopback addresses only"));
    }
    Ok(addr)
}

/// The async servers' worker threads by default: all cores.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::words as args;

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for bad in [
            "--frobnicate",
            "--duration",
            "--duration abc",
            "--duration 0",
            "--rounds 0",
            "--rounds -1",
            "--only nginx",
            "--only ,",
            "--wrk=yes",
            "--connections 99999999999999999999",
            "--load-cpus",
            "--load-cpus 2-1",
            "--server-cpus x",
        ] {
            let e = Plan::from_args(&args(bad), 2).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(serve(&args("nginx")).is_err());
        assert!(serve(&args("rawrt --addr 10.0.0.1:80")).is_err());
        assert!(load(&args("--connections 5")).is_err());
    }
}
