//! Tests for `rawrt::sync`'s locks and once-cells on real runtimes: `Semaphore`, `Mutex`,
//! `RwLock`, `OnceCell`, `SetOnce`, `Barrier`.
//!
//! No test relies on timing. Where a task must be queued before the next step, it is spawned
//! with [`spawn_polled`], which reports back only after the task's future has been polled
//! once (and so has registered as a waiter, if it had to wait). Every wait on another task is
//! bounded (`timeout`, 10 s), so a bug fails a test instead of hanging it.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::Poll;
use std::time::Duration;

use rawrt::sync::{
    oneshot, Barrier, Mutex, MutexGuard, OnceCell, OwnedMutexGuard, RwLock, RwLockWriteGuard,
    Semaphore, SetOnce, TryAcquireError,
};
use rawrt::task::JoinHandle;
use rawrt::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn rt() -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Spawns `fut` and returns once it has been polled once: if it had to wait for a lock or a
/// permit, it is queued from then on.
async fn spawn_polled<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let handle = rawrt::spawn(async move {
        let mut fut = pin!(fut);
        let first = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        let _ = tx.send(());
        match first {
            Poll::Ready(v) => v,
            Poll::Pending => fut.await,
        }
    });
    rx.await.expect("the task reports its first poll");
    handle
}

async fn join<T>(h: JoinHandle<T>) -> T {
    timeout(LIMIT, h)
        .await
        .expect("task did not finish in time")
        .expect("task panicked")
}

type Log = Arc<StdMutex<Vec<usize>>>;

fn log() -> Log {
    Arc::new(StdMutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<usize> {
    log.lock().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// Semaphore

#[test]
fn acquire_is_fifo() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(0));
        let order = log();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (sem, order) = (sem.clone(), order.clone());
            tasks.push(
                spawn_polled(async move {
                    let permit = sem.acquire().await.unwrap();
                    order.lock().unwrap().push(i);
                    permit.forget();
                })
                .await,
            );
        }
        // One permit at a time: each goes to the oldest waiter.
        for (i, t) in tasks.into_iter().enumerate() {
            sem.add_permits(1);
            join(t).await;
            assert_eq!(entries(&order), (0..=i).collect::<Vec<_>>());
        }
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn add_permits_serves_waiters_in_order() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(0));
        let order = log();
        let mut tasks = Vec::new();
        for (i, n) in [2u32, 1, 3].into_iter().enumerate() {
            let (sem, order) = (sem.clone(), order.clone());
            tasks.push(
                spawn_polled(async move {
                    let permit = sem.acquire_many(n).await.unwrap();
                    order.lock().unwrap().push(i);
                    permit.forget();
                })
                .await,
            );
        }
        // 4 permits: the first two waiters (2 + 1), and one assigned to the third (needs 3).
        sem.add_permits(4);
        join(tasks.remove(0)).await;
        join(tasks.remove(0)).await;
        // Both were granted by the same call, so they may run in either order; the third,
        // still short of permits, has not run.
        let mut first_two = entries(&order);
        first_two.sort_unstable();
        assert_eq!(first_two, [0, 1]);
        assert_eq!(
            sem.available_permits(),
            0,
            "the third waiter holds the spare one"
        );
        sem.add_permits(2);
        join(tasks.remove(0)).await;
        assert_eq!(entries(&order)[2], 2);
    });
}

#[test]
fn cancelled_acquire_gives_its_place_and_permits_back() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(2));
        let big = {
            let sem = sem.clone();
            spawn_polled(async move { sem.acquire_many(5).await.map(|p| p.forget()) }).await
        };
        // It collected the two free permits and waits for three more.
        assert_eq!(sem.available_permits(), 0);
        let small = {
            let sem = sem.clone();
            spawn_polled(async move { sem.acquire().await.unwrap().num_permits() }).await
        };
        big.abort();
        assert!(timeout(LIMIT, big)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled());
        assert_eq!(join(small).await, 1, "the waiter behind got one of them");
        assert_eq!(sem.available_permits(), 2, "no permit lost");
    });
}

