//! Tests for `rawrt::sync`: oneshot, bounded mpsc and Notify, across tasks and threads.
//!
//! No test relies on timing for correctness. Where a state must be reached first (a future
//! registered as a waiter), the test polls the future by hand with a counting waker, or the
//! task reports through a channel after `Notified::enable`. Waits on other tasks are bounded
//! (`wait_until`, 30 s), so a bug fails a test instead of hanging it.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use rawrt::sync::{mpsc, oneshot, Notify};
use rawrt::task::yield_now;

fn rt() -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

/// Polls `f` once with `waker`.
fn poll_with<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

/// Counts how many times values carrying it were dropped.
#[derive(Clone, Default)]
struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    fn value(&self, id: u32) -> Tracked {
        Tracked {
            id,
            drops: self.clone(),
        }
    }

    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// A value whose drops are counted.
struct Tracked {
    id: u32,
    drops: DropCount,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, SeqCst);
    }
}

/// Yields until `cond` holds; panics after 30 s (a bound for bugs, not a timing assumption).
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        yield_now().await;
    }
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn futures_are_send() {
    let (mut otx, orx) = oneshot::channel::<String>();
    assert_send(&orx);
    assert_send(&otx.closed());
    let (tx, mut rx) = mpsc::channel::<String>(1);
    assert_send(&tx.send(String::new()));
    assert_send(&tx.closed());
    assert_send(&rx.recv());
    let notify = Notify::new();
    assert_send(&notify.notified());
}

// ---------------------------------------------------------------------------------------------
// oneshot

#[test]
fn oneshot_send_recv_across_tasks() {
    let rt = rt();
    rt.block_on(async {
        // Sender in a task, receiver in block_on.
        let (tx, rx) = oneshot::channel();
        rawrt::spawn(async move {
            yield_now().await;
            tx.send(String::from("hi")).unwrap();
        });
        assert_eq!(rx.await.unwrap(), "hi");

        // Receiver in a task, sender in block_on.
        let (tx, rx) = oneshot::channel();
        let receiver = rawrt::spawn(rx);
        yield_now().await;
        tx.send(5u64).unwrap();
        assert_eq!(receiver.await.unwrap(), Ok(5));

        // Many pairs at once, between tasks.
        let mut joins = Vec::new();
        for i in 0..100u32 {
            let (tx, rx) = oneshot::channel();
            joins.push(rawrt::spawn(async move { rx.await.unwrap() * 2 }));
            rawrt::spawn(async move { tx.send(i).unwrap() });
        }
        for (i, j) in joins.into_iter().enumerate() {
            assert_eq!(j.await.unwrap(), i as u32 * 2);
        }
    });
}

