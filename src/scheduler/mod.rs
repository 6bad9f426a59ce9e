//! Schedulers and the runtime API.
//!
//! `Runtime` owns the worker threads; `Handle` is the shareable reference that tasks, I/O
//! types and users hold. The multi-thread scheduler lives in `multi_thread/`; the injector
//! queue (shared by schedulers) in `inject.rs`; `block_on`'s thread parking in
//! `park_thread.rs`; the thread-local current runtime in `context.rs`.

pub(crate) mod blocking;
mod builder;
mod context;
pub(crate) mod current_thread;
pub(crate) mod inject;
pub(crate) mod metrics;
pub(crate) mod multi_thread;
mod park_thread;
mod runtime;

use std::sync::Arc;

pub use builder::Builder;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use runtime::{spawn, spawn_blocking, EnterGuard, Handle, Runtime, TryCurrentError};

/// The scheduler behind a `Handle`.
#[derive(Clone)]
pub(crate) enum Scheduler {
    MultiThread(Arc<multi_thread::Handle>),
    CurrentThread(Arc<current_thread::Handle>),
}
