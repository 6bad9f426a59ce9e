//! Syscalls per request: where the counts come from. Two sources, one per kind of row:
//!
//! - **rawrt's own counters** for the rawrt rows: every syscall rawrt makes goes through
//!   `rawrt-sys`, which counts it by kind (`rawrt::stats::syscalls()`, a process-wide
//!   snapshot; see `src/stats.rs`). The parent asks the server process for a snapshot over
//!   the stdin pipe every server already has (`stats`, answered with one JSON line on its
//!   stdout: see `servers::answer` and [`parse_counters`]) just before and just after the
//!   load, and takes the difference. Free, so every round is counted. What they see: the
//!   calls made through `rawrt-sys` (all of rawrt's epoll, eventfd and socket calls, the
//!   socket set-up ones as `other`), and not what std does underneath (`futex` when a
//!   thread parks on a mutex or condvar).
//! - **`perf stat`** for the others (std servers, Tokio), which have no counters: the
//!   kernel's syscall tracepoints (`syscalls:sys_enter_<name>`), one counter per syscall in
//!   [`SYSCALLS`]: the ones an HTTP server makes per request, per wakeup or per connection
//!   (reads, writes, epoll, futex, accept, close). Other syscalls (`mmap`, `clone3`,
//!   `setsockopt`, ...) are not counted. perf is started on the server's pid just before the
//!   load and stopped just after it, so the idle seconds around it add (almost) nothing; it
//!   runs in round 1 only, since it slows the server down.
//!
//! When perf works, it also runs on the rawrt rows in round 1, as a cross-check of the
//! counters ([`Agreement`]: the same kinds on both sides, since perf also counts `futex` and
//! the counters also count `other`); both numbers go to `http.json`.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::child::ChildGuard;
use crate::json::Json;

/// The syscalls perf counts, by tracepoint name (`syscalls:sys_enter_<name>`).
pub const SYSCALLS: [&str; 13] = [
    "read",
    "recvfrom",
    "write",
    "writev",
    "sendto",
    "sendmsg",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "futex",
    "accept4",
    "connect",
    "close",
];

/// Which source counted a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `perf stat` syscall tracepoints; names are syscalls.
    Perf,
    /// rawrt's own counters (`rawrt::stats`); names are its kinds (`Syscall::name`).
    Counters,
}

impl Source {
    /// The name in `http.json`.
    pub fn id(self) -> &'static str {
        match self {
            Source::Perf => "perf",
            Source::Counters => "rawrt counters",
        }
    }
}

/// Syscall counts of one measurement, by syscall (perf) or kind (counters).
#[derive(Debug, Clone, PartialEq)]
pub struct SyscallCounts {
    /// Who counted.
    pub source: Source,
    /// `(name, count)`: in [`SYSCALLS`] order for perf (only the ones that were counted), in
    /// `rawrt::stats::Syscall::ALL` order for the counters.
    pub by_call: Vec<(String, u64)>,
}

impl SyscallCounts {
    /// Sum over all counted syscalls.
    pub fn total(&self) -> u64 {
        self.by_call.iter().map(|(_, n)| n).sum()
    }

    /// The count of `name` (0 when not counted).
    pub fn get(&self, name: &str) -> u64 {
        self.by_call
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    }

    /// The calls made between the snapshot `earlier` and this one, by name (saturating at
    /// 0; names only in `earlier` are dropped).
    pub fn since(&self, earlier: &SyscallCounts) -> SyscallCounts {
        SyscallCounts {
            source: self.source,
            by_call: self
                .by_call
                .iter()
                .map(|(n, c)| (n.clone(), c.saturating_sub(earlier.get(n))))
                .collect(),
        }
    }

    /// As JSON: source, total, per request (when `requests > 0`) and the counts by name.
    pub fn to_json(&self, requests: u64) -> Json {
        let mut by = Json::obj();
        for (name, n) in &self.by_call {
            by = by.set(name, *n);
        }
        Json::obj()
            .set("source", self.source.id())
            .set("total", self.total())
            .set(
                "per_request",
                (requests > 0).then(|| self.total() as f64 / requests as f64),
            )
            .set("by_call", by)
    }
}

