//! Task and runtime behaviour: spawning and joining at scale, abort at every stage, panics,
//! foreign wakers, shutdown (drop, timeout, background), several runtimes in one process,
//! `yield_now` fairness, misuse (spawn outside a runtime, nested `block_on`), handles, and an
//! idle runtime using no CPU.

mod common;

use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use std::collections::HashSet;
use std::future::Future;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{
    panic_message, poll_once, runtime, wait_until, with_timeout, DropCounter, DropSignal, LIMIT,
};
use rawrt::net::{TcpListener, TcpStream};
use rawrt::task::JoinError;

const SECS_10: Duration = Duration::from_secs(10);

#[test]
fn spawn_100k_tasks_and_join_them() {
    const N: u64 = 100_000;
    with_timeout("spawn_100k", LIMIT, || {
        let rt = runtime(2, "spawn100k");
        let sum = rt.block_on(async {
            // Half spawned from outside the workers (the injector), half from a task (local
            // queues, overflowing into the injector).
            let outside: Vec<_> = (0..N / 2).map(|i| rawrt::spawn(async move { i })).collect();
            let inside = rawrt::spawn(async {
                let hs: Vec<_> = (N / 2..N).map(|i| rawrt::spawn(async move { i })).collect();
                let mut s = 0u64;
                for h in hs {
                    s += h.await.unwrap();
                }
                s
            });
            let mut s = 0u64;
            for h in outside {
                s += h.await.unwrap();
            }
            s + inside.await.unwrap()
        });
        assert_eq!(sum, N * (N - 1) / 2);
        let handle = rt.handle().clone();
        assert!(
            wait_until(SECS_10, || handle.num_alive_tasks() == 0),
            "{} tasks still alive after every join",
            handle.num_alive_tasks()
        );
    });
}

#[test]
fn task_ids_are_unique_and_reported() {
    with_timeout("ids", LIMIT, || {
        let rt = runtime(2, "ids");
        let handles: Vec<_> = (0..1000).map(|i| rt.spawn(async move { i })).collect();
        let ids: HashSet<_> = handles.iter().map(|h| h.id()).collect();
        assert_eq!(ids.len(), handles.len(), "task ids repeat");
        let h = rt.spawn(std::future::pending::<()>());
        let id = h.id();
        h.abort();
        let err = rt.block_on(h).unwrap_err();
        assert_eq!(err.id(), id);
        assert!(err.to_string().contains("cancelled"), "{err}");
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(rt.block_on(h).unwrap(), i);
        }
    });
}

#[test]
fn abort_before_first_poll() {
    with_timeout("abort_before_poll", LIMIT, || {
        let rt = runtime(1, "abortpre");
        // Occupy the only worker.
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let blocker = rt.spawn(async move {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started_rx.recv_timeout(SECS_10).expect("blocker never ran");

        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicBool::new(false));
        let guard = DropCounter(drops.clone());
        let ran2 = ran.clone();
        let target = rt.spawn(async move {
            let _guard = guard;
            ran2.store(true, Ordering::SeqCst);
        });
        assert!(!target.is_finished());
        target.abort();
        target.abort(); // twice is harmless
        release_tx.send(()).unwrap();

        let err = rt
            .block_on(target)
            .expect_err("aborted task produced output");
        assert!(err.is_cancelled(), "{err}");
        assert!(!err.is_panic());
        assert_eq!(drops.load(Ordering::SeqCst), 1, "future dropped once");
        assert!(!ran.load(Ordering::SeqCst), "aborted task's body ran");
        rt.block_on(blocker).unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Signals that it is inside `poll`, blocks until told to go on, then returns `Pending`
/// without arranging a wake-up.
struct BlockInPoll {
    in_poll: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
    polls: Arc<AtomicUsize>,
    _guard: DropCounter,
}

impl Future for BlockInPoll {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let _ = self.in_poll.send(());
        let _ = self.go.recv_timeout(Duration::from_secs(30));
        Poll::Pending
    }
}

#[test]
fn abort_during_poll() {
    with_timeout("abort_during_poll", LIMIT, || {
        let rt = runtime(2, "abortmid");
        let drops = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        let (in_poll_tx, in_poll_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel();
        let task = rt.spawn(BlockInPoll {
            in_poll: in_poll_tx,
            go: go_rx,
            polls: polls.clone(),
            _guard: DropCounter(drops.clone()),
        });
        in_poll_rx.recv_timeout(SECS_10).expect("task never polled");
        task.abort();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "dropped while being polled"
        );
        go_tx.send(()).unwrap();
        let err = rt.block_on(task).expect_err("aborted task produced output");
        assert!(err.is_cancelled(), "{err}");
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(polls.load(Ordering::SeqCst), 1, "polled again after abort");
    });
}

#[test]
fn abort_after_completion_returns_output() {
    with_timeout("abort_after_completion", LIMIT, || {
        let rt = runtime(2, "abortpost");
        let task = rt.spawn(async { String::from("done") });
        assert!(
            wait_until(SECS_10, || task.is_finished()),
            "task never finished"
        );
        task.abort();
        assert_eq!(rt.block_on(task).unwrap(), "done");
    });
}

#[test]
fn panicking_task_gives_join_error_and_runtime_keeps_serving() {
    with_timeout("panic", LIMIT, || {
        let rt = runtime(1, "panicky");
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = DropCounter(drops.clone());
        let n: u32 = std::hint::black_box(17);
        let task = rt.spawn(async move {
            let _guard = guard;
            rawrt::task::yield_now().await;
            // A formatted message: the payload is a `String`.
            panic!("boom {n}");
        });
        let err: JoinError = rt.block_on(task).expect_err("panicking task returned");
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("boom 17"), "{err}");
        assert!(format!("{err:?}").contains("boom 17"), "{err:?}");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "panicked future dropped once"
        );
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 17");

        // A `&'static str` payload, through `try_into_panic`.
        let task = rt.spawn(async { panic!("static boom") });
        let err = rt.block_on(task).unwrap_err();
        let payload = err.try_into_panic().expect("a panic, not a cancellation");
        assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "static boom");

        // `try_into_panic` on a cancellation gives the error back.
        let task = rt.spawn(std::future::pending::<()>());
        task.abort();
        let err = rt.block_on(task).unwrap_err();
        let err = err
            .try_into_panic()
            .expect_err("a cancellation is not a panic");
        assert!(err.is_cancelled());

        // The only worker survived the panics and keeps running tasks.
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100u32)
                .map(|i| rawrt::spawn(async move { i }))
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 4950);
    });
}

