//! The syscall trace: every call through this crate, as it happens — which call, on which
//! fd, with what result, on which thread, for which task, when, and for how long.
//!
//! Off by default. Switched on at run time with [`enable`] (rawrt's
//! `Builder::trace_syscalls`) or the environment variable `RAWRT_TRACE=syscalls`
//! ([`enable_from_env`], which rawrt's runtime builder calls). While it is off, each call
//! costs one relaxed load of a global flag more than before; while it is on, each call also
//! reads the monotonic clock twice (the vDSO: no syscall) and appends one [`Record`] to its
//! thread's ring: measured with callgrind on rawrt's hello server, about 290 user-space
//! instructions a call (8,034–8,074 instructions per request off, 8,667 on; 8,018 before the
//! trace existed).
//!
//! # Rings
//! Each thread that makes a call while tracing gets a ring of [`RING_CAPACITY`] records,
//! written only by that thread. A reader ([`drain`]) takes each ring's lock in turn for the
//! time it takes to swap the buffer out. A writer never waits: if the ring is full, or a
//! reader holds it at that instant, the record is dropped and counted
//! ([`Trace::dropped`]).
//!
//! # Time in the kernel
//! Independently of the rings, each thread keeps, per [`Syscall`] kind, a count, the total
//! and the maximum of the call durations and a log-linear histogram of them (four buckets per
//! power of two, so a percentile is within 19 % of the truth). [`times`] sums them over every
//! thread: the p50, p99 and max per kind next to the counts of [`stats`](crate::stats), with
//! nothing dropped.
//!
//! # Tasks
//! rawrt's scheduler tells this crate which task it is polling ([`set_task`]) while tracing
//! is on; a call made outside any task poll (the driver's `epoll_wait`, the monitor) has task
//! 0.
//!
//! ```
//! use rawrt_sys::trace;
//!
//! trace::enable();
//! let efd = rawrt_sys::EventFd::new()?;
//! efd.notify()?;
//! let t = trace::drain();
//! trace::disable();
//! let write = t.records.iter().find(|r| r.name == "write").expect("the eventfd write");
//! assert_eq!(write.result, 8); // eventfd writes 8 bytes
//! assert!(write.duration_ns > 0 || write.duration_ns == 0);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::stats::Syscall;

/// Records each thread's ring holds before it drops new ones.
pub const RING_CAPACITY: usize = 1 << 16;

const KINDS: usize = Syscall::ALL.len();
/// Log-linear histogram: 4 sub-buckets per power of two, up to 2^40 ns (18 minutes).
const SUB: usize = 4;
const BUCKETS: usize = 41 * SUB;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether tracing is on: the one relaxed load every call pays.
#[inline(always)]
pub fn is_enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// Switches tracing on for every thread of the process.
pub fn enable() {
    epoch();
    ENABLED.store(true, Relaxed);
}

/// Switches tracing off. Records already taken stay in the rings until [`drain`]ed.
pub fn disable() {
    ENABLED.store(false, Relaxed);
}

/// Switches tracing on if the environment variable `RAWRT_TRACE` lists `syscalls` (a
/// comma-separated list). Returns whether tracing is on afterwards.
pub fn enable_from_env() -> bool {
    let wanted = std::env::var("RAWRT_TRACE")
        .map(|v| v.split(',').any(|w| w.trim() == "syscalls"))
        .unwrap_or(false);
    if wanted {
        enable();
    }
    is_enabled()
}

/// The instant every record's time is counted from (the first `enable`).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// One traced call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The libc function (`"read"`, `"epoll_wait"`, `"sendmsg"`, ...).
    pub name: &'static str,
    /// Its counter kind (as in [`stats`](crate::stats)).
    pub kind: Syscall,
    /// The first argument: the fd, for every call that takes one (for calls that make an fd —
    /// `socket`, `eventfd`, `epoll_create1` — the new fd is the `result`).
    pub fd: i64,
    /// The return value on success, or `-errno` on failure.
    pub result: i64,
    /// The traced thread, as an index into [`Trace::threads`].
    pub thread: u32,
    /// The id of the task being polled when the call was made (0: none).
    pub task: u64,
    /// When the call started, in ns since tracing was first enabled.
    pub start_ns: u64,
    /// How long the call took, in ns (the kernel's time plus the call's own overhead).
    pub duration_ns: u64,
}

