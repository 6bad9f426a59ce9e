//! Loom models of the parker (`park.rs`): an `unpark` racing `park` on the condition-variable
//! path must always let `park` return (no lost wakeup), and a worker that re-checks for work
//! and parks in a loop always sees work published before an `unpark`.
//!
//! A worker parks on the condvar when another worker holds the I/O driver. The models create
//! a real `reactor::Driver` (an epoll instance and an eventfd: cheap, closed at the end of each
//! execution) and hold its try-lock from the model thread for the whole execution, so `park`
//! always takes the condvar path. A lost wakeup then shows up as every loom thread blocked,
//! which loom reports as a deadlock (the test fails with loom's "deadlock" panic).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use std::ops::{Deref, DerefMut};

use super::*;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::thread;

/// Holds the model thread's loom objects and leaks them if it unwinds. After loom's deadlock
/// panic the execution has no active thread, so dropping a loom object (an `Arc`) panics
/// again while unwinding, which aborts the whole test binary and hides the report; leaking
/// them instead lets the test fail normally.
struct LeakOnPanic<T>(Option<T>);

impl<T> Deref for LeakOnPanic<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("taken only on drop")
    }
}

impl<T> DerefMut for LeakOnPanic<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("taken only on drop")
    }
}

impl<T> Drop for LeakOnPanic<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            if std::thread::panicking() {
                std::mem::forget(value);
            }
        }
    }
}

/// Runs `f` with a fresh parker whose driver is held elsewhere (so it parks on its condvar).
fn with_condvar_parker(f: impl FnOnce(&mut LeakOnPanic<Parker>)) {
    let driver = reactor::Driver::new(4).expect("epoll instance for the model's driver");
    let shared = LeakOnPanic(Some(std::sync::Arc::new(DriverShared::new(driver))));
    let held = shared
        .try_lock()
        .expect("nobody else holds the model's driver");
    let mut parker = LeakOnPanic(Some(Parker::new(std::sync::Arc::clone(&shared))));
    f(&mut parker);
    drop(parker);
    drop(held);
}

/// `unpark` racing `park`: the unpark may land before `park`'s fast path, between the fast
/// path and the condvar state CAS (taken under the mutex), or after the worker is waiting
/// (then it must take the mutex before notifying, or the notification could fall between the
/// worker's CAS and its wait).
///
/// Asserts: `park` returns (loom reports a deadlock otherwise) and the notification is
/// consumed (the state is back to `EMPTY`, so it causes no later spurious wakeup).
#[test]
fn unpark_racing_park() {
    loom::model(|| {
        with_condvar_parker(|parker| {
            let unparker = parker.unparker();
            let waker = thread::spawn(move || {
                let _was_asleep = unparker.unpark();
            });
            assert_eq!(parker.park(), None, "the condvar path dispatches no events");
            waker.join().unwrap();
            assert_eq!(parker.inner.state.load(SeqCst), EMPTY);
        });
    });
}

/// Work arriving as a worker parks: the worker loops "check for work, else park" (as
/// `Worker::park` does, re-checking after every return); another thread publishes the work
/// and then unparks the worker.
///
/// Asserts: the worker always gets out of the loop having seen the work (a lost wakeup is a
/// loom deadlock), and a second `unpark` after that leaves exactly one pending notification
/// that the next `park` consumes at once.
#[test]
fn work_racing_park() {
    loom::model(|| {
        with_condvar_parker(|parker| {
            let work = Arc::new(AtomicBool::new(false));
            let unparker = parker.unparker();
            let pusher = {
                let (work, unparker) = (work.clone(), unparker.clone());
                thread::spawn(move || {
                    work.store(true, SeqCst);
                    unparker.unpark();
                })
            };
            let state = LeakOnPanic(Some((work, unparker)));
            let (work, unparker) = &*state;
            while !work.load(SeqCst) {
                let _ = parker.park();
            }
            pusher.join().unwrap();
            // A notification may still be pending (the worker saw the work before parking).
            // One more unpark makes it pending for sure; the next park returns at once.
            assert!(!unparker.unpark(), "the worker is awake");
            assert_eq!(parker.park(), None);
            assert_eq!(parker.inner.state.load(SeqCst), EMPTY);
        });
    });
}
