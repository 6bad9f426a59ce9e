//! A shim that swaps std's synchronization primitives for loom's under `--cfg loom`.
//!
//! The concurrency core (task state, run queues, the injector, park/unpark) imports its
//! atomics, cells and mutexes from here, never from `std` directly, so that the same code is
//! model-checked by loom and compiled against std otherwise. Queue capacities shrink under loom
//! (see `scheduler::multi_thread::queue`) to keep the state space small.

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
