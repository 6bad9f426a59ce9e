//! `task` and runtime surface beyond spawning: `JoinSet`, `AbortHandle`, task ids,
//! `task_local!`, `LocalSet`/`spawn_local`, the builder's thread callbacks and names,
//! `runtime_flavor`, and the shutdown and panic semantics Tokio documents.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rawrt::runtime::RuntimeFlavor;
use rawrt::sync::oneshot;
use rawrt::task::{self, JoinSet, LocalSet};
use rawrt::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn mt(n: usize) -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(n)
        .build()
        .unwrap()
}

fn ct() -> rawrt::Runtime {
    rawrt::Builder::new_current_thread().build().unwrap()
}

/// A current-thread builder, or a multi-thread one with `workers` workers.
fn builder(current_thread: bool, workers: usize) -> rawrt::Builder {
    if current_thread {
        rawrt::Builder::new_current_thread()
    } else {
        let mut b = rawrt::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    }
}

/// Counts drops.
struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// ---------------------------------------------------------------- JoinSet

#[test]
fn join_set_returns_tasks_in_completion_order() {
    for rt in [mt(2), ct()] {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut senders = Vec::new();
            for i in 0..5u32 {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(Some(tx));
                set.spawn(async move {
                    rx.await.unwrap();
                    i
                });
            }
            assert_eq!(set.len(), 5);
            for i in [3usize, 0, 4, 1, 2] {
                senders[i].take().unwrap().send(()).unwrap();
                let got = timeout(LIMIT, set.join_next()).await.unwrap();
                assert_eq!(got.unwrap().unwrap(), i as u32);
            }
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    }
}

#[test]
fn join_set_with_many_tasks_polls_only_the_finished_ones() {
    // 2 000 pending tasks and one that finishes: join_next finds it, and try_join_next then
    // finds nothing else.
    let rt = mt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        let mut keep = Vec::new();
        for _ in 0..2000 {
            let (ktx, krx) = oneshot::channel::<()>();
            keep.push(ktx);
            set.spawn(async move {
                let _ = krx.await;
                0u32
            });
        }
        set.spawn(async move {
            rx.await.unwrap();
            7u32
        });
        tx.send(()).unwrap();
        assert_eq!(
            timeout(LIMIT, set.join_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
            7
        );
        assert!(set.try_join_next().is_none());
        assert_eq!(set.len(), 2000);
        set.shutdown().await;
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_with_id_matches_the_spawn_abort_handle() {
    let rt = mt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut ids = HashSet::new();
        for i in 0..20u32 {
            let h = set.spawn(async move { (i, task::id()) });
            assert!(ids.insert(h.id()), "ids are unique");
        }
        let mut seen = HashSet::new();
        while let Some(res) = timeout(LIMIT, set.join_next_with_id()).await.unwrap() {
            let (id, (_, inner_id)) = res.unwrap();
            assert_eq!(id, inner_id, "task::id inside the task is the set's id");
            assert!(ids.contains(&id));
            seen.insert(id);
        }
        assert_eq!(seen, ids);
    });
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    let rt = mt(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let d = Dropped(dropped.clone());
            set.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
        }
        drop(set);
        timeout(LIMIT, async {
            while dropped.load(SeqCst) < 10 {
                task::yield_now().await;
            }
        })
        .await
        .expect("every task aborted and its future dropped");
    });
}

#[test]
fn join_set_shutdown_waits_for_every_task() {
    let rt = mt(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let d = Dropped(dropped.clone());
            set.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
        }
        timeout(LIMIT, set.shutdown()).await.unwrap();
        // Each task's future was dropped before shutdown returned.
        assert_eq!(dropped.load(SeqCst), 10);
        assert!(set.is_empty());
    });
}

#[test]
fn abort_all_reports_cancellation_and_detach_all_lets_tasks_run() {
    let rt = mt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..3 {
            set.spawn(std::future::pending::<u32>());
        }
        set.abort_all();
        let mut n = 0;
        while let Some(res) = timeout(LIMIT, set.join_next()).await.unwrap() {
            assert!(res.unwrap_err().is_cancelled());
            n += 1;
        }
        assert_eq!(n, 3);

        let (tx, rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<u32>();
        set.spawn(async move {
            rx.await.unwrap();
            done_tx.send(5).unwrap();
            0
        });
        set.detach_all();
        assert!(set.is_empty());
        drop(set); // must not abort the detached task
        tx.send(()).unwrap();
        assert_eq!(timeout(LIMIT, done_rx).await.unwrap().unwrap(), 5);
    });
}

