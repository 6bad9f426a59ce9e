//! The HTTP benchmark's results: per-round measurements, medians per row, and two of its
//! three outputs, the markdown table (stdout) and `target/bench/http.json` (everything).
//! The third, the chart in `target/bench/http.svg`, is drawn by [`crate::svg`].

use std::fmt::Write as _;

use crate::json::Json;
use crate::load::{Errors, LoadResult};
use crate::servers::Kind;
use crate::syscalls::{Agreement, Source, SyscallCounts};
use crate::util::{fmt_int, median};

/// The machine the benchmark ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `std::thread::available_parallelism()`.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// CPU model name.
    pub cpu: String,
}

impl Machine {
    /// Reads cores, kernel release and CPU model from this machine.
    pub fn detect() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| {
                let out = std::process::Command::new("uname")
                    .arg("-r")
                    .output()
                    .ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| cpu_model(&info))
            .unwrap_or_else(|| "unknown CPU".into());
        Machine { cores, kernel, cpu }
    }

    /// `2 cores, AMD EPYC, Linux 6.18`.
    pub fn describe(&self) -> String {
        format!(
            "{} core{}, {}, Linux {}",
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.cpu,
            self.kernel
        )
    }

    /// As JSON.
    pub fn to_json(&self) -> Json {
        Json::obj()
            .set("cores", self.cores)
            .set("kernel", self.kernel.as_str())
            .set("cpu", self.cpu.as_str())
    }
}

/// The CPU model from `/proc/cpuinfo` text (`model name`, or `Hardware`/`cpu model` on
/// other architectures).
pub fn cpu_model(info: &str) -> Option<String> {
    ["model name", "Hardware", "cpu model", "Processor"]
        .iter()
        .find_map(|key| {
            info.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
}

/// One server in one round.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Measured.
    Measured {
        /// What the load generator saw.
        load: LoadResult,
        /// Syscall counts of the server during this run, if counted: the Syscalls/req column.
        syscalls: Option<SyscallCounts>,
        /// perf's counts of the same run when `syscalls` came from rawrt's counters: the
        /// cross-check.
        perf_check: Option<SyscallCounts>,
    },
    /// The server does not exist in this build.
    NotBuilt(String),
    /// The server or the load failed.
    Failed(String),
}

impl Outcome {
    fn syscalls_per_req(&self) -> Option<f64> {
        match self {
            Outcome::Measured {
                load,
                syscalls: Some(s),
                ..
            } if load.requests > 0 => Some(s.total() as f64 / load.requests as f64),
            _ => None,
        }
    }

    fn to_json(&self, kind: Kind) -> Json {
        let base = Json::obj()
            .set("server", kind.id())
            .set("label", kind.label());
        match self {
            Outcome::Measured {
                load,
                syscalls,
                perf_check,
            } => {
                let mut v = base.set("status", "measured");
                if let Json::Obj(fields) = load.to_json() {
                    for (k, x) in fields {
                        v = v.set(&k, x);
                    }
                }
                let n = load.requests;
                v = v.set("syscalls", syscalls.as_ref().map(|s| s.to_json(n)));
                if let (Some(ours), Some(perf)) = (syscalls, perf_check) {
                    v = v
                        .set("syscalls_perf", perf.to_json(n))
                        .set("counters_vs_perf", Agreement::new(ours, perf).to_json(n));
                }
                v
            }
            Outcome::NotBuilt(why) => base.set("status", "not_built").set("reason", why.as_str()),
            Outcome::Failed(why) => base.set("status", "failed").set("reason", why.as_str()),
        }
    }
}

/// One round: every server once, in `order`.
#[derive(Debug, Clone)]
pub struct Round {
    /// The order the servers were measured in.
    pub order: Vec<Kind>,
    /// Results in table order.
    pub results: Vec<(Kind, Outcome)>,
}

/// rawrt's counters and perf on the same measurement of a rawrt row (round 1, when perf
/// works): the numbers to check one against the other.
#[derive(Debug, Clone)]
pub struct CrossCheck {
    /// The round (1-based).
    pub round: usize,
    /// Requests completed in that round.
    pub requests: u64,
    /// What the counters saw.
    pub counters: SyscallCounts,
    /// What perf saw.
    pub perf: SyscallCounts,
}

impl CrossCheck {
    /// The like-for-like comparison.
    pub fn agreement(&self) -> Agreement {
        Agreement::new(&self.counters, &self.perf)
    }

    /// As JSON: both totals per request (each counts kinds the other does not), and the
    /// like-for-like comparison.
    pub fn to_json(&self) -> Json {
        let per = |c: &SyscallCounts| {
            (self.requests > 0).then(|| c.total() as f64 / self.requests as f64)
        };
        Json::obj()
            .set("round", self.round)
            .set("requests", self.requests)
            .set("counters_per_request_all_kinds", per(&self.counters))
            .set("perf_per_request_all_syscalls", per(&self.perf))
            .set("like_for_like", self.agreement().to_json(self.requests))
    }
}

/// A row of the final table: medians over the rounds in which the server was measured.
#[derive(Debug, Clone)]
pub enum Row {
    /// Medians.
    Measured {
        /// Median req/s.
        rps: f64,
        /// Median percentiles, µs: p50, p75, p90, p99.
        pct: [f64; 4],
        /// Median of each error kind.
        errors: Errors,
        /// Median syscalls per request over the rounds where they were counted.
        syscalls_per_req: Option<f64>,
        /// Who counted them.
        syscalls_source: Option<Source>,
        /// Counters vs perf, for a rawrt row when perf ran on it.
        cross_check: Option<CrossCheck>,
        /// Rounds measured.
        rounds: usize,
        /// Rounds that failed (not in the medians).
        failed: usize,
    },
    /// Not built.
    NotBuilt(String),
    /// Failed in every round.
    Failed(String),
}

/// Row `a` against row `b` round by round: each round measures both within seconds, so
/// drift that is slow next to a round (a busy neighbour, the host) cancels in the ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// `a`'s req/s over `b`'s, per round in which both were measured.
    pub rps_ratios: Vec<f64>,
    /// `a`'s p99 over `b`'s, in the same rounds.
    pub p99_ratios: Vec<f64>,
}

