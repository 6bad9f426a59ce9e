//! `Interval`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{sleep_until, Instant, Sleep};

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
            MissedTickBehavior::Burst => add_or_far(scheduled, period),
            MissedTickBehavior::Delay => add_or_far(now, period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let p = period.as_nanos().max(1);
                let periods = behind / p + 1;
                let add = Duration::from_nanos(u64::try_from(p * periods).unwrap_or(u64::MAX));
                add_or_far(scheduled, add)
            }
        }
    }
}

/// `at + d`, or "never" (about 30 years out) when that cannot be represented: an interval of
/// `Duration::MAX` ticks once, then waits forever instead of overflowing.
fn add_or_far(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(Instant::far_future)
}

/// Ticks every `period`, the first tick at once.
///
/// ```
/// use rawrt::time::{Duration, Instant};
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
        let next = if now <= add_or_far(scheduled, Duration::from_millis(1)) {
            add_or_far(scheduled, self.period)
        } else {
            self.missed.next(scheduled, now, self.period)
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(add_or_far(Instant::now(), self.period));
    }

    /// Restarts the schedule from now: the next tick is immediate, the following ones a
    /// period apart from it.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now, then every period.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(add_or_far(Instant::now(), after));
    }

    /// Restarts the schedule: the next tick is at `deadline` (at once if it has passed), then
    /// every period.
    ///
    /// ```
    /// use rawrt::time::{interval, Duration, Instant};
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut every = interval(Duration::from_secs(3600));
    ///     every.tick().await; // the first tick is immediate
    ///     let soon = Instant::now() + Duration::from_millis(5);
    ///     every.reset_at(soon);
    ///     assert_eq!(every.tick().await, soon);
    /// });
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
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
