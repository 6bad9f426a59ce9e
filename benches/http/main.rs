//! `cargo bench --bench http`: the HTTP benchmark table of the README (issue #4).
//!
//! Five architectures answer `GET /` with `200 OK` / `Hello, World!` over HTTP/1.1
//! keep-alive ([`servers`]): a single-threaded blocking server, one thread per connection,
//! hyper on rawrt (raw epoll), hyper on rawrt's mio backend, and hyper on Tokio. Each runs
//! in its own process, and the load comes from yet another process: the built-in
//! closed-loop generator ([`load`]) or `wrk` (`--wrk`). The benchmark binary plays all these
//! parts by re-executing itself (`--serve ...`, `--load ...`).
//!
//! rawrt's backend is a compile-time choice (`--features mio`), so one binary holds one
//! backend. Built without the feature (the usual case), the benchmark first builds its own
//! mio twin with a nested cargo in `target/bench-mio` ([`mio_build`]; a few minutes the
//! first time, about a second once cached) and runs that as the mio row's server. Built
//! with it, its own rawrt server is the mio row, and the raw-epoll row says so.
//!
//! A run: start every server, warm each up, then `--rounds` rounds in which every server is
//! measured once, the order alternating (A B C D, D C B A, ...) so that drift (thermal,
//! neighbours) does not favour one side. Syscalls per request ([`syscalls`]): the rawrt
//! rows read rawrt's own counters, asking the server process for a snapshot (`stats` on its
//! stdin) before and after every load; the other rows are counted by `perf stat` in round
//! 1, which also runs on the rawrt rows there as a cross-check of the counters. The medians
//! per row make one markdown table on stdout ([`report`]); everything, every round
//! included, also goes to `target/bench/http.json`, and a chart to `target/bench/http.svg`.
//! Progress goes to stderr.
//!
//! Every child process is held by a guard that kills it on drop ([`child`]), every wait
//! has a time limit, and everything listens and connects on 127.0.0.1 only.
//!
//! `cargo test --benches` runs this binary without cargo bench's `--bench` argument; it
//! then prints a one-line hint and exits, so test runs stay fast (the pieces have their
//! unit tests in the modules).

mod child;
mod cli;
mod histogram;
mod json;
mod load;
mod mio_build;
mod proto;
mod report;
mod servers;
mod syscalls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use cli::split_flags;
use json::Json;
use load::{LoadParams, LoadResult};
use report::{Machine, Outcome, Round, Row};
use servers::{Kind, MIO_BUILD};
use syscalls::{Agreement, PerfSource, SyscallCounts};

const USAGE: &str = "\
http: rawrt's HTTP/1.1 \"Hello, World!\" benchmark (issue #4)

usage: cargo bench --bench http [-- OPTIONS]

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

A quick run: cargo bench --bench http -- --duration 3 --rounds 1

