// The second program written against Tokio's names only (tasks, sync, time): compiled twice
// by `tests/tokio_port.rs`, against Tokio and under `use rawrt as tokio;`.

use std::sync::Arc;

tokio::task_local! {
    static REQUEST_ID: u32;
}

/// Runs every scenario, returning one line each.
pub fn run_sync() -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut log = rt.block_on(sync_scenarios());
    // LocalSet: !Send futures on this thread.
    let local = tokio::task::LocalSet::new();
    let n = local.block_on(&rt, async {
        let shared = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut handles = Vec::new();
        for i in 1..=4 {
            let shared = shared.clone();
            handles.push(tokio::task::spawn_local(async move {
                tokio::task::yield_now().await;
                shared.set(shared.get() + i);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        shared.get()
    });
    log.push(format!("local: {n}"));
    log
}

async fn sync_scenarios() -> Vec<String> {
    let mut log = Vec::new();

    // JoinSet: results in completion order (released one at a time, in the order 1, 2, 0);
    // abort.
    let mut set = tokio::task::JoinSet::new();
    let mut release = Vec::new();
    for i in 0..3u64 {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        release.push(Some(tx));
        set.spawn(async move {
            rx.await.unwrap();
            i
        });
    }
    let mut order = Vec::new();
    for i in [1usize, 2, 0] {
        release[i].take().unwrap().send(()).unwrap();
        order.push(set.join_next().await.unwrap().unwrap());
    }
    let stuck = set.spawn(std::future::pending::<u64>());
    stuck.abort();
    let aborted = set.join_next().await.unwrap().unwrap_err().is_cancelled();
    log.push(format!("joinset: {order:?}, aborted {aborted}"));

    // task_local!: a value per task scope.
    let seen = REQUEST_ID
        .scope(7, async {
            tokio::task::yield_now().await;
            REQUEST_ID.get()
        })
        .await;
    let outside = REQUEST_ID.try_with(|v| *v).is_err();
    log.push(format!("task_local: {seen}, outside {outside}"));

    // Mutex across tasks; RwLock; Semaphore limiting concurrency.
    let counter = Arc::new(tokio::sync::Mutex::new(0u32));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let counter = counter.clone();
        set.spawn(async move {
            let mut g = counter.lock().await;
            tokio::task::yield_now().await;
            *g += 1;
        });
    }
    while set.join_next().await.is_some() {}
    let total = *counter.lock().await;
    let lock = tokio::sync::RwLock::new(vec![1, 2]);
    {
        let r1 = lock.read().await;
        let r2 = lock.read().await;
        assert_eq!(r1.len() + r2.len(), 4);
    }
    lock.write().await.push(3);
    let sem = Arc::new(tokio::sync::Semaphore::new(2));
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Two permits, and the holders meet in pairs at a barrier: exactly two at a time.
    let pair = Arc::new(tokio::sync::Barrier::new(2));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (sem, running, peak, pair) = (sem.clone(), running.clone(), peak.clone(), pair.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.unwrap();
            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            pair.wait().await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    while set.join_next().await.is_some() {}
    log.push(format!(
        "locks: mutex {total}, rwlock {:?}, semaphore peak {}",
        *lock.read().await,
        peak.load(std::sync::atomic::Ordering::SeqCst)
    ));

    // watch coalesces; broadcast lags; unbounded mpsc; oneshot; OnceCell; Barrier; Notify.
    let (tx, mut rx) = tokio::sync::watch::channel(0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    rx.changed().await.unwrap();
    let latest = *rx.borrow_and_update();
    let pending = rx.has_changed().unwrap();
    let (btx, mut brx) = tokio::sync::broadcast::channel(2);
    for i in 0..5 {
        btx.send(i).unwrap();
    }
    let lagged = match brx.recv().await {
        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => n,
        other => panic!("expected a lag, got {other:?}"),
    };
    let next = brx.recv().await.unwrap();
    let (utx, mut urx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..3 {
        utx.send(i).unwrap();
    }
    drop(utx);
    let mut got = Vec::new();
    while let Some(v) = urx.recv().await {
        got.push(v);
    }
    let (ptx, mut prx) = tokio::sync::mpsc::channel::<&str>(1);
    let permit = ptx.reserve().await.unwrap();
    permit.send("reserved");
    let reserved = prx.recv().await.unwrap();
    let cell = tokio::sync::OnceCell::new();
    let v = *cell.get_or_init(|| async { 41 + 1 }).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(3));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let b = barrier.clone();
        set.spawn(async move { b.wait().await.is_leader() });
    }
    let mut leaders = 0;
    while let Some(r) = set.join_next().await {
        leaders += r.unwrap() as u32;
    }
    let notify = Arc::new(tokio::sync::Notify::new());
    let waiter = {
        let notify = notify.clone();
        tokio::spawn(async move { notify.notified().await })
    };
    tokio::task::yield_now().await;
    notify.notify_one();
    waiter.await.unwrap();
    log.push(format!(
        "channels: watch {latest} (pending {pending}), broadcast lagged {lagged} then {next}, \
         unbounded {got:?}, permit {reserved:?}, once {v}, leaders {leaders}"
    ));
    log
}

