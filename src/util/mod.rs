//! Small helpers every layer may use: containing a waker's panic, and the waiter slab.

pub(crate) mod slab;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Waker;

/// Wakes `waker`, containing a panic from its `wake` or its drop.
///
/// rawrt wakes wakers it did not make: a combinator's, an executor's, a test's. One that
/// panics must not unwind into the driver, a worker's loop or a channel operation, and must
/// not keep the other wakers of the same batch from being woken. The panic is reported by the
/// panic hook as usual; the task behind such a waker is simply not woken by it.
#[inline]
pub(crate) fn wake(waker: Waker) {
    let _ = catch_unwind(AssertUnwindSafe(move || waker.wake()));
}

/// As [`wake`], for a waker that is only borrowed.
#[inline]
pub(crate) fn wake_by_ref(waker: &Waker) {
    let _ = catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref()));
}

/// [`wake`]s each of `wakers`.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for waker in wakers {
        wake(waker);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    struct Panicky;
    impl Wake for Panicky {
        fn wake(self: Arc<Self>) {
            panic!("a waker that panics");
        }
    }

    struct Counting(AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_panicking_waker_does_not_stop_the_batch() {
        let counted = Arc::new(Counting(AtomicUsize::new(0)));
        let batch = vec![
            Waker::from(counted.clone()),
            Waker::from(Arc::new(Panicky)),
            Waker::from(counted.clone()),
        ];
        wake_all(batch);
        assert_eq!(counted.0.load(SeqCst), 2);
    }
}
