//! The runtime: its public face ([`Runtime`], [`Builder`], [`Handle`], [`EnterGuard`],
//! metrics) over the scheduler's mechanism (`crate::scheduler`).
//!
//! `Builder` resolves the settings, creates the reactor, the blocking pool and the
//! scheduler, and starts the worker threads; `Runtime` owns those threads and runs shutdown
//! in order (scheduler, then blocking pool); `Handle` is a cloneable reference to the
//! scheduler (one `Arc`), which also reaches the reactor and the blocking pool. The
//! thread-local context they set and read lives with the scheduler
//! (`scheduler/context.rs`), which needs it on every wake to find the worker's own queue.

mod builder;
mod handle;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;

pub use builder::Builder;
pub(crate) use handle::with_current_reactor;
pub use handle::{spawn, spawn_blocking, EnterGuard, Handle, TryCurrentError};
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use runtime::Runtime;
