//! The user's thread callbacks (`Builder::on_thread_start` and friends), as the scheduler
//! and the blocking pool run them.
//!
//! Each runs on the thread concerned: `on_start` first thing in every worker thread (those
//! `block_in_place` starts included) and every blocking-pool thread, `on_stop` last thing
//! in them; `on_park` just before a worker (or the current-thread `block_on` thread) goes to
//! sleep waiting for work, `on_unpark` just after it wakes. A callback that panics has its
//! panic caught and discarded (the panic hook has printed it): the thread goes on as if the
//! callback had returned, so a faulty callback cannot take a worker — and with it the
//! runtime — down.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

/// A callback.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// The callbacks of one runtime.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_start: Option<Callback>,
    pub(crate) on_stop: Option<Callback>,
    pub(crate) on_park: Option<Callback>,
    pub(crate) on_unpark: Option<Callback>,
}

impl Hooks {
    pub(crate) fn start(&self) {
        call(&self.on_start);
    }

    pub(crate) fn stop(&self) {
        call(&self.on_stop);
    }

    pub(crate) fn park(&self) {
        call(&self.on_park);
    }

    pub(crate) fn unpark(&self) {
        call(&self.on_unpark);
    }

    /// A guard that runs `on_start` now and `on_stop` when dropped (also on unwinding).
    pub(crate) fn thread(&self) -> ThreadHooks<'_> {
        self.start();
        ThreadHooks(self)
    }
}

/// Runs `on_stop` when dropped.
pub(crate) struct ThreadHooks<'a>(&'a Hooks);

impl Drop for ThreadHooks<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

#[inline]
fn call(hook: &Option<Callback>) {
    if let Some(f) = hook {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| f()));
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_start", &self.on_start.is_some())
            .field("on_stop", &self.on_stop.is_some())
            .field("on_park", &self.on_park.is_some())
            .field("on_unpark", &self.on_unpark.is_some())
            .finish()
    }
}
