//! What the HTTP benchmark runs: its command-line options, with the defaults resolved for
//! this machine (cores, allowed CPUs).

use std::net::SocketAddr;
use std::time::Duration;

use super::cpus::{cpu_list, fmt_cpus, split_cpus};
use crate::cli::{num, secs, split_flags};
use crate::json::Json;
use crate::load::LoadParams;
use crate::servers::Kind;

/// What to run, with the defaults resolved for this machine.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The rows to measure, in table order (`--only`).
    pub(crate) kinds: Vec<Kind>,
    /// Measured time per server and round (`--duration`).
    pub(crate) duration: Duration,
    /// Rounds (`--rounds`).
    pub(crate) rounds: usize,
    /// Unmeasured warm-up of each server before round 1 (`--warmup`).
    pub(crate) warmup: Duration,
    /// Keep-alive connections of the load (`--connections`).
    pub(crate) connections: usize,
    /// Load-generator threads (`--threads`).
    pub(crate) threads: usize,
    /// Worker threads of the async servers (`--workers`).
    pub(crate) workers: usize,
    /// Request timeout of the load (`--timeout`).
    pub(crate) timeout: Duration,
    /// Load with wrk instead of the built-in generator (`--wrk`).
    pub(crate) wrk: bool,
    /// Leave the Syscalls/req column empty (`--no-syscalls`).
    pub(crate) no_syscalls: bool,
    /// CPUs of the load generator (`None`: not pinned).
    pub(crate) load_cpus: Option<Vec<usize>>,
    /// CPUs of the servers (`None`: not pinned).
    pub(crate) server_cpus: Option<Vec<usize>>,
    /// Where the connection count came from, for the header.
    pub(crate) why_connections: String,
    /// Where the load-thread count came from, for the header.
    pub(crate) why_threads: String,
    /// Where the worker count came from, for the header.
    pub(crate) why_workers: String,
}

impl Plan {
    /// Parses the benchmark's options (cargo bench's own `--bench` is accepted and ignored)
    /// for a machine with `cores` cores.
    pub fn from_args(args: &[String], cores: usize) -> Result<Plan, String> {
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
                        let k = Kind::parse(id).map_err(|e| format!("--only: {e}"))?;
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

    /// The load of one run against `addr` for `duration`.
    pub(crate) fn load_params(&self, addr: SocketAddr, duration: Duration) -> LoadParams {
        LoadParams {
            addr,
            connections: self.connections,
            threads: self.threads,
            duration,
            timeout: self.timeout,
        }
    }

    /// The parameters for `http.json`: `generator` is `builtin` or `wrk`, `syscalls` the
    /// header's Syscalls/req line.
    pub(crate) fn as_json(&self, generator: &str, syscalls: &str) -> Json {
        Json::obj()
            .set(
                "servers",
                self.kinds.iter().map(|k| k.id()).collect::<Json>(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::words as args;

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
}