#[test]
fn join_set_join_all_collects_and_resumes_panics() {
    let rt = mt(2);
    let out = rt.block_on(async {
        let set: JoinSet<u32> = (0..10u32).map(|i| async move { i * 2 }).collect();
        set.join_all().await
    });
    let mut out = out;
    out.sort();
    assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());

    let res = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("boom in a set") });
            set.join_all().await
        })
    }));
    let payload = res.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a set"));
}

#[test]
fn join_set_spawn_on_spawn_blocking_and_try_join_next() {
    let rt = mt(2);
    let other = ct();
    let handle = rt.handle().clone();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_blocking(|| 1u32);
        set.spawn_blocking_on(|| 2u32, &handle);
        set.spawn_on(async { 3u32 }, &handle);
        let mut got = Vec::new();
        while let Some(r) = timeout(LIMIT, set.join_next()).await.unwrap() {
            got.push(r.unwrap());
        }
        got.sort();
        assert_eq!(got, [1, 2, 3]);
    });
    // try_join_next never waits: outside any runtime, on a task of another runtime.
    let mut set = JoinSet::new();
    let (tx, rx) = mpsc::channel();
    set.spawn_on(
        async move {
            tx.send(()).unwrap();
            9u32
        },
        other.handle(),
    );
    assert!(
        set.try_join_next().is_none(),
        "nothing drives the current-thread runtime yet"
    );
    other.block_on(async { task::yield_now().await });
    rx.recv_timeout(LIMIT).unwrap();
    let mut found = None;
    for _ in 0..1000 {
        if let Some(r) = set.try_join_next() {
            found = Some(r.unwrap());
            break;
        }
        other.block_on(task::yield_now());
    }
    assert_eq!(found, Some(9));
}

#[test]
fn join_next_is_cancel_safe() {
    let rt = mt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            rx.await.unwrap();
            11u32
        });
        // A join_next that times out loses nothing.
        assert!(timeout(Duration::from_millis(5), set.join_next())
            .await
            .is_err());
        tx.send(()).unwrap();
        let r = timeout(LIMIT, set.join_next()).await.unwrap();
        assert_eq!(r.unwrap().unwrap(), 11);
    });
}

// ---------------------------------------------------------------- ids and AbortHandle

#[test]
fn task_ids_differ_and_match_join_handles() {
    let rt = mt(2);
    rt.block_on(async {
        assert!(task::try_id().is_none(), "block_on's future is not a task");
        let handles: Vec<_> = (0..50)
            .map(|_| rawrt::spawn(async { task::id() }))
            .collect();
        let mut ids = HashSet::new();
        for h in handles {
            let id = h.id();
            assert_eq!(h.await.unwrap(), id);
            assert!(ids.insert(id));
        }
        let h = rawrt::task::spawn_blocking(task::try_id);
        let id = h.id();
        assert_eq!(
            h.await.unwrap(),
            Some(id),
            "blocking tasks have their id too"
        );
    });
    assert!(task::try_id().is_none());
    assert!(catch_unwind(task::id).is_err());
}

#[test]
fn abort_handle_cancels_and_reports() {
    let rt = mt(2);
    rt.block_on(async {
        let join = rawrt::spawn(std::future::pending::<()>());
        let abort = join.abort_handle();
        assert_eq!(abort.id(), join.id());
        assert!(!abort.is_finished());
        let remote = abort.clone();
        std::thread::spawn(move || remote.abort()).join().unwrap();
        let err = timeout(LIMIT, join).await.unwrap().unwrap_err();
        assert!(err.is_cancelled());
        assert!(abort.is_finished());
        // An abort handle outliving the task and its JoinHandle is fine.
        abort.abort();
    });
}

#[test]
fn join_handle_is_unwind_safe() {
    fn check<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<rawrt::JoinHandle<Rc<u8>>>();
    check::<rawrt::task::AbortHandle>();
}

// ---------------------------------------------------------------- task_local!

rawrt::task_local! {
    static NUMBER: u32;
    static NAME: String;
}

