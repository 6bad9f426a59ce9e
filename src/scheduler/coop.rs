//! The cooperative budget: how many resource operations one poll of a task may complete
//! before the task must let others run.
//!
//! A task that finds every resource ready — a socket that always has data, a channel never
//! empty, an HTTP/2 connection answering a flood of PINGs — would never return `Pending`,
//! and its worker would run nothing else: no other task, no driver poll, no timer. So the
//! scheduler polls each task with a budget of [`BUDGET`] units, kept in the thread-local
//! context (`context.rs`). Every operation on a resource (a readiness poll of a socket or any other
//! registered fd, a channel send or receive, a `Notify` wait, a timer, a `JoinHandle`) asks
//! [`poll_proceed`] first: it costs one unit when the operation completes; when none is left
//! the task is woken and the operation returns `Pending`, so the task goes to the back of
//! its worker's queue and everything queued before it runs first. An operation that ends
//! `Pending` anyway gives its unit back ([`RestoreOnPending`]).
//!
//! Why 128: an operation here is a syscall or a lock, about a microsecond, so a poll that
//! spends its budget has run for roughly 100–200 µs — the same order as the injector
//! interval the worker aims at (200 µs of polling, `policy/poll_time.rs`), long enough that
//! a busy connection's task (two operations per request) serves dozens of requests per turn
//! and the cost of the yield (a requeue) is amortized, short enough that a fresh task or an
//! expired timer waits at most a few hundred microseconds per task ahead of it. (Tokio chose
//! the same number; the measurements in the README are with it.)
//!
//! Outside a scheduler's task poll (a thread that is not running a task) and inside
//! [`with_unconstrained`], the budget is unlimited: nothing is ever refused.

use std::cell::Cell;
use std::task::{Context, Poll};

use super::context;

/// Units per task poll.
pub(crate) const BUDGET: u8 = 128;

/// A task poll's remaining units; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget(Option<u8>);

impl Budget {
    /// What each task poll starts with.
    pub(crate) const fn initial() -> Budget {
        Budget(Some(BUDGET))
    }

    /// No limit.
    pub(crate) const fn unconstrained() -> Budget {
        Budget(None)
    }

    fn has_remaining(self) -> bool {
        self.0 != Some(0)
    }
}

/// Gives the next task poll a fresh budget, on a scheduler's own thread: nothing there runs
/// outside task polls that could spend budget, so nothing needs restoring afterwards (one
/// store, where [`budget`] makes two).
#[inline]
pub(crate) fn start_task_poll() {
    context::set_budget(Budget::initial());
}

/// Runs `f` (a task poll) with a fresh budget, restoring the previous one afterwards (also
/// when `f` unwinds).
#[inline]
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::initial(), f)
}

/// Runs `f` with an unlimited budget (see [`Unconstrained`](crate::task::Unconstrained)).
#[inline]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::unconstrained(), f)
}

#[inline]
fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Budget);
    impl Drop for Reset {
        fn drop(&mut self) {
            context::set_budget(self.0);
        }
    }
    let _reset = Reset(context::replace_budget(budget));
    f()
}

/// Whether the current task poll has units left (always true outside a task poll).
#[inline]
pub(crate) fn has_budget_remaining() -> bool {
    context::budget().has_remaining()
}

/// Asks for one unit before a resource operation. `Pending` (the task already woken) when
/// the budget is spent; otherwise the unit is taken, and the returned guard gives it back
/// unless [`made_progress`](RestoreOnPending::made_progress) is called.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let Budget(Some(left)) = context::budget() else {
        // Unlimited, or not in a task poll.
        return Poll::Ready(RestoreOnPending(Cell::new(None)));
    };
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    let before = Budget(Some(left));
    context::set_budget(Budget(Some(left - 1)));
    Poll::Ready(RestoreOnPending(Cell::new(Some(before))))
}

/// Runs a resource operation within the budget: asks [`poll_proceed`], runs `op`, and keeps
/// the unit spent only if `op` completed.
#[inline]
pub(crate) fn poll_budgeted<R>(
    cx: &mut Context<'_>,
    op: impl FnOnce(&mut Context<'_>) -> Poll<R>,
) -> Poll<R> {
    let restore = match poll_proceed(cx) {
        Poll::Ready(r) => r,
        Poll::Pending => return Poll::Pending,
    };
    let res = op(cx);
    if res.is_ready() {
        restore.made_progress();
    }
    res
}

/// Awaits `future` as one resource operation: it costs one unit of the budget when it
/// completes, and waits (the task woken) while the budget is spent.
pub(crate) async fn budgeted<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| poll_budgeted(cx, |cx| future.as_mut().poll(cx))).await
}

/// The unit [`poll_proceed`] took, given back on drop unless the operation made progress.
#[must_use = "dropping it at once gives the unit back"]
pub(crate) struct RestoreOnPending(Cell<Option<Budget>>);

impl RestoreOnPending {
    /// The operation completed: keep the unit spent.
    #[inline]
    pub(crate) fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(before) = self.0.get() {
            context::set_budget(before);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn cx_counting() -> (Arc<CountWakes>, Waker) {
        let w = Arc::new(CountWakes(AtomicUsize::new(0)));
        (w.clone(), Waker::from(w))
    }

    #[test]
    fn a_poll_may_complete_budget_operations_then_yields() {
        let (wakes, waker) = cx_counting();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            for _ in 0..BUDGET {
                assert!(poll_budgeted(&mut cx, |_| Poll::Ready(())).is_ready());
            }
            assert!(!has_budget_remaining());
            assert_eq!(wakes.0.load(SeqCst), 0);
            assert!(poll_budgeted(&mut cx, |_| Poll::Ready(())).is_pending());
            assert_eq!(
                wakes.0.load(SeqCst),
                1,
                "refused: the task is woken to run again"
            );
        });
        // Outside a task poll nothing is refused.
        assert!(has_budget_remaining());
        assert!(poll_budgeted(&mut cx, |_| Poll::Ready(())).is_ready());
    }

    #[test]
    fn pending_operations_give_their_unit_back() {
        let (_wakes, waker) = cx_counting();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            for _ in 0..10 * usize::from(BUDGET) {
                assert!(poll_budgeted(&mut cx, |_| Poll::<()>::Pending).is_pending());
            }
            assert_eq!(context::budget(), Budget(Some(BUDGET)));
        });
    }

    #[test]
    fn unconstrained_and_nested_budgets_restore_the_outer_one() {
        let (_wakes, waker) = cx_counting();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            let _ = poll_budgeted(&mut cx, |_| Poll::Ready(()));
            with_unconstrained(|| {
                for _ in 0..1000 {
                    assert!(poll_budgeted(&mut cx, |_| Poll::Ready(())).is_ready());
                }
            });
            assert_eq!(context::budget(), Budget(Some(BUDGET - 1)));
            budget(|| assert_eq!(context::budget(), Budget::initial()));
            assert_eq!(context::budget(), Budget(Some(BUDGET - 1)));
        });
        assert_eq!(context::budget(), Budget::unconstrained());
    }
}