#[test]
fn panic_in_block_on_future_propagates_and_runtime_stays_usable() {
    with_timeout("block_on_panic", LIMIT, || {
        let rt = runtime(1, "bopanic");
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { panic!("inside block_on") })
        }));
        let payload = r.expect_err("panic was swallowed");
        assert_eq!(panic_message(&*payload), "inside block_on");
        // The thread is no longer marked as inside a runtime.
        assert_eq!(
            rt.block_on(async { rawrt::spawn(async { 3 }).await })
                .unwrap(),
            3
        );
        assert!(rawrt::Handle::try_current().is_err());
    });
}

/// Completes once `flag` is set; hands its waker to whoever will set it.
struct WaitFlag {
    flag: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    registered: Option<mpsc::Sender<()>>,
    polls: Arc<AtomicUsize>,
}

impl Future for WaitFlag {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if let Some(tx) = self.registered.take() {
            let _ = tx.send(());
        }
        Poll::Pending
    }
}

#[test]
fn waker_fired_from_a_foreign_thread_wakes_a_parked_runtime() {
    with_timeout("foreign_waker", LIMIT, || {
        let rt = runtime(2, "foreignw");
        let flag = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let polls = Arc::new(AtomicUsize::new(0));
        let (reg_tx, reg_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let fut = WaitFlag {
            flag: flag.clone(),
            waker: slot.clone(),
            registered: Some(reg_tx),
            polls: polls.clone(),
        };
        let task = rt.spawn(async move {
            fut.await;
            done_tx.send(()).unwrap();
        });
        reg_rx.recv_timeout(SECS_10).expect("task never polled");
        // Let both workers go to sleep, so the wake-up has to reach a parked worker. (If they
        // do not within the bound, the test goes on: it checks the wake either way.)
        wait_until(Duration::from_secs(2), || {
            let s = common::thread_states("foreignw");
            s.len() == 2 && s.iter().all(|&c| c == 'S')
        });
        assert!(
            done_rx.try_recv().is_err(),
            "completed before the flag was set"
        );
        let waker_thread = std::thread::spawn(move || {
            flag.store(true, Ordering::SeqCst);
            let w = slot.lock().unwrap().take().expect("no waker registered");
            w.wake();
        });
        waker_thread.join().unwrap();
        done_rx
            .recv_timeout(SECS_10)
            .expect("the foreign wake did not reach the task");
        rt.block_on(task).unwrap();
        assert!(polls.load(Ordering::SeqCst) >= 2);
    });
}

/// Completes once its flag is set; sends its waker to a foreign thread, which sets the flag
/// and wakes it.
struct PingForeign {
    tx: mpsc::Sender<(Arc<AtomicBool>, Waker)>,
    flag: Option<Arc<AtomicBool>>,
}

impl Future for PingForeign {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.flag {
            Some(f) if f.load(Ordering::Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending, // spurious poll: the wake is still coming
            None => {
                let f = Arc::new(AtomicBool::new(false));
                self.flag = Some(f.clone());
                self.tx.send((f, cx.waker().clone())).unwrap();
                Poll::Pending
            }
        }
    }
}

#[test]
fn many_foreign_wakes_are_never_lost() {
    const ROUNDS: usize = 2000;
    const TASKS: usize = 8;
    with_timeout("foreign_wakes", LIMIT, || {
        let rt = runtime(2, "fwakes");
        let (tx, rx) = mpsc::channel::<(Arc<AtomicBool>, Waker)>();
        let waker_thread = std::thread::spawn(move || {
            let mut n = 0;
            for (flag, waker) in rx {
                flag.store(true, Ordering::Release);
                if n % 2 == 0 {
                    waker.wake();
                } else {
                    waker.wake_by_ref();
                }
                n += 1;
            }
            n
        });
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let tx = tx.clone();
                rt.spawn(async move {
                    for _ in 0..ROUNDS {
                        PingForeign {
                            tx: tx.clone(),
                            flag: None,
                        }
                        .await;
                    }
                })
            })
            .collect();
        drop(tx);
        for t in tasks {
            rt.block_on(t).unwrap();
        }
        assert_eq!(waker_thread.join().unwrap(), ROUNDS * TASKS);
    });
}

