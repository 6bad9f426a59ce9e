//! # rawrt
//!
//! A multi-threaded async runtime for Linux whose only dependency is `libc` (through its own
//! syscall crate, [`rawrt_sys`]).
//!
//! - **Tasks** are one allocation each: a header with an atomic state word (flags and a
//!   reference count), the future, and the join waker ([`task`]).
//! - **Scheduler**: N workers, each with a bounded local run queue and a LIFO slot, a global
//!   injector queue, work stealing, and parking: idle workers sleep, one of them in
//!   `epoll_wait`, and are woken one at a time as work arrives.
//! - **Reactor**: edge-triggered epoll with per-resource readiness ticks, so no wakeup is
//!   lost and no `EAGAIN` syscall is made after a short read.
//! - **[`net`]**: `TcpListener`, `TcpStream`, `UdpSocket`, `UnixListener`, `UnixStream`; with
//!   the `hyper` feature the streams implement hyper 1.x's `rt::Read`/`rt::Write` directly,
//!   and `rawrt::hyper::Executor` runs HTTP/2 connections; with
//!   `futures-io` they implement `futures_io::AsyncRead`/`AsyncWrite`.
//! - **[`sync`]**: `oneshot` and bounded `mpsc` channels, and `Notify`, usable from any task
//!   or thread.
//! - **[`signal`]**: Unix signals through `signalfd` — [`signal::signal`],
//!   [`signal::ctrl_c`], and [`signal::block`] for `main` (read its module docs on signal
//!   masks).
//!
//! ```
//! use rawrt::net::{TcpListener, TcpStream};
//!
//! let rt = rawrt::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = rawrt::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut buf = [0u8; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         Ok::<_, std::io::Error>(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echo = [0u8; 5];
//!     client.read_exact(&mut echo).await?;
//!     assert_eq!(&echo, b"hello");
//!     server.await??;
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<_, std::io::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_debug_implementations)]

pub(crate) mod loom;

#[cfg(feature = "hyper")]
pub mod hyper;
pub mod net;
mod reactor;
mod scheduler;
pub mod signal;
pub mod stats;
pub mod sync;
#[path = "task/mod.rs"]
mod task_core;
pub mod time;

pub use scheduler::{spawn, Builder, EnterGuard, Handle, Runtime, TryCurrentError};
pub use task_core::JoinHandle;

/// Tasks: spawning, joining, yielding, and running blocking code off the workers.
///
/// The task machinery itself (one allocation per task, the atomic state word, wakers) lives in
/// the crate's `task` layer; this module is its public face.
pub mod task {
    pub use crate::scheduler::{spawn, spawn_blocking};
    pub use crate::task_core::{yield_now, Id, JoinError, JoinHandle};
}

/// Runtime types, under the paths Tokio users expect (`rawrt::runtime::Builder`, ...).
pub mod runtime {
    pub use crate::scheduler::{
        Builder, EnterGuard, Handle, Runtime, RuntimeMetrics, TryCurrentError, WorkerMetrics,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