#[test]
fn oneshot_send_from_foreign_thread_wakes_waiting_receiver() {
    let rt = rt();
    let (tx, mut rx) = oneshot::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        tx.send(vec![1, 2, 3]).unwrap();
    });
    rt.block_on(async {
        // Register the waker first, so that the send has to wake a waiting receiver.
        poll_fn(|cx| {
            assert!(Pin::new(&mut rx).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        go_tx.send(()).unwrap();
        assert_eq!((&mut rx).await, Ok(vec![1, 2, 3]));
        // Polled again after completion: the value is gone.
        assert!((&mut rx).await.is_err());
    });
    thread.join().unwrap();
}

#[test]
fn oneshot_sender_dropped_before_send() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let rt = rt();
    let err = rt.block_on(rx).unwrap_err();
    assert_eq!(err.to_string(), format!("{err}"));
    let _: &dyn std::error::Error = &err;

    // Dropped while the receiver waits: the receiver is woken and gets the error.
    let (tx, rx) = oneshot::channel::<u8>();
    let mut rx = pin!(rx);
    let (counter, waker) = counting_waker();
    assert!(poll_with(rx.as_mut(), &waker).is_pending());
    drop(tx);
    assert_eq!(counter.wakes(), 1);
    assert!(matches!(
        poll_with(rx.as_mut(), &waker),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn oneshot_sender_dropped_after_send() {
    // `send` consumes the sender; what it sent must still arrive.
    let drops = DropCount::default();
    let (tx, rx) = oneshot::channel();
    tx.send(drops.value(7)).map_err(|_| ()).unwrap();
    assert_eq!(drops.get(), 0);
    let value = rt().block_on(rx).map_err(|_| ()).unwrap();
    assert_eq!(value.id, 7);
    assert_eq!(drops.get(), 0);
    drop(value);
    assert_eq!(drops.get(), 1);
}

#[test]
fn oneshot_receiver_dropped_before_send_returns_value() {
    let drops = DropCount::default();
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert!(tx.is_closed());
    let back = tx.send(drops.value(1)).expect_err("send must fail");
    assert_eq!(back.id, 1);
    assert_eq!(drops.get(), 0, "the value was returned, not dropped");
    drop(back);
    assert_eq!(drops.get(), 1);
}

#[test]
fn oneshot_receiver_dropped_after_send_drops_value_once() {
    let drops = DropCount::default();
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(drops.value(1)).is_ok());
    assert_eq!(drops.get(), 0);
    drop(rx);
    assert_eq!(drops.get(), 1);

    // Received, then the receiver dropped: still one drop.
    let (tx, mut rx) = oneshot::channel();
    assert!(tx.send(drops.value(2)).is_ok());
    let v = rx.try_recv().map_err(|_| ()).unwrap();
    drop(rx);
    assert_eq!(drops.get(), 1);
    drop(v);
    assert_eq!(drops.get(), 2);
}

#[test]
fn oneshot_racing_send_and_drop_drops_each_value_once() {
    // Miri runs this (scripts/miri.sh) thousands of times slower: fewer rounds there.
    const ROUNDS: usize = if cfg!(miri) { 20 } else { 2000 };
    let drops = DropCount::default();
    let mut ok = 0;
    for i in 0..ROUNDS {
        let (tx, rx) = oneshot::channel();
        let value = drops.value(i as u32);
        let sender = std::thread::spawn(move || tx.send(value).is_ok());
        drop(rx);
        if sender.join().unwrap() {
            ok += 1;
        }
        assert_eq!(
            drops.get(),
            i + 1,
            "round {i}: the value must be dropped exactly once"
        );
    }
    // Either outcome is legal; both should show up over many rounds, but that is not asserted.
    let _ = ok;
}

#[test]
fn oneshot_try_recv_states() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel::<u32>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    // close() before send: the send fails, try_recv reports Closed.
    let (tx, mut rx) = oneshot::channel::<u32>();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(4), Err(4));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    // close() after send: the value can still be taken.
    let (tx, mut rx) = oneshot::channel::<u32>();
    tx.send(5).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(5));

    // A closed receiver resolves at once when awaited.
    let (_tx, mut rx) = oneshot::channel::<u32>();
    rx.close();
    assert!(rt().block_on(rx).is_err());

    assert!(!oneshot::TryRecvError::Empty.to_string().is_empty());
    assert!(!oneshot::TryRecvError::Closed.to_string().is_empty());
}

#[test]
fn oneshot_closed_resolves_when_receiver_goes() {
    let rt = rt();
    rt.block_on(async {
        // Receiver dropped by another task.
        let (mut tx, rx) = oneshot::channel::<u8>();
        let dropper = rawrt::spawn(async move {
            yield_now().await;
            drop(rx);
        });
        tx.closed().await;
        assert!(tx.is_closed());
        dropper.await.unwrap();

        // Receiver closed (not dropped) by another task.
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let closer = rawrt::spawn(async move {
            rx.close();
            // In a Vec, so that the task's output is not itself a future.
            vec![rx]
        });
        tx.closed().await;
        let mut rx = closer.await.unwrap().pop().unwrap();
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
    });

    // By hand: pending, then woken exactly once by the close.
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting_waker();
    {
        let mut closed = pin!(tx.closed());
        assert!(poll_with(closed.as_mut(), &waker).is_pending());
        assert!(poll_with(closed.as_mut(), &waker).is_pending());
        assert_eq!(counter.wakes(), 0);
        rx.close();
        assert_eq!(counter.wakes(), 1);
        drop(rx);
        assert_eq!(counter.wakes(), 1, "a second close wakes nobody");
        assert!(poll_with(closed.as_mut(), &waker).is_ready());
    }
    assert!(tx.is_closed());
}

