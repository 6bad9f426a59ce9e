//! Parking a worker: on the I/O driver if it is free, else on a condition variable.
//!
//! Each worker's parker has a state: `EMPTY`, `PARKED_CONDVAR`, `PARKED_DRIVER` or `NOTIFIED`.
//! `unpark` swaps in `NOTIFIED` and acts on what it replaced:
//! - `EMPTY` or `NOTIFIED`: nothing to do — the worker is running and will see `NOTIFIED`
//!   before it sleeps (the park fast path consumes it);
//! - `PARKED_CONDVAR`: notify the condvar (taking the mutex first, so the notification cannot fall
//!   between the worker's state check and its wait);
//! - `PARKED_DRIVER`: write the driver's eventfd to interrupt `epoll_wait`.
//!
//! So the eventfd is written only when a worker really sleeps in `epoll_wait`: waking a busy
//! worker costs no syscall, waking a condvar sleeper costs one futex wake.
//!
//! Only one worker can hold the driver (a try-lock); the others sleep on their condvars. The
//! driver holder dispatches events into its own local queue; back with tasks queued, it asks
//! the spread rule (`scheduler/policy/spread.rs`) whether to wake a sleeper to steal half.

use std::sync::TryLockError;
use std::time::Duration;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::reactor;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The driver, shared by every worker of a runtime.
pub(super) struct DriverShared {
    driver: std::sync::Mutex<reactor::Driver>,
    pub(super) handle: reactor::Handle,
    /// A worker sleeps in the driver's `epoll_wait` (and will see new events). Read by the
    /// monitor (`monitor.rs`); an estimate, so relaxed.
    sleeping_in_driver: std::sync::atomic::AtomicBool,
}

impl DriverShared {
    pub(super) fn new(driver: reactor::Driver) -> DriverShared {
        let handle = driver.handle();
        DriverShared {
            driver: std::sync::Mutex::new(driver),
            handle,
            sleeping_in_driver: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a worker sleeps in `epoll_wait` now.
    pub(super) fn is_watched(&self) -> bool {
        self.sleeping_in_driver
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn try_lock(&self) -> Option<std::sync::MutexGuard<'_, reactor::Driver>> {
        match self.driver.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// The worker's end.
pub(super) struct Parker {
    inner: Arc<Inner>,
}

/// The waker's end.
#[derive(Clone)]
pub(super) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    shared: std::sync::Arc<DriverShared>,
}

impl Parker {
    pub(super) fn new(shared: std::sync::Arc<DriverShared>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                shared,
            }),
        }
    }

    pub(super) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Sleeps until unparked (spurious returns are possible; the caller re-checks). Returns
    /// `Some(events dispatched)` when it slept in the driver's `epoll_wait`.
    pub(super) fn park(&mut self) -> Option<usize> {
        let inner = &self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return None;
        }
        match inner.shared.try_lock() {
            Some(mut driver) => inner.park_driver(&mut driver),
            None => {
                inner.park_condvar();
                None
            }
        }
    }

    /// Polls the driver without blocking, if no other worker holds it: `Some(events)`.
    pub(super) fn poll_driver(&mut self) -> Option<usize> {
        self.inner
            .shared
            .try_lock()
            .map(|mut driver| driver.park(Some(Duration::ZERO)))
    }
}

impl Inner {
    fn park_driver(&self, driver: &mut reactor::Driver) -> Option<usize> {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return None;
            }
            Err(actual) => unreachable!("park state {actual} while parking on the driver"),
        }
        self.shared
            .sleeping_in_driver
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let events = driver.park(None);
        self.shared
            .sleeping_in_driver
            .store(false, std::sync::atomic::Ordering::Relaxed);
        match self.state.swap(EMPTY, SeqCst) {
            NOTIFIED | PARKED_DRIVER => {}
            actual => unreachable!("park state {actual} after the driver returned"),
        }
        Some(events)
    }

    fn park_condvar(&self) {
        let mut guard = crate::loom::lock(&self.mutex);
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => unreachable!("park state {actual} while parking on the condvar"),
        }
        loop {
            guard = self
                .condvar
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl Unparker {
    /// Wakes the worker (see the module docs for what each state costs). Returns true if it
    /// was asleep.
    pub(super) fn unpark(&self) -> bool {
        let inner = &self.inner;
        match inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => false,
            PARKED_CONDVAR => {
                drop(crate::loom::lock(&inner.mutex));
                inner.condvar.notify_one();
                true
            }
            PARKED_DRIVER => {
                inner.shared.handle.unpark();
                true
            }
            actual => unreachable!("park state {actual} in unpark"),
        }
    }
}

#[cfg(all(test, loom))]
#[path = "loom_park.rs"]
mod loom_tests;
