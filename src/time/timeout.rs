//! `timeout`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::{sleep, sleep_until, Instant, Sleep};
use crate::scheduler::coop;

/// The error of [`timeout`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` for at most `duration`: its output, or `Err(Elapsed)` (the future is
/// dropped). The future is polled first, so one that is ready at once always wins.
///
/// ```
/// use std::time::Duration;
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let slow = rawrt::time::sleep(Duration::from_secs(60));
///     assert!(rawrt::time::timeout(Duration::from_millis(10), slow).await.is_err());
///     assert_eq!(rawrt::time::timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
/// });
/// ```
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    race(future, sleep(duration)).await
}

/// Runs `future` until `deadline`; see [`timeout`].
pub async fn timeout_at<F: Future>(deadline: Instant, future: F) -> Result<F::Output, Elapsed> {
    race(future, sleep_until(deadline)).await
}

async fn race<F: Future>(future: F, delay: Sleep) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let mut delay = pin!(delay);
    poll_fn(|cx| {
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let mut poll_delay = || match delay.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        };
        // If the future itself spent the budget, the deadline is still checked (with no
        // budget): a future that always exhausts it would otherwise never time out.
        if had_budget && !coop::has_budget_remaining() {
            coop::with_unconstrained(poll_delay)
        } else {
            poll_delay()
        }
    })
    .await
}