#[test]
fn task_local_scopes_nest_and_are_visible_across_awaits() {
    let rt = mt(2);
    rt.block_on(async {
        NUMBER
            .scope(1, async {
                assert_eq!(NUMBER.get(), 1);
                NUMBER
                    .scope(2, async {
                        task::yield_now().await;
                        assert_eq!(NUMBER.get(), 2);
                        NAME.scope("inner".to_string(), async {
                            assert_eq!(NUMBER.get(), 2);
                            NAME.with(|n| assert_eq!(n, "inner"));
                        })
                        .await;
                        assert!(NAME.try_with(|_| ()).is_err());
                    })
                    .await;
                task::yield_now().await;
                assert_eq!(NUMBER.get(), 1);
            })
            .await;
        assert!(NUMBER.try_get().is_err());
    });
}

#[test]
fn task_local_is_absent_in_spawned_tasks_and_outside() {
    let rt = mt(2);
    rt.block_on(NUMBER.scope(5, async {
        let seen = rawrt::spawn(async { NUMBER.try_get().is_ok() })
            .await
            .unwrap();
        assert!(!seen, "a spawned task does not inherit the scope");
        assert_eq!(NUMBER.get(), 5);
    }));
    let err = NUMBER.try_with(|n| *n).unwrap_err();
    assert!(err.to_string().contains("not set"), "{err}");
    let res = catch_unwind(|| NUMBER.with(|n| *n));
    let msg = res.unwrap_err();
    let msg = msg
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| msg.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(msg.contains("outside its scope"), "{msg}");
}

#[test]
fn task_local_restored_after_a_panic_inside_a_scope() {
    NUMBER.sync_scope(1, || {
        let res = catch_unwind(|| {
            NUMBER.sync_scope(2, || {
                assert_eq!(NUMBER.get(), 2);
                panic!("inside the inner scope");
            })
        });
        assert!(res.is_err());
        assert_eq!(NUMBER.get(), 1, "the outer value is back");
    });
    assert!(NUMBER.try_get().is_err());

    // The same through a future that panics in poll.
    let rt = ct();
    let res = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(NUMBER.scope(3, async { panic!("in a scoped future") }))
    }));
    assert!(res.is_err());
    assert!(
        NUMBER.try_get().is_err(),
        "nothing left in scope after the panic"
    );
}

#[test]
fn task_local_value_is_in_scope_while_the_future_is_dropped() {
    struct Check(Arc<AtomicBool>);
    impl Drop for Check {
        fn drop(&mut self) {
            self.0.store(NUMBER.try_get() == Ok(9), SeqCst);
        }
    }
    let ok = Arc::new(AtomicBool::new(false));
    let c = Check(ok.clone());
    let fut = NUMBER.scope(9, async move {
        let _c = c;
        std::future::pending::<()>().await
    });
    drop(fut);
    assert!(ok.load(SeqCst));
}

// ---------------------------------------------------------------- LocalSet

#[test]
fn local_set_runs_non_send_futures_on_its_thread() {
    let rt = ct();
    let local = LocalSet::new();
    let here = std::thread::current().id();
    let shared = Rc::new(RefCell::new(Vec::new()));
    let s = shared.clone();
    local.block_on(&rt, async move {
        let mut joins = Vec::new();
        for i in 0..10 {
            let s = s.clone();
            joins.push(task::spawn_local(async move {
                task::yield_now().await;
                assert_eq!(std::thread::current().id(), here);
                s.borrow_mut().push(i);
                Rc::new(i) // a !Send output
            }));
        }
        for (i, j) in joins.into_iter().enumerate() {
            assert_eq!(*j.await.unwrap(), i);
        }
    });
    assert_eq!(shared.borrow().len(), 10);
}

#[test]
fn local_set_on_a_multi_thread_runtime_block_on() {
    let rt = mt(2);
    let local = LocalSet::new();
    let n = local.block_on(&rt, async {
        let rc = Rc::new(Cell::new(0));
        let r = rc.clone();
        let (tx, rx) = oneshot::channel::<u32>();
        // A Send task on the workers completes a local task.
        rawrt::spawn(async move { tx.send(41).unwrap() });
        task::spawn_local(async move { r.set(rx.await.unwrap() + 1) })
            .await
            .unwrap();
        rc.get()
    });
    assert_eq!(n, 42);
}

