//! Cooperative scheduling: the budget every task poll gets, and how to spend or lift it.
//!
//! Each time a worker polls a task it gives it a budget of 128 operations on rawrt's
//! resources (a socket read or write, an accept, a channel send or receive, a `Notify`
//! wait, a timer, a `JoinHandle`). An operation that completes costs one; once the budget is
//! spent, every such operation returns `Pending` (having woken the task), so the task
//! returns to its worker, which runs the others (and polls the driver and the timers)
//! before polling it again. A task that always finds its resources ready therefore cannot
//! starve the rest, without a single change to its code.
//!
//! Loops that do not touch rawrt's resources (pure computation, or resources of another
//! library) are not charged: [`consume_budget`] charges such a loop by hand.
//! [`unconstrained`] lifts the budget for one future, as in Tokio.
//!
//! ```
//! # let rt = rawrt::Runtime::new()?;
//! # rt.block_on(async {
//! let (tx, mut rx) = rawrt::sync::mpsc::channel::<u32>(1024);
//! for i in 0..1000 {
//!     tx.try_send(i).unwrap();
//! }
//! drop(tx);
//! // Always ready: this loop yields to the worker every 128 receives.
//! let mut sum = 0;
//! while let Some(i) = rx.recv().await {
//!     sum += i;
//! }
//! assert_eq!(sum, 499_500);
//! # });
//! # Ok::<_, std::io::Error>(())
//! ```

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::scheduler::coop;

/// Spends one unit of the current task's budget, yielding to the worker first if the
/// budget is spent; for loops that do work rawrt does not see.
///
/// Outside a rawrt task (or inside [`unconstrained`]) it completes at once.
///
/// ```
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let mut hashes = 0u64;
/// for chunk in 0..10_000u64 {
///     hashes = hashes.wrapping_mul(31).wrapping_add(chunk); // CPU work, no I/O
///     rawrt::task::consume_budget().await; // lets other tasks in every 128 chunks
/// }
/// # assert_ne!(hashes, 0);
/// # });
/// # Ok::<_, std::io::Error>(())
/// ```
pub async fn consume_budget() {
    let mut done = false;
    poll_fn(|cx| {
        if done {
            return Poll::Ready(());
        }
        let restore = match coop::poll_proceed(cx) {
            Poll::Ready(r) => r,
            Poll::Pending => return Poll::Pending,
        };
        restore.made_progress();
        done = true;
        Poll::Ready(())
    })
    .await
}

/// Whether the current task poll has budget left (always true outside a task and inside
/// [`unconstrained`]).
///
/// ```
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// assert!(rawrt::task::coop::has_budget_remaining());
/// # });
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn has_budget_remaining() -> bool {
    coop::has_budget_remaining()
}

/// Runs `future` without a budget: its resource operations are never refused, so it is
/// never made to yield by rawrt. Use it for a future that must not be interrupted between
/// two operations; it can then starve its worker.
///
/// ```
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let (tx, mut rx) = rawrt::sync::mpsc::channel::<u32>(1000);
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// let drained = rawrt::task::unconstrained(async move {
///     let mut n = 0;
///     while n < 1000 {
///         rx.recv().await.unwrap();
///         n += 1;
///     }
///     n
/// })
/// .await;
/// assert_eq!(drained, 1000);
/// # });
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future of [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `Unconstrained` has no `Drop` impl and is `Unpin` only when `F` is.
        let future = unsafe { self.map_unchecked_mut(|u| &mut u.future) };
        coop::with_unconstrained(|| future.poll(cx))
    }
}