Internal modes (the benchmark re-executes itself; each exits when its stdin closes):
  --serve KIND --addr 127.0.0.1:PORT --workers N
      stdin: SEQ stats -> stdout: SEQ {rawrt's syscall counters, one line of JSON}
  --load --addr 127.0.0.1:PORT --connections N --threads N --duration-ms MS --timeout-ms MS
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => return child_mode("--serve", || child_serve(&args[1..])),
        Some("--load") => return child_mode("--load", || child_load(&args[1..])),
        _ => {}
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !args.iter().any(|a| a == "--bench") {
        println!("http bench: run with cargo bench --bench http (--help for options)");
        return ExitCode::SUCCESS;
    }
    let machine = Machine::detect();
    let plan = match Plan::from_args(&args, machine.cores) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("http bench: {e} (try --help)");
            return ExitCode::from(2);
        }
    };
    match run(&plan, &machine) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("http bench: some servers failed (see the table)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("http bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn child_mode(name: &str, f: impl FnOnce() -> Result<(), String>) -> ExitCode {
    match f() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `v` as the value of `flag`, within `range`.
fn num<T>(flag: &str, v: &str, range: std::ops::RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let n: T = v.trim().parse().map_err(|e| format!("{flag} {v:?}: {e}"))?;
    if !range.contains(&n) {
        return Err(format!(
            "{flag} {v}: must be between {} and {}",
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

fn secs(flag: &str, v: &str, range: std::ops::RangeInclusive<f64>) -> Result<Duration, String> {
    num(flag, v, range).map(Duration::from_secs_f64)
}

/// `--serve KIND --addr ADDR --workers N`.
fn child_serve(args: &[String]) -> Result<(), String> {
    let id = args.first().ok_or("--serve needs a server kind")?;
    let kind = Kind::from_id(id).ok_or_else(|| {
        let ids: Vec<&str> = Kind::ALL.iter().map(|k| k.id()).collect();
        format!("unknown server {id:?} (one of {})", ids.join(", "))
    })?;
    let mut addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut workers = default_workers();
    for (flag, v) in split_flags(&args[1..], &["--addr", "--workers"], &[])? {
        match flag.as_str() {
            "--addr" => addr = parse_loopback(&v)?,
            _ => workers = num(&flag, &v, 1..=1024)?,
        }
    }
    child::answer_stdin_commands(move |command| servers::answer(kind, command));
    servers::serve(kind, addr, workers)
}

/// `--load --addr ADDR --connections N --threads N --duration-ms MS --timeout-ms MS`:
/// prints one JSON line.
fn child_load(args: &[String]) -> Result<(), String> {
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
    child::exit_when_stdin_closes();
    let r = load::run_builtin(&p)?;
    println!("{}", r.to_json());
    Ok(())
}

fn parse_loopback(v: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = v.parse().map_err(|e| format!("--addr {v:?}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("--addr {v}: loopback addresses only"));
    }
    Ok(addr)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What to run, with the defaults resolved for this machine.
#[derive(Debug, Clone)]
struct Plan {
    kinds: Vec<Kind>,
    duration: Duration,
    rounds: usize,
    warmup: Duration,
    connections: usize,
    threads: usize,
    workers: usize,
    timeout: Duration,
    wrk: bool,
    no_syscalls: bool,
    /// CPUs of the load generator and of the servers (`None`: not pinned).
    load_cpus: Option<Vec<usize>>,
    server_cpus: Option<Vec<usize>>,
    /// Where each of connections / threads / workers came from, for the header.
    why_connections: String,
    why_threads: String,
    why_workers: String,
}

impl Plan {
    fn from_args(args: &[String], cores: usize) -> Result<Plan, String> {
        let flags = split_flags(
            args,
            &[
                "--duration",
                "--rounds",
                "--warmup",
                "--connections",
                "--threads",
                "--workers",
                "--timeout",
                "--only",
                "--load-cpus",
                "--server-cpus",
            ],
            &["--wrk", "--no-syscalls", "--bench"],
        )?;
        let mut plan = Plan {
            kinds: Kind::ALL.to_vec(),
            duration: Duration::from_secs(5),
            rounds: 3,
            warmup: Duration::from_secs(1),
            // 50 per core: enough queued connections that every worker always has work;
            // capped to stay far from fd and listen-backlog limits.
            connections: (50 * cores).min(500),
            // The load generator gets half the cores, so it cannot starve the server.
            threads: (cores / 2).max(1),
            workers: cores,
            // A hello-world answer over loopback that takes a second has failed; shorter than
            // the run, so connections a server leaves waiting show up as timeouts.
            timeout: Duration::from_secs(1),
            wrk: false,
            no_syscalls: false,
            why_connections: format!("default: 50 x {cores} cores, at most 500"),
            why_threads: "default: max(1, cores / 2), so the load leaves the other cores to \
                          the server"
                .into(),
            why_workers: "default: all cores".into(),
            load_cpus: None,
            server_cpus: None,
        };
        let (mut load_cpus, mut server_cpus, mut server_rest) = (None, None, false);
        for (flag, v) in flags {
            match flag.as_str() {
                "--duration" => plan.duration = secs(&flag, &v, 0.1..=3600.0)?,
                "--rounds" => plan.rounds = num(&flag, &v, 1..=100)?,
                "--warmup" => plan.warmup = secs(&flag, &v, 0.0..=600.0)?,
                "--connections" => {
                    plan.connections = num(&flag, &v, 1..=20_000)?;
                    plan.why_connections = "--connections".into();
                }
                "--threads" => {
                    plan.threads = num(&flag, &v, 1..=1024)?;
                    plan.why_threads = "--threads".into();
                }
                "--workers" => {
                    plan.workers = num(&flag, &v, 1..=1024)?;
                    plan.why_workers = "--workers".into();
                }
                "--timeout" => plan.timeout = secs(&flag, &v, 0.1..=600.0)?,
                "--load-cpus" => load_cpus = Some(cpu_list(&flag, &v)?),
                "--server-cpus" if v.trim() == "rest" => server_rest = true,
                "--server-cpus" => {
                    server_cpus = Some(cpu_list(&flag, &v)?);
                    server_rest = false;
                }
                "--only" => {
                    let mut kinds = Vec::new();
                    for id in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let k = Kind::from_id(id).ok_or_else(|| {
                            let ids: Vec<&str> = Kind::ALL.iter().map(|k| k.id()).collect();
                            format!("--only: unknown server {id:?} (one of {})", ids.join(","))
                        })?;
                        if !kinds.contains(&k) {
                            kinds.push(k);
                        }
                    }
                    if kinds.is_empty() {
                        return Err("--only needs at least one server".into());
                    }
                    // Keep table order.
                    plan.kinds = Kind::ALL
                        .into_iter()
                        .filter(|k| kinds.contains(k))
                        .collect();
                }
                "--wrk" => plan.wrk = true,
                "--no-syscalls" => plan.no_syscalls = true,
                _ => {} // --bench
            }
        }
        let allowed = rawrt_sys::sched::affinity().map_err(|e| format!("CPU affinity: {e}"))?;
        (plan.load_cpus, plan.server_cpus) =
            split_cpus(&allowed, plan.threads, load_cpus, server_cpus, server_rest);
        if plan.wrk {
            // wrk takes whole seconds.
            plan.duration = Duration::from_secs(plan.duration.as_secs_f64().ceil() as u64);
            plan.timeout = Duration::from_secs(plan.timeout.as_secs_f64().ceil() as u64);
        }
        Ok(plan)
    }

    fn load_params(&self, addr: SocketAddr, duration: Duration) -> LoadParams {
        LoadParams {
            addr,
            connections: self.connections,
            threads: self.threads,
            duration,
            timeout: self.timeout,
        }
    }

    fn as_json(&self, generator: &str, syscalls: &str) -> Json {
        Json::obj()
            .set(
                "servers",
                self.kinds
                    .iter()
                    .map(|k| Json::from(k.id()))
                    .collect::<Vec<_>>(),
            )
            .set("generator", generator)
            .set("connections", self.connections)
            .set("load_threads", self.threads)
            .set("workers", self.workers)
            .set("load_cpus", fmt_cpus(self.load_cpus.as_deref()))
            .set("server_cpus", fmt_cpus(self.server_cpus.as_deref()))
            .set("duration_s", self.duration.as_secs_f64())
            .set("warmup_s", self.warmup.as_secs_f64())
            .set("rounds", self.rounds)
            .set("request_timeout_s", self.timeout.as_secs_f64())
            .set("syscalls", syscalls)
    }
}

/// Parses the value of `--load-cpus` / `--server-cpus`: `all` (`None`, not pinned) or a
/// CPU list.
fn cpu_list(flag: &str, v: &str) -> Result<Option<Vec<usize>>, String> {
    if v.trim() == "all" {
        return Ok(None);
    }
    rawrt_sys::sched::parse_cpu_list(v)
        .map(Some)
        .map_err(|e| format!("{flag}: {e}"))
}

/// Resolves the CPUs of the load and of the servers. An explicit choice (`Some(list)` or
/// `Some(None)` for `all`) wins. By default, when at least two CPUs are allowed, the load
/// gets the last `threads` of them (leaving at least one), and the servers every CPU, as
/// on a machine where the server is not alone. `rest` (`server_rest`) gives the servers
/// the allowed CPUs the load does not get instead.
fn split_cpus(
    allowed: &[usize],
    threads: usize,
    load: Option<Option<Vec<usize>>>,
    server: Option<Option<Vec<usize>>>,
    server_rest: bool,
) -> (Option<Vec<usize>>, Option<Vec<usize>>) {
    let n = allowed.len();
    let default_load = (n >= 2).then(|| allowed[n - threads.clamp(1, n - 1)..].to_vec());
    let load = load.unwrap_or(default_load);
    let server = if server_rest {
        load.as_ref().map(|l| {
            let rest: Vec<usize> = allowed.iter().copied().filter(|c| !l.contains(c)).collect();
            if rest.is_empty() {
                allowed.to_vec()
            } else {
                rest
            }
        })
    } else {
        server.unwrap_or(None)
    };
    (load, server)
}

/// Runs `f` with the calling thread restricted to `cpus` (unchanged when `None`), then
/// restores its affinity: a process spawned inside `f` inherits `cpus`.
fn pinned<T>(cpus: Option<&[usize]>, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let Some(cpus) = cpus else {
        return f();
    };
    let before = rawrt_sys::sched::affinity().map_err(|e| format!("CPU affinity: {e}"))?;
    rawrt_sys::sched::set_affinity(cpus).map_err(|e| e.to_string())?;
    let out = f();
    rawrt_sys::sched::set_affinity(&before).map_err(|e| e.to_string())?;
    out
}

/// `0,2-3` for `[0, 2, 3]`; `all` for `None`.
fn fmt_cpus(cpus: Option<&[usize]>) -> String {
    let Some(cpus) = cpus else {
        return "all".into();
    };
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Seconds as `5 s` / `0.5 s`.
fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Which program serves a row.
#[derive(Debug, Clone, PartialEq)]
enum Provider {
    /// This binary.
    Own,
    /// This benchmark built again with `--features mio` ([`mio_build`]).
    MioVariant,
    /// No server for this row from this binary: why.
    Absent(String),
}

impl Provider {
    fn of(kind: Kind) -> Provider {
        match kind {
            Kind::Rawrt if MIO_BUILD => Provider::Absent(
                "not in this run: this binary is the mio build (--features mio), so its rawrt \
                 is the mio row"
                    .into(),
            ),
            Kind::RawrtMio if !MIO_BUILD => Provider::MioVariant,
            _ => Provider::Own,
        }
    }
}

/// A server process, or why there is none.
enum Slot {
    Running {
        guard: child::ChildGuard,
        addr: SocketAddr,
    },
    NotBuilt(String),
    Failed(String),
}

/// How long a server may take to answer `stats`.
const STATS_LIMIT: Duration = Duration::from_secs(5);

/// Starts `exe` as the server of row `kind` and waits until it listens. The rawrt rows run
/// `--serve rawrt` (on whichever backend `exe` was built with), and their backend is checked
/// with a first `stats`.
fn start_server(exe: &Path, kind: Kind, workers: usize) -> Result<Slot, String> {
    let serve = if kind.is_rawrt() { "rawrt" } else { kind.id() };
    let mut cmd = Command::new(exe);
    cmd.args(["--serve", serve, "--addr", "127.0.0.1:0", "--workers"])
        .arg(workers.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut guard = child::ChildGuard::spawn(cmd, &format!("{} server", kind.label()))?;
    let line = guard.next_line(Duration::from_secs(20))?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .ok_or_else(|| format!("{} server: unexpected first line {line:?}", kind.label()))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} server listens on {addr}, not loopback",
            kind.label()
        ));
    }
    if let Some(want) = kind.backend() {
        let (backend, _) = syscalls::parse_counters(&guard.ask("stats", STATS_LIMIT)?)
            .map_err(|e| format!("{} server: {e}", kind.label()))?;
        if backend != want {
            return Err(format!(
                "{} server runs on {backend}, not {want} ({})",
                kind.label(),
                exe.display()
            ));
        }
    }
    Ok(Slot::Running { guard, addr })
}

/// Whether `name` is an executable in `PATH`.
fn in_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(name);
            p.is_file()
                && std::fs::metadata(&p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
        })
    })
}

/// Runs one load against `addr` for `duration`, as a child process (built-in or wrk).
fn run_load(
    exe: &Path,
    plan: &Plan,
    addr: SocketAddr,
    duration: Duration,
) -> Result<LoadResult, String> {
    pinned(plan.load_cpus.as_deref(), || {
        run_load_unpinned(exe, plan, addr, duration)
    })
}

/// [`run_load`] on the calling thread's CPUs.
fn run_load_unpinned(
    exe: &Path,
    plan: &Plan,
    addr: SocketAddr,
    duration: Duration,
) -> Result<LoadResult, String> {
    let p = plan.load_params(addr, duration);
    let limit = duration + 2 * plan.timeout + Duration::from_secs(15);
    if plan.wrk {
        let mut cmd = Command::new("wrk");
        cmd.args(load::wrk_args(&p));
        let out = child::output_with_timeout(cmd, limit)?;
        if !out.success {
            return Err(format!(
                "wrk exited with {}: {}",
                out.status,
                out.stderr.trim()
            ));
        }
        return load::parse_wrk(&out.stdout);
    }
    let mut cmd = Command::new(exe);
    cmd.args(["--load", "--addr", &p.addr.to_string()])
        .args(["--connections", &p.connections.to_string()])
        .args(["--threads", &p.threads.to_string()])
        .args(["--duration-ms", &p.duration.as_millis().max(1).to_string()])
        .args(["--timeout-ms", &p.timeout.as_millis().max(1).to_string()]);
    let out = child::output_with_timeout(cmd, limit)?;
    if !out.success {
        return Err(format!(
            "load generator exited with {}: {}",
            out.status,
            out.stderr.trim()
        ));
    }
    let line = out
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("load generator printed no result: {}", out.stderr.trim()))?;
    LoadResult::from_json(&Json::parse(line)?)
}