#[test]
fn oneshot_receiver_waker_is_replaced() {
    // Polled with one waker, then another: only the latest is woken.
    let (tx, rx) = oneshot::channel::<u8>();
    let mut rx = pin!(rx);
    let (first, waker1) = counting_waker();
    let (second, waker2) = counting_waker();
    assert!(poll_with(rx.as_mut(), &waker1).is_pending());
    assert!(poll_with(rx.as_mut(), &waker2).is_pending());
    tx.send(9).unwrap();
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(poll_with(rx.as_mut(), &waker2), Poll::Ready(Ok(9)));
}

// ---------------------------------------------------------------------------------------------
// mpsc

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn mpsc_zero_capacity_panics() {
    let _ = mpsc::channel::<u8>(0);
}

#[test]
fn mpsc_preserves_order_per_sender() {
    const SENDERS: u32 = 4;
    const EACH: u32 = 1000;
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        for s in 0..SENDERS {
            let tx = tx.clone();
            rawrt::spawn(async move {
                for i in 0..EACH {
                    tx.send((s, i)).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut next = vec![0; SENDERS as usize];
        while let Some((s, i)) = rx.recv().await {
            assert_eq!(i, next[s as usize], "sender {s} out of order");
            next[s as usize] += 1;
        }
        assert!(next.iter().all(|&n| n == EACH));
    });
}

#[test]
fn mpsc_backpressure() {
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    assert_eq!((tx.capacity(), tx.max_capacity()), (2, 2));
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.capacity(), 0);
    assert_eq!(rx.len(), 2);
    let err = tx.try_send(3).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), 3);

    // A blocked send completes after a recv, and is woken by it.
    let (counter, waker) = counting_waker();
    let mut send = pin!(tx.send(3));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert!(
        tx.try_send(4).unwrap_err().is_full(),
        "a waiting sender comes first"
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(counter.wakes(), 1);
    assert!(
        tx.try_send(4).unwrap_err().is_full(),
        "the freed slot is the waiter's"
    );
    assert!(matches!(
        poll_with(send.as_mut(), &waker),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
    assert!(rx.is_empty());
    assert_eq!(tx.capacity(), 2);

    // The same across tasks: a producer far ahead of a slow consumer.
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let producer = rawrt::spawn(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        });
        for i in 0..100 {
            assert!(rx.len() <= 1);
            assert_eq!(rx.recv().await, Some(i));
            yield_now().await;
        }
        producer.await.unwrap();
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn mpsc_recv_none_after_all_senders_dropped_and_drained() {
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(4);
        let tx2 = tx.clone();
        assert!(tx.same_channel(&tx2));
        tx.send(1).await.unwrap();
        tx2.send(2).await.unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(1));
        drop(tx2);
        assert!(rx.is_closed());
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));

        // The last sender dropped by another task wakes a waiting receiver.
        let (tx, mut rx) = mpsc::channel::<u8>(4);
        let dropper = rawrt::spawn(async move {
            yield_now().await;
            drop(tx);
        });
        assert_eq!(rx.recv().await, None);
        dropper.await.unwrap();
    });
}

#[test]
fn mpsc_receiver_close_drains_then_none() {
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();

        // A sender waiting for capacity is woken by the close and gets its value back.
        let (counter, waker) = counting_waker();
        let mut waiting = Box::pin(tx.send(3));
        assert!(poll_with(waiting.as_mut(), &waker).is_pending());

        let closed_watcher = {
            let tx = tx.clone();
            rawrt::spawn(async move { tx.closed().await })
        };
        rx.close();
        assert_eq!(counter.wakes(), 1);
        match poll_with(waiting.as_mut(), &waker) {
            Poll::Ready(Err(mpsc::SendError(3))) => {}
            other => panic!("expected SendError(3), got {other:?}"),
        }
        closed_watcher.await.unwrap();

        assert!(tx.is_closed());
        assert!(tx.try_send(4).unwrap_err().is_closed());
        assert_eq!(tx.send(5).await.unwrap_err().into_inner(), 5);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None, "closed and drained, senders alive");
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
        rx.close(); // idempotent
    });
}