impl Paired {
    /// The pairs of `a` and `b` in `rounds`; `None` if no round measured both.
    pub fn of(rounds: &[Round], a: Kind, b: Kind) -> Option<Paired> {
        let load = |r: &Round, k: Kind| {
            r.results.iter().find_map(|(kind, o)| match o {
                Outcome::Measured { load, .. } if *kind == k => Some(load.clone()),
                _ => None,
            })
        };
        let (mut rps_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
        for r in rounds {
            if let (Some(x), Some(y)) = (load(r, a), load(r, b)) {
                if y.rps > 0.0 && y.p99 > 0.0 {
                    rps_ratios.push(x.rps / y.rps);
                    p99_ratios.push(x.p99 / y.p99);
                }
            }
        }
        (!rps_ratios.is_empty()).then_some(Paired {
            rps_ratios,
            p99_ratios,
        })
    }

    /// `req/s ratio median 1.08 (per round 1.10 0.99 1.08), p99 ratio median 0.70`.
    pub fn describe(&self) -> String {
        let each: Vec<String> = self.rps_ratios.iter().map(|r| format!("{r:.2}")).collect();
        format!(
            "req/s ratio median {:.3} (per round {}), p99 ratio median {:.3}",
            median(&self.rps_ratios),
            each.join(" "),
            median(&self.p99_ratios)
        )
    }
}

/// Medians per server over `rounds`, in table order.
pub fn summarize(kinds: &[Kind], rounds: &[Round]) -> Vec<(Kind, Row)> {
    kinds
        .iter()
        .map(|&kind| {
            let outcomes: Vec<&Outcome> = rounds
                .iter()
                .flat_map(|r| r.results.iter())
                .filter(|(k, _)| *k == kind)
                .map(|(_, o)| o)
                .collect();
            let loads: Vec<&LoadResult> = outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Measured { load, .. } => Some(load),
                    _ => None,
                })
                .collect();
            if loads.is_empty() {
                let row = outcomes
                    .iter()
                    .find_map(|o| match o {
                        Outcome::NotBuilt(why) => Some(Row::NotBuilt(why.clone())),
                        Outcome::Failed(why) => Some(Row::Failed(why.clone())),
                        Outcome::Measured { .. } => None,
                    })
                    .unwrap_or_else(|| Row::Failed("not run".into()));
                return (kind, row);
            }
            let med = |f: &dyn Fn(&LoadResult) -> f64| {
                median(&loads.iter().map(|l| f(l)).collect::<Vec<_>>())
            };
            let med_err = |f: &dyn Fn(&Errors) -> u64| {
                let counts: Vec<f64> = loads.iter().map(|l| f(&l.errors) as f64).collect();
                median(&counts).round() as u64
            };
            let sys: Vec<f64> = outcomes
                .iter()
                .filter_map(|o| o.syscalls_per_req())
                .collect();
            let syscalls_source = outcomes.iter().find_map(|o| match o {
                Outcome::Measured {
                    syscalls: Some(s), ..
                } => Some(s.source),
                _ => None,
            });
            let cross_check = rounds.iter().enumerate().find_map(|(i, r)| {
                r.results.iter().find_map(|(k, o)| match o {
                    Outcome::Measured {
                        load,
                        syscalls: Some(ours),
                        perf_check: Some(perf),
                    } if *k == kind => Some(CrossCheck {
                        round: i + 1,
                        requests: load.requests,
                        counters: ours.clone(),
                        perf: perf.clone(),
                    }),
                    _ => None,
                })
            });
            let row = Row::Measured {
                rps: med(&|l| l.rps),
                pct: [
                    med(&|l| l.p50),
                    med(&|l| l.p75),
                    med(&|l| l.p90),
                    med(&|l| l.p99),
                ],
                errors: Errors {
                    connect: med_err(&|e| e.connect),
                    read: med_err(&|e| e.read),
                    write: med_err(&|e| e.write),
                    timeout: med_err(&|e| e.timeout),
                    status: med_err(&|e| e.status),
                },
                syscalls_per_req: (!sys.is_empty()).then(|| median(&sys)),
                syscalls_source,
                cross_check,
                rounds: loads.len(),
                failed: outcomes
                    .iter()
                    .filter(|o| matches!(o, Outcome::Failed(_)))
                    .count(),
            };
            (kind, row)
        })
        .collect()
}

