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
