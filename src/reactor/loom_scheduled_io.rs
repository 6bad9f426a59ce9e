//! Loom model of the readiness waiters' list (`scheduled_io.rs`): an event set by the driver
//! racing a [`Readiness`] future that registers in the list.
//!
//! Asserts, in every interleaving: the future is ready at its first poll, or it returned
//! `Pending` and the driver took its waker (and woke it), after which a second poll is
//! ready — no lost wakeup. A second future registered beside it is woken by the same event.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use std::task::Poll;

use super::*;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::task_core::loom_support::{counting_waker, poll_once};

#[test]
fn set_readiness_racing_a_listed_waiter() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::default());
        let driver = {
            let io = io.clone();
            thread::spawn(move || {
                let mut wake = Vec::new();
                io.set_readiness(Ready::READABLE, &mut wake);
                let n = wake.len();
                crate::util::wake_all(wake);
                n
            })
        };
        let (first_wakes, first_waker) = counting_waker();
        let (second_wakes, second_waker) = counting_waker();
        let mut first = io.readiness(Direction::Read.mask());
        let mut second = io.readiness(Direction::Read.mask());
        let first_poll = poll_once(&mut first, &first_waker);
        let second_poll = poll_once(&mut second, &second_waker);
        let woken = driver.join().unwrap();
        for (poll, wakes, fut, waker) in [
            (first_poll, &first_wakes, &mut first, &first_waker),
            (second_poll, &second_wakes, &mut second, &second_waker),
        ] {
            match poll {
                Poll::Ready(res) => assert!(res.is_ok()),
                Poll::Pending => {
                    assert_eq!(wakes.wakes(), 1, "a pending waiter is woken by the event");
                    assert!(matches!(poll_once(fut, waker), Poll::Ready(Ok(_))));
                }
            }
        }
        assert!(woken <= 2);
    });
}
