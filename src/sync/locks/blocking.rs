//! `block_on` for the `blocking_*` lock methods: polls a future on the calling thread, parking
//! it between polls. Refuses (panics) on a thread that drives a runtime, where blocking would
//! stall every task of that worker, possibly the one that holds the lock.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Unparks the blocked thread; `notified` makes a wake that lands before `park` count.
struct Unpark {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

/// Runs `future` to completion on this thread.
///
/// # Panics
/// On a thread that drives a runtime (a worker, or inside `block_on`), naming `what`. A plain
/// thread, a `spawn_blocking` closure and `block_in_place` are fine: the runtime may be current
/// there, but the thread runs no tasks.
#[track_caller]
pub(super) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    if crate::scheduler::context::is_entered() {
        panic!(
            "rawrt: {what} called inside a runtime (a worker thread or block_on): it would block \
             the thread that drives tasks; use the async method and .await it instead"
        );
    }
    let state = Arc::new(Unpark {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        while !state.notified.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}