#[test]
fn mpsc_receiver_dropped_returns_values_and_drops_buffer_once() {
    let drops = DropCount::default();
    let (tx, rx) = mpsc::channel(3);
    tx.try_send(drops.value(1)).map_err(|_| ()).unwrap();
    tx.try_send(drops.value(2)).map_err(|_| ()).unwrap();
    tx.try_send(drops.value(3)).map_err(|_| ()).unwrap();

    // One more sender waits for capacity with its value inside the future.
    let (counter, waker) = counting_waker();
    let mut waiting = Box::pin(tx.send(drops.value(4)));
    assert!(poll_with(waiting.as_mut(), &waker).is_pending());

    drop(rx);
    assert_eq!(drops.get(), 3, "the three buffered values, once each");
    assert_eq!(counter.wakes(), 1);
    match poll_with(waiting.as_mut(), &waker) {
        Poll::Ready(Err(mpsc::SendError(v))) => {
            assert_eq!(v.id, 4);
            drop(v);
        }
        _ => panic!("the waiting send must fail and return its value"),
    }
    drop(waiting);
    assert_eq!(drops.get(), 4);

    match tx.try_send(drops.value(5)) {
        Err(mpsc::TrySendError::Closed(v)) => assert_eq!(v.id, 5),
        _ => panic!("try_send must fail with Closed"),
    }
    let back = rt()
        .block_on(tx.send(drops.value(6)))
        .unwrap_err()
        .into_inner();
    assert_eq!(back.id, 6);
    assert_eq!(drops.get(), 5);
    drop(back);
    drop(tx);
    assert_eq!(drops.get(), 6);
}

#[test]
fn mpsc_cancelled_waiting_send_keeps_capacity_and_wakeups() {
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();

    // A (queued first) is cancelled while waiting; B must get the freed slot and the wakeup.
    let (a_counter, a_waker) = counting_waker();
    let (b_counter, b_waker) = counting_waker();
    let mut a = Box::pin(tx.send(10));
    let mut b = Box::pin(tx.send(20));
    assert!(poll_with(a.as_mut(), &a_waker).is_pending());
    assert!(poll_with(b.as_mut(), &b_waker).is_pending());
    drop(a);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!((a_counter.wakes(), b_counter.wakes()), (0, 1));
    assert!(matches!(
        poll_with(b.as_mut(), &b_waker),
        Poll::Ready(Ok(()))
    ));
    drop(b);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(20));
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));

    // Full capacity is back.
    assert_eq!(tx.capacity(), 2);
    tx.try_send(3).unwrap();
    tx.try_send(4).unwrap();
    assert!(tx.try_send(5).unwrap_err().is_full());
}

