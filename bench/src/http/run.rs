//! [`run`]: the whole HTTP benchmark, in named steps. [`Setup`] finds what this run needs
//! (its own executable, perf, which program serves each row) and says how long it will
//! take; [`build_mio_variant`] builds the mio twin, before any server starts (a build
//! would disturb the measurements); [`start_servers`] starts every server, which then idle
//! while the others are measured; [`warm_up`] loads each once, unmeasured;
//! [`measure_rounds`] measures every server once per round, in alternating order
//! ([`measure`] is one measurement); and [`print_table`] and [`write_files`] give the
//! results, with the header lines of [`super::header`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::cpus::pinned;
use super::header::{self, Header};
use super::plan::Plan;
use crate::child::{self, ChildGuard};
use crate::json::Json;
use crate::load::{self, LoadResult};
use crate::mio_build;
use crate::report::{self, Machine, Outcome, Round, Row};
use crate::servers::{self, Kind, MIO_BUILD};
use crate::svg;
use crate::syscalls::{self, Agreement, PerfSource, SyscallCounts};
use crate::util::{display_path, fmt_int, fmt_secs, in_path, target_dir, write_results};

/// How long a server may take to answer `stats`.
const STATS_LIMIT: Duration = Duration::from_secs(5);

/// The whole benchmark. `Ok(false)` when some server failed (the table still printed).
pub fn run(plan: &Plan, machine: &Machine) -> Result<bool, String> {
    let started = Instant::now();
    let setup = Setup::new(plan)?;
    setup.announce(plan);
    let mio = setup.needs_mio.then(|| build_mio_variant(&setup.mio_dir));
    let mio_built_in = started.elapsed();

    let mut slots = start_servers(plan, &setup, mio.as_ref());
    warm_up(plan, &setup.exe, &slots);
    let rounds = measure_rounds(plan, &setup, &mut slots);
    drop(slots); // kills the servers

    let rows = report::summarize(&plan.kinds, &rounds);
    let mio_note = mio.as_ref().and_then(|m| m.note.as_deref());
    let header = Header::new(plan, machine, &setup.perf, mio_note, &rounds, &rows);
    print_table(&header, &rows);
    write_files(plan, machine, &header, &rounds, &rows)?;
    eprintln!(
        "http bench: done in {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if setup.needs_mio {
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

/// Which program serves a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Provider {
    /// This binary.
    Own,
    /// This benchmark built again with `--features mio` ([`mio_build`]).
    MioVariant,
    /// No server for this row from this binary: why.
    Absent(String),
}

impl Provider {
    /// Who serves row `kind` in this build.
    pub(crate) fn of(kind: Kind) -> Provider {
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

/// What a run needs before it starts anything.
struct Setup {
    /// This executable: the servers and the built-in load generator re-execute it.
    exe: PathBuf,
    /// How syscalls are counted for the rows without rawrt's counters.
    perf: PerfSource,
    /// Who serves each row of the plan, in table order.
    providers: Vec<(Kind, Provider)>,
    /// Whether a row needs the mio twin built.
    needs_mio: bool,
    /// The mio twin's target directory.
    mio_dir: PathBuf,
}

impl Setup {
    /// Checks that `--wrk` has a wrk, finds this executable, probes perf and resolves who
    /// serves each row.
    fn new(plan: &Plan) -> Result<Setup, String> {
        if plan.wrk && !in_path("wrk") {
            return Err("--wrk: wrk is not installed (apt-get install -y wrk)".into());
        }
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
        let perf = PerfSource::detect(plan.no_syscalls);
        let providers: Vec<(Kind, Provider)> =
            plan.kinds.iter().map(|&k| (k, Provider::of(k))).collect();
        let needs_mio = providers.iter().any(|(_, p)| *p == Provider::MioVariant);
        Ok(Setup {
            exe,
            perf,
            providers,
            needs_mio,
            mio_dir: mio_build::target_dir(&target_dir()),
        })
    }

    /// Says on stderr what will run and about how long it takes: warm-up, rounds (plus
    /// about 0.2 s per load for process start-up and the connections), perf's start-up
    /// and lead in round 1; the mio build comes first, on top.
    fn announce(&self, plan: &Plan) {
        let servers = self
            .providers
            .iter()
            .filter(|(_, p)| !matches!(p, Provider::Absent(_)))
            .count();
        let perf_extra = if self.perf.available() { 1.2 } else { 0.0 };
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
            if self.needs_mio {
                format!(
                    ", plus building the mio variant first ({})",
                    mio_build::expected_time(&self.mio_dir)
                )
            } else {
                String::new()
            }
        );
    }
}

/// The mio twin, or why there is none.
struct MioVariant {
    /// Its executable, or why the build failed.
    exe: Result<PathBuf, String>,
    /// How it was built, for the header (when it was).
    note: Option<String>,
}

/// Builds the mio twin into `dir` ([`mio_build::build`]), saying so on stderr.
fn build_mio_variant(dir: &Path) -> MioVariant {
    let command = mio_build::describe(Path::new(&display_path(dir)));
    eprintln!("http bench: building the mio variant for the rawrt (mio backend) row: {command}");
    match mio_build::build(dir) {
        Ok((path, took)) => {
            eprintln!(
                "http bench: mio variant ready after {:.1} s: {}",
                took.as_secs_f64(),
                display_path(&path)
            );
            MioVariant {
                exe: Ok(path),
                note: Some(format!(
                    "built by `{command}` ({:.1} s in this run)",
                    took.as_secs_f64()
                )),
            }
        }
        Err(e) => {
            eprintln!("http bench: {e}; the rawrt (mio backend) row stays empty");
            MioVariant {
                exe: Err(e),
                note: None,
            }
        }
    }
}

/// A server process, or why there is none.
enum Slot {
    /// Started and listening on `addr`.
    Running {
        /// The server process.
        guard: ChildGuard,
        /// Where it listens.
        addr: SocketAddr,
    },
    /// No such server in this build: why.
    NotBuilt(String),
    /// It did not start: why.
    Failed(String),
}

/// Starts the server of every row (each pinned to the servers' CPUs), in table order. They
/// idle (blocked in accept / epoll_wait) while the others are measured.
fn start_servers(plan: &Plan, setup: &Setup, mio: Option<&MioVariant>) -> Vec<(Kind, Slot)> {
    let mut slots = Vec::new();
    for (kind, provider) in &setup.providers {
        let server_exe = match (provider, mio.map(|m| &m.exe)) {
            (Provider::Absent(why), _) => Err(Slot::NotBuilt(why.clone())),
            (Provider::MioVariant, Some(Err(why))) => Err(Slot::NotBuilt(why.clone())),
            (Provider::MioVariant, Some(Ok(path))) => Ok(path.as_path()),
            (Provider::MioVariant, None) => Err(Slot::Failed("mio variant not built".into())),
            (Provider::Own, _) => Ok(setup.exe.as_path()),
        };
        let slot = match server_exe {
            Ok(path) => pinned(plan.server_cpus.as_deref(), || {
                start_server(path, *kind, plan.workers)
            })
            .unwrap_or_else(Slot::Failed),
            Err(slot) => slot,
        };
        if let Slot::Failed(why) = &slot {
            eprintln!("http bench: {why}");
        }
        slots.push((*kind, slot));
    }
    slots
}

/// Starts `exe` as the server of row `kind` and waits until it listens. The rawrt rows run
/// `--serve rawrt` (on whichever backend `exe` was built with), and their backend is checked
/// with a first `stats`.
fn start_server(exe: &Path, kind: Kind, workers: usize) -> Result<Slot, String> {
    let serve = if kind.is_rawrt() { "rawrt" } else { kind.id() };
    let workers = workers.to_string();
    let args = [
        "--serve",
        serve,
        "--addr",
        "127.0.0.1:0",
        "--workers",
        &workers,
    ];
    let what = format!("{} server", kind.label());
    let (mut guard, addr) = servers::start(exe, &args, &what, Duration::from_secs(20))?;
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

/// Loads every running server once for `--warmup`, unmeasured.
fn warm_up(plan: &Plan, exe: &Path, slots: &[(Kind, Slot)]) {
    if plan.warmup.is_zero() {
        return;
    }
    for (kind, slot) in slots {
        if let Slot::Running { addr, .. } = slot {
            if let Err(e) = run_load(exe, plan, *addr, plan.warmup) {
                eprintln!("http bench: warm-up of {}: {e}", kind.label());
            }
        }
    }
}

/// The `--rounds` rounds: every server measured once per round, in table order in even
/// rounds and reversed in odd ones; progress on stderr.
fn measure_rounds(plan: &Plan, setup: &Setup, slots: &mut [(Kind, Slot)]) -> Vec<Round> {
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
                        measure(plan, setup, kind, guard, *addr, r == 0)
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
    rounds
}

/// Asks a rawrt server for its counters; `None` (and a message) if it does not answer.
fn counters(guard: &mut ChildGuard, kind: Kind) -> Option<SyscallCounts> {
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
    plan: &Plan,
    setup: &Setup,
    kind: Kind,
    guard: &mut ChildGuard,
    addr: SocketAddr,
    first_round: bool,
) -> Outcome {
    let with_counters = kind.is_rawrt() && !plan.no_syscalls;
    // perf needs a moment to attach before the load starts; its window covers the load
    // and the counters' window.
    let lead = Duration::from_millis(300);
    let probe = if first_round {
        setup.perf.start(
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
    let result = run_load(&setup.exe, plan, addr, plan.duration);
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

/// One measurement in words, for the progress lines on stderr.
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
                fmt_int(load.rps),
                report::fmt_latency(load.p50),
                report::fmt_latency(load.p99),
                report::fmt_errors(&load.errors)
            )
        }
        Outcome::NotBuilt(why) => why.clone(),
        Outcome::Failed(why) => format!("failed: {why}"),
    }
}

/// Prints the title, the header lines and the table on stdout.
fn print_table(header: &Header, rows: &[(Kind, Row)]) {
    println!("{}\n", header::TITLE);
    for line in &header.lines {
        println!("- {line}");
    }
    println!();
    print!("{}", report::table(rows));
}

/// Writes `target/bench/http.json` and `target/bench/http.svg`, and says where on stdout.
fn write_files(
    plan: &Plan,
    machine: &Machine,
    header: &Header,
    rounds: &[Round],
    rows: &[(Kind, Row)],
) -> Result<(), String> {
    let generator_id = if plan.wrk { "wrk" } else { "builtin" };
    let doc = report::to_json(
        machine,
        plan.as_json(generator_id, &header.syscalls),
        rounds,
        rows,
        &header.lines,
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
    let chart = svg::svg(rows, header::CHART_TITLE, &subtitles);
    let json = format!("{doc:#}\n");
    let paths = write_results(&[("http.json", &json), ("http.svg", &chart)])?;
    println!(
        "\nJSON: {} · chart: {}",
        display_path(&paths[0]),
        display_path(&paths[1])
    );
    Ok(())
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