#[test]
fn a_waker_sent_to_another_thread_wakes_a_local_task() {
    let rt = ct();
    let local = LocalSet::new();
    let (waker_tx, waker_rx) = mpsc::channel::<std::task::Waker>();
    let ready = Arc::new(AtomicBool::new(false));
    let r = ready.clone();
    let helper = std::thread::spawn(move || {
        let w = waker_rx.recv_timeout(LIMIT).unwrap();
        r.store(true, SeqCst);
        w.wake();
    });
    let res = local.block_on(&rt, async move {
        let join = task::spawn_local(std::future::poll_fn(move |cx| {
            if ready.load(SeqCst) {
                std::task::Poll::Ready(Rc::new(5))
            } else {
                let _ = waker_tx.send(cx.waker().clone());
                std::task::Poll::Pending
            }
        }));
        timeout(LIMIT, join).await
    });
    assert_eq!(*res.unwrap().unwrap(), 5);
    helper.join().unwrap();
}

#[test]
fn awaiting_a_local_set_runs_all_its_tasks() {
    let rt = ct();
    let local = LocalSet::new();
    let count = Rc::new(Cell::new(0));
    for _ in 0..5 {
        let c = count.clone();
        local.spawn_local(async move {
            task::yield_now().await;
            c.set(c.get() + 1);
        });
    }
    rt.block_on(async { timeout(LIMIT, local).await.unwrap() });
    assert_eq!(count.get(), 5);
}

#[test]
fn local_set_enter_and_drop_cancels_tasks() {
    let local = LocalSet::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    {
        let _g = local.enter();
        let d = Dropped(dropped.clone());
        drop(task::spawn_local(async move {
            let _d = d;
            std::future::pending::<()>().await
        }));
    }
    let d = Dropped(dropped.clone());
    let join = local.spawn_local(async move {
        let _d = d;
        std::future::pending::<()>().await
    });
    drop(local);
    assert_eq!(dropped.load(SeqCst), 2);
    let rt = ct();
    assert!(rt.block_on(join).unwrap_err().is_cancelled());
}

#[test]
fn spawn_local_outside_a_local_set_panics() {
    let rt = ct();
    let res = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            drop(task::spawn_local(async {}));
        })
    }));
    let payload = res.unwrap_err();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside of a LocalSet"), "{msg}");
}

#[test]
fn join_set_spawn_local() {
    let rt = ct();
    let local = LocalSet::new();
    local.block_on(&rt, async {
        let mut set = JoinSet::new();
        for i in 0..3 {
            let rc = Rc::new(i);
            set.spawn_local(async move { *rc });
        }
        let mut got = Vec::new();
        while let Some(r) = timeout(LIMIT, set.join_next()).await.unwrap() {
            got.push(r.unwrap());
        }
        got.sort();
        assert_eq!(got, [0, 1, 2]);
    });
}

// ---------------------------------------------------------------- builder hooks, names, flavour