/// The target directory: `CARGO_TARGET_DIR` if absolute, else the nearest ancestor of this
/// executable that holds cargo's `CACHEDIR.TAG`, else `./target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        if dir.is_absolute() {
            return dir;
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe
            .ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
        {
            return dir.to_path_buf();
        }
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// `path` relative to the current directory when it is inside it.
fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// The whole benchmark. `Ok(false)` when some server failed (the table still printed).
fn run(plan: &Plan, machine: &Machine) -> Result<bool, String> {
    let started = Instant::now();
    if plan.wrk && !in_path("wrk") {
        return Err("--wrk: wrk is not installed (apt-get install -y wrk)".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let perf = PerfSource::detect(plan.no_syscalls);
    let providers: Vec<(Kind, Provider)> =
        plan.kinds.iter().map(|&k| (k, Provider::of(k))).collect();
    let servers = providers
        .iter()
        .filter(|(_, p)| !matches!(p, Provider::Absent(_)))
        .count();
    let needs_mio = providers.iter().any(|(_, p)| *p == Provider::MioVariant);

    // The estimate: warm-up, rounds (plus about 0.2 s per load for process start-up and
    // the connections), perf's start-up and lead in round 1; the mio build comes first, on
    // top.
    let mio_dir = mio_build::target_dir(&target_dir());
    let perf_extra = if perf.available() { 1.2 } else { 0.0 };
    let estimate = servers as f64
        * (plan.warmup.as_secs_f64()
            + plan.rounds as f64 * (plan.duration.as_secs_f64() + 0.2)
            + perf_extra);
    eprintln!(
        "http bench: {servers} servers x {} round(s) x {}, {} warm-up each: about {:.0} s{}",
        plan.rounds,
        fmt_secs(plan.duration),
        fmt_secs(plan.warmup),
        estimate.ceil(),
        if needs_mio {
            format!(
                ", plus building the mio variant first ({})",
                mio_build::expected_time(&mio_dir)
            )
        } else {
            String::new()
        }
    );

    // The mio variant, before any server starts (the build would disturb the measurements).
    let mut mio_note = None;
    let mio_exe: Option<Result<PathBuf, String>> = needs_mio.then(|| {
        let dir = &mio_dir;
        eprintln!(
            "http bench: building the mio variant for the rawrt (mio backend) row: {}",
            mio_build::describe(Path::new(&display_path(dir)))
        );
        match mio_build::build(dir) {
            Ok((path, took)) => {
                eprintln!(
                    "http bench: mio variant ready after {:.1} s: {}",
                    took.as_secs_f64(),
                    display_path(&path)
                );
                mio_note = Some(format!(
                    "built by `{}` ({:.1} s in this run)",
                    mio_build::describe(Path::new(&display_path(dir))),
                    took.as_secs_f64()
                ));
                Ok(path)
            }
            Err(e) => {
                eprintln!("http bench: {e}; the rawrt (mio backend) row stays empty");
                Err(e)
            }
        }
    });
    let mio_built_in = started.elapsed();

    // Start every server first; they idle (blocked in accept / epoll_wait) while the
    // others are measured.
    let mut slots: Vec<(Kind, Slot)> = Vec::new();
    for (kind, provider) in providers {
        let server_exe = match (&provider, &mio_exe) {
            (Provider::Absent(why), _) => Err(Slot::NotBuilt(why.clone())),
            (Provider::MioVariant, Some(Err(why))) => Err(Slot::NotBuilt(why.clone())),
            (Provider::MioVariant, Some(Ok(path))) => Ok(path.as_path()),
            (Provider::MioVariant, None) => Err(Slot::Failed("mio variant not built".into())),
            (Provider::Own, _) => Ok(exe.as_path()),
        };
        let slot = match server_exe {
            Ok(path) => pinned(plan.server_cpus.as_deref(), || {
                start_server(path, kind, plan.workers)
            })
            .unwrap_or_else(Slot::Failed),
            Err(slot) => slot,
        };
        if let Slot::Failed(why) = &slot {
            eprintln!("http bench: {why}");
        }
        slots.push((kind, slot));
    }

    if !plan.warmup.is_zero() {
        for (kind, slot) in &slots {
            if let Slot::Running { addr, .. } = slot {
                if let Err(e) = run_load(&exe, plan, *addr, plan.warmup) {
                    eprintln!("http bench: warm-up of {}: {e}", kind.label());
                }
            }
        }
    }

    let mut rounds: Vec<Round> = Vec::new();
    for r in 0..plan.rounds {
        let mut order: Vec<usize> = (0..slots.len()).collect();
        if r % 2 == 1 {
            order.reverse();
        }
        let mut results: Vec<Option<Outcome>> = vec![None; slots.len()];
        for &i in &order {
            let (kind, slot) = &mut slots[i];
            let kind = *kind;
            let outcome = match slot {
                Slot::NotBuilt(why) => Outcome::NotBuilt(why.clone()),
                Slot::Failed(why) => Outcome::Failed(why.clone()),
                Slot::Running { guard, addr } => {
                    if guard.has_exited() {
                        Outcome::Failed("server process exited".into())
                    } else {
                        measure(&exe, plan, &perf, kind, guard, *addr, r == 0)
                    }
                }
            };
            eprintln!(
                "[round {}/{}] {}: {}",
                r + 1,
                plan.rounds,
                kind.label(),
                progress(&outcome)
            );
            results[i] = Some(outcome);
        }
        rounds.push(Round {
            order: order.iter().map(|&i| slots[i].0).collect(),
            results: slots
                .iter()
                .zip(results)
                .map(|((k, _), o)| (*k, o.unwrap_or_else(|| Outcome::Failed("not run".into()))))
                .collect(),
        });
    }
    drop(slots); // kills the servers

    let rows = report::summarize(&plan.kinds, &rounds);
    let generator = if plan.wrk {
        let p = plan.load_params(([127, 0, 0, 1], 0).into(), plan.duration);
        let args = load::wrk_args(&p);
        format!("wrk {} (--wrk)", args[..args.len() - 1].join(" "))
    } else {
        "built-in closed-loop generator (own process, epoll, one request in flight per \
         connection)"
            .to_string()
    };
    let syscalls_line = syscalls_header(plan, &perf);
    let mut header = vec![
        format!(
            "Machine: {} (cores from available_parallelism)",
            machine.describe()
        ),
        format!(
            "Servers: one process each; GET / answered with 200 \"Hello, World!\" \
             (content-length 13), HTTP/1.1 keep-alive, TCP_NODELAY; rawrt and Tokio: hyper \
             1.x http1 with {} worker threads ({})",
            plan.workers, plan.why_workers
        ),
    ];
    if let Some(line) = backends_header(plan, mio_note.as_deref()) {
        header.push(line);
    }
    header.extend([
        format!(
            "Load: {generator}; {} connections ({}), {} thread{} ({}); {} per run after a \
             {} warm-up; request timeout {}",
            plan.connections,
            plan.why_connections,
            plan.threads,
            if plan.threads == 1 { "" } else { "s" },
            plan.why_threads,
            fmt_secs(plan.duration),
            fmt_secs(plan.warmup),
            fmt_secs(plan.timeout)
        ),
        format!(
            "CPUs: load generator on {}, servers on {} (sched_setaffinity, inherited by \
             every thread; {})",
            fmt_cpus(plan.load_cpus.as_deref()),
            fmt_cpus(plan.server_cpus.as_deref()),
            match (&plan.load_cpus, &plan.server_cpus) {
                (Some(l), Some(s)) if !l.iter().any(|c| s.contains(c)) => {
                    "disjoint, so neither side can take the other's CPU time"
                }
                (Some(_), None) => {
                    "the load generator is held to its CPUs; the servers may use every CPU"
                }
                (None, None) => "nothing pinned",
                _ => "as given",
            }
        ),
        format!(
            "Rounds: {}, server order alternating (A B C D / D C B A); every cell is the \
             median over the rounds; latency is per request, from the client (closed loop)",
            plan.rounds
        ),
        format!("Syscalls/req: {syscalls_line}"),
    ]);
    let checks: Vec<String> = rows
        .iter()
        .filter_map(|(kind, row)| match row {
            Row::Measured {
                cross_check: Some(c),
                ..
            } => Some(format!(
                "{}: {}",
                kind.label(),
                c.agreement().describe(c.requests)
            )),
            _ => None,
        })
        .collect();
    if !checks.is_empty() {
        header.push(format!(
            "Syscalls/req cross-check, round 1 (counters and perf on the same run; perf's \
             futex and the counters' \"other\" left out): {}",
            checks.join("; ")
        ));
    }
    for other in [Kind::Tokio, Kind::RawrtMio] {
        if let Some(p) = report::Paired::of(&rounds, Kind::Rawrt, other) {
            header.push(format!(
                "Paired, {} / {}, round by round (both measured in each round): {}",
                Kind::Rawrt.label(),
                other.label(),
                p.describe()
            ));
        }
    }
    let title = "rawrt HTTP benchmark: GET / -> 200 \"Hello, World!\", HTTP/1.1 keep-alive, \
                 loopback";

    let table = report::table(&rows);
    println!("{title}\n");
    for line in &header {
        println!("- {line}");
    }
    println!();
    print!("{table}");

    let dir = target_dir().join("bench");
    let json_path = dir.join("http.json");
    let svg_path = dir.join("http.svg");
    let generator_id = if plan.wrk { "wrk" } else { "builtin" };
    let doc = report::to_json(
        machine,
        plan.as_json(generator_id, &syscalls_line),
        &rounds,
        &rows,
        &header,
    );
    let subtitles = vec![
        machine.describe(),
        format!(
            "{}: {} connections, {} load thread(s), {} x {} round(s), medians; servers: {} workers",
            if plan.wrk { "wrk" } else { "built-in load" },
            plan.connections,
            plan.threads,
            fmt_secs(plan.duration),
            plan.rounds,
            plan.workers
        ),
    ];
    let chart = report::svg(
        &rows,
        "rawrt HTTP benchmark: hello world, HTTP/1.1 keep-alive",
        &subtitles,
    );
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&json_path, format!("{doc:#}\n")))
        .and_then(|()| std::fs::write(&svg_path, chart))
        .map_err(|e| format!("writing {}: {e}", dir.display()))?;
    println!(
        "\nJSON: {} · chart: {}",
        display_path(&json_path),
        display_path(&svg_path)
    );
    eprintln!(
        "http bench: done in {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if needs_mio {
            format!(
                " ({:.1} s of it before the servers started: perf probe and mio build)",
                mio_built_in.as_secs_f64()
            )
        } else {
            String::new()
        }
    );
    Ok(!rows.iter().any(|(_, r)| matches!(r, Row::Failed(_))))
}

