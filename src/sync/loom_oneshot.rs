//! Loom models of the oneshot channel (`oneshot.rs`): send racing the receiver's drop, send
//! racing the receiver's poll (and a poll that replaces its waker), and the sender's drop
//! racing the receiver's poll.
//!
//! Values are drop-counted so that "dropped exactly once, by whoever owns it" is checked in
//! every interleaving; wakers count their wakes so that a `Pending` poll is shown to be
//! followed by a wake (no lost wakeup). The channel's `Arc` is loom's, so an execution that
//! leaked the allocation (and the value in it) fails too.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib`.

use std::task::Poll;

use super::*;
use crate::loom::thread;
use crate::task_core::loom_support::{counting_waker, poll_once, DropCount, Tracked};

/// `send` racing the receiver's drop (`close`): the sender's `COMPLETE` CAS races the
/// receiver's `CLOSED` `fetch_or`.
///
/// Asserts: `send` returns `Err(value)` (which the caller drops) if the sender saw the channel
/// closed before sending; otherwise either outcome is possible, and with `Ok` the value stays
/// in the channel and is dropped with the allocation. Either way it is dropped exactly once.
#[test]
fn send_racing_receiver_drop() {
    loom::model(|| {
        let drops = DropCount::new();
        let (tx, rx) = channel::<Tracked>();
        let value = drops.tracked();
        let sender = thread::spawn(move || {
            let closed_before = tx.is_closed();
            match tx.send(value) {
                Ok(()) => assert!(!closed_before, "send succeeded on a closed channel"),
                Err(value) => drop(value),
            }
        });
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.get(), 1, "the value is dropped exactly once");
    });
}

/// `send` racing the receiver's poll: the poll may see `COMPLETE` at its first load, or
/// register its waker (`RX_WAKER`) before or after the sender's `COMPLETE` CAS.
///
/// Asserts: the poll returns the value, or returns `Pending` and is then woken exactly once,
/// after which a second poll returns the value; the value is dropped exactly once.
#[test]
fn send_racing_receiver_poll() {
    loom::model(|| {
        let drops = DropCount::new();
        let (tx, mut rx) = channel::<Tracked>();
        let value = drops.tracked();
        let sender = thread::spawn(move || {
            assert!(tx.send(value).is_ok(), "the receiver is alive and open");
        });
        let (wakes, waker) = counting_waker();
        let first = poll_once(&mut rx, &waker);
        sender.join().unwrap();
        let got = match first {
            Poll::Ready(got) => got,
            Poll::Pending => {
                assert_eq!(wakes.wakes(), 1, "a pending receiver is woken by the send");
                match poll_once(&mut rx, &waker) {
                    Poll::Ready(got) => got,
                    Poll::Pending => panic!("pending after the send completed"),
                }
            }
        };
        assert!(got.is_ok(), "the value is received");
        drop(got);
        assert_eq!(drops.get(), 1);
        drop(rx);
        assert_eq!(drops.get(), 1, "the value is dropped exactly once");
    });
}

/// `send` racing a poll that replaces the receiver's waker: the receiver first polls with
/// waker A (before the sender runs), then polls with waker B while the value is being sent,
/// taking the waker cell back (`RX_WAKER` cleared by a CAS that fails once `COMPLETE` is set)
/// and storing B.
///
/// Asserts: the second poll returns the value, or returns `Pending` and B (the most recent
/// waker) is woken; the value is dropped exactly once.
#[test]
fn send_racing_waker_replacement() {
    loom::model(|| {
        let drops = DropCount::new();
        let (tx, mut rx) = channel::<Tracked>();
        let (_wakes_a, waker_a) = counting_waker();
        assert!(poll_once(&mut rx, &waker_a).is_pending());
        let value = drops.tracked();
        let sender = thread::spawn(move || {
            assert!(tx.send(value).is_ok());
        });
        let (wakes_b, waker_b) = counting_waker();
        let pending = poll_once(&mut rx, &waker_b).is_pending();
        sender.join().unwrap();
        if pending {
            assert_eq!(wakes_b.wakes(), 1, "the latest waker is woken by the send");
        }
        let got = poll_once(&mut rx, &waker_b);
        if pending {
            assert!(matches!(got, Poll::Ready(Ok(_))), "the value is received");
        }
        drop(got);
        drop(rx);
        assert_eq!(drops.get(), 1, "the value is dropped exactly once");
    });
}

/// The sender's drop racing the receiver's poll: the drop's `COMPLETE` `fetch_or` (with an
/// empty value cell) races the receiver's waker registration.
///
/// Asserts: the poll returns `Err(RecvError)`, or returns `Pending` and is then woken, after
/// which a second poll returns `Err(RecvError)` (no hang, no value out of nowhere).
#[test]
fn sender_drop_racing_receiver_poll() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u32>();
        let dropper = thread::spawn(move || drop(tx));
        let (wakes, waker) = counting_waker();
        let first = poll_once(&mut rx, &waker);
        dropper.join().unwrap();
        let got = match first {
            Poll::Ready(got) => got,
            Poll::Pending => {
                assert_eq!(wakes.wakes(), 1, "a pending receiver is woken by the drop");
                match poll_once(&mut rx, &waker) {
                    Poll::Ready(got) => got,
                    Poll::Pending => panic!("pending after the sender was dropped"),
                }
            }
        };
        assert_eq!(got, Err(RecvError(())));
    });
}

/// `Sender::poll_closed` racing the receiver's drop: the sender registers its waker
/// (`TX_WAKER`) while the receiver's drop sets `CLOSED`.
///
/// Asserts: `poll_closed` is `Ready`, or it is `Pending` and the sender's waker is woken, after
/// which it is `Ready`.
#[test]
fn sender_closed_racing_receiver_drop() {
    loom::model(|| {
        let (mut tx, rx) = channel::<u32>();
        let dropper = thread::spawn(move || drop(rx));
        let (wakes, waker) = counting_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let first = tx.poll_closed(&mut cx);
        dropper.join().unwrap();
        if first.is_pending() {
            assert_eq!(wakes.wakes(), 1, "a pending closed() is woken by the drop");
            assert!(tx.poll_closed(&mut cx).is_ready());
        }
        assert!(tx.is_closed());
    });
}