#[test]
fn thread_start_and_stop_hooks_run_once_per_worker() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (started.clone(), stopped.clone());
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(3)
        .on_thread_start(move || {
            s1.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    rt.block_on(async { rawrt::spawn(async {}).await.unwrap() });
    // Every worker has started (they run the hook first thing).
    let deadline = std::time::Instant::now() + LIMIT;
    while started.load(SeqCst) < 3 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(started.load(SeqCst), 3);
    // One blocking-pool thread.
    rt.block_on(async { rawrt::task::spawn_blocking(|| ()).await.unwrap() });
    assert_eq!(started.load(SeqCst), 4);
    drop(rt);
    assert_eq!(started.load(SeqCst), 4);
    assert_eq!(
        stopped.load(SeqCst),
        4,
        "stop ran on each worker and the blocking thread"
    );
}

#[test]
fn thread_hooks_run_with_their_runtime_current_on_workers_and_blocking_threads() {
    // As in Tokio: `on_thread_start`/`on_thread_stop` may use `Handle::current()`, on the
    // workers and on the blocking pool's threads alike (and on a current-thread runtime,
    // whose only hooked threads are the pool's).
    for current_thread in [false, true] {
        let starts_without = Arc::new(AtomicUsize::new(0));
        let stops_without = Arc::new(AtomicUsize::new(0));
        let starts = Arc::new(AtomicUsize::new(0));
        let (sw, tw, st) = (
            starts_without.clone(),
            stops_without.clone(),
            starts.clone(),
        );
        let rt = builder(current_thread, 2)
            .on_thread_start(move || {
                st.fetch_add(1, SeqCst);
                if rawrt::runtime::Handle::try_current().is_err() {
                    sw.fetch_add(1, SeqCst);
                }
            })
            .on_thread_stop(move || {
                if rawrt::runtime::Handle::try_current().is_err() {
                    tw.fetch_add(1, SeqCst);
                }
            })
            .build()
            .unwrap();
        // Two closures at once: two pool threads.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        rt.block_on(async move {
            let first = rawrt::task::spawn_blocking(move || rx.recv_timeout(LIMIT).is_ok());
            let second = rawrt::task::spawn_blocking(move || tx.send(()).is_ok());
            assert!(second.await.unwrap());
            assert!(first.await.unwrap(), "both closures ran at the same time");
        });
        drop(rt);
        let expected = if current_thread { 2 } else { 4 };
        assert_eq!(
            starts.load(SeqCst),
            expected,
            "current_thread={current_thread}"
        );
        assert_eq!(
            starts_without.load(SeqCst),
            0,
            "current_thread={current_thread}"
        );
        assert_eq!(
            stops_without.load(SeqCst),
            0,
            "current_thread={current_thread}"
        );
    }
}

#[test]
fn park_and_unpark_hooks_run_in_pairs() {
    for current in [false, true] {
        let parks = Arc::new(AtomicUsize::new(0));
        let unparks = Arc::new(AtomicUsize::new(0));
        let (p, u) = (parks.clone(), unparks.clone());
        let rt = builder(current, 1)
            .on_thread_park(move || {
                p.fetch_add(1, SeqCst);
            })
            .on_thread_unpark(move || {
                u.fetch_add(1, SeqCst);
            })
            .build()
            .unwrap();
        let parks_seen = parks.clone();
        rt.block_on(async move {
            for _ in 0..3 {
                // The task waits on a helper thread, which answers only once the runtime
                // has gone to sleep (its park hook ran again), so every round parks.
                let before = parks_seen.load(SeqCst);
                let (tx, rx) = oneshot::channel::<()>();
                let p = parks_seen.clone();
                let t = std::thread::spawn(move || {
                    let deadline = std::time::Instant::now() + LIMIT;
                    while p.load(SeqCst) == before && std::time::Instant::now() < deadline {
                        std::thread::yield_now();
                    }
                    tx.send(()).unwrap();
                });
                let h = rawrt::spawn(async move { rx.await.unwrap() });
                timeout(LIMIT, h).await.unwrap().unwrap();
                t.join().unwrap();
            }
        });
        drop(rt);
        let (p, u) = (parks.load(SeqCst), unparks.load(SeqCst));
        assert!(p >= 3, "current={current}: parked {p} times");
        assert!(
            u + 1 >= p && u <= p,
            "current={current}: {p} parks, {u} unparks"
        );
    }
}

#[test]
fn a_panicking_hook_does_not_take_the_runtime_down() {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| panic!("start hook"))
        .on_thread_park(|| panic!("park hook"))
        .on_thread_unpark(|| panic!("unpark hook"))
        .on_thread_stop(|| panic!("stop hook"))
        .build()
        .unwrap();
    let n = rt.block_on(async {
        let mut sum = 0;
        for i in 0..20u32 {
            let (tx, rx) = oneshot::channel();
            std::thread::spawn(move || tx.send(i).unwrap());
            sum += rawrt::spawn(async move { rx.await.unwrap() })
                .await
                .unwrap();
        }
        sum + rawrt::task::spawn_blocking(|| 1).await.unwrap()
    });
    assert_eq!(n, 191);
    drop(rt);
}

#[test]
fn thread_name_fn_names_workers_blocking_and_monitor() {
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = names.clone();
    let counter = Arc::new(AtomicUsize::new(0));
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name_fn(move || format!("custom-{}", counter.fetch_add(1, SeqCst)))
        .on_thread_start(move || {
            n.lock()
                .unwrap()
                .push(std::thread::current().name().unwrap_or("").to_string())
        })
        .build()
        .unwrap();
    rt.block_on(async { rawrt::task::spawn_blocking(|| ()).await.unwrap() });
    drop(rt);
    let names = names.lock().unwrap().clone();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("custom-")), "{names:?}");
    // The monitor thread (2 workers) took a name from the function too: 4 calls in all.
    let all: HashSet<_> = names.into_iter().collect();
    assert_eq!(all.len(), 3);
}

