//! Syscall statistics: what the runtime asked the kernel for.
//!
//! Every syscall rawrt makes goes through `rawrt-sys`, which counts it per kind (per thread,
//! summed when read; always on — see [`rawrt_sys::stats`] for the cost). Take a snapshot
//! before and after some work; the difference is what the work cost, for the whole process.
//!
//! ```
//! let rt = rawrt::Runtime::new()?;
//! let before = rawrt::stats::syscalls();
//! rt.block_on(async {
//!     let l = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let _c = rawrt::net::TcpStream::connect(l.local_addr()?).await?;
//!     Ok::<_, std::io::Error>(())
//! })?;
//! let made = rawrt::stats::syscalls() - before;
//! assert!(made.get(rawrt::stats::Syscall::Connect) >= 1);
//! println!("{made}");
//! # Ok::<_, std::io::Error>(())
//! ```

pub use rawrt_sys::stats::{Syscall, SyscallCounts};

/// A snapshot of the syscalls made so far by this process through rawrt, by kind.
pub fn syscalls() -> SyscallCounts {
    rawrt_sys::stats::snapshot()
}

/// The syscall trace ([`rawrt_sys::trace`]): every call as it happens, with its thread, task,
/// result and duration. Off by default; [`trace_enable`], `Builder::trace_syscalls(true)` or
/// `RAWRT_TRACE=syscalls` switch it on.
pub use rawrt_sys::trace::{KindTimes, Record, ThreadInfo, Times, Trace};

/// Switches the syscall trace on (process-wide).
///
/// ```
/// rawrt::stats::trace_enable();
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let l = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
///     let _c = rawrt::net::TcpStream::connect(l.local_addr()?).await?;
///     Ok::<_, std::io::Error>(())
/// })?;
/// let trace = rawrt::stats::trace();
/// rawrt::stats::trace_disable();
/// assert!(trace.records.iter().any(|r| r.name == "connect"));
/// let times = rawrt::stats::syscall_times();
/// assert!(times.get(rawrt::stats::Syscall::Connect).count >= 1);
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn trace_enable() {
    rawrt_sys::trace::enable()
}

/// Switches the syscall trace off; what was recorded stays until [`trace`] takes it.
pub fn trace_disable() {
    rawrt_sys::trace::disable()
}

/// Takes the records traced since the last call, sorted by start time.
pub fn trace() -> Trace {
    rawrt_sys::trace::drain()
}

/// Time in the kernel per syscall kind while the trace was on: count, total, p50, p99, max
/// (nothing dropped). Subtract two readings for a window.
pub fn syscall_times() -> Times {
    rawrt_sys::trace::times()
}