/// The rows of `plan` that have a server in this run, by label, with `pred`.
fn labels(plan: &Plan, pred: impl Fn(Kind) -> bool) -> Vec<&'static str> {
    plan.kinds
        .iter()
        .filter(|&&k| !matches!(Provider::of(k), Provider::Absent(_)) && pred(k))
        .map(|k| k.label())
        .collect()
}

/// The header line that says where the rawrt rows' servers come from (`None` without
/// rawrt rows). `mio_note`: how the mio variant was built, when it was.
fn backends_header(plan: &Plan, mio_note: Option<&str>) -> Option<String> {
    if !plan.kinds.iter().any(|k| k.is_rawrt()) {
        return None;
    }
    let how = if MIO_BUILD {
        "this binary is built with --features mio, so its rawrt server is the rawrt (mio \
         backend) row and the raw-epoll row stays empty; without the feature, one run \
         fills both"
            .to_string()
    } else if plan.kinds.contains(&Kind::RawrtMio) {
        format!(
            "rawrt (raw epoll) is this binary; rawrt (mio backend) is this benchmark built \
             again with --features mio (the backend is chosen at compile time), {}",
            mio_note.unwrap_or("whose build failed")
        )
    } else {
        "rawrt (raw epoll) is this binary".to_string()
    };
    Some(format!(
        "rawrt backends: {how}; each rawrt server's backend is checked through its stats \
         answer"
    ))
}

