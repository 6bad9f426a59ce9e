//! When a worker counts as stuck: the rule the monitor (`multi_thread/monitor.rs`) applies.
//!
//! A worker is stuck when, between two looks (a [`CHECK_INTERVAL`] apart while it is busy),
//! it finished no poll while it was not asleep, and something waits on it: tasks in its
//! queue (which only it runs until a sibling steals them), or the events of the driver, which
//! nobody else watches (no worker sleeps in `epoll_wait`). One poll that long is a task
//! blocking its worker (a blocking call, a long computation); the cooperative budget cannot
//! end it, so the monitor wakes a sleeping sibling to steal the queue and take the driver. A
//! worker that finishes polls keeps its work: the spread rule (`spread.rs`) alone decides
//! when work that flows is shared.
//!
//! Why 1 ms: far above any poll of a well-behaved task (tens of microseconds), so it never
//! fires for them, and small enough that requests queued behind a blocked task wait a
//! millisecond or two, not the whole block.
//!
//! How often to look ([`next_interval`]): every [`CHECK_INTERVAL`] while a look finds a
//! worker awake or work queued; each look that finds the runtime idle (every worker asleep,
//! nothing queued) doubles the interval, up to [`MAX_CHECK_INTERVAL`]. A server answering a
//! request every few milliseconds is idle at nearly every look, and a fixed 1 ms would wake
//! the monitor a thousand times a second for it: at 200 requests a second over one
//! connection the server made 6.0 context switches per request (Tokio 2.0), and 2.5 with the
//! back-off; at 2,000 a second, 2.6 and 2.0 (Tokio 2.0). The price is detection: a task that
//! blocks right after such a quiet spell is seen by the next look, up to
//! [`MAX_CHECK_INTERVAL`] later, and helped a [`CHECK_INTERVAL`] after that. Once the
//! runtime has been idle at every look for [`IDLE_BEFORE_SLEEP`], the monitor sleeps until a
//! worker calls on it (an idle runtime costs nothing).

use std::time::Duration;

/// How often the monitor looks while the runtime is busy.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(1);

/// The longest the monitor waits between two looks while it watches.
pub(crate) const MAX_CHECK_INTERVAL: Duration = Duration::from_millis(16);

/// How long the looks in a row must have found the runtime idle before the monitor stops
/// looking and sleeps until a worker calls on it. A runtime serving a trickle (one request
/// every few milliseconds is idle at nearly every look) keeps the monitor looking, slowly,
/// so that its workers do not pay a wake-up of the monitor (a futex call on the request's
/// path) for every request; a tenth of a second without work ends that.
pub(crate) const IDLE_BEFORE_SLEEP: Duration = Duration::from_millis(100);

/// The wait before the next look, after a look `current` after the previous one that found
/// the runtime `busy` (a worker awake or work queued) or not.
pub(crate) fn next_interval(current: Duration, busy: bool) -> Duration {
    if busy {
        CHECK_INTERVAL
    } else {
        current
            .saturating_mul(2)
            .clamp(CHECK_INTERVAL, MAX_CHECK_INTERVAL)
    }
}

/// What the monitor sees of one worker at one look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WorkerView {
    /// Polls finished so far.
    pub(crate) polls: u64,
    /// On the sleepers' list.
    pub(crate) asleep: bool,
    /// Tasks in its (stealable) queue.
    pub(crate) has_queued: bool,
}

/// Whether a worker seen as `now`, which had finished `polls_before` polls at the previous
/// look, is stuck with work waiting on it (`driver_watched`: some worker sleeps in the
/// driver).
pub(crate) fn is_stuck(polls_before: u64, now: WorkerView, driver_watched: bool) -> bool {
    !now.asleep && now.polls == polls_before && (now.has_queued || !driver_watched)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn view(polls: u64, asleep: bool, has_queued: bool) -> WorkerView {
        WorkerView {
            polls,
            asleep,
            has_queued,
        }
    }

    #[test]
    fn stuck_means_no_progress_with_work_waiting() {
        // Blocked in a poll with tasks queued behind it: stuck, whoever holds the driver.
        assert!(is_stuck(10, view(10, false, true), true));
        assert!(is_stuck(10, view(10, false, true), false));
        // Blocked with nothing queued: stuck only if nobody watches the driver.
        assert!(is_stuck(10, view(10, false, false), false));
        assert!(!is_stuck(10, view(10, false, false), true));
        // Progress, or asleep: never stuck.
        assert!(!is_stuck(10, view(11, false, true), false));
        assert!(!is_stuck(10, view(10, true, true), false));
    }

    #[test]
    fn idle_looks_back_off_to_the_cap_and_a_busy_look_resets() {
        let mut interval = CHECK_INTERVAL;
        let mut waits = Vec::new();
        for _ in 0..7 {
            interval = next_interval(interval, false);
            waits.push(interval.as_millis());
        }
        assert_eq!(waits, [2, 4, 8, 16, 16, 16, 16]);
        assert_eq!(next_interval(MAX_CHECK_INTERVAL, true), CHECK_INTERVAL);
        assert_eq!(next_interval(CHECK_INTERVAL, true), CHECK_INTERVAL);
        // Whatever it is handed, the wait stays within the two bounds.
        assert_eq!(next_interval(Duration::ZERO, false), CHECK_INTERVAL);
        assert_eq!(next_interval(Duration::MAX, false), MAX_CHECK_INTERVAL);
        // The quiet spell before the monitor sleeps spans several looks at the cap, so a
        // trickle of work keeps it looking rather than waking it per request.
        assert!(IDLE_BEFORE_SLEEP >= MAX_CHECK_INTERVAL * 4);
    }
}
