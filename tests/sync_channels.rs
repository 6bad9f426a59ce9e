//! Tests for `rawrt::sync`'s `watch` and `broadcast` channels and the completed `mpsc` and
//! `oneshot` API (unbounded channels, permits, weak senders, timeouts, blocking calls), on
//! real runtimes.
//!
//! No test relies on timing for correctness: every wait on another task or thread is bounded
//! by a generous `timeout` (10 s), so a bug fails the test instead of hanging it. The few short
//! timeouts (`EXPIRE`) are the behaviour under test (a `send_timeout` that must expire, a
//! receive cancelled by a timeout) and are expected to run out.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use rawrt::sync::broadcast::{self, error::RecvError as BRecvError};
use rawrt::sync::{mpsc, oneshot, watch};
use rawrt::time::timeout;

/// The bound on every wait for another task or thread.
const BOUND: Duration = Duration::from_secs(10);
/// A timeout that is meant to expire.
const EXPIRE: Duration = Duration::from_millis(20);

fn rt() -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn current_thread_rt() -> rawrt::Runtime {
    rawrt::Builder::new_current_thread().build().unwrap()
}

/// Awaits `f`, failing the test after `BOUND`.
async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match timeout(BOUND, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn futures_are_send() {
    let (wtx, mut wrx) = watch::channel(0u32);
    assert_send(&wrx.changed());
    assert_send(&wtx.closed());
    let (btx, mut brx) = broadcast::channel::<String>(4);
    assert_send(&brx.recv());
    assert_send(&btx.closed());
    let (tx, mut rx) = mpsc::channel::<String>(1);
    assert_send(&tx.reserve());
    assert_send(&tx.send_timeout(String::new(), EXPIRE));
    assert_send(&rx.recv_many(&mut Vec::new(), 1));
    let (utx, mut urx) = mpsc::unbounded_channel::<String>();
    assert_send(&urx.recv());
    assert_send(&utx.closed());
}

// ---------------------------------------------------------------------------------------------
// watch

#[test]
fn watch_sends_coalesce_into_one_change_with_the_latest_value() {
    rt().block_on(async {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
        let task = rawrt::spawn(async move {
            while rx.changed().await.is_ok() {
                seen_tx.send(*rx.borrow_and_update()).unwrap();
            }
        });
        assert_eq!(bounded("first change", seen_rx.recv()).await, Some(3));
        // Exactly one change for the three sends: the next one reported is a new send.
        tx.send(4).unwrap();
        assert_eq!(bounded("second change", seen_rx.recv()).await, Some(4));
        drop(tx);
        bounded("receiver task", task).await.unwrap();
        assert_eq!(seen_rx.recv().await, None);
    });
}

#[test]
fn watch_changed_fails_once_the_sender_is_gone() {
    rt().block_on(async {
        let (tx, mut rx) = watch::channel("a");
        let waiter = rawrt::spawn(async move {
            let r = rx.changed().await;
            (r, rx)
        });
        rawrt::task::yield_now().await;
        drop(tx);
        let (r, rx) = bounded("changed after drop", waiter).await.unwrap();
        assert!(r.is_err());
        assert!(rx.has_changed().is_err());
        assert_eq!(*rx.borrow(), "a");
    });
}

#[test]
fn watch_wait_for_sees_a_value_sent_from_a_thread() {
    let rt = rt();
    let (tx, mut rx) = watch::channel(0u32);
    let sender = std::thread::spawn(move || {
        for i in 1..=50 {
            tx.send(i).unwrap();
        }
        tx
    });
    rt.block_on(async {
        let v = *bounded("wait_for 50", rx.wait_for(|v| *v == 50))
            .await
            .unwrap();
        assert_eq!(v, 50);
        // Already true: returns at once, without a change.
        assert_eq!(*rx.wait_for(|v| *v >= 50).await.unwrap(), 50);
    });
    let tx = sender.join().unwrap();
    drop(tx);
    rt.block_on(async {
        // The last value is still checked once after the sender is gone.
        assert!(rx.wait_for(|v| *v == 50).await.is_ok());
        assert!(rx.wait_for(|v| *v == 51).await.is_err());
    });
}

#[test]
fn watch_a_cancelled_changed_loses_no_change() {
    rt().block_on(async {
        let (tx, mut rx) = watch::channel(0);
        assert!(timeout(EXPIRE, rx.changed()).await.is_err());
        tx.send(1).unwrap();
        bounded("changed", rx.changed()).await.unwrap();
        assert_eq!(*rx.borrow(), 1);
    });
}

#[test]
fn watch_closed_resolves_when_every_receiver_is_gone() {
    rt().block_on(async {
        let (tx, rx) = watch::channel(());
        let rx2 = rx.clone();
        assert_eq!(tx.receiver_count(), 2);
        let dropper = rawrt::spawn(async move {
            drop(rx);
            drop(rx2);
        });
        bounded("closed", tx.closed()).await;
        assert!(tx.is_closed());
        assert!(tx.send(()).is_err());
        dropper.await.unwrap();
        // Subscribing reopens it.
        let _rx = tx.subscribe();
        assert!(tx.send(()).is_ok());
    });
}

#[test]
fn watch_many_receivers_each_see_the_final_value() {
    rt().block_on(async {
        let (tx, rx) = watch::channel(0u32);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.clone();
                rawrt::spawn(async move { *rx.wait_for(|v| *v == 100).await.unwrap() })
            })
            .collect();
        for i in 1..=100 {
            tx.send_modify(|v| *v = i);
            if i % 10 == 0 {
                rawrt::task::yield_now().await;
            }
        }
        for t in tasks {
            assert_eq!(bounded("receiver", t).await.unwrap(), 100);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// broadcast

#[test]
fn broadcast_every_receiver_gets_every_value_in_order() {
    rt().block_on(async {
        let (tx, rx) = broadcast::channel(256);
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.resubscribe();
                rawrt::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(v) => got.push(v),
                            Err(BRecvError::Closed) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let tx2 = tx.clone();
        for i in 0..100u32 {
            // Four receivers were subscribed, one dropped.
            assert_eq!(if i % 2 == 0 { &tx } else { &tx2 }.send(i), Ok(3));
        }
        drop(tx);
        drop(tx2);
        for t in tasks {
            assert_eq!(
                bounded("receiver", t).await.unwrap(),
                (0..100).collect::<Vec<_>>()
            );
        }
    });
}

#[test]
fn broadcast_a_lagging_receiver_is_told_how_many_it_missed() {
    rt().block_on(async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.recv().await, Err(BRecvError::Lagged(3)));
        assert_eq!(rx.recv().await, Ok(3));
        assert_eq!(rx.recv().await, Ok(4));
        assert!(timeout(EXPIRE, rx.recv()).await.is_err());
    });
}

#[test]
fn broadcast_closed_only_after_draining_all_senders() {
    rt().block_on(async {
        let (tx, mut rx) = broadcast::channel(8);
        let tx2 = tx.clone();
        let weak = tx.downgrade();
        tx.send(1).unwrap();
        drop(tx);
        tx2.send(2).unwrap();
        let waiter = rawrt::spawn(async move {
            let mut got = Vec::new();
            loop {
                match rx.recv().await {
                    Ok(v) => got.push(v),
                    Err(e) => return (got, e),
                }
            }
        });
        rawrt::task::yield_now().await;
        drop(tx2);
        let (got, end) = bounded("receiver", waiter).await.unwrap();
        assert_eq!(got, [1, 2]);
        assert_eq!(end, BRecvError::Closed);
        assert!(weak.upgrade().is_none());
    });
}

#[test]
fn broadcast_values_are_dropped_once_every_receiver_saw_them() {
    struct Counted(Arc<AtomicUsize>);
    impl Clone for Counted {
        fn clone(&self) -> Counted {
            self.0.fetch_add(1, SeqCst);
            Counted(self.0.clone())
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_sub(1, SeqCst);
        }
    }
    let live = Arc::new(AtomicUsize::new(0));
    rt().block_on(async {
        let (tx, mut a) = broadcast::channel(4);
        let mut b = tx.subscribe();
        for _ in 0..3 {
            live.fetch_add(1, SeqCst);
            tx.send(Counted(live.clone())).unwrap();
        }
        let ta = rawrt::spawn(async move {
            for _ in 0..3 {
                drop(a.recv().await.unwrap());
            }
        });
        bounded("a", ta).await.unwrap();
        // `b` has not received them yet: the channel keeps all three.
        assert_eq!(live.load(SeqCst), 3);
        assert_eq!(tx.len(), 3);
        for _ in 0..3 {
            drop(bounded("b", b.recv()).await.unwrap());
        }
        assert_eq!(live.load(SeqCst), 0);
        assert!(tx.is_empty());
    });
}

#[test]
fn broadcast_resubscribe_starts_at_the_tail() {
    rt().block_on(async {
        let (tx, mut rx) = broadcast::channel(4);
        tx.send("old").unwrap();
        let mut late = rx.resubscribe();
        tx.send("new").unwrap();
        assert_eq!(late.recv().await, Ok("new"));
        assert_eq!(rx.recv().await, Ok("old"));
        assert_eq!(rx.recv().await, Ok("new"));
        assert_eq!(tx.receiver_count(), 2);
    });
}

#[test]
fn broadcast_a_cancelled_recv_loses_no_value() {
    rt().block_on(async {
        let (tx, mut rx) = broadcast::channel(4);
        assert!(timeout(EXPIRE, rx.recv()).await.is_err());
        tx.send(9).unwrap();
        assert_eq!(bounded("recv", rx.recv()).await, Ok(9));
    });
}

#[test]
fn broadcast_blocking_recv_from_a_thread_and_closed() {
    let rt = rt();
    let (tx, mut rx) = broadcast::channel(16);
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.blocking_recv() {
            got.push(v);
        }
        got
    });
    rt.block_on(async {
        for i in 0..10 {
            // Capacity 16: nothing is evicted, whatever the consumer's pace.
            tx.send(i).unwrap();
        }
    });
    drop(tx);
    assert_eq!(consumer.join().unwrap(), (0..10).collect::<Vec<_>>());

    rt.block_on(async {
        let (tx, rx) = broadcast::channel::<u8>(1);
        let t = rawrt::spawn(async move { drop(rx) });
        bounded("closed", tx.closed()).await;
        t.await.unwrap();
        assert!(tx.send(1).is_err());
    });
}