#[test]
fn a_big_acquire_blocks_later_small_ones() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let order = log();
        let big = {
            let (sem, order) = (sem.clone(), order.clone());
            spawn_polled(async move {
                let p = sem.acquire_many(2).await.unwrap();
                order.lock().unwrap().push(2);
                drop(p);
            })
            .await
        };
        let small = {
            let (sem, order) = (sem.clone(), order.clone());
            spawn_polled(async move {
                let _p = sem.acquire().await.unwrap();
                order.lock().unwrap().push(1);
            })
            .await
        };
        drop(held);
        // The freed permit went to the big waiter at the head, not to the small one.
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
        sem.add_permits(1);
        join(big).await;
        join(small).await;
        assert_eq!(entries(&order), [2, 1]);
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn close_fails_waiters() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let sem = sem.clone();
            tasks.push(spawn_polled(async move { sem.acquire().await.is_err() }).await);
        }
        sem.close();
        for t in tasks {
            assert!(join(t).await, "a waiter fails with AcquireError");
        }
        assert!(sem.acquire().await.is_err());
        assert!(sem.clone().acquire_owned().await.is_err());
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
        let e = sem.acquire().await.unwrap_err();
        assert_eq!(e.to_string(), "semaphore closed");
    });
}

#[test]
fn permit_forget_merge_split() {
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(5));
        let mut a = sem.acquire_many(2).await.unwrap();
        a.merge(sem.acquire().await.unwrap());
        assert_eq!(a.num_permits(), 3);
        let b = a.split(1).unwrap();
        assert!(a.split(3).is_none());
        b.forget();
        drop(a);
        assert_eq!(sem.available_permits(), 4, "one permit forgotten");
        let mut o = sem.clone().acquire_many_owned(4).await.unwrap();
        let part = o.split(3).unwrap();
        let task = rawrt::spawn(async move { part.num_permits() });
        assert_eq!(join(task).await, 3);
        assert_eq!(sem.available_permits(), 3);
        drop(o);
        assert_eq!(sem.forget_permits(10), 4);
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn blocking_acquire_from_a_plain_thread() {
    let sem = Arc::new(Semaphore::new(0));
    let t = {
        let sem = sem.clone();
        std::thread::spawn(move || sem.blocking_acquire().map(|p| p.num_permits()))
    };
    sem.add_permits(1);
    assert_eq!(t.join().unwrap(), Ok(1));
}

// ---------------------------------------------------------------------------------------------
// Mutex

#[test]
fn lock_is_fifo() {
    rt().block_on(async {
        let m = Arc::new(Mutex::new(Vec::new()));
        let guard = m.lock().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let m = m.clone();
            tasks.push(spawn_polled(async move { m.lock().await.push(i) }).await);
        }
        drop(guard);
        for t in tasks {
            join(t).await;
        }
        assert_eq!(*m.lock().await, (0..8).collect::<Vec<_>>());
    });
}

#[test]
fn cancelled_lock_gives_its_turn_to_the_next() {
    rt().block_on(async {
        let m = Arc::new(Mutex::new(0));
        let guard = m.clone().lock_owned().await;
        let first = {
            let m = m.clone();
            spawn_polled(async move { *m.lock().await += 10 }).await
        };
        let second = {
            let m = m.clone();
            spawn_polled(async move { *m.lock().await += 1 }).await
        };
        first.abort();
        assert!(timeout(LIMIT, first)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled());
        drop(guard);
        join(second).await;
        assert_eq!(*m.lock().await, 1);
        assert!(m.try_lock().is_ok(), "the lock is free again");
    });
}

