//! Per-runtime signal state: the set of signals every worker must block, and a slot for the
//! signal module's registry (`rawrt::signal`).
//!
//! # Why workers block signals
//! A signalfd only sees signals that are *blocked*: the kernel hands a process-directed signal
//! to any thread that does not block it, and there its disposition runs (for `SIGINT`,
//! `SIGTERM`, `SIGUSR1`... the default action terminates the process). Signal masks are
//! per-thread, and a thread can only change its own. So when `rawrt::signal::signal(kind)`
//! wants a signal, it blocks it in the calling thread and adds it to `wanted` here; each
//! worker then blocks, in its own thread, whatever `wanted` holds that it has not blocked yet.
//!
//! # When workers apply it
//! `wanted` only grows (a signal is never unblocked again: a delivery after the last `Signal`
//! dropped must stay pending, not kill the process), so comparing it with the set a worker
//! already applied is enough — no generation counter is needed. A worker compares the two
//! (two relaxed atomic loads) at every maintenance step, i.e. before each task it picks, and
//! every time it returns from parking. `block` wakes every worker so that sleeping ones apply
//! the set at once, then waits until each worker's `applied` covers the new signals: when it
//! returns, no worker of this runtime can take the signal any more. A worker busy in a task
//! that never yields cannot acknowledge; the wait gives up after [`ACK_TIMEOUT`] (that worker
//! applies the set at its next scheduling point). A caller that is itself a worker applies
//! the set for its own slot while it waits, so two workers calling `block` at once cannot
//! wait for each other.
//!
//! Threads that are not workers of this runtime (the `block_on` thread, threads of other
//! runtimes, user threads) are outside this mechanism; see `rawrt::signal`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rawrt_sys::signal::{self as sys, SigSet};

/// How long [`Signals::block`] waits for busy workers to acknowledge a new mask.
pub(super) const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// Signal numbers as bits: bit `n - 1` is signal `n` (1 to 64).
pub(crate) type SignalBits = u64;

pub(super) struct Signals {
    /// The signals every worker must block.
    wanted: AtomicU64,
    /// What each worker has blocked so far (written only by that worker's thread).
    applied: Box<[AtomicU64]>,
    /// The signal module's per-runtime registry, created on first use.
    registry: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Signals {
    pub(super) fn new(num_workers: usize) -> Signals {
        Signals {
            wanted: AtomicU64::new(0),
            applied: (0..num_workers).map(|_| AtomicU64::new(0)).collect(),
            registry: OnceLock::new(),
        }
    }

    /// Worker `index`, on its own thread: blocks the wanted signals it has not blocked yet.
    /// Cheap when nothing changed: two relaxed loads and a compare.
    #[inline]
    pub(super) fn sync(&self, index: usize) {
        let wanted = self.wanted.load(Relaxed);
        let applied = self.applied[index].load(Relaxed);
        if wanted & !applied != 0 {
            self.apply(index, wanted);
        }
    }

    #[cold]
    fn apply(&self, index: usize, wanted: SignalBits) {
        let applied = self.applied[index].load(Relaxed);
        // pthread_sigmask(SIG_BLOCK) fails only for an invalid `how`; the set is valid.
        let _ = sys::block(&to_sigset(wanted & !applied));
        // Release: a waiter in `block` that sees this has the mask in place.
        self.applied[index].store(wanted | applied, Release);
    }

    /// Adds `bits` to the set every worker blocks, wakes the workers (`wake_all`) and waits
    /// until each one has blocked them, or the runtime shuts down, or [`ACK_TIMEOUT`] passes.
    /// `me` is the caller's worker index if it is a worker of this runtime. Returns whether
    /// every worker acknowledged.
    pub(super) fn block(
        &self,
        bits: SignalBits,
        me: Option<usize>,
        wake_all: impl Fn(),
        is_shutdown: impl Fn() -> bool,
    ) -> bool {
        let prev = self.wanted.fetch_or(bits, AcqRel);
        if prev & bits != bits {
            wake_all();
        }
        let deadline = Instant::now() + ACK_TIMEOUT;
        let mut rounds = 0u32;
        loop {
            if let Some(i) = me {
                self.sync(i);
            }
            if self.applied.iter().all(|a| a.load(Acquire) & bits == bits) {
                return true;
            }
            if is_shutdown() || Instant::now() >= deadline {
                return false;
            }
            rounds += 1;
            if rounds < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// The registry slot, initialized with `init` on first use.
    ///
    /// # Panics
    /// If the slot holds a different type (it has a single user, `rawrt::signal`).
    pub(super) fn registry<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> &T {
        self.registry
            .get_or_init(|| Box::new(init()))
            .downcast_ref::<T>()
            .expect("the signal registry slot holds one type")
    }
}

/// The `SigSet` of `bits`.
fn to_sigset(bits: SignalBits) -> SigSet {
    let mut set = SigSet::empty();
    for signo in 1..=64 {
        if bits & (1 << (signo - 1)) != 0 {
            // Every number in 1..=64 is valid.
            let _ = set.add(signo);
        }
    }
    set
}