#[test]
fn runtime_drop_drops_every_pending_future_once() {
    const N: usize = 1000;
    with_timeout("drop_pending", LIMIT, || {
        let rt = runtime(2, "droppend");
        let drops = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let mut handles = Vec::with_capacity(N);
        // Half have been polled and are idle; the rest may still be queued when the runtime
        // drops.
        for i in 0..N {
            let guard = DropCounter(drops.clone());
            let started = (i < N / 2).then(|| started_tx.clone());
            handles.push(rt.spawn(async move {
                let _guard = guard;
                if let Some(tx) = started {
                    tx.send(()).unwrap();
                }
                std::future::pending::<()>().await;
            }));
            if i == N / 2 - 1 {
                for _ in 0..N / 2 {
                    started_rx
                        .recv_timeout(SECS_10)
                        .expect("task never started");
                }
            }
        }
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let handle = rt.handle().clone();
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            N,
            "futures dropped by shutdown"
        );
        assert_eq!(handle.num_alive_tasks(), 0);
        // Every JoinHandle reports the cancellation, without a runtime.
        for h in handles {
            assert!(h.is_finished());
            match poll_once(h) {
                Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e}"),
                Poll::Ready(Ok(())) => panic!("a pending task completed"),
                Poll::Pending => panic!("a JoinHandle is pending after runtime drop"),
            }
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            N,
            "a future was dropped twice"
        );
    });
}

#[test]
fn runtime_drop_closes_sockets_of_parked_tasks() {
    const N: usize = 20;
    with_timeout("drop_sockets", LIMIT, || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let rt = runtime(2, "dropsock");
        let (connected_tx, connected_rx) = mpsc::channel();
        let (result_tx, result_rx) = mpsc::channel();
        for _ in 0..N {
            let tx = connected_tx.clone();
            let result_tx = result_tx.clone();
            rt.spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                tx.send(()).unwrap();
                let mut buf = [0u8; 16];
                // The peer never writes: this parks until the runtime drops the task.
                let n = s.read(&mut buf).await.map_err(|e| e.kind());
                result_tx.send(n).unwrap();
            });
        }
        drop(result_tx);
        let mut peers = Vec::new();
        for _ in 0..N {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(SECS_10)).unwrap();
            peers.push(s);
        }
        for _ in 0..N {
            connected_rx.recv_timeout(SECS_10).unwrap();
        }
        let handle = rt.handle().clone();
        assert_eq!(handle.num_io_registrations(), N);
        assert_eq!(handle.num_alive_tasks(), N);
        drop(rt);
        assert_eq!(handle.num_io_registrations(), 0);
        // Cancelled, not woken with a result.
        if let Ok(r) = result_rx.try_recv() {
            panic!("a parked read returned {r:?} instead of being cancelled");
        }
        for mut p in peers {
            let mut buf = [0u8; 16];
            match p.read(&mut buf) {
                Ok(0) => {}
                other => panic!("peer expected EOF after runtime drop, got {other:?}"),
            }
        }
    });
}