/// Microseconds as milliseconds with sensible precision: `0.087 ms`, `1.23 ms`, `923 ms`,
/// `2.05 s`.
pub fn fmt_latency(us: f64) -> String {
    if !us.is_finite() {
        "—".into()
    } else if us < 1_000.0 {
        format!("{:.3} ms", us / 1e3)
    } else if us < 100_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else if us < 1_000_000.0 {
        format!("{:.0} ms", us / 1e3)
    } else if us < 10_000_000.0 {
        format!("{:.2} s", us / 1e6)
    } else {
        format!("{:.0} s", us / 1e6)
    }
}

/// `0`, or the total with the non-zero kinds: `198 (timeout 198)`.
pub fn fmt_errors(e: &Errors) -> String {
    let total = e.total();
    if total == 0 {
        return "0".into();
    }
    let parts: Vec<String> = e
        .fields()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {}", fmt_int(*n as f64)))
        .collect();
    format!("{} ({})", fmt_int(total as f64), parts.join(", "))
}

/// The markdown table of `rows`.
pub fn table(rows: &[(Kind, Row)]) -> String {
    let mut t = String::new();
    t.push_str("| Architecture | Req/sec | p50 | p75 | p90 | p99 | Errors | Syscalls/req |\n");
    t.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (kind, row) in rows {
        let dash = "—";
        let cells: Vec<String> = match row {
            Row::Measured {
                rps,
                pct,
                errors,
                syscalls_per_req,
                ..
            } => {
                let mut c = vec![fmt_int(*rps)];
                c.extend(pct.iter().map(|&p| fmt_latency(p)));
                c.push(fmt_errors(errors));
                c.push(syscalls_per_req.map_or(dash.to_string(), |s| format!("{s:.2}")));
                c
            }
            Row::NotBuilt(why) => {
                let mut c = vec![format!("{dash} {why}")];
                c.extend(std::iter::repeat(dash.to_string()).take(6));
                c
            }
            Row::Failed(why) => {
                let mut c = vec![format!("{dash} failed: {}", why.replace('|', "/"))];
                c.extend(std::iter::repeat(dash.to_string()).take(6));
                c
            }
        };
        let _ = writeln!(t, "| {} | {} |", kind.label(), cells.join(" | "));
    }
    t
}

/// The median row as JSON.
fn row_json(kind: Kind, row: &Row) -> Json {
    let base = Json::obj()
        .set("server", kind.id())
        .set("label", kind.label());
    match row {
        Row::Measured {
            rps,
            pct,
            errors,
            syscalls_per_req,
            syscalls_source,
            cross_check,
            rounds,
            failed,
        } => {
            let mut e = Json::obj();
            for (k, v) in errors.fields() {
                e = e.set(k, v);
            }
            base.set("status", "measured")
                .set("rps", *rps)
                .set("p50_us", pct[0])
                .set("p75_us", pct[1])
                .set("p90_us", pct[2])
                .set("p99_us", pct[3])
                .set("errors", e)
                .set("errors_total", errors.total())
                .set("syscalls_per_request", *syscalls_per_req)
                .set("syscalls_source", syscalls_source.map(Source::id))
                .set(
                    "syscalls_counters_vs_perf",
                    cross_check.as_ref().map(CrossCheck::to_json),
                )
                .set("rounds_measured", *rounds)
                .set("rounds_failed", *failed)
        }
        Row::NotBuilt(why) => base.set("status", "not_built").set("reason", why.as_str()),
        Row::Failed(why) => base.set("status", "failed").set("reason", why.as_str()),
    }
}

