//! Syscalls per request: where the counts come from.
//!
//! Today the only source is `perf stat` on the server process with the kernel's syscall
//! tracepoints (`syscalls:sys_enter_<name>`), one counter per syscall in [`SYSCALLS`]:
//! the ones an HTTP server makes per request or per wakeup (reads, writes, epoll, futex,
//! accept). Other syscalls (`mmap`, `clone3`, `setsockopt`, ...) are not counted. perf is
//! started on the server's pid just before the load and stopped just after it, so the idle
//! seconds around it add (almost) nothing.
//!
//! [`SyscallSource`] is the seam for issue #5: when rawrt has its own counters
//! (`rawrt::stats::syscalls()`, a process-wide snapshot), a `Counters` variant can ask the
//! server process for a snapshot before and after the load (for example with a line on the
//! stdin pipe every server already has, answered on its stdout) and return the difference
//! as a [`Probe`]; the rest of the benchmark does not change. perf stays the source for the
//! servers that are not rawrt.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::child::ChildGuard;

/// The syscalls counted, by tracepoint name (`syscalls:sys_enter_<name>`).
pub const SYSCALLS: [&str; 11] = [
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
];

/// Syscall counts of one measurement, by syscall name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyscallCounts {
    /// `(name, count)` in [`SYSCALLS`] order (only the ones that were counted).
    pub by_call: Vec<(String, u64)>,
}

impl SyscallCounts {
    /// Sum over all counted syscalls.
    pub fn total(&self) -> u64 {
        self.by_call.iter().map(|(_, n)| n).sum()
    }
}

/// Where syscall counts come from.
#[derive(Debug, Clone)]
pub enum SyscallSource {
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
    let out = super::child::output_with_timeout(cmd, Duration::from_secs(10))
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

impl SyscallSource {
    /// Picks the best source available: perf with all of [`SYSCALLS`], or with the subset of
    /// tracepoints this kernel has; `Unavailable` when perf is missing, not permitted, or
    /// `disabled`.
    pub fn detect(disabled: bool) -> SyscallSource {
        if disabled {
            return SyscallSource::Unavailable {
                reason: "disabled with --no-syscalls".into(),
            };
        }
        // The probe the README documents: one tracepoint over `true`.
        if let Err(why) = perf_accepts(&["read"]) {
            return SyscallSource::Unavailable {
                reason: format!("perf syscall tracepoints not usable here ({why})"),
            };
        }
        if perf_accepts(&SYSCALLS).is_ok() {
            return SyscallSource::Perf {
                calls: SYSCALLS.to_vec(),
            };
        }
        let calls: Vec<&'static str> = SYSCALLS
            .into_iter()
            .filter(|c| perf_accepts(&[c]).is_ok())
            .collect();
        SyscallSource::Perf { calls }
    }

    /// One line for the header.
    pub fn describe(&self) -> String {
        match self {
            SyscallSource::Perf { calls } => format!(
                "perf stat syscall tracepoints on the server process during round 1 (that \
                 round carries perf's overhead), counting {}; divided by the requests of \
                 that round",
                calls.join(", ")
            ),
            SyscallSource::Unavailable { reason } => format!("not measured: {reason}"),
        }
    }

    /// Starts counting syscalls of process `pid` for at most `window`. `None` when there is
    /// no source or it fails to start.
    pub fn start(&self, pid: u32, window: Duration) -> Option<Probe> {
        match self {
            SyscallSource::Perf { calls } if !calls.is_empty() => {
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
    SyscallCounts { by_call }
}

// Cargo compiles harness = false benches with `--cfg test` but without a test harness, so
// these tests only run from `tests/bench_http.rs`; here their helpers would look unused.
#[cfg(test)]
#[allow(dead_code, unused_imports)]
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

    #[test]
    fn unavailable_source_starts_nothing() {
        let s = SyscallSource::detect(true);
        assert!(s
            .start(std::process::id(), Duration::from_millis(1))
            .is_none());
        assert!(s.describe().contains("--no-syscalls"));
    }
}
