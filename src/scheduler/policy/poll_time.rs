//! A worker's mean poll time, and the injector interval derived from it.
//!
//! A *busy period* runs from a return from parking (or a maintenance step) to the next park
//! (or maintenance step), so time asleep is never measured. Each closed period folds its mean
//! poll time into a moving average (weight 1/5 for the new period). The injector interval
//! follows it: the global injector is checked first about every 200 µs of polling — with
//! slow polls every few ticks (remote spawns are not starved), with fast polls rarely (its
//! lock is not taken for nothing) — within 2 to 127 ticks. Until a first period is measured,
//! the interval is 31 ticks. A builder-fixed interval is kept as it is.

use std::time::Instant;

/// The injector check interval before any poll time is measured.
const DEFAULT_GLOBAL_QUEUE_INTERVAL: u32 = 31;
/// The adaptive interval aims to check the injector about this often.
const TARGET_GLOBAL_QUEUE_LATENCY_NS: f64 = 200_000.0;
/// Bounds of the adaptive interval.
const MIN_GLOBAL_QUEUE_INTERVAL: u32 = 2;
const MAX_GLOBAL_QUEUE_INTERVAL: u32 = 127;
/// Weight of the newest busy period in the moving average.
const NEW_PERIOD_WEIGHT: f64 = 0.2;

/// One worker's poll-time measurement (owned by its core; no sharing).
#[derive(Debug)]
pub(crate) struct PollTimer {
    /// Mean time per poll (ns); 0 until a first busy period is measured.
    mean_poll_ns: f64,
    /// The open busy period: (its start, the worker's poll count then). `None` while parked.
    period: Option<(Instant, u64)>,
    global_queue_interval: u32,
    /// The builder's `global_queue_interval`, if it fixed one.
    fixed_interval: Option<u32>,
}

impl PollTimer {
    pub(crate) fn new(fixed_interval: Option<u32>) -> PollTimer {
        PollTimer {
            mean_poll_ns: 0.0,
            period: None,
            global_queue_interval: fixed_interval.unwrap_or(DEFAULT_GLOBAL_QUEUE_INTERVAL),
            fixed_interval,
        }
    }

    /// A busy period starts at `now`, the worker having polled `polls` tasks so far.
    pub(crate) fn start(&mut self, now: Instant, polls: u64) {
        self.period = Some((now, polls));
    }

    /// The open busy period (if any) ends at `now` with `polls` polls so far: its mean poll
    /// time is folded in and the injector interval retuned. A period without polls changes
    /// nothing.
    pub(crate) fn stop(&mut self, now: Instant, polls: u64) {
        let Some((start, start_polls)) = self.period.take() else {
            return;
        };
        let n = polls.saturating_sub(start_polls);
        if n == 0 {
            return;
        }
        let per_poll = now.saturating_duration_since(start).as_nanos() as f64 / n as f64;
        self.mean_poll_ns = if self.mean_poll_ns == 0.0 {
            per_poll
        } else {
            (1.0 - NEW_PERIOD_WEIGHT) * self.mean_poll_ns + NEW_PERIOD_WEIGHT * per_poll
        };
        if self.fixed_interval.is_none() {
            let ideal = TARGET_GLOBAL_QUEUE_LATENCY_NS / self.mean_poll_ns.max(1.0);
            self.global_queue_interval =
                (ideal as u32).clamp(MIN_GLOBAL_QUEUE_INTERVAL, MAX_GLOBAL_QUEUE_INTERVAL);
        }
    }

    /// Ends the open period and starts the next one (a maintenance step).
    pub(crate) fn restart(&mut self, now: Instant, polls: u64) {
        self.stop(now, polls);
        self.start(now, polls);
    }

    /// The mean poll time in nanoseconds (0 until measured).
    pub(crate) fn mean_poll_ns(&self) -> f64 {
        self.mean_poll_ns
    }

    /// Check the injector first every this many ticks.
    pub(crate) fn global_queue_interval(&self) -> u32 {
        self.global_queue_interval
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn interval_follows_the_measured_poll_time() {
        let t0 = Instant::now();
        let mut t = PollTimer::new(None);
        assert_eq!(t.global_queue_interval(), DEFAULT_GLOBAL_QUEUE_INTERVAL);
        // 100 polls in 1 ms: 10 µs each, so every 20 polls is 200 µs.
        t.start(t0, 0);
        t.stop(t0 + Duration::from_millis(1), 100);
        assert_eq!(t.mean_poll_ns(), 10_000.0);
        assert_eq!(t.global_queue_interval(), 20);
        // A second period of 50 µs polls moves the average by a fifth of the difference.
        t.start(t0 + Duration::from_millis(2), 100);
        t.stop(t0 + Duration::from_millis(3), 120);
        assert!((t.mean_poll_ns() - 18_000.0).abs() < 1e-6);
        assert_eq!(t.global_queue_interval(), 11);
    }

    #[test]
    fn interval_is_bounded_and_unmeasured_periods_change_nothing() {
        let t0 = Instant::now();
        let mut t = PollTimer::new(None);
        // Very fast polls: capped at 127.
        t.start(t0, 0);
        t.stop(t0 + Duration::from_micros(10), 1_000);
        assert_eq!(t.global_queue_interval(), MAX_GLOBAL_QUEUE_INTERVAL);
        // A period without polls (woken, found nothing) is not measured.
        let before = t.mean_poll_ns();
        t.start(t0 + Duration::from_secs(1), 1_000);
        t.stop(t0 + Duration::from_secs(5), 1_000);
        assert_eq!(t.mean_poll_ns(), before);
        // Stopping with no open period (already parked) is harmless.
        t.stop(t0 + Duration::from_secs(6), 2_000);
        assert_eq!(t.mean_poll_ns(), before);
        // Very slow polls: at least 2.
        let mut slow = PollTimer::new(None);
        slow.restart(t0, 0);
        slow.restart(t0 + Duration::from_secs(1), 10);
        assert_eq!(slow.global_queue_interval(), MIN_GLOBAL_QUEUE_INTERVAL);
    }

    #[test]
    fn a_fixed_interval_is_kept() {
        let t0 = Instant::now();
        let mut t = PollTimer::new(Some(7));
        t.start(t0, 0);
        t.stop(t0 + Duration::from_millis(1), 100);
        assert_eq!(t.global_queue_interval(), 7);
        assert_eq!(
            t.mean_poll_ns(),
            10_000.0,
            "the poll time is still measured"
        );
    }
}