/// Parses a server's answer to `stats` (see `servers::answer`): its rawrt backend and the
/// counters at that instant, or the error it answered.
pub fn parse_counters(answer: &str) -> Result<(String, SyscallCounts), String> {
    let v = Json::parse(answer).map_err(|e| format!("stats answer {answer:?}: {e}"))?;
    if let Some(e) = v.get("error").and_then(Json::as_str) {
        return Err(format!("stats: {e}"));
    }
    let backend = v
        .get("backend")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("stats answer without a backend: {answer}"))?
        .to_string();
    let by_call = match v.get("by_kind") {
        Some(Json::Obj(fields)) => fields
            .iter()
            .map(|(k, n)| {
                n.as_f64()
                    .map(|n| (k.clone(), n as u64))
                    .ok_or_else(|| format!("stats answer: {k:?} is not a number"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(format!("stats answer without by_kind: {answer}")),
    };
    let counts = SyscallCounts {
        source: Source::Counters,
        by_call,
    };
    if v.num("total") != Some(counts.total() as f64) {
        return Err(format!(
            "stats answer: total does not match the kinds: {answer}"
        ));
    }
    Ok((backend, counts))
}

/// Counters and perf side by side for one measurement of a rawrt server, on the kinds both
/// see. Each group is `(name, counter kinds, perf syscalls)`: rawrt counts an eventfd
/// write as `eventfd_write`, perf as `write`; `recv` is `recvfrom` to the kernel and `send`
/// is `sendto`; the counters fold those into `read` and `write`. Left out: the counters'
/// `other` (socket set-up: `socket`, `setsockopt`, `getsockname`, ..., not traced by perf
/// here) and perf's `futex` (std's locks and thread parking, which do not go through
/// `rawrt-sys`).
pub const GROUPS: [(&str, &[&str], &[&str]); 7] = [
    (
        "epoll_wait",
        &["epoll_wait"],
        &["epoll_wait", "epoll_pwait"],
    ),
    ("epoll_ctl", &["epoll_ctl"], &["epoll_ctl"]),
    ("read", &["read", "eventfd_read"], &["read", "recvfrom"]),
    (
        "write",
        &["write", "eventfd_write"],
        &["write", "writev", "sendto", "sendmsg"],
    ),
    ("accept4", &["accept4"], &["accept4"]),
    ("connect", &["connect"], &["connect"]),
    ("close", &["close"], &["close"]),
];

/// The like-for-like comparison of counters and perf (see [`GROUPS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// `(group, counters, perf)` for every group of [`GROUPS`].
    pub groups: Vec<(&'static str, u64, u64)>,
    /// The counters' `other`: not compared.
    pub counters_other: u64,
    /// perf's `futex`: not compared.
    pub perf_futex: u64,
}

impl Agreement {
    /// Compares `counters` with `perf`, both of the same window.
    pub fn new(counters: &SyscallCounts, perf: &SyscallCounts) -> Agreement {
        let sum = |c: &SyscallCounts, names: &[&str]| names.iter().map(|n| c.get(n)).sum();
        Agreement {
            groups: GROUPS
                .iter()
                .map(|(g, ours, theirs)| (*g, sum(counters, ours), sum(perf, theirs)))
                .collect(),
            counters_other: counters.get("other"),
            perf_futex: perf.get("futex"),
        }
    }

    /// The counters' sum over the compared kinds.
    pub fn counters_total(&self) -> u64 {
        self.groups.iter().map(|g| g.1).sum()
    }

    /// perf's sum over the compared kinds.
    pub fn perf_total(&self) -> u64 {
        self.groups.iter().map(|g| g.2).sum()
    }

    /// `(perf - counters) / counters`, in percent (`None` when the counters saw nothing).
    pub fn diff_percent(&self) -> Option<f64> {
        let c = self.counters_total();
        (c > 0).then(|| (self.perf_total() as f64 - c as f64) / c as f64 * 100.0)
    }

    /// `counters 4.07 vs perf 4.08 /req (+0.2 %)` for `requests` requests.
    pub fn describe(&self, requests: u64) -> String {
        let per = |n: u64| n as f64 / requests.max(1) as f64;
        format!(
            "counters {:.2} vs perf {:.2} /req on the same kinds ({})",
            per(self.counters_total()),
            per(self.perf_total()),
            self.diff_percent()
                .map_or("—".to_string(), |d| format!("{d:+.2} %"))
        )
    }

    /// As JSON, with per-request figures for `requests` requests.
    pub fn to_json(&self, requests: u64) -> Json {
        let per = |n: u64| (requests > 0).then(|| n as f64 / requests as f64);
        let mut by = Json::obj();
        for (g, c, p) in &self.groups {
            by = by.set(g, Json::obj().set("counters", *c).set("perf", *p));
        }
        Json::obj()
            .set(
                "compared",
                "the kinds both count (counters' other and perf's futex left out)",
            )
            .set("counters_total", self.counters_total())
            .set("perf_total", self.perf_total())
            .set("counters_per_request", per(self.counters_total()))
            .set("perf_per_request", per(self.perf_total()))
            .set("perf_minus_counters_percent", self.diff_percent())
            .set("by_kind", by)
            .set("not_compared_counters_other", self.counters_other)
            .set("not_compared_perf_futex", self.perf_futex)
    }
}

/// Whether and how perf can count syscalls here.
#[derive(Debug, Clone)]
pub enum PerfSource {
    /// `perf stat -x, -e syscalls:sys_enter_<name>,... -p <pid>`, with the tracepoints
    /// that exist on this kernel.
    Perf {
        /// Syscall names whose tracepoints work here.
        calls: Vec<&'static str>,
    },
    /// No source: the column shows `—`.
    Unavailable {
        /// Why, for the header.
        reason: String,
    },
}

fn tracepoint(call: &str) -> String {
    format!("syscalls:sys_enter_{call}")
}

/// Runs `perf stat` over `true` with these tracepoints: does it work here?
fn perf_accepts(calls: &[&str]) -> Result<(), String> {
    let events: Vec<String> = calls.iter().map(|c| tracepoint(c)).collect();
    let mut cmd = Command::new("perf");
    cmd.args(["stat", "-x,", "-e", &events.join(","), "--", "true"]);
    let out = crate::child::output_with_timeout(cmd, Duration::from_secs(10))
        .map_err(|e| format!("perf: {e}"))?;
    if out.success && !out.stderr.contains("<not supported>") {
        Ok(())
    } else {
        let why = out
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("perf stat failed")
            .to_string();
        Err(why)
    }
}

impl PerfSource {
    /// perf with all of [`SYSCALLS`], or with the subset of tracepoints this kernel has;
    /// `Unavailable` when perf is missing, not permitted, or `disabled`.
    pub fn detect(disabled: bool) -> PerfSource {
        if disabled {
            return PerfSource::Unavailable {
                reason: "disabled with --no-syscalls".into(),
            };
        }
        // The probe the README documents: one tracepoint over `true`.
        if let Err(why) = perf_accepts(&["read"]) {
            return PerfSource::Unavailable {
                reason: format!("perf syscall tracepoints not usable here ({why})"),
            };
        }
        if perf_accepts(&SYSCALLS).is_ok() {
            return PerfSource::Perf {
                calls: SYSCALLS.to_vec(),
            };
        }
        let calls: Vec<&'static str> = SYSCALLS
            .into_iter()
            .filter(|c| perf_accepts(&[c]).is_ok())
            .collect();
        PerfSource::Perf { calls }
    }

    /// Whether perf can count here.
    pub fn available(&self) -> bool {
        matches!(self, PerfSource::Perf { calls } if !calls.is_empty())
    }

    /// What perf counts, for the header.
    pub fn describe(&self) -> String {
        match self {
            PerfSource::Perf { calls } => format!(
                "perf stat syscall tracepoints on the server process during round 1 (that \
                 round carries perf's overhead), counting {}; divided by the requests of \
                 that round",
                calls.join(", ")
            ),
            PerfSource::Unavailable { reason } => format!("not measured: {reason}"),
        }
    }

    /// Starts counting syscalls of process `pid` for at most `window`. `None` when there is
    /// no source or it fails to start.
    pub fn start(&self, pid: u32, window: Duration) -> Option<Probe> {
        match self {
            PerfSource::Perf { calls } if !calls.is_empty() => {
                let events: Vec<String> = calls.iter().map(|c| tracepoint(c)).collect();
                let mut cmd = Command::new("perf");
                // `perf stat -p PID -- sleep S` counts for S seconds, then prints the counts
                // (CSV with -x, on stderr).
                cmd.args(["stat", "-x,", "-e", &events.join(","), "-p"])
                    .arg(pid.to_string())
                    .args(["--", "sleep", &format!("{:.3}", window.as_secs_f64())])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                let child = ChildGuard::spawn(cmd, "perf stat").ok()?;
                Some(Probe::Perf {
                    child,
                    limit: window + Duration::from_secs(10),
                })
            }
            _ => None,
        }
    }
}

/// A measurement in progress.
#[derive(Debug)]
pub enum Probe {
    /// A running `perf stat`.
    Perf {
        /// The perf process.
        child: ChildGuard,
        /// How long to wait for it at most.
        limit: Duration,
    },
}

impl Probe {
    /// Waits for the counts.
    pub fn finish(self) -> Result<SyscallCounts, String> {
        match self {
            Probe::Perf { child, limit } => {
                let out = child.wait_output(limit)?;
                let counts = parse_perf_csv(&out.stderr);
                if counts.by_call.is_empty() {
                    let first = out.stderr.lines().next().unwrap_or("no output");
                    return Err(format!("perf stat: {first}"));
                }
                Ok(counts)
            }
        }
    }
}

/// Parses `perf stat -x,` output: `COUNT,UNIT,EVENT,...` per line; `<not counted>` counts
/// as 0; other lines are ignored.
pub fn parse_perf_csv(text: &str) -> SyscallCounts {
    let mut by_call = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 3 {
            continue;
        }
        let Some(call) = fields[2].trim().strip_prefix("syscalls:sys_enter_") else {
            continue;
        };
        let count = match fields[0].trim() {
            "<not counted>" => 0,
            n => match n.parse::<u64>() {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        by_call.push((call.to_string(), count));
    }
    SyscallCounts {
        source: Source::Perf,
        by_call,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_csv() {
        let text = "\
# started on Thu Nov 27 15:38:00 2025

12345,,syscalls:sys_enter_read,1002003,100.00,,
0,,syscalls:sys_enter_recvfrom,1002003,100.00,,
<not counted>,,syscalls:sys_enter_futex,0,0.00,,
77,,syscalls:sys_enter_epoll_wait,1002003,100.00,,
garbage line
";
        let c = parse_perf_csv(text);
        assert_eq!(c.source, Source::Perf);
        assert_eq!(
            c.by_call,
            vec![
                ("read".to_string(), 12345),
                ("recvfrom".to_string(), 0),
                ("futex".to_string(), 0),
                ("epoll_wait".to_string(), 77),
            ]
        );
        assert_eq!(c.total(), 12422);
        assert!(parse_perf_csv("perf: command not found").by_call.is_empty());
    }

    fn counts(source: Source, pairs: &[(&str, u64)]) -> SyscallCounts {
        SyscallCounts {
            source,
            by_call: pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
        }
    }

    #[test]
    fn parses_counters_and_subtracts() {
        let line =
            r#"{"server":"rawrt","backend":"mio","total":10,"by_kind":{"epoll_wait":3,"read":7}}"#;
        let (backend, c) = parse_counters(line).unwrap();
        assert_eq!(backend, "mio");
        assert_eq!(
            c,
            counts(Source::Counters, &[("epoll_wait", 3), ("read", 7)])
        );
        let later = counts(
            Source::Counters,
            &[("epoll_wait", 5), ("read", 7), ("close", 1)],
        );
        assert_eq!(
            later.since(&c),
            counts(
                Source::Counters,
                &[("epoll_wait", 2), ("read", 0), ("close", 1)]
            )
        );
        // Errors, not panics.
        assert!(parse_counters(r#"{"error":"no rawrt here"}"#)
            .unwrap_err()
            .contains("no rawrt here"));
        assert!(parse_counters("garbage").is_err());
        assert!(parse_counters(r#"{"backend":"epoll","total":1,"by_kind":{"read":2}}"#).is_err());
        assert!(parse_counters(r#"{"backend":"epoll","total":0}"#).is_err());
    }

    #[test]
    fn agreement_compares_like_for_like() {
        let ours = counts(
            Source::Counters,
            &[
                ("epoll_wait", 10),
                ("epoll_ctl", 4),
                ("eventfd_read", 0),
                ("eventfd_write", 2),
                ("accept4", 3),
                ("read", 100),
                ("write", 100),
                ("connect", 0),
                ("close", 2),
                ("other", 9),
            ],
        );
        let perf = counts(
            Source::Perf,
            &[
                ("read", 101),
                ("recvfrom", 0),
                ("write", 3),
                ("writev", 0),
                ("sendto", 0),
                ("sendmsg", 100),
                ("epoll_wait", 9),
                ("epoll_pwait", 1),
                ("epoll_ctl", 4),
                ("futex", 50),
                ("accept4", 3),
                ("connect", 0),
                ("close", 2),
            ],
        );
        let a = Agreement::new(&ours, &perf);
        assert_eq!(a.groups[0], ("epoll_wait", 10, 10));
        assert_eq!(a.groups[3], ("write", 102, 103));
        assert_eq!((a.counters_total(), a.perf_total()), (221, 223));
        assert_eq!((a.counters_other, a.perf_futex), (9, 50));
        let d = a.diff_percent().unwrap();
        assert!((d - 200.0 / 221.0).abs() < 1e-9, "{d}");
        assert!(a.describe(100).contains("counters 2.21 vs perf 2.23"));
        let j = a.to_json(100);
        assert_eq!(j.num("perf_total"), Some(223.0));
        assert_eq!(ours.to_json(0).get("per_request"), Some(&Json::Null));
    }

    #[test]
    fn unavailable_source_starts_nothing() {
        let s = PerfSource::detect(true);
        assert!(s
            .start(std::process::id(), Duration::from_millis(1))
            .is_none());
        assert!(s.describe().contains("--no-syscalls"));
    }
}
