//! Helpers shared by the integration tests: a watchdog that bounds every test body in time,
//! bounded polling, drop counters, a no-op waker, per-thread CPU accounting from `/proc`, and
//! the `RAWRT_TEST_SCALE` factor for heavy tests.
//!
//! Not every test crate uses every helper.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Runs `f` on a helper thread and fails the test if it has not returned within `limit`.
///
/// A panic in `f` is re-raised here, so assertion messages are kept. On timeout the helper
/// thread is left behind (it is stuck by definition) and the test fails with a message naming
/// what hung.
pub fn with_timeout<T, F>(what: &str, limit: Duration, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("body:{what}"))
        .spawn(move || {
            let v = f();
            let _ = tx.send(v);
        })
        .expect("spawn test body thread");
    match rx.recv_timeout(limit) {
        Ok(v) => {
            let _ = thread.join();
            v
        }
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("test body exited without a result or a panic"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: did not finish within {limit:?} (hang)")
        }
    }
}

/// The default bound for one test body.
pub const LIMIT: Duration = Duration::from_secs(45);

/// `n` scaled by `RAWRT_TEST_SCALE` (a factor in (0, 1], default 1; `scripts/valgrind.sh`
/// sets it to run the heavy tests smaller), at least 1.
pub fn scaled(n: usize) -> usize {
    let factor = std::env::var("RAWRT_TEST_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .unwrap_or(1.0);
    ((n as f64 * factor).round() as usize).max(1)
}

/// Polls `cond` (with a 1 ms back-off) until it holds or `limit` passes; returns whether it
/// held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A runtime with `n` workers named `name-i`.
pub fn runtime(n: usize, name: &str) -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(n)
        .thread_name(name)
        .build()
        .expect("build runtime")
}

/// Increments its counter when dropped.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sends on its channel when dropped.
pub struct DropSignal(pub mpsc::Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` exactly once with a waker that does nothing.
pub fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let fut = pin!(fut);
    fut.poll(&mut cx)
}

/// The text of a panic payload (`&str` or `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// CPU time and voluntary context switches of a set of threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadStats {
    /// Threads matched.
    pub threads: usize,
    /// CPU time on the clock, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches (times the threads went to sleep).
    pub voluntary_switches: u64,
}

/// Sums `/proc/self/task/*` statistics over the threads whose name starts with `prefix`.
pub fn thread_stats(prefix: &str) -> ThreadStats {
    let mut stats = ThreadStats::default();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return stats;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        stats.threads += 1;
        stats.cpu_ns += thread_cpu_ns(&path);
        if let Ok(status) = std::fs::read_to_string(path.join("status")) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
                    stats.voluntary_switches += v.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    stats
}

/// CPU time of one thread: `schedstat` (nanoseconds) if the kernel has it, else `stat`'s
/// utime + stime (in USER_HZ = 100 ticks per second).
fn thread_cpu_ns(task_dir: &std::path::Path) -> u64 {
    if let Ok(s) = std::fs::read_to_string(task_dir.join("schedstat")) {
        if let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return ns;
        }
    }
    let Ok(stat) = std::fs::read_to_string(task_dir.join("stat")) else {
        return 0;
    };
    // The command name may contain spaces: fields are counted after its closing paren.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3 of the man page, so utime (14) and stime (15) are 11, 12.
    let ticks: u64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    ticks * 10_000_000
}

/// Names of this process's threads that start with `prefix`.
pub fn thread_names(prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
                let comm = comm.trim_end();
                if comm.starts_with(prefix) {
                    names.push(comm.to_string());
                }
            }
        }
    }
    names
}

/// The soft `RLIMIT_NOFILE`, from `/proc/self/limits` (`None` if unreadable or unlimited).
pub fn nofile_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The scheduler state (`R`, `S`, `D`, ...) of each thread whose name starts with `prefix`.
pub fn thread_states(prefix: &str) -> Vec<char> {
    let mut states = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let path = entry.path();
            let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
                continue;
            };
            if !comm.trim_end().starts_with(prefix) {
                continue;
            }
            if let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
                if let Some(state) = stat
                    .rfind(')')
                    .and_then(|i| stat[i + 1..].split_whitespace().next())
                    .and_then(|s| s.chars().next())
                {
                    states.push(state);
                }
            }
        }
    }
    states
}

/// Binds a listener on `127.0.0.1:0` in `rt` and serves every accepted connection with
/// `handle(stream)`, each in its own task (a failed accept is skipped). Returns the address.
pub fn serve_each<F, Fut>(rt: &rawrt::Runtime, handle: F) -> std::net::SocketAddr
where
    F: Fn(rawrt::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async move {
        let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        rawrt::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                rawrt::spawn(handle(stream));
            }
        });
        addr
    })
}