#[test]
fn mpsc_cancelled_granted_send_releases_its_permit() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let (a_counter, a_waker) = counting_waker();
    let (b_counter, b_waker) = counting_waker();
    let mut a = Box::pin(tx.send(10));
    let mut b = Box::pin(tx.send(20));
    assert!(poll_with(a.as_mut(), &a_waker).is_pending());
    assert!(poll_with(b.as_mut(), &b_waker).is_pending());

    // The recv grants the slot to A (woken); A is dropped before it uses it.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!((a_counter.wakes(), b_counter.wakes()), (1, 0));
    drop(a);
    // The permit passes to B.
    assert_eq!(b_counter.wakes(), 1);
    assert!(matches!(
        poll_with(b.as_mut(), &b_waker),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(rx.try_recv(), Ok(20));

    // With no waiter left, a cancelled granted permit goes back to the pool.
    tx.try_send(2).unwrap();
    let mut c = Box::pin(tx.send(30));
    let (c_counter, c_waker) = counting_waker();
    assert!(poll_with(c.as_mut(), &c_waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(c_counter.wakes(), 1);
    drop(c);
    assert_eq!(tx.capacity(), 1);
    tx.try_send(3).unwrap();
    assert!(tx.try_send(4).unwrap_err().is_full());
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn mpsc_waiting_senders_are_served_fifo() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let mut sends: Vec<_> = (1..=4).map(|i| Box::pin(tx.send(i))).collect();
    let wakers: Vec<_> = (0..4).map(|_| counting_waker()).collect();
    for (s, (_, w)) in sends.iter_mut().zip(&wakers) {
        assert!(poll_with(s.as_mut(), w).is_pending());
    }
    for i in 0..4usize {
        assert_eq!(rx.try_recv(), Ok(i as u32));
        let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.wakes()).collect();
        let expected: Vec<usize> = (0..4).map(|j| usize::from(j <= i)).collect();
        assert_eq!(woken, expected, "after recv #{i}");
        // Every later sender is still pending.
        for (s, (_, w)) in sends.iter_mut().zip(&wakers).skip(i + 1) {
            assert!(poll_with(s.as_mut(), w).is_pending());
        }
        assert!(matches!(
            poll_with(sends[i].as_mut(), &wakers[i].1),
            Poll::Ready(Ok(()))
        ));
    }
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn mpsc_cancelled_send_in_tasks_does_not_lose_capacity() {
    // Many send futures cancelled at random points (dropped after a few polls) while the
    // consumer keeps draining; at the end the full capacity must be available again.
    const CAP: usize = 4;
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(CAP);
        let mut tasks = Vec::new();
        for t in 0..4u32 {
            let tx = tx.clone();
            tasks.push(rawrt::spawn(async move {
                let mut sent = 0;
                for i in 0..500u32 {
                    let mut send = pin!(tx.send(i));
                    // Poll a bounded number of times, then give up (cancel) if still waiting.
                    let polls = (i + t) % 3;
                    let done = poll_fn(|cx| {
                        for _ in 0..=polls {
                            if let Poll::Ready(r) = send.as_mut().poll(cx) {
                                return Poll::Ready(Some(r));
                            }
                        }
                        Poll::Ready(None)
                    })
                    .await;
                    if let Some(r) = done {
                        r.unwrap();
                        sent += 1;
                    }
                    yield_now().await;
                }
                sent
            }));
        }
        let received = Arc::new(AtomicUsize::new(0));
        let consumer = {
            let received = received.clone();
            rawrt::spawn(async move {
                while rx.recv().await.is_some() {
                    let n = received.fetch_add(1, SeqCst) + 1;
                    if n % 7 == 0 {
                        yield_now().await;
                    }
                }
            })
        };
        let mut sent = 0;
        for t in tasks {
            sent += t.await.unwrap();
        }
        assert!(sent > 0);
        wait_until("everything sent was received", || {
            received.load(SeqCst) >= sent
        })
        .await;
        // Buffer empty, no send in flight: every permit must be back.
        assert_eq!(tx.capacity(), CAP, "a cancelled send lost a permit");
        drop(tx);
        consumer.await.unwrap();
        assert_eq!(received.load(SeqCst), sent);
    });

    // Deterministic check of the end state on a fresh channel.
    let (tx, mut rx) = mpsc::channel::<u32>(CAP);
    let mut completed = 0;
    for i in 0..10 {
        let mut s = Box::pin(tx.send(i));
        let (_, w) = counting_waker();
        if poll_with(s.as_mut(), &w).is_ready() {
            completed += 1;
        }
    }
    // CAP sends completed, the others were queued and cancelled.
    assert_eq!(completed, CAP);
    assert_eq!(tx.capacity(), 0);
    assert!(tx.try_send(99).unwrap_err().is_full());
    for i in 0..CAP as u32 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(tx.capacity(), CAP);
    for i in 0..CAP as u32 {
        tx.try_send(i).unwrap();
    }
    assert!(tx.try_send(99).unwrap_err().is_full());
}

#[test]
fn mpsc_many_producers_deliver_exactly_once() {
    const PRODUCERS: u32 = 8;
    const EACH: u32 = 10_000;
    let rt = rt();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<(u32, u32)>(16);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                rawrt::spawn(async move {
                    for i in 0..EACH {
                        tx.send((p, i)).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = vec![0u32; PRODUCERS as usize];
        let mut total = 0u64;
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(
                i, next[p as usize],
                "producer {p}: duplicate, lost or reordered"
            );
            next[p as usize] += 1;
            total += 1;
        }
        assert_eq!(total, u64::from(PRODUCERS * EACH));
        assert!(next.iter().all(|&n| n == EACH));
        for p in producers {
            p.await.unwrap();
        }
    });
}

#[test]
fn mpsc_producers_on_foreign_threads() {
    let rt = rt();
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let tx = tx.clone();
            let handle = rt.handle().clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    handle.block_on(tx.send(t * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let received = rt.block_on(async {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    assert_eq!(received, 600);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn mpsc_error_types() {
    fn is_error<E: std::error::Error>(_: &E) {}
    struct NotDebug;
    let e = mpsc::SendError(NotDebug);
    is_error(&e);
    assert!(!format!("{e} {e:?}").is_empty());
    let e = mpsc::TrySendError::Full(NotDebug);
    is_error(&e);
    assert!(!format!("{e} {e:?}").is_empty());
    let e = mpsc::TrySendError::Closed(NotDebug);
    assert!(!format!("{e} {e:?}").is_empty());
    is_error(&mpsc::TryRecvError::Empty);
    assert!(!mpsc::TryRecvError::Disconnected.to_string().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Notify

#[test]
fn notify_one_before_notified_stores_one_permit() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one(); // at most one permit
    let (_, waker) = counting_waker();
    let mut first = pin!(notify.notified());
    assert!(poll_with(first.as_mut(), &waker).is_ready());
    let mut second = pin!(notify.notified());
    assert!(poll_with(second.as_mut(), &waker).is_pending());

    // In a runtime: the permit makes the first await complete at once.
    let notify = Notify::new();
    notify.notify_one();
    rt().block_on(notify.notified());
}

#[test]
fn notify_waiters_wakes_all_waiting_tasks() {
    const N: usize = 8;
    let rt = rt();
    rt.block_on(async {
        let notify = Arc::new(Notify::new());
        let (ready_tx, mut ready_rx) = mpsc::channel(N);
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let notify = notify.clone();
                let ready_tx = ready_tx.clone();
                rawrt::spawn(async move {
                    let mut notified = pin!(notify.notified());
                    if i % 2 == 0 {
                        // Half register with `enable`, half by polling.
                        assert!(!notified.as_mut().enable());
                    } else {
                        poll_fn(|cx| {
                            assert!(notified.as_mut().poll(cx).is_pending());
                            Poll::Ready(())
                        })
                        .await;
                    }
                    ready_tx.send(()).await.unwrap();
                    notified.await;
                })
            })
            .collect();
        for _ in 0..N {
            ready_rx.recv().await.unwrap();
        }
        notify.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
        // No permit was stored.
        let (_, waker) = counting_waker();
        let mut later = pin!(notify.notified());
        assert!(poll_with(later.as_mut(), &waker).is_pending());
    });
}

#[test]
fn notify_waiters_wakes_notified_created_before_it_even_unpolled() {
    let notify = Notify::new();
    let (counter, waker) = counting_waker();
    let mut polled = pin!(notify.notified());
    assert!(poll_with(polled.as_mut(), &waker).is_pending());
    let mut unpolled = pin!(notify.notified());
    notify.notify_waiters();
    let mut after = pin!(notify.notified());
    assert_eq!(counter.wakes(), 1);
    assert!(poll_with(polled.as_mut(), &waker).is_ready());
    assert!(poll_with(unpolled.as_mut(), &waker).is_ready());
    assert!(poll_with(after.as_mut(), &waker).is_pending());
}

#[test]
fn notify_one_wakes_exactly_one_of_many() {
    // By hand: FIFO, one at a time.
    const N: usize = 5;
    let notify = Notify::new();
    let mut futs: Vec<_> = (0..N).map(|_| Box::pin(notify.notified())).collect();
    let wakers: Vec<_> = (0..N).map(|_| counting_waker()).collect();
    for (f, (_, w)) in futs.iter_mut().zip(&wakers) {
        assert!(poll_with(f.as_mut(), w).is_pending());
    }
    for k in 0..N {
        notify.notify_one();
        let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.wakes()).collect();
        let expected: Vec<usize> = (0..N).map(|j| usize::from(j <= k)).collect();
        assert_eq!(woken, expected, "after notify_one #{k}");
        for (f, (_, w)) in futs.iter_mut().zip(&wakers).skip(k + 1) {
            assert!(poll_with(f.as_mut(), w).is_pending());
        }
        assert!(poll_with(futs[k].as_mut(), &wakers[k].1).is_ready());
    }

    // In tasks: after K notify_one calls on N waiting tasks, exactly K complete. The count is
    // read after the K completions were observed and after every other task was given turns;
    // the rest complete only after notify_waiters.
    const TASKS: usize = 6;
    const K: usize = 2;
    let rt = rt();
    rt.block_on(async {
        let notify = Arc::new(Notify::new());
        let done = Arc::new(AtomicUsize::new(0));
        let (ready_tx, mut ready_rx) = mpsc::channel(TASKS);
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let notify = notify.clone();
                let done = done.clone();
                let ready_tx = ready_tx.clone();
                rawrt::spawn(async move {
                    let mut notified = pin!(notify.notified());
                    notified.as_mut().enable();
                    ready_tx.send(()).await.unwrap();
                    notified.await;
                    done.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for _ in 0..TASKS {
            ready_rx.recv().await.unwrap();
        }
        for _ in 0..K {
            notify.notify_one();
        }
        wait_until("K tasks completed", || done.load(SeqCst) >= K).await;
        for _ in 0..100 {
            yield_now().await;
        }
        assert_eq!(
            done.load(SeqCst),
            K,
            "notify_one must wake exactly one task per call"
        );
        notify.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(done.load(SeqCst), TASKS);
    });
}

#[test]
fn notify_dropping_selected_notified_passes_it_on() {
    let notify = Notify::new();
    let (a_counter, a_waker) = counting_waker();
    let (b_counter, b_waker) = counting_waker();
    let mut a = Box::pin(notify.notified());
    let mut b = Box::pin(notify.notified());
    assert!(poll_with(a.as_mut(), &a_waker).is_pending());
    assert!(poll_with(b.as_mut(), &b_waker).is_pending());
    notify.notify_one();
    assert_eq!((a_counter.wakes(), b_counter.wakes()), (1, 0));
    drop(a); // selected, never completed
    assert_eq!(b_counter.wakes(), 1, "the notification moved to b");
    assert!(poll_with(b.as_mut(), &b_waker).is_ready());

    // With nobody else waiting, it becomes the permit again.
    let mut c = Box::pin(notify.notified());
    assert!(poll_with(c.as_mut(), &a_waker).is_pending());
    notify.notify_one();
    drop(c);
    let mut d = pin!(notify.notified());
    assert!(poll_with(d.as_mut(), &a_waker).is_ready());

    // A permit taken by `enable` and then dropped is not lost either.
    notify.notify_one();
    let mut e = Box::pin(notify.notified());
    assert!(e.as_mut().enable());
    drop(e);
    let mut f = pin!(notify.notified());
    assert!(poll_with(f.as_mut(), &a_waker).is_ready());

    // A Notified woken by notify_waiters passes nothing on.
    let mut g = Box::pin(notify.notified());
    assert!(poll_with(g.as_mut(), &a_waker).is_pending());
    notify.notify_waiters();
    drop(g);
    let mut h = pin!(notify.notified());
    assert!(poll_with(h.as_mut(), &a_waker).is_pending());
}

#[test]
fn notify_dropped_waiter_does_not_swallow_notify_one() {
    let notify = Notify::new();
    let (a_counter, a_waker) = counting_waker();
    let (b_counter, b_waker) = counting_waker();
    let mut a = Box::pin(notify.notified());
    let mut b = Box::pin(notify.notified());
    assert!(poll_with(a.as_mut(), &a_waker).is_pending());
    assert!(poll_with(b.as_mut(), &b_waker).is_pending());
    drop(a); // cancelled while waiting
    notify.notify_one();
    assert_eq!((a_counter.wakes(), b_counter.wakes()), (0, 1));
    assert!(poll_with(b.as_mut(), &b_waker).is_ready());
}

#[test]
fn notify_from_foreign_thread() {
    let rt = rt();
    let notify = Arc::new(Notify::new());
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let thread = {
        let notify = notify.clone();
        std::thread::spawn(move || {
            go_rx.recv().unwrap();
            notify.notify_one();
        })
    };
    rt.block_on(async {
        let mut notified = pin!(notify.notified());
        assert!(!notified.as_mut().enable());
        go_tx.send(()).unwrap();
        notified.await;
    });
    thread.join().unwrap();
}

#[test]
fn notify_ping_pong_between_tasks() {
    // Two tasks alternate through two Notify, 1,000 rounds: every notify_one is consumed.
    const ROUNDS: usize = 1000;
    let rt = rt();
    rt.block_on(async {
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let other = {
            let (ping, pong) = (ping.clone(), pong.clone());
            rawrt::spawn(async move {
                for _ in 0..ROUNDS {
                    ping.notified().await;
                    pong.notify_one();
                }
            })
        };
        for _ in 0..ROUNDS {
            ping.notify_one();
            pong.notified().await;
        }
        other.await.unwrap();
    });
}
