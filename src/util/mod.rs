//! Small helpers every layer may use: containing a waker's panic, condvar waits with a
//! deadline, and the waiter slab.

pub(crate) mod slab;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Waits on `cv`, for `timeout` at most (`None`: until notified), through a poisoned mutex
/// (the state it guards stays consistent: no user code runs under these locks).
pub(crate) fn wait<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, T> {
    match timeout {
        None => cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
        Some(t) => {
            cv.wait_timeout(guard, t)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        }
    }
}

/// Waits on `cv` until `done` holds or `deadline` passes (`None`: no deadline); returns the
/// guard and whether `done` held.
pub(crate) fn wait_until<'a, T>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    mut done: impl FnMut(&T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    while !done(&guard) {
        let timeout = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return (guard, false),
            },
        };
        guard = wait(cv, guard, timeout);
    }
    (guard, true)
}

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
