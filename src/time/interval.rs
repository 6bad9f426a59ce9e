//! `Interval`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{sleep_until, Sleep};

/// What an [`Interval`] does with ticks it missed (the task was not polled in time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the original schedule
    /// (start + n × period). The default.
    #[default]
    Burst,
    /// Fire once now, then schedule the next tick a full period after *now*.
    Delay,
    /// Fire once now, then continue at the next multiple of the period on the original
    /// schedule, skipping the missed ones.
    Skip,
}

impl MissedTickBehavior {
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => scheduled + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let p = period.as_nanos().max(1);
                let periods = behind / p + 1;
                let add = Duration::from_nanos(u64::try_from(p * periods).unwrap_or(u64::MAX));
                scheduled + add
            }
        }
    }
}

/// Ticks every `period`, the first tick at once.
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     let mut every = rawrt::time::interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         every.tick().await; // at 0, 10, 20 ms
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// # Panics
/// When `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// When `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "rawrt::time::interval: period must be non-zero"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// A stream of ticks; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.delay.deadline();
        let now = Instant::now();
        // On time (within one ms of timer resolution) follows the schedule exactly.
        let next = if now <= scheduled + Duration::from_millis(1) {
            scheduled + self.period
        } else {
            self.missed.next(scheduled, now, self.period)
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        Pin::new(&mut self.delay).reset(Instant::now() + self.period);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How missed ticks are handled.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets how missed ticks are handled.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}
