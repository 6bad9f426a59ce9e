//! Scheduler benchmarks, rawrt against Tokio: a port of Tokio's `rt_multi_threaded` bench
//! suite, plus remote spawning from several threads, a bounded-channel stream and timers.
//! The bench target (`bench/benches/runtime.rs`) configures criterion and runs [`suite`]:
//!
//! ```sh
//! cargo bench -p rawrt-bench --bench runtime              # everything (a few minutes on 2 cores)
//! cargo bench -p rawrt-bench --bench runtime -- --quick   # faster, rougher
//! cargo bench -p rawrt-bench --bench runtime -- ping_pong # one group (a criterion filter)
//! RAWRT_BENCH_WORKERS=4 cargo bench -p rawrt-bench --bench runtime # worker count (default: all CPUs)
//! ```
//!
//! Every benchmark is one criterion group with two functions, `rawrt/<N>w` and
//! `tokio/<N>w`, running the *same* generic body (see [`rt::Rt`]) on a multi-thread runtime
//! of N workers, so each group reads as a ratio. The runtime is built once per function,
//! outside the timed loop, and dropped before the other runtime's turn (so that the busy
//! tasks of one never run during the other's measurement).
//!
//! These are regression benchmarks of scheduler mechanics (spawn, wake, yield, steal), not
//! of real workloads. Under `cargo test --benches` criterion runs each body once.

pub mod chan;
pub mod rt;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};

use rt::{Rawrt, Rt, Tokio};

/// Tasks spawned per iteration by the `spawn_many_*` benchmarks.
const NUM_SPAWN: usize = 10_000;
/// How long a busy task burns CPU between yields or re-spawns (as in Tokio's suite).
const STALL_DUR: Duration = Duration::from_micros(10);

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// `rawrt/<N>w` or `tokio/<N>w`.
fn id<R: Rt>(workers: usize) -> BenchmarkId {
    BenchmarkId::new(R::NAME, format!("{workers}w"))
}

/// Burns about [`STALL_DUR`] of CPU, letting the OS run others meanwhile.
fn stall() {
    let now = Instant::now();
    while now.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

/// From inside a task on a worker, spawn [`NUM_SPAWN`] tasks that each decrement a counter;
/// the last one signals the `block_on` thread over a std channel.
///
/// Tokio's version spawns from the `block_on` future itself, which on the multi-thread
/// runtime runs off the workers (so its spawns go through the injection queue, like the
/// `remote` ones); here the spawner is a task, so the spawns exercise the worker's local
/// run queue, its overflow into the injector, and stealing.
fn spawn_many_local<R: Rt>(g: &mut Group<'_>, workers: usize) {
    let rt = R::build(workers);
    let (tx, rx) = std_mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            let tx = tx.clone();
            let rem = rem.clone();
            rt.block_on(async {
                R::spawn_detached(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        R::spawn_detached(async move {
                            if rem.fetch_sub(1, Relaxed) == 1 {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
                rx.recv().unwrap();
            });
        })
    });
}

/// Spawns [`NUM_SPAWN`] empty tasks through the runtime handle from the bench thread (outside
/// the runtime), then awaits every join handle in `block_on`.
fn spawn_and_join_all<R: Rt>(rt: &R, handle: &R::Handle, joins: &mut Vec<R::Join<()>>, n: usize) {
    for _ in 0..n {
        joins.push(R::spawn_on(handle, async {}));
    }
    rt.block_on(async {
        for j in joins.drain(..) {
            j.await.unwrap();
        }
    });
}

/// Remote spawns onto an idle runtime.
fn spawn_many_remote_idle<R: Rt>(g: &mut Group<'_>, workers: usize) {
    let rt = R::build(workers);
    let handle = rt.handle();
    let mut joins = Vec::with_capacity(NUM_SPAWN);

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| spawn_and_join_all(&rt, &handle, &mut joins, NUM_SPAWN))
    });
}

