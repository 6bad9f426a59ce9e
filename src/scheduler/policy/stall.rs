//! When a worker counts as stuck: the rule the monitor (`multi_thread/monitor.rs`) applies.
//!
//! A worker is stuck when, between two looks a [`CHECK_INTERVAL`] apart, it finished no poll
//! while it was not asleep, and something waits on it: tasks in its queue (which only it
//! runs until a sibling steals them), or the events of the driver, which nobody else watches
//! (no worker sleeps in `epoll_wait`). One poll that long is a task blocking its worker (a
//! blocking call, a long computation); the cooperative budget cannot end it, so the monitor
//! wakes a sleeping sibling to steal the queue and take the driver. A worker that finishes
//! polls keeps its work: the spread rule (`spread.rs`) alone decides when work that flows is
//! shared.
//!
//! Why 1 ms: far above any poll of a well-behaved task (tens of microseconds), so it never
//! fires for them, and small enough that requests queued behind a blocked task wait a
//! millisecond or two, not the whole block. The monitor looks only while the runtime has
//! been busy in the last [`IDLE_LOOKS_BEFORE_SLEEP`] looks (an idle runtime costs nothing),
//! at most a thousand times a second.

use std::time::Duration;

/// How often the monitor looks while the runtime is busy.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(1);

/// Looks in a row that find the runtime idle before the monitor stops looking and sleeps
/// until a worker calls on it. A runtime serving a steady trickle (one request at a time is
/// idle between requests at most looks) keeps the monitor looking, so its workers do not
/// pay a wake-up (a futex call on the request's path) for every request; ten idle
/// milliseconds in a row end that.
pub(crate) const IDLE_LOOKS_BEFORE_SLEEP: u32 = 10;

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
}