#[test]
fn runtime_flavor() {
    assert_eq!(ct().handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    assert_eq!(mt(1).handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    let rt = mt(1);
    let f = rt.block_on(async {
        rawrt::spawn(async { rawrt::Handle::current().runtime_flavor() }).await
    });
    assert_eq!(f.unwrap(), RuntimeFlavor::MultiThread);
}

// ---------------------------------------------------------------- shutdown semantics

/// Runs `f` on its own thread and returns its result, failing the test if it takes longer
/// than `LIMIT` (instead of hanging the test binary).
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    rx.recv_timeout(LIMIT).expect("hung")
}

#[test]
fn block_on_a_sleep_after_shutdown_panics_instead_of_hanging() {
    for current in [false, true] {
        let rt = if current { ct() } else { mt(1) };
        let handle = rt.handle().clone();
        rt.shutdown_timeout(Duration::from_secs(1));
        let res = bounded(move || {
            handle.block_on(async { rawrt::time::sleep(Duration::from_millis(1)).await })
        });
        let payload = res.expect_err("a sleep on a shut-down runtime panics");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(msg.contains("shut down"), "current={current}: {msg}");
    }
    // A future that needs no timer still completes there.
    let rt = ct();
    let handle = rt.handle().clone();
    drop(rt);
    assert_eq!(bounded(move || handle.block_on(async { 5 })).unwrap(), 5);
}

#[test]
fn tasks_are_dropped_inside_the_runtime_context_at_shutdown() {
    struct Probe(Arc<Mutex<Vec<bool>>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0
                .lock()
                .unwrap()
                .push(rawrt::Handle::try_current().is_ok());
        }
    }
    for current in [false, true] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rt = if current { ct() } else { mt(2) };
        for _ in 0..4 {
            let p = Probe(seen.clone());
            rt.spawn(async move {
                let _p = p;
                std::future::pending::<()>().await
            });
        }
        // Let them start (on the current-thread runtime they run inside block_on).
        rt.block_on(async {
            for _ in 0..10 {
                task::yield_now().await;
            }
        });
        drop(rt);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, [true; 4], "current={current}");
    }
}

#[test]
fn a_blocking_closure_spawned_just_before_shutdown_runs() {
    for _ in 0..20 {
        let rt = ct();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let join = rt.handle().spawn_blocking(move || r.store(true, SeqCst));
        rt.shutdown_timeout(LIMIT);
        assert!(ran.load(SeqCst), "the closure ran before shutdown returned");
        assert!(ct().block_on(join).is_ok());
    }
}

#[test]
fn the_runtime_is_current_in_a_worker_start_hook() {
    let found = Arc::new(Mutex::new(Vec::new()));
    let f = found.clone();
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || {
            let flavor = rawrt::Handle::try_current().map(|h| h.runtime_flavor());
            f.lock().unwrap().push(flavor.ok());
        })
        .build()
        .unwrap();
    drop(rt);
    assert_eq!(
        *found.lock().unwrap(),
        [Some(RuntimeFlavor::MultiThread); 2]
    );
}

#[test]
fn join_set_completion_order_holds_before_the_first_join_next() {
    // Both tasks finish before join_next is first called; the second one finished first.
    let rt = mt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx_a, rx_a) = oneshot::channel::<()>();
        let a = set.spawn(async move {
            rx_a.await.unwrap();
            "a"
        });
        let b = set.spawn(async { "b" });
        let finished = |h: &task::AbortHandle| {
            let h = h.clone();
            async move {
                while !h.is_finished() {
                    task::yield_now().await;
                }
            }
        };
        timeout(LIMIT, finished(&b)).await.unwrap();
        tx_a.send(()).unwrap();
        timeout(LIMIT, finished(&a)).await.unwrap();
        let first = set.join_next().await.unwrap().unwrap();
        let second = set.join_next().await.unwrap().unwrap();
        assert_eq!((first, second), ("b", "a"));
    });
}
