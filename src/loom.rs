//! A shim that swaps std's synchronization primitives for loom's under `--cfg loom`.
//!
//! The concurrency core (task state, run queues, the injector, park/unpark) imports its
//! atomics, cells and mutexes from here, never from `std` directly, so that the same code is
//! model-checked by loom and compiled against std otherwise. Queue capacities shrink under loom
//! (see `scheduler::multi_thread::queue`) to keep the state space small.
//!
//! ## Running the loom models
//!
//! The models are `#[cfg(all(test, loom))]` unit-test modules next to the code they check:
//!
//! | module | checks |
//! |--------|--------|
//! | `task_core/loom_tests.rs` | task state machine: wake vs poll, completion vs `JoinHandle` poll/drop, abort vs completion and wake, shutdown vs wake, last waker released elsewhere |
//! | `scheduler/multi_thread/loom_queue.rs` | local run queue: push/pop vs steal, overflow into the injector vs steal, two stealers vs the owner |
//! | `scheduler/loom_inject.rs` | injector: concurrent push/pop, push vs close |
//! | `scheduler/multi_thread/loom_park.rs` | parker: unpark vs park on the condvar path, work published vs park loop |
//! | `scheduler/multi_thread/loom_idle.rs` | idle protocol: the last searcher parks while work is published |
//! | `reactor/loom_scheduled_io.rs` | readiness waiters' list: an event racing two waiters registering |
//! | `sync/loom_oneshot.rs` | oneshot: send vs receiver drop/poll, sender drop vs poll, `closed` vs receiver drop |
//! | `sync/locks/loom_semaphore.rs` | semaphore: `add_permits` vs acquire, a release vs a cancelled acquire, `close` vs acquire |
//! | `sync/watch.rs` (`loom_tests`) | watch: a send vs a `changed()` poll, the last sender's drop vs it |
//! | `sync/broadcast.rs` (`loom_tests`) | broadcast: a send vs a `recv` poll, sends that push a value out vs a receiver's drop |
//! | `sync/mpsc.rs` (`loom_tests`) | mpsc: a permit's drop vs a waiting `reserve` |
//!
//! `task_core/loom_support.rs` holds their shared helpers (a test `Schedule`r over a real
//! `OwnedTasks`, drop counters, counting wakers). Run them with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --lib
//! ```
//!
//! (a separate target directory keeps the `--cfg loom` build from invalidating the normal
//! one; add a test-name filter such as `loom_tests::` to run only the models). The whole suite
//! explores every interleaving within the preemption bound in well under a second once built.
//! A failing model prints loom's panic (an assertion, a "deadlock" for a lost wakeup, a
//! causality violation for a data race on a `loom::cell::UnsafeCell`); `LOOM_LOG=trace` prints
//! every step of every explored execution, the last one being the failing interleaving.

#![allow(unused_imports, dead_code)]

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
}

/// An `UnsafeCell` with loom's closure-based access API, so that loom can track every access.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(data: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(data))
    }

    /// Gives the closure a shared raw pointer; the caller guarantees no concurrent writer.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives the closure a mutable raw pointer; the caller guarantees exclusive access.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Spawns a thread (loom's under `--cfg loom`).
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::thread;

/// A mutex that can be locked ignoring poisoning: std's and (under `--cfg loom`) loom's.
pub(crate) trait Lock {
    /// The guard type.
    type Guard<'a>
    where
        Self: 'a;
    /// Locks, ignoring poisoning.
    fn lock_unpoisoned(&self) -> Self::Guard<'_>;
}

impl<T> Lock for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn lock_unpoisoned(&self) -> std::sync::MutexGuard<'_, T> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(loom)]
impl<T> Lock for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn lock_unpoisoned(&self) -> loom::sync::MutexGuard<'_, T> {
        self.lock().unwrap()
    }
}

/// Locks a mutex, ignoring poisoning: a panic elsewhere must never become a panic in the
/// runtime. Every lock in rawrt protects data whose invariants hold between statements.
pub(crate) fn lock<M: Lock>(m: &M) -> M::Guard<'_> {
    m.lock_unpoisoned()
}
