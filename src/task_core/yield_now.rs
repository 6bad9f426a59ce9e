//! `yield_now`: give other tasks a turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once to the scheduler: the task is queued behind the tasks already runnable
/// (never in the LIFO slot) and resumes on a later poll.
///
/// ```
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let t = rawrt::spawn(async {
///         for _ in 0..3 {
///             rawrt::task::yield_now().await;
///         }
///         7
///     });
///     assert_eq!(t.await.unwrap(), 7);
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A wake during the poll sets NOTIFIED; the worker then queues the task at the back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