impl Record {
    /// The errno, if the call failed.
    pub fn errno(&self) -> Option<i32> {
        (self.result < 0).then(|| (-self.result) as i32)
    }
}

/// A thread seen by the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Index used by [`Record::thread`].
    pub index: u32,
    /// The thread's name, if it had one (`rawrt-worker-0`, ...).
    pub name: Option<String>,
}

/// What [`drain`] returns: the records taken since the last drain, by start time.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Every record, sorted by `start_ns`.
    pub records: Vec<Record>,
    /// Every thread that recorded something since tracing began.
    pub threads: Vec<ThreadInfo>,
    /// Records dropped since the last drain (a full ring, or a ring being drained).
    pub dropped: u64,
}

/// Call durations of one kind: count, total, maximum, and percentiles from the histogram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindTimes {
    /// The kind.
    pub kind: Syscall,
    /// Traced calls.
    pub count: u64,
    /// Sum of their durations, ns.
    pub total_ns: u64,
    /// The longest, ns.
    pub max_ns: u64,
    buckets: Vec<u64>,
}

impl KindTimes {
    /// The `q`-quantile (`0.5`, `0.99`) of the durations, ns: the upper edge of the
    /// histogram bucket it falls in (within 19 % above the true value), capped at the max.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bucket_upper(i).min(self.max_ns);
            }
        }
        self.max_ns
    }

    /// The median, ns.
    pub fn p50_ns(&self) -> u64 {
        self.quantile_ns(0.5)
    }

    /// The 99th percentile, ns.
    pub fn p99_ns(&self) -> u64 {
        self.quantile_ns(0.99)
    }
}

/// Per-kind durations, summed over every thread: what [`times`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Times {
    /// One entry per kind, in `Syscall::ALL` order.
    pub kinds: Vec<KindTimes>,
}

impl Times {
    /// The entry of one kind.
    pub fn get(&self, kind: Syscall) -> &KindTimes {
        &self.kinds[kind as usize]
    }

    /// The time spent in calls of every kind, ns.
    pub fn total_ns(&self) -> u64 {
        self.kinds.iter().map(|k| k.total_ns).sum()
    }
}

impl std::ops::Sub for &Times {
    type Output = Times;

    /// The calls between two readings (`later - earlier`). The max is the later one's.
    fn sub(self, earlier: &Times) -> Times {
        Times {
            kinds: self
                .kinds
                .iter()
                .zip(&earlier.kinds)
                .map(|(a, b)| KindTimes {
                    kind: a.kind,
                    count: a.count.saturating_sub(b.count),
                    total_ns: a.total_ns.saturating_sub(b.total_ns),
                    max_ns: a.max_ns,
                    buckets: a
                        .buckets
                        .iter()
                        .zip(&b.buckets)
                        .map(|(x, y)| x.saturating_sub(*y))
                        .collect(),
                })
                .collect(),
        }
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let log = 63 - ns.leading_zeros() as usize; // ns >= 4, so log >= 2
    let sub = ((ns >> (log - 2)) & (SUB as u64 - 1)) as usize;
    (log * SUB + sub).min(BUCKETS - 1)
}

fn bucket_upper(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let (log, sub) = (i / SUB, (i % SUB) as u64);
    ((SUB as u64 + sub + 1) << (log - 2)) - 1
}

struct Ring {
    records: Vec<Record>,
}

struct ThreadTrace {
    index: u32,
    name: Option<String>,
    ring: Mutex<Ring>,
    dropped: AtomicU64,
    count: [AtomicU64; KINDS],
    total_ns: [AtomicU64; KINDS],
    max_ns: [AtomicU64; KINDS],
    hist: Box<[[AtomicU64; BUCKETS]; KINDS]>,
}

/// Every thread's trace, kept after the thread exits (its records and times stay readable).
static THREADS: Mutex<Vec<Arc<ThreadTrace>>> = Mutex::new(Vec::new());
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LOCAL: OnceCell<Arc<ThreadTrace>> = const { OnceCell::new() };
    static TASK: Cell<u64> = const { Cell::new(0) };
}