#[test]
fn two_runtimes_in_one_process() {
    with_timeout("two_runtimes", LIMIT, || {
        let a = runtime(1, "rtA");
        let b = runtime(3, "rtB");
        let in_a = a.spawn(async {
            (
                std::thread::current().name().unwrap().to_string(),
                rawrt::Handle::current().num_workers(),
            )
        });
        // A's JoinHandle awaited inside B's block_on and inside a B task.
        let (name, workers) = b.block_on(in_a).unwrap();
        assert!(name.starts_with("rtA-"), "{name}");
        assert_eq!(workers, 1);
        let in_a = a.spawn(async { 7 });
        let from_b = b.spawn(async move {
            let v = in_a.await.unwrap();
            let name = std::thread::current().name().unwrap().to_string();
            (v, name, rawrt::Handle::current().num_workers())
        });
        let (v, name, workers) = b.block_on(from_b).unwrap();
        assert_eq!(v, 7);
        assert!(name.starts_with("rtB-"), "{name}");
        assert_eq!(workers, 3);

        // Both busy at once: each side waits for the other's task.
        let (to_b, from_a) = mpsc::channel::<u32>();
        let a_task = a.spawn(async move {
            for i in 0..100 {
                to_b.send(i).unwrap();
                rawrt::task::yield_now().await;
            }
        });
        let b_task = b.spawn(async move {
            let mut got = 0;
            while got < 100 {
                // Poll the channel without blocking the worker.
                match from_a.try_recv() {
                    Ok(i) => {
                        assert_eq!(i, got);
                        got += 1;
                    }
                    Err(mpsc::TryRecvError::Empty) => rawrt::task::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            }
            got
        });
        assert_eq!(b.block_on(b_task).unwrap(), 100);
        a.block_on(a_task).unwrap();

        // A B task waits on a task of A that never finishes; dropping A cancels it.
        let forever = a.spawn(std::future::pending::<u8>());
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let waiter = b.spawn(async move {
            waiting_tx.send(()).unwrap();
            forever.await
        });
        waiting_rx
            .recv_timeout(SECS_10)
            .expect("B's task never ran");
        let echo_listener = b.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let echo_addr = echo_listener.local_addr().unwrap();
        drop(a);
        let err = b
            .block_on(waiter)
            .unwrap()
            .expect_err("A's task outlived A");
        assert!(err.is_cancelled(), "{err}");

        // B is undisturbed: tasks and I/O still work.
        let sum = b.block_on(async move {
            let server = rawrt::spawn(async move {
                let (mut s, _) = echo_listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            });
            let mut c = TcpStream::connect(echo_addr).await.unwrap();
            c.write_all(b"still").await.unwrap();
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still");
            server.await.unwrap();
            let hs: Vec<_> = (0..1000u64)
                .map(|i| rawrt::spawn(async move { i }))
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 499_500);
    });
}

#[test]
fn yield_now_many_times() {
    with_timeout("yield_many", LIMIT, || {
        let rt = runtime(2, "yieldmany");
        let n = rt
            .block_on(rt.spawn(async {
                let mut n = 0u32;
                for _ in 0..1000 {
                    rawrt::task::yield_now().await;
                    n += 1;
                }
                n
            }))
            .unwrap();
        assert_eq!(n, 1000);
        // yield_now in block_on itself (not a worker) also returns.
        rt.block_on(async {
            for _ in 0..1000 {
                rawrt::task::yield_now().await;
            }
        });
    });
}

/// On one worker, A yields until B has run; B must get a turn.
fn yielding_loop_does_not_starve(rt: &rawrt::Runtime, spawn_inside: bool) -> u32 {
    const MAX_SPINS: u32 = 1_000_000;
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let a = async move {
        let mut spins = 0u32;
        while !f.load(Ordering::SeqCst) {
            spins += 1;
            assert!(spins < MAX_SPINS, "B never ran while A yielded");
            rawrt::task::yield_now().await;
        }
        spins
    };
    let b = async move { flag.store(true, Ordering::SeqCst) };
    if spawn_inside {
        rt.block_on(rt.spawn(async move {
            let a = rawrt::spawn(a);
            let b = rawrt::spawn(b);
            b.await.unwrap();
            a.await.unwrap()
        }))
        .unwrap()
    } else {
        let a = rt.spawn(a);
        let b = rt.spawn(b);
        rt.block_on(b).unwrap();
        rt.block_on(a).unwrap()
    }
}

#[test]
fn yield_now_lets_other_tasks_run_on_one_worker() {
    with_timeout("yield_fair", LIMIT, || {
        let rt = runtime(1, "yieldfair");
        yielding_loop_does_not_starve(&rt, false);
        yielding_loop_does_not_starve(&rt, true);
        // Same with the LIFO slot disabled.
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(1)
            .lifo_slot(false)
            .thread_name("yieldnolifo")
            .build()
            .unwrap();
        yielding_loop_does_not_starve(&rt, false);
        yielding_loop_does_not_starve(&rt, true);
    });
}

/// A task woken by each of N tasks queued on its worker runs once after all of them (the
/// LIFO slot takes a wake only when nothing else waits): the shape of an HTTP/2 connection
/// woken by every stream's response, which then writes them all at once. With every wake
/// in the slot (Tokio's rule) it would run after each one: N + 1 polls.
fn polls_of_a_task_woken_by_queued_tasks(rt: &rawrt::Runtime, n: usize) -> usize {
    rt.block_on(rt.spawn(async move {
        let done = Arc::new(AtomicUsize::new(0));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let mut polls = 0;
        std::future::poll_fn(|cx| {
            polls += 1;
            if polls == 1 {
                *waker.lock().unwrap() = Some(cx.waker().clone());
                for _ in 0..n {
                    let (done, waker) = (done.clone(), waker.clone());
                    drop(rawrt::spawn(async move {
                        done.fetch_add(1, Ordering::SeqCst);
                        if let Some(w) = waker.lock().unwrap().as_ref() {
                            w.wake_by_ref();
                        }
                    }));
                }
                return Poll::Pending;
            }
            if done.load(Ordering::SeqCst) == n {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        polls
    }))
    .unwrap()
}

#[test]
fn a_task_woken_by_many_queued_tasks_runs_once_after_them() {
    with_timeout("wake_batch", LIMIT, || {
        // One worker: nobody steals, so the order is the scheduler's alone.
        let rt = runtime(1, "wakebatch");
        for n in [2, 16, 300] {
            let polls = polls_of_a_task_woken_by_queued_tasks(&rt, n);
            assert!(polls <= 3, "{n} wakers: polled {polls} times");
        }
        // With the slot disabled every push is FIFO: the same.
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(1)
            .lifo_slot(false)
            .thread_name("wakebatchnolifo")
            .build()
            .unwrap();
        let polls = polls_of_a_task_woken_by_queued_tasks(&rt, 16);
        assert!(polls <= 3, "without the LIFO slot: polled {polls} times");
    });
}

#[test]
fn a_thousand_tasks_woken_together_run_in_the_order_they_were_woken() {
    // A server at 1000 connections wakes that many tasks per round; they should be served
    // first come, first served. A local queue that overflows into the injector moves its
    // oldest tasks behind everyone else (the long tail that rawrt's 256-slot queue gave at
    // 1000 connections); rawrt's queue holds 1024.
    with_timeout("wake_order", LIMIT, || {
        const N: usize = 1000;
        for lifo in [true, false] {
            // One worker: nobody steals, so the order is the scheduler's alone.
            let rt = rawrt::Builder::new_multi_thread()
                .worker_threads(1)
                .lifo_slot(lifo)
                .thread_name("wakeorder")
                .build()
                .unwrap();
            let order = rt.block_on(async {
                let order = Arc::new(Mutex::new(Vec::with_capacity(N)));
                let ready = Arc::new(AtomicUsize::new(0));
                let mut senders = Vec::with_capacity(N);
                let mut joins = Vec::with_capacity(N);
                for i in 0..N {
                    let (tx, rx) = rawrt::sync::oneshot::channel::<()>();
                    senders.push(tx);
                    let (order, ready) = (order.clone(), ready.clone());
                    joins.push(rawrt::spawn(async move {
                        ready.fetch_add(1, Ordering::SeqCst);
                        rx.await.unwrap();
                        order.lock().unwrap().push(i);
                    }));
                }
                // Wake them all from one task on the worker, in index order.
                rawrt::spawn(async move {
                    while ready.load(Ordering::SeqCst) < N {
                        rawrt::task::yield_now().await;
                    }
                    for tx in senders {
                        tx.send(()).unwrap();
                    }
                })
                .await
                .unwrap();
                for j in joins {
                    j.await.unwrap();
                }
                Arc::try_unwrap(order).unwrap().into_inner().unwrap()
            });
            assert_eq!(order.len(), N);
            // The LIFO slot may swap the first two (a wake into an empty queue takes the slot
            // and pushes its predecessor back); nothing else moves.
            let displaced = order
                .iter()
                .enumerate()
                .map(|(pos, &i)| pos.abs_diff(i))
                .max()
                .unwrap();
            assert!(
                displaced <= 1,
                "lifo_slot({lifo}): a task ran {displaced} places from its turn: {:?}",
                &order[..20.min(order.len())]
            );
        }
    });
}

#[test]
fn spawn_outside_a_runtime_panics() {
    with_timeout("spawn_outside", LIMIT, || {
        let r = catch_unwind(|| drop(rawrt::spawn(async {})));
        let payload = r.expect_err("rawrt::spawn outside a runtime did not panic");
        let msg = panic_message(&*payload);
        assert!(msg.contains("outside of a rawrt runtime"), "{msg}");

        // It works under `enter`, and fails again once the guard is gone.
        let rt = runtime(1, "spawnout");
        {
            let _guard = rt.enter();
            let h = rawrt::spawn(async { 9 });
            assert_eq!(rt.block_on(h).unwrap(), 9);
        }
        let r = catch_unwind(|| drop(rawrt::spawn(async {})));
        let msg = panic_message(&*r.expect_err("spawn after the guard dropped"));
        assert!(msg.contains("outside of a rawrt runtime"), "{msg}");
    });
}

#[test]
fn nested_block_on_panics() {
    with_timeout("nested_block_on", LIMIT, || {
        let rt = runtime(1, "nested");
        let handle = rt.handle().clone();
        // Inside block_on.
        let msg = rt.block_on(async {
            let r = catch_unwind(AssertUnwindSafe(|| handle.block_on(async { 1 })));
            panic_message(&*r.expect_err("nested block_on did not panic"))
        });
        assert!(msg.contains("block_on"), "{msg}");
        // block_on still works on this thread afterwards.
        assert_eq!(rt.block_on(async { 2 }), 2);

        // Inside a task (on a worker): the task panics, the worker survives.
        let err = rt
            .block_on(rt.spawn(async {
                rawrt::Handle::current().block_on(async { 3 });
            }))
            .expect_err("block_on on a worker did not panic");
        assert!(err.is_panic());
        let msg = panic_message(&*err.into_panic());
        assert!(msg.contains("block_on"), "{msg}");
        assert_eq!(rt.block_on(rt.spawn(async { 4 })).unwrap(), 4);

        // Another runtime's block_on from inside a block_on is refused too.
        let other = runtime(1, "nestedoth");
        let msg = rt.block_on(async {
            let r = catch_unwind(AssertUnwindSafe(|| other.block_on(async { 5 })));
            panic_message(&*r.expect_err("block_on of another runtime did not panic"))
        });
        assert!(msg.contains("block_on"), "{msg}");
    });
}

#[test]
fn zero_worker_threads_is_invalid_input() {
    let err = rawrt::Builder::new_multi_thread()
        .worker_threads(0)
        .build()
        .expect_err("a runtime with no workers was built");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn builder_names_threads_and_counts_workers() {
    with_timeout("builder", LIMIT, || {
        let rt = runtime(3, "bldnamed");
        assert_eq!(rt.handle().num_workers(), 3);
        // A new thread sets its OS name itself, as it starts: wait (bounded) for all three.
        let mut names = Vec::new();
        wait_until(SECS_10, || {
            names = common::thread_names("bldnamed");
            names.len() >= 3
        });
        names.sort();
        assert_eq!(names, ["bldnamed-0", "bldnamed-1", "bldnamed-2"]);
        drop(rt);
        // Dropping the runtime joins its workers. A joined thread can still be listed in
        // /proc for a moment (the kernel wakes the joiner before it reaps the thread), so
        // wait, bounded, for the list to empty.
        assert!(
            wait_until(SECS_10, || common::thread_names("bldnamed").is_empty()),
            "worker threads still listed after the runtime dropped: {:?}",
            common::thread_names("bldnamed")
        );
    });
}

#[test]
fn shutdown_timeout_returns_despite_a_blocked_worker() {
    with_timeout("shutdown_timeout", LIMIT, || {
        let rt = runtime(1, "stuckwk");
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        rt.spawn(async move {
            let _signal = DropSignal(dropped_tx);
            started_tx.send(()).unwrap();
            // Blocks the worker thread (not the task): shutdown cannot stop it.
            let _ = release_rx.recv_timeout(Duration::from_secs(40));
            std::future::pending::<()>().await;
        });
        started_rx
            .recv_timeout(SECS_10)
            .expect("task never started");
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "shutdown_timeout took {took:?}"
        );
        assert!(
            took >= Duration::from_millis(100),
            "returned after {took:?}, before the timeout, with a worker still busy"
        );
        assert!(
            dropped_rx.try_recv().is_err(),
            "future dropped while polled"
        );
        release_tx.send(()).unwrap();
        // The detached worker cancels its task when the poll returns, then exits.
        dropped_rx
            .recv_timeout(SECS_10)
            .expect("the stuck task's future was never dropped");
        assert!(
            wait_until(SECS_10, || common::thread_names("stuckwk").is_empty()),
            "the detached worker thread never exited"
        );
    });
}

#[test]
fn shutdown_background_does_not_wait() {
    with_timeout("shutdown_background", LIMIT, || {
        let rt = runtime(2, "bgshut");
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let idle_drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let g = DropCounter(idle_drops.clone());
            rt.spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            });
        }
        rt.spawn(async move {
            let _signal = DropSignal(dropped_tx);
            started_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(40));
        });
        started_rx.recv_timeout(SECS_10).unwrap();
        let start = Instant::now();
        rt.shutdown_background();
        assert!(start.elapsed() < Duration::from_secs(5));
        // Idle tasks are cancelled even though a worker is stuck.
        assert_eq!(idle_drops.load(Ordering::SeqCst), 10);
        release_tx.send(()).unwrap();
        dropped_rx.recv_timeout(SECS_10).unwrap();
        assert!(
            wait_until(SECS_10, || common::thread_names("bgshut").is_empty()),
            "worker threads never exited"
        );
    });
}

#[test]
fn is_finished_and_detached_tasks() {
    with_timeout("detached", LIMIT, || {
        let rt = runtime(2, "detached");
        let (tx, rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let h = rt.spawn(async move {
            let _ = go_rx.recv_timeout(SECS_10);
            11
        });
        assert!(!h.is_finished());
        go_tx.send(()).unwrap();
        assert!(wait_until(SECS_10, || h.is_finished()), "never finished");
        assert_eq!(rt.block_on(h).unwrap(), 11);

        // A detached task keeps running to completion, including after yields and I/O.
        let handle = rt.handle().clone();
        drop(rt.spawn(async move {
            for _ in 0..10 {
                rawrt::task::yield_now().await;
            }
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let c = rawrt::spawn(async move { TcpStream::connect(addr).await.unwrap() });
            let (_s, peer) = l.accept().await.unwrap();
            let c = c.await.unwrap();
            tx.send(peer == c.local_addr().unwrap()).unwrap();
        }));
        assert!(rx
            .recv_timeout(SECS_10)
            .expect("detached task did not finish"));
        assert!(wait_until(SECS_10, || handle.num_alive_tasks() == 0));
    });
}

#[test]
fn handle_current_and_try_current() {
    with_timeout("handle_current", LIMIT, || {
        let err = rawrt::Handle::try_current().expect_err("a runtime outside any runtime");
        assert!(err.to_string().contains("no rawrt runtime"), "{err}");
        let r = catch_unwind(rawrt::Handle::current);
        assert!(
            r.is_err(),
            "Handle::current outside a runtime did not panic"
        );

        let rt = runtime(3, "hcurrent");
        let workers = rt.block_on(async {
            let h = rawrt::Handle::current();
            assert!(rawrt::Handle::try_current().is_ok());
            // Spawning through the current handle works; the task sees a runtime too.
            let inner = h.spawn(async { rawrt::Handle::current().num_workers() });
            // A plain thread started from here has no current runtime.
            let outside = std::thread::spawn(|| rawrt::Handle::try_current().is_err())
                .join()
                .unwrap();
            assert!(outside);
            (h.num_workers(), inner.await.unwrap())
        });
        assert_eq!(workers, (3, 3));
        assert!(
            rawrt::Handle::try_current().is_err(),
            "still current after block_on"
        );

        // A Handle sent to another thread spawns and blocks there.
        let h = rt.handle().clone();
        let v = std::thread::spawn(move || h.block_on(h.spawn(async { 21 * 2 })).unwrap())
            .join()
            .unwrap();
        assert_eq!(v, 42);
        {
            let _g = rt.enter();
            assert!(rawrt::Handle::try_current().is_ok());
        }
        assert!(rawrt::Handle::try_current().is_err());
    });
}

#[test]
fn idle_runtime_uses_no_cpu() {
    with_timeout("idle_cpu", LIMIT, || {
        let rt = runtime(2, "idlecpu");
        // Some load: tasks, yields and TCP traffic.
        let sum = rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            for i in 0..200u32 {
                c.write_all(&i.to_le_bytes()).await.unwrap();
                let mut b = [0u8; 4];
                c.read_exact(&mut b).await.unwrap();
                assert_eq!(u32::from_le_bytes(b), i);
            }
            drop(c);
            server.await.unwrap();
            let hs: Vec<_> = (0..10_000u64)
                .map(|i| {
                    rawrt::spawn(async move {
                        rawrt::task::yield_now().await;
                        i
                    })
                })
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 49_995_000);
        let handle = rt.handle().clone();
        assert!(wait_until(SECS_10, || handle.num_alive_tasks() == 0));
        // The load has stopped; wait (bounded) for both workers to be asleep.
        let asleep = wait_until(SECS_10, || {
            let s = common::thread_states("idlecpu");
            s.len() == 2 && s.iter().all(|&c| c == 'S')
        });
        assert!(
            asleep,
            "workers not asleep 10 s after the load stopped: {:?}",
            common::thread_states("idlecpu")
        );
        let before = common::thread_stats("idlecpu");
        assert_eq!(before.threads, 2);
        // The measurement window (not a wait for correctness).
        let window = Duration::from_millis(300);
        std::thread::sleep(window);
        let after = common::thread_stats("idlecpu");
        let cpu = Duration::from_nanos(after.cpu_ns - before.cpu_ns);
        let wakeups = after.voluntary_switches - before.voluntary_switches;
        eprintln!("idle workers over {window:?}: {cpu:?} CPU, {wakeups} wake-ups");
        assert!(
            cpu < Duration::from_millis(30),
            "idle workers used {cpu:?} of CPU in {window:?}"
        );
        assert!(
            wakeups <= 20,
            "idle workers woke up {wakeups} times in {window:?} (polling instead of parking?)"
        );
        // And the runtime still wakes up for new work.
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    });
}

#[test]
fn runtime_dropped_inside_its_own_task() {
    with_timeout("self_drop", LIMIT, || {
        let rt = runtime(2, "selfdrop");
        let handle = rt.handle().clone();
        let drops = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        for _ in 0..10 {
            let g = DropCounter(drops.clone());
            let tx = started_tx.clone();
            handle.spawn(async move {
                let _g = g;
                tx.send(()).unwrap();
                std::future::pending::<()>().await
            });
        }
        for _ in 0..10 {
            started_rx.recv_timeout(SECS_10).unwrap();
        }
        let (done_tx, done_rx) = mpsc::channel();
        // The last owner of the runtime is a task running on it: the drop must not wait for
        // its own worker (that would deadlock).
        drop(handle.spawn(async move {
            drop(rt);
            done_tx.send(()).unwrap();
        }));
        done_rx
            .recv_timeout(SECS_10)
            .expect("dropping the runtime from its own task hung");
        // A task still inside its first poll when the runtime shut down (it had sent its
        // "started" but not yet returned Pending) is cancelled when that poll returns, on its
        // worker: wait for it, bounded.
        assert!(wait_until(SECS_10, || drops.load(Ordering::SeqCst) == 10));
        assert_eq!(
            drops.load(Ordering::SeqCst),
            10,
            "each future dropped exactly once"
        );
        assert!(
            wait_until(SECS_10, || common::thread_names("selfdrop").is_empty()),
            "workers still running: {:?}",
            common::thread_names("selfdrop")
        );
        assert!(wait_until(SECS_10, || handle.num_alive_tasks() == 0));
    });
}

#[test]
fn spawn_after_shutdown_is_cancelled_at_once() {
    with_timeout("spawn_after_shutdown", LIMIT, || {
        let rt = runtime(1, "lateSpawn");
        let handle = rt.handle().clone();
        drop(rt);
        let drops = Arc::new(AtomicUsize::new(0));
        let g = DropCounter(drops.clone());
        let ran = Arc::new(AtomicBool::new(false));
        let ran2 = ran.clone();
        let h = handle.spawn(async move {
            let _g = g;
            ran2.store(true, Ordering::SeqCst);
        });
        assert!(h.is_finished());
        match poll_once(h) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e}"),
            Poll::Ready(Ok(())) => panic!("a task ran on a runtime that was shut down"),
            Poll::Pending => panic!("a task spawned after shutdown is pending forever"),
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(handle.num_alive_tasks(), 0);
    });
}

