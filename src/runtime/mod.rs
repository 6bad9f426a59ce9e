//! The runtime: [`Builder`] configures one, [`Runtime`] owns its threads, [`Handle`] (cheap
//! to clone, `Send`) spawns onto it and enters it from anywhere, [`RuntimeMetrics`] says what
//! its workers did. The same types are at the crate root (`rawrt::Runtime`, ...), and under
//! the paths Tokio users know (`rawrt::runtime::Builder`, ...).
//!
//! ```
//! let rt = rawrt::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
//! let handle = rt.handle().clone();
//! let answer = std::thread::spawn(move || handle.block_on(async { 6 * 7 })).join().unwrap();
//! assert_eq!(answer, 42);
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! Inside, this layer is the public face over the scheduler's mechanism: `Builder` creates
//! the reactor, the blocking pool and the scheduler and starts the workers; `Runtime` runs
//! shutdown in order (scheduler, then blocking pool); `Handle` wraps the scheduler's handle
//! (one `Arc`). The thread-local context they set and read sits with the scheduler, which
//! reads it on every wake to find the worker's own queue.

mod builder;
mod handle;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;

pub use builder::{Builder, RuntimeFlavor};
pub(crate) use handle::with_current_reactor;
pub use handle::{spawn, spawn_blocking, EnterGuard, Handle, TryCurrentError};
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use runtime::Runtime;
