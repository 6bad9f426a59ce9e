//! When a worker wakes a sleeping sibling to share the tasks queued on it.
//!
//! A worker that comes back from the driver (blocking or not) with tasks queued may wake a
//! sleeping sibling to steal half of them. Tokio does so whenever more than one task is
//! queued. rawrt does so only when both hold:
//! 1. the queued work is expected to take at least the threshold (default 200 µs): queued
//!    tasks × the worker's mean poll time ([`PollTimer`](super::PollTimer)). A woken thread
//!    needs tens of microseconds to start and costs a futex or eventfd write; a smaller
//!    backlog is done before help arrives;
//! 2. the runtime's CPUs have had at least three quarters of a CPU idle lately
//!    ([`CpuIdle`], from `/proc/stat`; unknown counts as idle). A thread woken when every
//!    CPU is busy does not finish the backlog sooner: it time-slices with whatever runs
//!    there, and whoever it displaced waits a scheduler slice of milliseconds.
//!
//! A backlog that keeps growing crosses the threshold, so a saturated worker still gets
//! help where a CPU is free; a sibling that finds work while searching wakes the next one
//! (`multi_thread/idle.rs`), so a burst on an idle machine still spreads. Until a first poll
//! time is measured, and with a zero threshold, Tokio's rule applies. Tasks pushed by a
//! running task (spawns, wakes of other tasks) are not this rule's business: they wake a
//! sibling at once, as in Tokio.

use std::time::Duration;

use super::cpu_idle::CpuIdle;

/// A sibling is woken for a backlog only if at least this much CPU (thousandths of a CPU)
/// has been idle lately: three quarters of a CPU free to run it.
const MIN_IDLE_CPU_MILLI: u64 = 750;

/// The rule, with its threshold and the idle-CPU estimate (one per runtime).
pub(crate) struct SpreadRule {
    threshold_ns: f64,
    /// `None` with a zero threshold: `/proc/stat` is never read.
    cpu_idle: Option<CpuIdle>,
}

impl SpreadRule {
    pub(crate) fn new(threshold: Duration) -> SpreadRule {
        SpreadRule {
            threshold_ns: threshold.as_nanos() as f64,
            cpu_idle: (!threshold.is_zero()).then(CpuIdle::new),
        }
    }

    /// Whether `queued` tasks at `mean_poll_ns` each are worth waking a sibling for.
    pub(crate) fn worth_waking_for(&self, queued: usize, mean_poll_ns: f64) -> bool {
        worth_waking_for(queued, mean_poll_ns, self.threshold_ns, || {
            self.cpu_idle.as_ref().and_then(CpuIdle::idle_milli)
        })
    }
}

/// The rule as a pure function: more than one task, and — once a poll time is measured
/// (`mean_poll_ns > 0`) and with a non-zero threshold — at least `threshold_ns` of work,
/// unless `idle_milli` (asked last, as it may read `/proc/stat`) says the CPUs are busy.
fn worth_waking_for(
    queued: usize,
    mean_poll_ns: f64,
    threshold_ns: f64,
    idle_milli: impl FnOnce() -> Option<u64>,
) -> bool {
    if queued <= 1 {
        return false;
    }
    if threshold_ns == 0.0 || mean_poll_ns == 0.0 {
        return true;
    }
    queued as f64 * mean_poll_ns >= threshold_ns
        && !matches!(idle_milli(), Some(idle) if idle < MIN_IDLE_CPU_MILLI)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_sibling_is_woken_only_for_enough_work() {
        let idle = |v: Option<u64>| move || v;
        let not_asked = || -> Option<u64> { panic!("idle CPUs asked for no reason") };
        // One task is never shared.
        assert!(!worth_waking_for(1, 0.0, 0.0, not_asked));
        assert!(!worth_waking_for(1, 1e9, 200_000.0, not_asked));
        // Nothing measured yet: Tokio's rule, more than one task.
        assert!(worth_waking_for(2, 0.0, 200_000.0, not_asked));
        // 10 µs polls: 19 tasks are 190 µs, under 200 µs; 20 are enough...
        assert!(!worth_waking_for(19, 10_000.0, 200_000.0, not_asked));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(None)));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(1_000))));
        // ...unless the CPUs have had less than three quarters of one idle lately.
        assert!(!worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(700))));
        assert!(worth_waking_for(20, 10_000.0, 200_000.0, idle(Some(750))));
        // A zero threshold is Tokio's rule whatever the poll time and the CPUs.
        assert!(worth_waking_for(2, 1.0, 0.0, not_asked));
    }

    #[test]
    fn a_zero_threshold_never_opens_proc_stat() {
        let rule = SpreadRule::new(Duration::ZERO);
        assert!(rule.cpu_idle.is_none());
        assert!(rule.worth_waking_for(2, 1e9));
        assert!(!rule.worth_waking_for(1, 1e9));
    }
}