/// Remote spawns while 2 tasks per worker loop `yield_now` + a 10 µs stall: yielded tasks
/// have a lower priority than new ones, which the scheduler must still get to.
fn spawn_many_remote_busy1<R: Rt>(g: &mut Group<'_>, workers: usize) {
    let rt = R::build(workers);
    let handle = rt.handle();
    let mut joins = Vec::with_capacity(NUM_SPAWN);
    let flag = Arc::new(AtomicBool::new(true));

    for _ in 0..2 * workers {
        let flag = flag.clone();
        R::spawn_on_detached(&handle, async move {
            while flag.load(Relaxed) {
                R::yield_now().await;
                stall();
            }
        });
    }

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| spawn_and_join_all(&rt, &handle, &mut joins, NUM_SPAWN))
    });

    flag.store(false, Relaxed);
    drop(rt);
}

/// Remote spawns of 1,000 tasks (as in Tokio's suite) while one chain per worker keeps
/// re-spawning itself, each link stalling 10 µs: spawned (not yielded) work competes with the
/// remote spawns at the same priority.
fn spawn_many_remote_busy2<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const NUM_SPAWN: usize = 1_000;

    fn link<R: Rt>(flag: Arc<AtomicBool>) {
        R::spawn_detached(async move {
            if flag.load(Relaxed) {
                stall();
                link::<R>(flag);
            }
        });
    }

    let rt = R::build(workers);
    let handle = rt.handle();
    let mut joins = Vec::with_capacity(NUM_SPAWN);
    let flag = Arc::new(AtomicBool::new(true));

    for _ in 0..workers {
        let flag = flag.clone();
        R::spawn_on_detached(&handle, async move { link::<R>(flag) });
    }

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| spawn_and_join_all(&rt, &handle, &mut joins, NUM_SPAWN))
    });

    flag.store(false, Relaxed);
    drop(rt);
}

/// [`NUM_SPAWN`] remote spawns split over `threads` plain std threads, each with its own clone
/// of the handle. The threads live for the whole benchmark (outside the timed loop); each
/// iteration tells them to go, and `block_on` awaits every handle they send back.
fn spawn_many_remote_threads<R: Rt>(g: &mut Group<'_>, workers: usize, threads: usize) {
    let rt = R::build(workers);
    let handle = rt.handle();
    let (done_tx, done_rx) = std_mpsc::channel::<Vec<R::Join<()>>>();
    let mut go = Vec::with_capacity(threads);
    let mut spawners = Vec::with_capacity(threads);
    for i in 0..threads {
        let share = NUM_SPAWN / threads + usize::from(i < NUM_SPAWN % threads);
        let (go_tx, go_rx) = std_mpsc::channel::<()>();
        let handle = handle.clone();
        let done_tx = done_tx.clone();
        spawners.push(std::thread::spawn(move || {
            while go_rx.recv().is_ok() {
                let joins: Vec<_> = (0..share).map(|_| R::spawn_on(&handle, async {})).collect();
                done_tx.send(joins).unwrap();
            }
        }));
        go.push(go_tx);
    }

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            for go in &go {
                go.send(()).unwrap();
            }
            rt.block_on(async {
                for _ in 0..threads {
                    for j in done_rx.recv().unwrap() {
                        j.await.unwrap();
                    }
                }
            });
        })
    });

    drop(go);
    for t in spawners {
        t.join().unwrap();
    }
}

/// 1,000 pairs of tasks, spawned by one task; in each pair the first sends a ping over a
/// oneshot and awaits the pong over another (bench-local [`chan::oneshot`]).
fn ping_pong<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const NUM_PINGS: usize = 1_000;

    let rt = R::build(workers);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            rt.block_on(async {
                R::spawn_detached(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();
                        R::spawn_detached(async move {
                            let (ping_tx, ping_rx) = chan::oneshot::channel();
                            let (pong_tx, pong_rx) = chan::oneshot::channel();
                            R::spawn_detached(async move {
                                ping_rx.await.unwrap();
                                pong_tx.send(()).unwrap();
                            });
                            ping_tx.send(()).unwrap();
                            pong_rx.await.unwrap();
                            if rem.fetch_sub(1, Relaxed) == 1 {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });
                done_rx.recv().unwrap();
            });
        })
    });
}