#[test]
fn wakers_outliving_the_runtime_are_harmless() {
    const TASKS: usize = 100;
    with_timeout("stale_wakers", LIMIT, || {
        let rt = runtime(2, "stalewk");
        let slots: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..TASKS {
            let slots = slots.clone();
            let g = DropCounter(drops.clone());
            rt.spawn(async move {
                let _g = g;
                let mut registered = false;
                std::future::poll_fn(|cx| {
                    if !registered {
                        registered = true;
                        slots.lock().unwrap().push(cx.waker().clone());
                    }
                    Poll::<()>::Pending
                })
                .await
            });
        }
        assert!(wait_until(SECS_10, || slots.lock().unwrap().len() >= TASKS));
        // A foreign thread keeps waking the tasks while the runtime shuts down.
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, slots2) = (stop.clone(), slots.clone());
        let (waking_tx, waking_rx) = mpsc::channel();
        let waker_thread = std::thread::spawn(move || {
            let wakers: Vec<Waker> = slots2.lock().unwrap().clone();
            let mut rounds = 0u64;
            while !stop2.load(Ordering::SeqCst) {
                for w in &wakers {
                    w.wake_by_ref();
                    // A clone woken by value: its own reference is consumed.
                    let by_value = w.clone();
                    by_value.wake();
                }
                rounds += 1;
                if rounds == 1 {
                    waking_tx.send(()).unwrap();
                }
            }
            rounds
        });
        waking_rx.recv_timeout(SECS_10).unwrap();
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), TASKS);
        stop.store(true, Ordering::SeqCst);
        assert!(waker_thread.join().unwrap() > 0);
        // And after it: waking, cloning and dropping stale wakers does nothing.
        let wakers = std::mem::take(&mut *slots.lock().unwrap());
        for w in wakers {
            w.wake_by_ref();
            let c = w.clone();
            w.wake();
            drop(c);
        }
        assert_eq!(drops.load(Ordering::SeqCst), TASKS);
    });
}

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn panicking_destructor_on_abort_and_shutdown() {
    with_timeout("panic_on_drop", LIMIT, || {
        let rt = runtime(2, "dropboom");
        let (tx, rx) = mpsc::channel();
        let t = rt.spawn(async move {
            let _p = PanicOnDrop("drop boom");
            tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        rx.recv_timeout(SECS_10).unwrap();
        t.abort();
        let err = rt.block_on(t).unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert_eq!(panic_message(&*err.into_panic()), "drop boom");

        // At shutdown: the panic stays inside the runtime, and the other futures are still
        // dropped.
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for i in 0..20 {
            let g = DropCounter(drops.clone());
            let tx = tx.clone();
            rt.spawn(async move {
                let _g = g;
                let _p = (i % 5 == 0).then(|| PanicOnDrop("shutdown drop boom"));
                tx.send(()).unwrap();
                std::future::pending::<()>().await
            });
        }
        for _ in 0..20 {
            rx.recv_timeout(SECS_10).unwrap();
        }
        let r = catch_unwind(AssertUnwindSafe(move || drop(rt)));
        assert!(r.is_ok(), "a task destructor's panic escaped Runtime::drop");
        assert_eq!(drops.load(Ordering::SeqCst), 20);
    });
}

#[test]
fn outputs_are_dropped_exactly_once() {
    with_timeout("output_drops", LIMIT, || {
        let rt = runtime(2, "outdrop");
        // Output never taken: dropped with the JoinHandle.
        let c1 = Arc::new(AtomicUsize::new(0));
        let g = DropCounter(c1.clone());
        let h = rt.spawn(async move { g });
        assert!(wait_until(SECS_10, || h.is_finished()));
        assert_eq!(
            c1.load(Ordering::SeqCst),
            0,
            "output dropped while the handle lives"
        );
        drop(h);
        assert_eq!(c1.load(Ordering::SeqCst), 1);

        // Detached: dropped by the runtime when the task completes.
        let c2 = Arc::new(AtomicUsize::new(0));
        let g = DropCounter(c2.clone());
        drop(rt.spawn(async move {
            rawrt::task::yield_now().await;
            g
        }));
        assert!(wait_until(SECS_10, || c2.load(Ordering::SeqCst) == 1));

        // Joined: handed over, not dropped by the runtime.
        let c3 = Arc::new(AtomicUsize::new(0));
        let g = DropCounter(c3.clone());
        let out = rt.block_on(rt.spawn(async move { g })).unwrap();
        assert_eq!(c3.load(Ordering::SeqCst), 0);
        drop(out);
        assert_eq!(c3.load(Ordering::SeqCst), 1);

        // Completed, then the runtime drops with the handle still held.
        let c4 = Arc::new(AtomicUsize::new(0));
        let g = DropCounter(c4.clone());
        let h = rt.spawn(async move { g });
        assert!(wait_until(SECS_10, || h.is_finished()));
        drop(rt);
        assert_eq!(c4.load(Ordering::SeqCst), 0);
        match poll_once(h) {
            Poll::Ready(Ok(g)) => drop(g),
            _ => panic!("a completed task's output was lost at shutdown"),
        }
        assert_eq!(c4.load(Ordering::SeqCst), 1);
        assert_eq!(c1.load(Ordering::SeqCst), 1);
        assert_eq!(c2.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn join_handle_waker_can_change_between_polls() {
    with_timeout("join_waker_change", LIMIT, || {
        let rt = runtime(2, "joinwk");
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let mut h = rt.spawn(async move {
            let _ = go_rx.recv_timeout(SECS_10);
            77
        });
        // First polled with a waker that does nothing...
        assert!(poll_once(&mut h).is_pending());
        assert!(poll_once(&mut h).is_pending());
        // ...then awaited in block_on, whose waker must be the one woken.
        let waiter = std::thread::spawn({
            let handle = rt.handle().clone();
            move || handle.block_on(h)
        });
        go_tx.send(()).unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), 77);
    });
}

/// A one-slot async signal: `set` then wake whoever waits.
#[derive(Default)]
struct Signal {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Signal {
    fn set(&self) {
        let w = {
            let mut st = self.state.lock().unwrap();
            st.0 = true;
            st.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut st = self.state.lock().unwrap();
            if st.0 {
                st.0 = false;
                Poll::Ready(())
            } else {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn ping_pong_loses_no_wakeups() {
    const PAIRS: usize = 8;
    const ROUNDS: usize = 5_000;
    with_timeout("ping_pong", LIMIT, || {
        let rt = runtime(4, "pingpong");
        let handles: Vec<_> = (0..PAIRS)
            .flat_map(|_| {
                let ping = Arc::new(Signal::default());
                let pong = Arc::new(Signal::default());
                let (p1, q1) = (ping.clone(), pong.clone());
                let a = rt.spawn(async move {
                    for _ in 0..ROUNDS {
                        p1.set();
                        q1.wait().await;
                    }
                });
                let b = rt.spawn(async move {
                    for _ in 0..ROUNDS {
                        ping.wait().await;
                        pong.set();
                    }
                });
                [a, b]
            })
            .collect();
        for h in handles {
            rt.block_on(h).unwrap();
        }
    });
}

#[test]
fn spawned_tasks_run_in_parallel_on_two_workers() {
    // Two tasks that each block their worker until the other one has started: this only
    // completes if the second worker picks up (steals or is woken for) the other task.
    fn rendezvous_pair(from_task: bool, rt: &rawrt::Runtime) {
        let (a_tx, a_rx) = mpsc::channel::<()>();
        let (b_tx, b_rx) = mpsc::channel::<()>();
        let a = async move {
            a_tx.send(()).unwrap();
            b_rx.recv_timeout(SECS_10).is_ok()
        };
        let b = async move {
            b_tx.send(()).unwrap();
            a_rx.recv_timeout(SECS_10).is_ok()
        };
        let (ra, rb) = if from_task {
            rt.block_on(rt.spawn(async move {
                let a = rawrt::spawn(a);
                let b = rawrt::spawn(b);
                (a.await.unwrap(), b.await.unwrap())
            }))
            .unwrap()
        } else {
            let a = rt.spawn(a);
            let b = rt.spawn(b);
            (rt.block_on(a).unwrap(), rt.block_on(b).unwrap())
        };
        assert!(
            ra && rb,
            "tasks did not run at the same time (from_task: {from_task})"
        );
    }
    with_timeout("parallel", LIMIT, || {
        let rt = runtime(2, "parallel");
        for _ in 0..20 {
            rendezvous_pair(false, &rt);
            rendezvous_pair(true, &rt);
        }
    });
}

#[test]
fn abort_races_with_completion_and_wakes() {
    const N: usize = 5_000;
    with_timeout("abort_stress", LIMIT, || {
        let rt = runtime(3, "abortrace");
        let drops = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let g = DropCounter(drops.clone());
                rt.spawn(async move {
                    let _g = g;
                    for _ in 0..(i % 4) {
                        rawrt::task::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let (mut ok, mut cancelled) = (0, 0);
        for (i, h) in handles.into_iter().enumerate() {
            if i % 2 == 0 {
                h.abort();
            }
            match rt.block_on(h) {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{e}");
                    assert!(i % 2 == 0, "task {i} cancelled without abort");
                    cancelled += 1;
                }
            }
        }
        assert_eq!(ok + cancelled, N);
        assert!(ok >= N / 2);
        assert!(wait_until(SECS_10, || drops.load(Ordering::SeqCst) == N));
        let handle = rt.handle().clone();
        assert!(wait_until(SECS_10, || handle.num_alive_tasks() == 0));
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), N);
    });
}