/// The Syscalls/req line of the header: which source each row used.
fn syscalls_header(plan: &Plan, perf: &PerfSource) -> String {
    if plan.no_syscalls {
        return "not measured: disabled with --no-syscalls".into();
    }
    let mut parts = Vec::new();
    let rawrt = labels(plan, Kind::is_rawrt);
    if !rawrt.is_empty() {
        parts.push(format!(
            "{}: rawrt's own counters (rawrt::stats::syscalls(): every call made through \
             rawrt-sys, by kind, \"other\" (socket set-up) included; std's futex calls are \
             not among them), a snapshot asked of the server process (`stats` on its stdin) \
             before and after each load, divided by the requests of that load, median over \
             the rounds{}",
            rawrt.join(", "),
            if perf.available() {
                "; perf also counts them in round 1, as a cross-check (http.json)"
            } else {
                ""
            }
        ));
    }
    let others = labels(plan, |k| !k.is_rawrt());
    if !others.is_empty() {
        parts.push(format!("{}: {}", others.join(", "), perf.describe()));
    }
    parts.join(". ")
}

/// Asks a rawrt server for its counters; `None` (and a message) if it does not answer.
fn counters(guard: &mut child::ChildGuard, kind: Kind) -> Option<SyscallCounts> {
    match guard
        .ask("stats", STATS_LIMIT)
        .and_then(|a| syscalls::parse_counters(&a))
    {
        Ok((_, c)) => Some(c),
        Err(e) => {
            eprintln!("http bench: {} counters: {e}", kind.label());
            None
        }
    }
}