/// 200 tasks, spawned remotely, each yield 1,000 times; the bench thread waits for all.
fn yield_many<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const NUM_YIELD: usize = 1_000;
    const TASKS: usize = 200;

    let rt = R::build(workers);
    let handle = rt.handle();
    let (tx, rx) = std_mpsc::sync_channel(TASKS);

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            for _ in 0..TASKS {
                let tx = tx.clone();
                R::spawn_on_detached(&handle, async move {
                    for _ in 0..NUM_YIELD {
                        R::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..TASKS {
                rx.recv().unwrap();
            }
        })
    });
}

/// A chain of 1,000 tasks, each spawning the next; the last signals the bench thread.
fn chained_spawn<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const DEPTH: usize = 1_000;

    fn link<R: Rt>(done_tx: std_mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            R::spawn_detached(async move { link::<R>(done_tx, n - 1) });
        }
    }

    let rt = R::build(workers);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1000);

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            rt.block_on(async {
                R::spawn_detached(async move { link::<R>(done_tx, DEPTH) });
                done_rx.recv().unwrap();
            });
        })
    });
}

/// One producer task sends 10,000 values over a bounded channel of capacity 128 (bench-local
/// [`chan::mpsc`]) to one consumer task; done when the consumer has them all.
fn mpsc_bounded<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const MESSAGES: u64 = 10_000;
    const CAPACITY: usize = 128;

    let rt = R::build(workers);

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            rt.block_on(async {
                let (tx, mut rx) = chan::mpsc::channel::<u64>(CAPACITY);
                let consumer = R::spawn(async move {
                    let mut sum = 0;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                R::spawn_detached(async move {
                    for i in 0..MESSAGES {
                        tx.send(i).await.unwrap();
                    }
                });
                assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
            });
        })
    });
}

/// 10,000 tasks each sleep 1 ms; `block_on` awaits them all. Dominated by the 1 ms (plus
/// the timer's rounding up to its tick); the overhead above that is what compares.
fn sleep_many<R: Rt>(g: &mut Group<'_>, workers: usize) {
    const TASKS: usize = 10_000;

    let rt = R::build(workers);

    g.bench_function(id::<R>(workers), |b| {
        b.iter(|| {
            rt.block_on(async {
                let joins: Vec<_> = (0..TASKS)
                    .map(|_| R::spawn(R::sleep(Duration::from_millis(1))))
                    .collect();
                for j in joins {
                    j.await.unwrap();
                }
            });
        })
    });
}

/// Runs `$body::<Rawrt>` then `$body::<Tokio>` in one criterion group.
macro_rules! compare {
    ($c:expr, $name:expr, $workers:expr, $body:ident $(, $arg:expr)*) => {{
        let mut g = $c.benchmark_group($name);
        $body::<Rawrt>(&mut g, $workers $(, $arg)*);
        $body::<Tokio>(&mut g, $workers $(, $arg)*);
        g.finish();
    }};
}

/// Worker threads per runtime: `RAWRT_BENCH_WORKERS`, else the available parallelism.
pub fn workers() -> usize {
    match std::env::var("RAWRT_BENCH_WORKERS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("RAWRT_BENCH_WORKERS={v:?} is not a positive number"),
        },
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Every benchmark of the suite, each a criterion group of `rawrt/<N>w` and `tokio/<N>w`
/// with `workers` worker threads per runtime.
pub fn suite(c: &mut Criterion, workers: usize) {
    let w = workers;
    compare!(c, "spawn_many_local", w, spawn_many_local);
    compare!(c, "spawn_many_remote_idle", w, spawn_many_remote_idle);
    compare!(c, "spawn_many_remote_busy1", w, spawn_many_remote_busy1);
    compare!(c, "spawn_many_remote_busy2", w, spawn_many_remote_busy2);
    for threads in [1, 4, 16] {
        let name = format!("spawn_many_remote_threads_{threads}");
        compare!(c, name, w, spawn_many_remote_threads, threads);
    }
    compare!(c, "ping_pong", w, ping_pong);
    compare!(c, "yield_many", w, yield_many);
    compare!(c, "chained_spawn", w, chained_spawn);
    compare!(c, "mpsc_bounded", w, mpsc_bounded);
    compare!(c, "sleep_many", w, sleep_many);
}