#[test]
#[should_panic(expected = "broadcast channel capacity cannot be zero")]
fn broadcast_zero_capacity_panics() {
    let _ = broadcast::channel::<u8>(0);
}

// ---------------------------------------------------------------------------------------------
// mpsc

#[test]
fn unbounded_keeps_each_producers_order() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for id in 0..4u32 {
            let tx = tx.clone();
            rawrt::spawn(async move {
                for i in 0..500u32 {
                    tx.send((id, i)).unwrap();
                    if i % 64 == 0 {
                        rawrt::task::yield_now().await;
                    }
                }
            });
        }
        drop(tx);
        let mut next: HashMap<u32, u32> = HashMap::new();
        let mut total = 0;
        while let Some((id, i)) = bounded("recv", rx.recv()).await {
            let expected = next.entry(id).or_insert(0);
            assert_eq!(i, *expected, "producer {id} out of order");
            *expected += 1;
            total += 1;
        }
        assert_eq!(total, 2000);
        assert!(rx.is_closed());
    });
}

#[test]
fn unbounded_send_fails_after_close_and_keeps_the_value() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        let watcher = {
            let tx = tx.clone();
            rawrt::spawn(async move { tx.closed().await })
        };
        rx.close();
        bounded("closed", watcher).await.unwrap();
        assert!(tx.is_closed());
        assert_eq!(tx.send(2).unwrap_err().0, 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn recv_many_respects_the_limit() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(16);
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
        let mut got = Vec::new();
        assert_eq!(rx.recv_many(&mut got, 0).await, 0);
        assert_eq!(rx.recv_many(&mut got, 4).await, 4);
        assert_eq!(got, [0, 1, 2, 3]);
        assert_eq!(rx.recv_many(&mut got, 100).await, 6);
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        // Waits for the next value when the buffer is empty.
        let sender = rawrt::spawn(async move {
            tx.send(10).await.unwrap();
        });
        got.clear();
        assert_eq!(bounded("recv_many", rx.recv_many(&mut got, 8)).await, 1);
        assert_eq!(got, [10]);
        sender.await.unwrap();
        // The sender is gone: 0, and nothing appended.
        assert_eq!(rx.recv_many(&mut got, 8).await, 0);
        assert_eq!(got, [10]);
    });
}

