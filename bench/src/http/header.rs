//! The lines above the HTTP benchmark's table: machine, servers, where each rawrt backend
//! came from, load, CPUs, rounds, where each row's syscall counts came from, the
//! counters-vs-perf cross-check and the paired ratios. They also go into `http.json`.

use super::cpus::fmt_cpus;
use super::plan::Plan;
use super::run::Provider;
use crate::load;
use crate::report::{self, Machine, Round, Row};
use crate::servers::{Kind, MIO_BUILD};
use crate::syscalls::PerfSource;
use crate::util::fmt_secs;

/// The title printed above the header lines.
pub(crate) const TITLE: &str =
    "rawrt HTTP benchmark: GET / -> 200 \"Hello, World!\", HTTP/1.1 keep-alive, loopback";

/// The chart's title.
pub(crate) const CHART_TITLE: &str = "rawrt HTTP benchmark: hello world, HTTP/1.1 keep-alive";

/// The header of one run.
pub(crate) struct Header {
    /// The lines, in order (printed as a list).
    pub(crate) lines: Vec<String>,
    /// The Syscalls/req line alone, for `http.json`'s parameters.
    pub(crate) syscalls: String,
}

impl Header {
    /// The header of a run of `plan` that measured `rounds` into `rows`; `mio_note`: how
    /// the mio variant was built, when it was.
    pub(crate) fn new(
        plan: &Plan,
        machine: &Machine,
        perf: &PerfSource,
        mio_note: Option<&str>,
        rounds: &[Round],
        rows: &[(Kind, Row)],
    ) -> Header {
        let syscalls = syscalls_line(plan, perf);
        let mut lines = vec![
            format!(
                "Machine: {} (cores from available_parallelism)",
                machine.describe()
            ),
            format!(
                "Servers: one process each; GET / answered with 200 \"Hello, World!\" \
                 (content-length 13), HTTP/1.1 keep-alive, TCP_NODELAY; rawrt and Tokio: \
                 hyper 1.x http1 with {} worker threads ({})",
                plan.workers, plan.why_workers
            ),
        ];
        lines.extend(backends_line(plan, mio_note));
        lines.extend([
            load_line(plan),
            cpus_line(plan),
            format!(
                "Rounds: {}, server order alternating (A B C D / D C B A); every cell is the \
                 median over the rounds; latency is per request, from the client (closed loop)",
                plan.rounds
            ),
            format!("Syscalls/req: {syscalls}"),
        ]);
        lines.extend(cross_check_line(rows));
        for other in [Kind::Tokio, Kind::RawrtMio] {
            if let Some(p) = report::Paired::of(rounds, Kind::Rawrt, other) {
                lines.push(format!(
                    "Paired, {} / {}, round by round (both measured in each round): {}",
                    Kind::Rawrt.label(),
                    other.label(),
                    p.describe()
                ));
            }
        }
        Header { lines, syscalls }
    }
}

/// The Load line: generator, connections, threads, durations and timeout.
fn load_line(plan: &Plan) -> String {
    let generator = if plan.wrk {
        let p = plan.load_params(([127, 0, 0, 1], 0).into(), plan.duration);
        let args = load::wrk_args(&p);
        format!("wrk {} (--wrk)", args[..args.len() - 1].join(" "))
    } else {
        "built-in closed-loop generator (own process, epoll, one request in flight per \
         connection)"
            .to_string()
    };
    format!(
        "Load: {generator}; {} connections ({}), {} thread{} ({}); {} per run after a {} \
         warm-up; request timeout {}",
        plan.connections,
        plan.why_connections,
        plan.threads,
        if plan.threads == 1 { "" } else { "s" },
        plan.why_threads,
        fmt_secs(plan.duration),
        fmt_secs(plan.warmup),
        fmt_secs(plan.timeout)
    )
}

/// The CPUs line: which CPUs each side had.
fn cpus_line(plan: &Plan) -> String {
    format!(
        "CPUs: load generator on {}, servers on {} (sched_setaffinity, inherited by every \
         thread; {})",
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
    )
}

/// The counters-vs-perf line, when perf counted a rawrt row too.
fn cross_check_line(rows: &[(Kind, Row)]) -> Option<String> {
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
    (!checks.is_empty()).then(|| {
        format!(
            "Syscalls/req cross-check, round 1 (counters and perf on the same run; perf's \
             futex and the counters' \"other\" left out): {}",
            checks.join("; ")
        )
    })
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
fn backends_line(plan: &Plan, mio_note: Option<&str>) -> Option<String> {
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
fn syscalls_line(plan: &Plan, perf: &PerfSource) -> String {
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
