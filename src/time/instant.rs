//! `Instant`: a point on the runtime's clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the monotonic clock, as `std::time::Instant` — but read through the
/// runtime, so that a paused clock (feature `test-util`, `time::pause`) moves
/// it. Without `test-util`, [`Instant::now`] is `std::time::Instant::now()`.
///
/// Differences saturate at zero as Tokio's do: `earlier - later` is `Duration::ZERO`, not a
/// panic.
///
/// ```
/// use rawrt::time::Instant;
/// use std::time::Duration;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let start = Instant::now();
///     rawrt::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
///     let later = start + Duration::from_secs(1);
///     assert_eq!(later - start, Duration::from_secs(1));
///     assert_eq!(start - later, Duration::ZERO);
///     assert_eq!(later.into_std(), start.into_std() + Duration::from_secs(1));
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time: the paused clock's reading inside a runtime whose clock is paused,
    /// else the OS's monotonic clock.
    pub fn now() -> Instant {
        Instant { std: now_std() }
    }

    /// Wraps a `std::time::Instant`.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The `std::time::Instant` this is.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time since `self` (by [`Instant::now`]); zero if `self` is in the future.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if it cannot be represented.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if it cannot be represented.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// Stand-in for "never": about 30 years from now, as other runtimes use.
    pub(crate) fn far_future() -> Instant {
        Instant::now() + Duration::from_secs(86_400 * 365 * 30)
    }
}

#[cfg(not(feature = "test-util"))]
#[inline]
fn now_std() -> std::time::Instant {
    std::time::Instant::now()
}

#[cfg(feature = "test-util")]
#[inline]
fn now_std() -> std::time::Instant {
    crate::runtime::with_current_reactor(|r| r.now()).unwrap_or_else(std::time::Instant::now)
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// When the result cannot be represented (use [`Instant::checked_add`]).
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// When the result cannot be represented (use [`Instant::checked_sub`]).
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, as [`Instant::saturating_duration_since`].
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_round_trips() {
        let a = Instant::now();
        let b = a + Duration::from_millis(1500);
        assert_eq!(b - a, Duration::from_millis(1500));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(a.checked_duration_since(b), None);
        assert_eq!(
            b.checked_duration_since(a),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(b - Duration::from_millis(1500), a);
        assert_eq!(a.checked_add(Duration::MAX), None);
        let mut c = a;
        c += Duration::from_secs(2);
        c -= Duration::from_secs(1);
        assert_eq!(c.duration_since(a), Duration::from_secs(1));
        assert_eq!(Instant::from(a.into_std()), a);
        assert_eq!(std::time::Instant::from(a), a.into_std());
    }
}