#[test]
fn a_waiting_reserve_gets_the_slot_of_a_dropped_permit() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve().await.unwrap();
        assert_eq!(tx.capacity(), 0);
        let (started_tx, started_rx) = oneshot::channel();
        let waiter = {
            let tx = tx.clone();
            rawrt::spawn(async move {
                let mut reserve = std::pin::pin!(tx.reserve());
                // Poll once so it is queued before we drop the permit.
                let pending = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(reserve.as_mut().poll(cx).is_pending())
                })
                .await;
                assert!(pending, "the only slot is reserved");
                started_tx.send(()).unwrap();
                let permit = reserve.await.unwrap();
                permit.send(5);
            })
        };
        bounded("waiter queued", started_rx).await.unwrap();
        drop(permit);
        bounded("waiter", waiter).await.unwrap();
        assert_eq!(rx.recv().await, Some(5));
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn owned_permits_move_into_tasks() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let p1 = tx.clone().reserve_owned().await.unwrap();
        let p2 = tx.clone().try_reserve_owned().unwrap();
        assert!(tx.try_send(0).unwrap_err().is_full());
        let a = rawrt::spawn(async move { drop(p1.send(1)) });
        let b = rawrt::spawn(async move { drop(p2.send(2)) });
        a.await.unwrap();
        b.await.unwrap();
        let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn send_timeout_times_out_with_the_value_and_succeeds_with_room() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(String::from("first")).await.unwrap();
        match tx.send_timeout(String::from("late"), EXPIRE).await {
            Err(mpsc::error::SendTimeoutError::Timeout(v)) => assert_eq!(v, "late"),
            other => panic!("expected a timeout, got {other:?}"),
        }
        // The timed-out send left no trace: one slot, still holding "first".
        assert_eq!(rx.len(), 1);
        let receiver = rawrt::spawn(async move {
            let a = rx.recv().await;
            let b = rx.recv().await;
            (a, b, rx)
        });
        bounded(
            "send_timeout with room",
            tx.send_timeout(String::from("second"), BOUND),
        )
        .await
        .unwrap();
        let (a, b, mut rx) = bounded("receiver", receiver).await.unwrap();
        assert_eq!(
            (a.as_deref(), b.as_deref()),
            (Some("first"), Some("second"))
        );
        rx.close();
        assert!(matches!(
            tx.send_timeout(String::from("x"), BOUND).await,
            Err(mpsc::error::SendTimeoutError::Closed(v)) if v == "x"
        ));
    });
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel::<u8>(4);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        let upgraded = weak.upgrade().unwrap();
        upgraded.send(1).await.unwrap();
        drop(upgraded);
        let recv = rawrt::spawn(async move {
            let a = rx.recv().await;
            let b = rx.recv().await;
            (a, b)
        });
        drop(tx);
        // Only the weak sender is left: the receiver drains and sees the end.
        assert_eq!(bounded("recv", recv).await.unwrap(), (Some(1), None));
        assert!(weak.upgrade().is_none());

        let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
        let uweak = utx.downgrade();
        drop(utx);
        assert_eq!(urx.recv().await, None);
        assert!(uweak.upgrade().is_none());
        assert_eq!(uweak.weak_count(), 1);
    });
}

