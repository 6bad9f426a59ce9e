//! `Sleep`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;

use crate::reactor;
use crate::reactor::timer::TimerKey;
use crate::runtime::with_current_reactor;
use crate::scheduler::coop;

/// Waits until `duration` has elapsed.
///
/// ```
/// use rawrt::time::{Duration, Instant};
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     rawrt::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().checked_add(duration))
}

/// Waits until `deadline`. A deadline in the past completes at once.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline))
}

/// The future of [`sleep`] and [`sleep_until`]. `Send + Sync + Unpin`; dropping it cancels
/// the timer in O(1).
///
/// # Panics
/// Polling it outside a rawrt runtime panics with a message saying so.
pub struct Sleep {
    /// `None`: too far to represent (`Duration::MAX`); never completes.
    deadline: Option<Instant>,
    entry: Option<(reactor::Handle, TimerKey)>,
    elapsed: bool,
}

impl Sleep {
    fn new(deadline: Option<Instant>) -> Sleep {
        Sleep {
            deadline,
            entry: None,
            elapsed: false,
        }
    }

    /// The deadline (for a deadline too far to represent: about 30 years from now).
    pub fn deadline(&self) -> Instant {
        self.deadline.unwrap_or_else(Instant::far_future)
    }

    /// Whether the deadline has been reached (as observed by a poll).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Moves the deadline; the next poll waits for the new one.
    pub fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.cancel();
        self.deadline = Some(deadline);
        self.elapsed = false;
    }

    fn cancel(&mut self) {
        if let Some((handle, key)) = self.entry.take() {
            handle.remove_timer(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A timer is a resource: charged to the cooperative budget when it completes.
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_elapsed(cx))
    }
}

impl Sleep {
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.elapsed {
            return Poll::Ready(());
        }
        let this = self;
        match &this.entry {
            Some((handle, key)) => {
                if !handle.poll_timer(*key, cx.waker()) {
                    return Poll::Pending;
                }
            }
            None => {
                let handle = match with_current_reactor(reactor::Handle::clone) {
                    Some(h) => h,
                    None => panic!(
                        "rawrt::time::Sleep polled outside of a rawrt runtime: timers need a \
                         runtime to drive them (poll it from a task or inside block_on)"
                    ),
                };
                if this.deadline.is_some_and(|d| d.into_std() <= handle.now()) {
                    this.elapsed = true;
                    return Poll::Ready(());
                }
                let key =
                    handle.insert_timer(this.deadline.map(Instant::into_std), cx.waker().clone());
                this.entry = Some((handle, key));
                return Poll::Pending;
            }
        }
        this.cancel();
        this.elapsed = true;
        Poll::Ready(())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}
