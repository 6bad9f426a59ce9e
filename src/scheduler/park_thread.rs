//! `block_on`'s parking: the calling thread sleeps on `std::thread::park` until the future's
//! waker fires. The notified flag is set before `unpark`, so a wake that lands before the
//! thread parks is not lost, and a spurious return from `park` is re-checked.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

/// Polls `future` on this thread until it completes.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let state = Arc::new(ThreadWaker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = super::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        while !state.notified.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}
