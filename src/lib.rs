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
//! - **[`net`]**: TCP (`TcpListener`, `TcpStream` and its halves, `TcpSocket`), UDP, Unix
//!   streams and datagrams, `lookup_host`; host names resolve on the blocking pool. With the
//!   `hyper` feature the streams implement hyper 1.x's `rt::Read`/`rt::Write`, and
//!   `rawrt::hyper::Executor` runs HTTP/2 connections (`hyper-util`: a pooled-client
//!   connector); with `futures-io` or `tokio-io` they implement those crates' I/O traits.
//! - **[`io`]**: Tokio's `AsyncRead`/`AsyncWrite`/`AsyncBufRead`/`AsyncSeek`, their extension
//!   traits and utilities (`BufReader`, `copy`, `split`, `duplex`, ...), stdio, and
//!   `io::unix::AsyncFd` for any other file descriptor.
//! - **[`fs`]** (files on the blocking pool) and **[`process`]** (children whose exit is a
//!   pidfd in the reactor).
//! - **[`sync`]**: `oneshot` and bounded `mpsc` channels, and `Notify`, usable from any task
//!   or thread.
//! - **[`signal`]**: Unix signals — [`signal::signal`] and [`signal::ctrl_c`], through a
//!   counting `sigaction` handler that wakes the reactor (no signal masks to set up).
//!
//! ```
//! use rawrt::io::{AsyncReadExt, AsyncWriteExt};
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
// Not `#[macro_use]`: `pin!` would shadow `std::pin::pin!` in the modules that import it;
// the macros are reached by path (`crate::join!`, `rawrt::select!`).
mod macros;
#[doc(hidden)]
pub use macros::__private;
mod util;

// The layers, lowest first (`scripts/layers.sh` checks that no module imports from a layer
// above its own): the task machinery and the reactor; the scheduler; the runtime; the
// user-facing modules; the hyper glue.
mod reactor;
mod task_core;

mod scheduler;

pub mod runtime;

pub mod fs;
pub mod io;
pub mod net;
pub mod process;
pub mod signal;
pub mod stats;
pub mod sync;
pub mod task;
pub mod time;

#[cfg(feature = "hyper")]
pub mod hyper;

pub use runtime::{spawn, Builder, EnterGuard, Handle, Runtime, TryCurrentError};

/// Runs an `async fn main` on a rawrt runtime (feature `macros`).
///
/// `#[rawrt::main] async fn main() { ... }` becomes a `fn main` that builds a multi-thread
/// runtime and `block_on`s the body. Options, comma-separated:
/// - `flavor = "current_thread"` or `"multi_thread"` (the default);
/// - `worker_threads = N` (multi-thread only; default: the available parallelism);
/// - `start_paused = true` (current-thread only, feature `test-util`: see
///   [`time::pause`](crate::time));
/// - `crate = "path"`: rawrt's path, when it is renamed or re-exported.
///
/// ```
/// #[rawrt::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() {
///     let answer = rawrt::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// The attribute on a function that is not `async`, an unknown option and `worker_threads`
/// with `current_thread` are compile errors:
///
/// ```compile_fail
/// #[rawrt::main]
/// fn main() {}
/// ```
///
/// ```compile_fail
/// #[rawrt::main(flavour = "multi_thread")]
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[rawrt::main(flavor = "current_thread", worker_threads = 2)]
/// async fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use rawrt_macros::main;

/// Runs an `async fn` test on a rawrt runtime (feature `macros`): the function gets `#[test]`
/// and a body that builds a current-thread runtime (unless `flavor = "multi_thread"`) and
/// `block_on`s the original one. The options are [`main`]'s; `start_paused = true` (feature
/// `test-util`) starts the clock paused.
///
/// ```no_run
/// #[rawrt::test(start_paused = true)]
/// async fn a_day_in_no_time() {
///     let start = rawrt::time::Instant::now();
///     rawrt::time::sleep(std::time::Duration::from_secs(86_400)).await;
///     assert_eq!(start.elapsed(), std::time::Duration::from_secs(86_400));
/// }
/// ```
///
/// A test cannot take arguments, and `start_paused` needs the current-thread flavor:
///
/// ```compile_fail
/// #[rawrt::test]
/// async fn takes_an_argument(n: u32) {}
/// ```
///
/// ```compile_fail
/// #[rawrt::test(flavor = "multi_thread", start_paused = true)]
/// async fn paused_on_many_threads() {}
/// ```
#[cfg(feature = "macros")]
pub use rawrt_macros::test;
pub use task_core::JoinHandle;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
