//! Loom models of the semaphore (`semaphore.rs`): a release racing a waiting acquire, a
//! release racing the drop of an acquire (cancellation must pass a granted permit on), and
//! `close` racing an acquire.
//!
//! The semaphore has no lock-free part (everything is under its mutex, loom's here), so what
//! these check is the protocol across that lock: no lost wakeup, no lost or doubled permit.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib
//! loom_semaphore`.

use std::task::Poll;

use super::semaphore::{Acquire, Semaphore};
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::task_core::loom_support::{counting_waker, poll_once};

/// `add_permits` racing the first poll of an acquire: the acquire completes at once, or it
/// returns `Pending` and is woken exactly once, after which it completes.
#[test]
fn add_permits_racing_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let adder = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        let (wakes, waker) = counting_waker();
        let mut acquire = Acquire::new(&sem, 1);
        let first = poll_once(&mut acquire, &waker);
        adder.join().unwrap();
        match first {
            Poll::Ready(r) => assert!(r.is_ok()),
            Poll::Pending => {
                assert_eq!(wakes.wakes(), 1, "the waiting acquire is woken");
                assert!(matches!(
                    poll_once(&mut acquire, &waker),
                    Poll::Ready(Ok(()))
                ));
            }
        }
        drop(acquire);
        // The acquired permit is the caller's: it is given back by hand here.
        sem.release(1);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A permit dropped on one thread while the acquire that waits for it is dropped on another:
/// whichever order, the permit ends up free again (a granted, dropped acquire passes it on).
#[test]
fn release_racing_cancelled_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_take(1);
        assert!(held);
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(1))
        };
        let (_wakes, waker) = counting_waker();
        let mut acquire = Acquire::new(&sem, 1);
        let first = poll_once(&mut acquire, &waker);
        drop(acquire);
        releaser.join().unwrap();
        if let Poll::Ready(r) = first {
            assert!(r.is_ok());
            sem.release(1); // the permit the acquire got
        }
        assert_eq!(sem.available_permits(), 1, "no permit lost or doubled");
    });
}

/// `close` racing a waiting acquire: it fails, woken if it was queued.
#[test]
fn close_racing_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let closer = {
            let sem = sem.clone();
            thread::spawn(move || sem.close())
        };
        let (wakes, waker) = counting_waker();
        let mut acquire = Acquire::new(&sem, 1);
        let first = poll_once(&mut acquire, &waker);
        closer.join().unwrap();
        match first {
            Poll::Ready(r) => assert!(r.is_err()),
            Poll::Pending => {
                assert_eq!(wakes.wakes(), 1);
                assert!(matches!(
                    poll_once(&mut acquire, &waker),
                    Poll::Ready(Err(_))
                ));
            }
        }
    });
}