#[test]
fn a_cancelled_recv_loses_no_value() {
    rt().block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        assert!(timeout(EXPIRE, rx.recv()).await.is_err());
        tx.send(3).unwrap();
        assert_eq!(bounded("recv", rx.recv()).await, Some(3));
    });
}

#[test]
fn blocking_send_and_recv_from_plain_threads() {
    let rt = rt();
    let (tx, mut rx) = mpsc::channel(2);
    let producer = std::thread::spawn(move || {
        for i in 0..100 {
            tx.blocking_send(i).unwrap();
        }
    });
    let (back_tx, mut back_rx) = mpsc::channel(2);
    let relay = rt.spawn(async move {
        while let Some(v) = rx.recv().await {
            back_tx.send(v * 2).await.unwrap();
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(v) = back_rx.blocking_recv() {
            got.push(v);
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(
        consumer.join().unwrap(),
        (0..100).map(|i| i * 2).collect::<Vec<_>>()
    );
    rt.block_on(async { bounded("relay", relay).await.unwrap() });

    let (utx, mut urx) = mpsc::unbounded_channel();
    let t = std::thread::spawn(move || urx.blocking_recv());
    utx.send("hi").unwrap();
    assert_eq!(t.join().unwrap(), Some("hi"));
}

#[test]
fn blocking_calls_inside_a_runtime_panic() {
    for rt in [rt(), current_thread_rt()] {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u8>(1);
            let r = catch_unwind(AssertUnwindSafe(|| tx.blocking_send(1)));
            assert!(r.is_err(), "blocking_send inside block_on");
            let r = catch_unwind(AssertUnwindSafe(|| rx.blocking_recv()));
            assert!(r.is_err(), "blocking_recv inside block_on");
            // The same in a spawned task: the task panics.
            let (otx, orx) = oneshot::channel::<u8>();
            let task = rawrt::spawn(async move { orx.blocking_recv() });
            let err = bounded("panicking task", task).await.unwrap_err();
            assert!(err.is_panic());
            drop(otx);
            // A `spawn_blocking` thread may block.
            let (otx, orx) = oneshot::channel::<u8>();
            let blocking = rawrt::task::spawn_blocking(move || orx.blocking_recv());
            otx.send(4).unwrap();
            assert_eq!(bounded("spawn_blocking", blocking).await.unwrap(), Ok(4));
        });
    }
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn mpsc_zero_capacity_panics() {
    let _ = mpsc::channel::<u8>(0);
}

// ---------------------------------------------------------------------------------------------
// oneshot

#[test]
fn oneshot_blocking_recv_from_a_thread() {
    let rt = rt();
    let (tx, rx) = oneshot::channel();
    let waiter = std::thread::spawn(move || rx.blocking_recv());
    rt.block_on(async move {
        rawrt::spawn(async move { tx.send(String::from("done")).unwrap() })
            .await
            .unwrap();
    });
    assert_eq!(waiter.join().unwrap().as_deref(), Ok("done"));

    let (tx, rx) = oneshot::channel::<u8>();
    let waiter = std::thread::spawn(move || rx.blocking_recv());
    drop(tx);
    assert!(waiter.join().unwrap().is_err());
}