#[test]
fn guard_is_held_across_awaits_in_other_tasks() {
    rt().block_on(async {
        let m = Arc::new(Mutex::new(0u64));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let m = m.clone();
                rawrt::spawn(async move {
                    for _ in 0..50 {
                        let mut g = m.lock().await;
                        let v = *g;
                        rawrt::task::yield_now().await;
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            join(t).await;
        }
        assert_eq!(*m.lock().await, 800);
    });
}

#[test]
fn mutex_guard_map() {
    rt().block_on(async {
        let m = Arc::new(Mutex::new((0u32, String::new())));
        let mut name = MutexGuard::map(m.lock().await, |p| &mut p.1);
        name.push_str("mapped");
        assert!(m.try_lock().is_err());
        drop(name);
        let owned = OwnedMutexGuard::map(m.clone().lock_owned().await, |p| &mut p.0);
        let task = rawrt::spawn(async move {
            let mut n = owned;
            *n = 7;
        });
        join(task).await;
        assert_eq!(*m.lock().await, (7, String::from("mapped")));
    });
}

#[test]
fn blocking_lock_from_a_plain_thread_waits_for_the_task() {
    let rt = rt();
    let m = Arc::new(Mutex::new(Vec::new()));
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let holder = {
        let m = m.clone();
        rt.spawn(async move {
            let mut g = m.lock().await;
            locked_tx.send(()).unwrap();
            release_rx.await.unwrap();
            g.push("task");
        })
    };
    locked_rx.recv_timeout(LIMIT).unwrap();
    let thread = {
        let m = m.clone();
        std::thread::spawn(move || m.blocking_lock().push("thread"))
    };
    release_tx.send(()).unwrap();
    thread.join().unwrap();
    rt.block_on(join(holder));
    assert_eq!(*m.blocking_lock(), ["task", "thread"]);
    // `spawn_blocking` closures may block too.
    let h = {
        let m = m.clone();
        rt.handle()
            .spawn_blocking(move || m.blocking_lock_owned().len())
    };
    assert_eq!(rt.block_on(join(h)), 2);
}

#[test]
fn blocking_lock_inside_a_runtime_panics() {
    let rt = rt();
    let m = Arc::new(Mutex::new(0));
    rt.block_on(async {
        let r = catch_unwind(AssertUnwindSafe(|| drop(m.blocking_lock())));
        assert!(r.is_err(), "blocking_lock inside block_on must panic");
    });
    let task = {
        let m = m.clone();
        rt.spawn(async move { drop(m.blocking_lock()) })
    };
    let err = rt
        .block_on(timeout(LIMIT, task))
        .unwrap()
        .expect_err("blocking_lock in a task must panic");
    assert!(err.is_panic());
    assert!(m.try_lock().is_ok(), "nothing stays locked");
}

// ---------------------------------------------------------------------------------------------
// RwLock

#[test]
fn waiting_writer_goes_before_later_readers() {
    rt().block_on(async {
        let lock = Arc::new(RwLock::new(0));
        let order = log();
        let reader = lock.read().await;
        let writer = {
            let (lock, order) = (lock.clone(), order.clone());
            spawn_polled(async move {
                let mut g = lock.write().await;
                order.lock().unwrap().push(1);
                *g = 1;
            })
            .await
        };
        assert!(
            lock.try_read().is_err(),
            "a queued writer keeps new readers out"
        );
        let late_reader = {
            let (lock, order) = (lock.clone(), order.clone());
            spawn_polled(async move {
                let g = lock.read().await;
                order.lock().unwrap().push(2);
                *g
            })
            .await
        };
        drop(reader);
        join(writer).await;
        assert_eq!(join(late_reader).await, 1, "the reader saw the write");
        assert_eq!(entries(&order), [1, 2]);
    });
}

#[test]
fn downgrade_lets_waiting_readers_in() {
    rt().block_on(async {
        let lock = Arc::new(RwLock::new(0));
        let mut w = lock.write().await;
        let readers: Vec<_> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                let lock = lock.clone();
                v.push(spawn_polled(async move { *lock.read().await }).await);
            }
            v
        };
        *w = 5;
        let r = RwLockWriteGuard::downgrade(w);
        // The readers complete while the downgraded guard is still held.
        for t in readers {
            assert_eq!(join(t).await, 5);
        }
        assert!(lock.try_write().is_err());
        drop(r);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn max_readers_limits_concurrent_readers() {
    rt().block_on(async {
        let lock = Arc::new(RwLock::with_max_readers(1, 2));
        let a = lock.clone().read_owned().await;
        let b = lock.read().await;
        let third = {
            let lock = lock.clone();
            spawn_polled(async move { *lock.read().await }).await
        };
        assert!(lock.try_read().is_err());
        drop(b);
        assert_eq!(join(third).await, 1);
        drop(a);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn cancelled_write_lets_readers_behind_it_in() {
    rt().block_on(async {
        let lock = Arc::new(RwLock::new(()));
        let r = lock.read().await;
        let writer = {
            let lock = lock.clone();
            spawn_polled(async move { drop(lock.write().await) }).await
        };
        let reader = {
            let lock = lock.clone();
            spawn_polled(async move { drop(lock.read().await) }).await
        };
        writer.abort();
        assert!(timeout(LIMIT, writer)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled());
        join(reader).await;
        drop(r);
        assert!(lock.try_write().is_ok(), "every permit is back");
    });
}

#[test]
fn blocking_read_and_write_from_a_plain_thread() {
    let lock = Arc::new(RwLock::new(0));
    let t = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            *lock.blocking_write() += 1;
            *lock.blocking_read()
        })
    };
    assert_eq!(t.join().unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// OnceCell, SetOnce, Barrier

#[test]
fn concurrent_get_or_init_runs_the_initializer_once() {
    rt().block_on(async {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (cell, runs) = (cell.clone(), runs.clone());
                rawrt::spawn(async move {
                    *cell
                        .get_or_init(|| async {
                            runs.fetch_add(1, SeqCst);
                            rawrt::task::yield_now().await;
                            i
                        })
                        .await
                })
            })
            .collect();
        let mut values = Vec::new();
        for t in tasks {
            values.push(join(t).await);
        }
        assert_eq!(runs.load(SeqCst), 1);
        assert!(values.iter().all(|&v| v == values[0]));
        assert_eq!(cell.get(), Some(&values[0]));
    });
}

#[test]
fn cancelled_or_failed_init_lets_another_try() {
    rt().block_on(async {
        let cell = Arc::new(OnceCell::new());
        // The first initializer never finishes: its task is aborted.
        let (started_tx, started_rx) = oneshot::channel();
        let (_never_tx, never_rx) = oneshot::channel::<u32>();
        let first = {
            let cell = cell.clone();
            rawrt::spawn(async move {
                *cell
                    .get_or_init(|| async move {
                        started_tx.send(()).unwrap();
                        never_rx.await.unwrap()
                    })
                    .await
            })
        };
        timeout(LIMIT, started_rx).await.unwrap().unwrap();
        let waiter = {
            let cell = cell.clone();
            spawn_polled(async move {
                cell.get_or_try_init(|| async { Err::<u32, &str>("failed") })
                    .await
                    .copied()
            })
            .await
        };
        first.abort();
        assert!(timeout(LIMIT, first)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled());
        assert_eq!(join(waiter).await, Err("failed"));
        assert!(!cell.initialized());
        assert_eq!(*cell.get_or_init(|| async { 3 }).await, 3);
    });
}

#[test]
fn set_once_wakes_every_waiter() {
    rt().block_on(async {
        let once = Arc::new(SetOnce::new());
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let once = once.clone();
            tasks.push(spawn_polled(async move { *once.wait().await }).await);
        }
        once.set(9).unwrap();
        for t in tasks {
            assert_eq!(join(t).await, 9);
        }
        assert_eq!(once.set(1).unwrap_err().0, 1);
    });
}

#[test]
fn barrier_has_one_leader_per_generation() {
    rt().block_on(async {
        const N: usize = 4;
        const ROUNDS: usize = 3;
        let barrier = Arc::new(Barrier::new(N));
        let leaders = Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let (barrier, leaders) = (barrier.clone(), leaders.clone());
                rawrt::spawn(async move {
                    for round in 0..ROUNDS {
                        if barrier.wait().await.is_leader() {
                            leaders[round].fetch_add(1, SeqCst);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            join(t).await;
        }
        for (round, l) in leaders.iter().enumerate() {
            assert_eq!(l.load(SeqCst), 1, "round {round} has exactly one leader");
        }
    });
}

#[test]
fn futures_and_guards_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let m = Mutex::new(1);
    assert_send(&m.lock());
    let l = RwLock::new(1);
    assert_send(&l.read());
    assert_send(&l.write());
    let s = Semaphore::new(1);
    assert_send(&s.acquire());
    let g = m.try_lock().unwrap();
    assert_send(&g);
    let rg = l.try_read().unwrap();
    assert_send(&rg);
}