/// Everything about a run, for `http.json`.
pub fn to_json(
    machine: &Machine,
    params: Json,
    rounds: &[Round],
    rows: &[(Kind, Row)],
    header: &[String],
) -> Json {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rounds_json: Vec<Json> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Json::obj()
                .set("round", i + 1)
                .set("order", r.order.iter().map(|k| k.id()).collect::<Json>())
                .set(
                    "results",
                    r.results
                        .iter()
                        .map(|(k, o)| o.to_json(*k))
                        .collect::<Json>(),
                )
        })
        .collect();
    Json::obj()
        .set("benchmark", "http")
        .set("unix_time", unix)
        .set("machine", machine.to_json())
        .set("params", params)
        .set(
            "header",
            header.iter().map(String::as_str).collect::<Json>(),
        )
        .set(
            "medians",
            rows.iter().map(|(k, r)| row_json(*k, r)).collect::<Json>(),
        )
        .set("rounds", rounds_json)
        .set("table", table(rows))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::svg::{fmt_decade, fmt_short, nice_step};

    fn load(rps: f64, p50: f64, p99: f64, timeouts: u64) -> LoadResult {
        LoadResult {
            requests: (rps * 5.0) as u64,
            seconds: 5.0,
            rps,
            p50,
            p75: p50 * 1.2,
            p90: p50 * 1.5,
            p99,
            max: p99 * 2.0,
            errors: Errors {
                timeout: timeouts,
                ..Errors::default()
            },
        }
    }

    /// Three rounds of every row: measured, failed and not built ones, a rawrt row with a
    /// counters-vs-perf cross-check (also used by the chart's tests).
    pub(crate) fn sample_rounds() -> (Vec<Kind>, Vec<Round>) {
        let kinds = Kind::ALL.to_vec();
        let measured = |l: LoadResult, sys: Option<u64>| Outcome::Measured {
            syscalls: sys.map(|n| SyscallCounts {
                source: Source::Perf,
                by_call: vec![("read".into(), n)],
            }),
            perf_check: None,
            load: l,
        };
        let r1 = Round {
            order: kinds.clone(),
            results: vec![
                (
                    Kind::Blocking,
                    measured(load(20_000.0, 40.0, 90.0, 198), Some(400_000)),
                ),
                (
                    Kind::Threads,
                    Outcome::Failed("server exited | early".into()),
                ),
                (
                    Kind::Rawrt,
                    measured(load(50_000.0, 1_500.0, 4_000.0, 0), Some(500_000)),
                ),
                (Kind::RawrtMio, Outcome::NotBuilt("not built yet".into())),
                (
                    Kind::Tokio,
                    measured(load(55_000.0, 1_400.0, 3_900.0, 0), None),
                ),
            ],
        };
        let mut r1 = r1;
        // The rawrt row counted by its counters, and by perf as the cross-check.
        if let Outcome::Measured {
            syscalls,
            perf_check,
            ..
        } = &mut r1.results[2].1
        {
            *syscalls = Some(SyscallCounts {
                source: Source::Counters,
                by_call: vec![("read".into(), 499_000), ("other".into(), 1_000)],
            });
            *perf_check = Some(SyscallCounts {
                source: Source::Perf,
                by_call: vec![("read".into(), 499_100), ("futex".into(), 20)],
            });
        }
        let mut r2 = r1.clone();
        r2.order.reverse();
        r2.results[0].1 = measured(load(22_000.0, 41.0, 95.0, 200), None);
        r2.results[2].1 = measured(load(40_000.0, 1_600.0, 2_000_000.0, 0), None);
        let mut r3 = r1.clone();
        r3.results[2].1 = measured(load(45_000.0, 1_550.0, 5_000.0, 0), None);
        (kinds, vec![r1, r2, r3])
    }

    #[test]
    fn pairs_rows_round_by_round() {
        let (_, rounds) = sample_rounds();
        let p = Paired::of(&rounds, Kind::Rawrt, Kind::Tokio).unwrap();
        // rawrt 50k / 40k / 45k against Tokio's 55k in each round.
        let want = [50.0 / 55.0, 40.0 / 55.0, 45.0 / 55.0];
        assert_eq!(p.rps_ratios.len(), 3);
        for (got, want) in p.rps_ratios.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert!((p.p99_ratios[0] - 4_000.0 / 3_900.0).abs() < 1e-9);
        assert!(p
            .describe()
            .starts_with("req/s ratio median 0.818 (per round 0.91 0.73 0.82)"));
        // A row that never ran pairs with nothing.
        assert_eq!(Paired::of(&rounds, Kind::Rawrt, Kind::RawrtMio), None);
    }

    #[test]
    fn medians_and_table() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());

        let (kinds, rounds) = sample_rounds();
        let rows = summarize(&kinds, &rounds);
        match &rows[2].1 {
            Row::Measured {
                rps,
                pct,
                syscalls_per_req,
                syscalls_source,
                cross_check,
                rounds,
                ..
            } => {
                assert_eq!(*rps, 45_000.0);
                assert_eq!(pct[3], 5_000.0);
                assert_eq!(*rounds, 3);
                assert_eq!(*syscalls_per_req, Some(2.0));
                assert_eq!(*syscalls_source, Some(Source::Counters));
                let c = cross_check.as_ref().unwrap();
                assert_eq!((c.round, c.requests), (1, 250_000));
                assert_eq!(c.agreement().groups[2], ("read", 499_000, 499_100));
            }
            other => panic!("{other:?}"),
        }
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "| Architecture | Req/sec | p50 | p75 | p90 | p99 | Errors | Syscalls/req |"
        );
        assert_eq!(lines.len(), 2 + Kind::ALL.len());
        for l in &lines {
            // Every row has the same number of cells (no stray `|` from reasons).
            assert_eq!(l.matches('|').count(), 9, "{l}");
        }
        assert!(lines[2].starts_with("| Single-threaded blocking | 20,000 | 0.040 ms |"));
        assert!(lines[2].contains("| 198 (timeout 198) |"));
        assert!(lines[2].ends_with("| 4.00 |"), "{}", lines[2]);
        assert!(lines[3].contains("failed: server exited / early"));
        assert!(lines[5].starts_with("| rawrt (mio backend) | — not built yet |"));
        assert!(lines[6].ends_with("| 0 | — |"), "{}", lines[6]);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(1_234_567.8), "1,234,568");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(0.0), "0");
        assert_eq!(fmt_latency(87.0), "0.087 ms");
        assert_eq!(fmt_latency(1_234.0), "1.23 ms");
        assert_eq!(fmt_latency(923_000.0), "923 ms");
        assert_eq!(fmt_latency(2_050_000.0), "2.05 s");
        assert_eq!(fmt_latency(20_000_000.0), "20 s");
        assert_eq!(fmt_errors(&Errors::default()), "0");
        let e = Errors {
            connect: 2,
            read: 1_500,
            ..Errors::default()
        };
        assert_eq!(fmt_errors(&e), "1,502 (connect 2, read 1,500)");
        assert_eq!(nice_step(97_000.0, 5.0), 20_000.0);
        assert_eq!(nice_step(0.0, 5.0), 1.0);
        assert_eq!(fmt_short(40_000.0), "40k");
        assert_eq!(fmt_decade(1_000.0), "1 ms");
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(cpu_model("nothing"), None);
    }

    #[test]
    fn json_has_rounds_and_medians() {
        let (kinds, rounds) = sample_rounds();
        let rows = summarize(&kinds, &rounds);
        let m = Machine {
            cores: 2,
            kernel: "6.18".into(),
            cpu: "AMD EPYC".into(),
        };
        let j = to_json(&m, Json::obj().set("rounds", 3u64), &rounds, &rows, &[]);
        let back = Json::parse(&format!("{j:#}")).unwrap();
        assert_eq!(back, j);
        match back.get("rounds") {
            Some(Json::Arr(r)) => assert_eq!(r.len(), 3),
            other => panic!("{other:?}"),
        }
        match back.get("medians") {
            Some(Json::Arr(r)) => {
                assert_eq!(r.len(), 5);
                assert_eq!(r[3].get("status"), Some(&Json::from("not_built")));
                assert_eq!(
                    r[2].get("syscalls_source"),
                    Some(&Json::from("rawrt counters"))
                );
                let cc = r[2].get("syscalls_counters_vs_perf").unwrap();
                assert_eq!(cc.num("counters_per_request_all_kinds"), Some(2.0));
                assert_eq!(
                    cc.get("like_for_like").and_then(|l| l.num("perf_total")),
                    Some(499_100.0)
                );
                assert_eq!(r[0].get("syscalls_source"), Some(&Json::from("perf")));
                assert_eq!(r[0].get("syscalls_counters_vs_perf"), Some(&Json::Null));
            }
            other => panic!("{other:?}"),
        }
    }
}