/// Measures one server once. Syscalls: the rawrt rows' counters (a snapshot before and one
/// after the load), and in round 1 (`first_round`) perf, for every row.
fn measure(
    exe: &Path,
    plan: &Plan,
    perf: &PerfSource,
    kind: Kind,
    guard: &mut child::ChildGuard,
    addr: SocketAddr,
    first_round: bool,
) -> Outcome {
    let with_counters = kind.is_rawrt() && !plan.no_syscalls;
    // perf needs a moment to attach before the load starts; its window covers the load
    // and the counters' window.
    let lead = Duration::from_millis(300);
    let probe = if first_round {
        perf.start(
            guard.pid(),
            lead + plan.duration + Duration::from_millis(500),
        )
    } else {
        None
    };
    if probe.is_some() {
        std::thread::sleep(lead);
    }
    let before = if with_counters {
        counters(guard, kind)
    } else {
        None
    };
    let result = run_load(exe, plan, addr, plan.duration);
    let after = before.as_ref().and_then(|_| counters(guard, kind));
    match result {
        Ok(load) => {
            let perf_counts = probe.and_then(|p| match p.finish() {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("http bench: syscall count: {e}");
                    None
                }
            });
            let ours = before.zip(after).map(|(b, a)| a.since(&b));
            let (syscalls, perf_check) = if with_counters {
                (ours, perf_counts)
            } else {
                (perf_counts, None)
            };
            Outcome::Measured {
                load,
                syscalls,
                perf_check,
            }
        }
        Err(e) => Outcome::Failed(e),
    }
}