fn new_thread_trace() -> Arc<ThreadTrace> {
    let t = Arc::new(ThreadTrace {
        index: NEXT_THREAD.fetch_add(1, Relaxed) as u32,
        name: std::thread::current().name().map(str::to_owned),
        ring: Mutex::new(Ring {
            records: Vec::with_capacity(1024),
        }),
        dropped: AtomicU64::new(0),
        count: Default::default(),
        total_ns: Default::default(),
        max_ns: Default::default(),
        hist: Box::new([const { [const { AtomicU64::new(0) }; BUCKETS] }; KINDS]),
    });
    THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(t.clone());
    t
}

/// Tells the trace which task this thread is polling now (0: none). rawrt's scheduler calls
/// it around each poll while tracing is on.
#[inline]
pub fn set_task(id: u64) {
    let _ = TASK.try_with(|t| t.set(id));
}

/// The task this thread is polling, as last set (0: none).
pub fn current_task() -> u64 {
    TASK.try_with(Cell::get).unwrap_or(0)
}

/// The start of a traced call: `None` when tracing is off (one relaxed load).
#[doc(hidden)]
#[inline(always)]
pub fn begin() -> Option<Instant> {
    if is_enabled() {
        Some(Instant::now())
    } else {
        None
    }
}

/// What the trace keeps of a call's first argument: an integer as it is (the fd, for every
/// call that takes one), `-1` for a pointer.
#[doc(hidden)]
pub trait FirstArg {
    /// The value recorded as [`Record::fd`].
    fn as_fd(&self) -> i64;
}

macro_rules! first_arg_int {
    ($($t:ty),*) => {$(
        impl FirstArg for $t {
            #[allow(clippy::unnecessary_cast)]
            fn as_fd(&self) -> i64 {
                *self as i64
            }
        }
    )*};
}

first_arg_int!(i32, i64, u32, u64, usize, isize);

impl<T: ?Sized> FirstArg for *const T {
    fn as_fd(&self) -> i64 {
        -1
    }
}

impl<T: ?Sized> FirstArg for *mut T {
    fn as_fd(&self) -> i64 {
        -1
    }
}

impl<T: ?Sized> FirstArg for &T {
    fn as_fd(&self) -> i64 {
        -1
    }
}

impl<T: ?Sized> FirstArg for &mut T {
    fn as_fd(&self) -> i64 {
        -1
    }
}

/// A syscall's return value, widened for the record.
#[doc(hidden)]
pub trait Ret: Copy {
    /// As an `i64`.
    fn as_i64(self) -> i64;
}

impl Ret for i32 {
    fn as_i64(self) -> i64 {
        i64::from(self)
    }
}

impl Ret for i64 {
    fn as_i64(self) -> i64 {
        self
    }
}

impl Ret for isize {
    fn as_i64(self) -> i64 {
        self as i64
    }
}

impl Ret for () {
    fn as_i64(self) -> i64 {
        0
    }
}

/// Counts (in [`stats`](crate::stats)) and traces a call rawrt makes through another crate —
/// the mio backend's `epoll_wait`, `epoll_ctl` and eventfd write — so both reactor backends
/// report the same way. `fd` is the fd it acts on (-1 if none).
pub fn external<T: Ret>(
    kind: Syscall,
    name: &'static str,
    fd: i64,
    call: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    crate::stats::record(kind);
    let started = begin();
    let res = call();
    if let Some(started) = started {
        end(started, kind, name, fd, &res);
    }
    res
}

