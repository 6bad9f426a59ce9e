//! How much CPU capacity sits idle: the second half of the spread rule (`spread.rs`).
//!
//! A sleeping sibling woken to share a backlog helps only if some CPU is free to run it.
//! When every CPU the process may use is busy — the other workers, or other processes
//! (a load generator, a database on the same box) — the woken thread only time-slices
//! with them: the backlog is not done sooner, and whoever it displaced (and every
//! request waiting on them) waits a scheduler slice, milliseconds. So the rule also asks
//! the kernel how idle the runtime's CPUs (its affinity set, read when the runtime
//! starts) have been lately.
//!
//! The estimate comes from `/proc/stat` (`rawrt_sys::cpustat`): idle ticks over total
//! ticks between two samples, times the number of CPUs. It is sampled lazily, only when
//! a worker is about to wake a sibling for a backlog, and at most every
//! `SAMPLE_INTERVAL`: the worker that finds the sample stale claims the next slot with
//! one compare-and-swap, takes the reader with a `try_lock` (nobody ever waits for it),
//! makes one `pread` and publishes the result in an atomic. Everyone else reads the
//! atomic (relaxed: it is an estimate, and a stale one only delays or hastens one wake).
//! Without `/proc` (or before two samples exist) the estimate is unknown and the backlog
//! rule alone decides.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rawrt_sys::cpustat::{CpuStat, CpuTimes};

/// At most one `/proc/stat` read per this interval (the kernel counts in 10 ms ticks).
const SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// "Unknown" in `idle_milli`.
const UNKNOWN: u64 = u64::MAX;

pub(crate) struct CpuIdle {
    /// The runtime's start; sample times are nanoseconds since it.
    epoch: Instant,
    /// When the next sample may be taken (ns since `epoch`).
    next_sample_ns: AtomicU64,
    /// Idle CPUs, in thousandths, over the last sampled interval; `UNKNOWN` if none.
    idle_milli: AtomicU64,
    reader: Mutex<Option<Reader>>,
}

struct Reader {
    stat: CpuStat,
    /// The runtime's CPUs (`None`: every CPU, the aggregate line).
    cpus: Option<Vec<usize>>,
    ncpus: usize,
    last: Option<CpuTimes>,
}

impl CpuIdle {
    /// Opens `/proc/stat` and reads the calling thread's affinity (inherited by the
    /// workers); without either the estimate stays unknown.
    pub(crate) fn new() -> CpuIdle {
        let reader = match (CpuStat::open(), rawrt_sys::sched::affinity()) {
            (Ok(stat), Ok(cpus)) if !cpus.is_empty() => Some(Reader {
                stat,
                ncpus: cpus.len(),
                cpus: Some(cpus),
                last: None,
            }),
            _ => None,
        };
        CpuIdle {
            epoch: Instant::now(),
            next_sample_ns: AtomicU64::new(0),
            idle_milli: AtomicU64::new(UNKNOWN),
            reader: Mutex::new(reader),
        }
    }

    /// The idle CPUs (thousandths) lately, sampling first if the last sample is stale.
    pub(crate) fn idle_milli(&self) -> Option<u64> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        let next = self.next_sample_ns.load(Relaxed);
        if now >= next
            && self
                .next_sample_ns
                .compare_exchange(
                    next,
                    now + SAMPLE_INTERVAL.as_nanos() as u64,
                    Relaxed,
                    Relaxed,
                )
                .is_ok()
        {
            self.sample();
        }
        match self.idle_milli.load(Relaxed) {
            UNKNOWN => None,
            v => Some(v),
        }
    }

    fn sample(&self) {
        let Ok(mut guard) = self.reader.try_lock() else {
            return;
        };
        let Some(reader) = guard.as_mut() else {
            return;
        };
        match reader.stat.sample(reader.cpus.as_deref()) {
            Ok(now) => {
                if let Some(v) = reader
                    .last
                    .and_then(|last| now.idle_milli_since(&last, reader.ncpus))
                {
                    self.idle_milli.store(v, Relaxed);
                }
                reader.last = Some(now);
            }
            Err(_) => {
                // /proc/stat went away (a chroot, a sandbox): stop asking.
                *guard = None;
                self.idle_milli.store(UNKNOWN, Relaxed);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn estimates_after_two_samples() {
        let idle = CpuIdle::new();
        // The first sample only sets the baseline, and books the next one an interval on.
        assert_eq!(idle.idle_milli(), None);
        assert!(idle.next_sample_ns.load(Relaxed) >= SAMPLE_INTERVAL.as_nanos() as u64);
        // Once the kernel's 10 ms ticks have moved, a later sample gives an estimate
        // between no CPU and every CPU idle (bounded wait: slow under valgrind).
        let ncpus = rawrt_sys::sched::affinity().unwrap().len() as u64;
        let deadline = Instant::now() + Duration::from_secs(10);
        let v = loop {
            if let Some(v) = idle.idle_milli() {
                break v;
            }
            assert!(Instant::now() < deadline, "no estimate after 10 s");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(v <= ncpus * 1000, "{v} > {ncpus} CPUs");
    }
}