fn progress(o: &Outcome) -> String {
    match o {
        Outcome::Measured {
            load,
            syscalls,
            perf_check,
        } => {
            let sys = match syscalls {
                Some(s) if load.requests > 0 => {
                    format!(
                        ", {:.2} syscalls/req ({})",
                        s.total() as f64 / load.requests as f64,
                        s.source.id()
                    )
                }
                _ => String::new(),
            };
            let check = match (syscalls, perf_check) {
                (Some(ours), Some(perf)) => {
                    format!("; {}", Agreement::new(ours, perf).describe(load.requests))
                }
                _ => String::new(),
            };
            format!(
                "{} req/s, p50 {}, p99 {}, errors {}{sys}{check}",
                report::fmt_int(load.rps),
                report::fmt_latency(load.p50),
                report::fmt_latency(load.p99),
                report::fmt_errors(&load.errors)
            )
        }
        Outcome::NotBuilt(why) => why.clone(),
        Outcome::Failed(why) => format!("failed: {why}"),
    }
}

// Cargo compiles harness = false benches with `--cfg test` but without a test harness, so
// these tests only run from `tests/bench_http.rs`; here their helpers would look unused.
#[cfg(test)]
#[allow(dead_code, unused_imports)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults_scale_with_cores() {
        let p = Plan::from_args(&args("--bench"), 2).unwrap();
        assert_eq!((p.connections, p.threads, p.workers), (100, 1, 2));
        assert_eq!((p.duration, p.rounds), (Duration::from_secs(5), 3));
        let p = Plan::from_args(&[], 64).unwrap();
        assert_eq!((p.connections, p.threads, p.workers), (500, 32, 64));
    }

    #[test]
    fn flags() {
        let p = Plan::from_args(
            &args("--duration 3 --rounds=1 --only tokio,rawrt --workers 4 --wrk --bench"),
            2,
        )
        .unwrap();
        assert_eq!(p.duration, Duration::from_secs(3));
        assert_eq!(p.rounds, 1);
        assert_eq!(p.kinds, vec![Kind::Rawrt, Kind::Tokio]);
        assert_eq!(p.workers, 4);
        assert!(p.wrk);
        // wrk takes whole seconds.
        let p = Plan::from_args(&args("--duration 0.5 --wrk"), 2).unwrap();
        assert_eq!(p.duration, Duration::from_secs(1));
    }

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
        assert!(child_serve(&args("nginx")).is_err());
        assert!(child_serve(&args("rawrt --addr 10.0.0.1:80")).is_err());
        assert!(child_load(&args("--connections 5")).is_err());
    }

    #[test]
    fn cpus_are_split_between_load_and_servers() {
        let all = [0, 1, 2, 3];
        // Default: the load gets the last `threads` CPUs, the servers every CPU.
        assert_eq!(
            split_cpus(&all, 1, None, None, false),
            (Some(vec![3]), None)
        );
        assert_eq!(
            split_cpus(&all, 2, None, None, false),
            (Some(vec![2, 3]), None)
        );
        // `rest`: the servers get what the load does not, at least one CPU.
        assert_eq!(
            split_cpus(&all, 1, None, None, true),
            (Some(vec![3]), Some(vec![0, 1, 2]))
        );
        assert_eq!(
            split_cpus(&all, 9, None, None, true),
            (Some(vec![1, 2, 3]), Some(vec![0]))
        );
        // One allowed CPU pins nothing.
        assert_eq!(split_cpus(&[5], 1, None, None, true), (None, None));
        // Explicit choices win; `all` is `Some(None)`.
        assert_eq!(split_cpus(&all, 1, Some(None), None, false), (None, None));
        assert_eq!(
            split_cpus(&all, 1, Some(Some(vec![0])), Some(Some(vec![1, 2])), false),
            (Some(vec![0]), Some(vec![1, 2]))
        );
        // A load set that covers everything leaves `rest` everything too.
        assert_eq!(
            split_cpus(&all, 1, Some(Some(all.to_vec())), None, true),
            (Some(all.to_vec()), Some(all.to_vec()))
        );
        assert_eq!(fmt_cpus(Some(&[0, 1, 2, 5, 7, 8])), "0-2,5,7-8");
        assert_eq!(fmt_cpus(None), "all");
        assert_eq!(cpu_list("--load-cpus", "all").unwrap(), None);
        assert_eq!(cpu_list("--load-cpus", "1,0").unwrap(), Some(vec![0, 1]));
    }

    #[test]
    fn target_dir_is_found() {
        let dir = target_dir();
        assert!(!dir.as_os_str().is_empty());
    }
}