/// Records a call begun at `started` (from [`begin`]). For the `syscall!` macro, and for
/// calls rawrt makes through another crate (the mio backend's `epoll_wait`).
#[doc(hidden)]
pub fn end<T: Ret>(
    started: Instant,
    kind: Syscall,
    name: &'static str,
    fd: i64,
    res: &std::io::Result<T>,
) {
    let done = Instant::now();
    let result = match res {
        Ok(v) => v.as_i64(),
        Err(e) => -i64::from(e.raw_os_error().unwrap_or(0)),
    };
    let start_ns = started.saturating_duration_since(epoch()).as_nanos() as u64;
    let duration_ns = done.saturating_duration_since(started).as_nanos() as u64;
    let task = current_task();
    let _ = LOCAL.try_with(|cell| {
        let t = cell.get_or_init(new_thread_trace);
        let k = kind as usize;
        // Only this thread writes its times: loads and stores, no read-modify-write.
        let add = |c: &AtomicU64, v: u64| c.store(c.load(Relaxed) + v, Relaxed);
        add(&t.count[k], 1);
        add(&t.total_ns[k], duration_ns);
        if duration_ns > t.max_ns[k].load(Relaxed) {
            t.max_ns[k].store(duration_ns, Relaxed);
        }
        add(&t.hist[k][bucket_of(duration_ns)], 1);
        let record = Record {
            name,
            kind,
            fd,
            result,
            thread: t.index,
            task,
            start_ns,
            duration_ns,
        };
        match t.ring.try_lock() {
            Ok(mut ring) if ring.records.len() < RING_CAPACITY => ring.records.push(record),
            _ => {
                t.dropped.fetch_add(1, Relaxed);
            }
        }
    });
}

/// Takes every record out of every thread's ring (the rings are empty afterwards), sorted by
/// start time, with the threads and the drop count.
pub fn drain() -> Trace {
    let threads = THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut out = Trace::default();
    for t in &threads {
        let taken = {
            let mut ring = t.ring.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut ring.records, Vec::with_capacity(1024))
        };
        out.records.extend(taken);
        out.dropped += t.dropped.swap(0, Relaxed);
        out.threads.push(ThreadInfo {
            index: t.index,
            name: t.name.clone(),
        });
    }
    out.records.sort_by_key(|r| r.start_ns);
    out.threads.sort_by_key(|t| t.index);
    out
}

/// Call durations per kind since tracing began, summed over every thread (subtract two
/// readings for a window).
pub fn times() -> Times {
    let threads = THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let kinds = Syscall::ALL
        .iter()
        .map(|&kind| {
            let k = kind as usize;
            let mut kt = KindTimes {
                kind,
                count: 0,
                total_ns: 0,
                max_ns: 0,
                buckets: vec![0; BUCKETS],
            };
            for t in &threads {
                kt.count += t.count[k].load(Relaxed);
                kt.total_ns += t.total_ns[k].load(Relaxed);
                kt.max_ns = kt.max_ns.max(t.max_ns[k].load(Relaxed));
                for (b, c) in kt.buckets.iter_mut().zip(t.hist[k].iter()) {
                    *b += c.load(Relaxed);
                }
            }
            kt
        })
        .collect();
    Times { kinds }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_bound_their_values() {
        let mut last = 0;
        for ns in [
            0u64,
            1,
            3,
            4,
            5,
            7,
            8,
            100,
            1_000,
            12_345,
            1 << 30,
            u64::MAX,
        ] {
            let b = bucket_of(ns);
            assert!(b >= last, "bucket of {ns}");
            last = b;
            if b < BUCKETS - 1 {
                assert!(
                    bucket_upper(b) >= ns,
                    "{ns} above its bucket's edge {}",
                    bucket_upper(b)
                );
                assert!(
                    bucket_upper(b) as f64 <= ns as f64 * 1.25 + 1.0,
                    "{ns}: edge {} too far",
                    bucket_upper(b)
                );
            }
        }
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let mut kt = KindTimes {
            kind: Syscall::Read,
            count: 100,
            total_ns: 0,
            max_ns: 5_000,
            buckets: vec![0; BUCKETS],
        };
        kt.buckets[bucket_of(100)] = 98;
        kt.buckets[bucket_of(5_000)] = 2;
        assert!((100..=125).contains(&kt.p50_ns()), "{}", kt.p50_ns());
        assert_eq!(kt.p99_ns(), 5_000);
        assert_eq!(kt.quantile_ns(1.0), 5_000);
    }
}
