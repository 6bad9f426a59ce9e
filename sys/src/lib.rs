#![doc = include_str!("../README.md")]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("rawrt-sys supports Linux on x86-64 only");

/// Calls `libc::$fn(args...)` and turns the C convention "`-1` means look
/// at `errno`" into an `io::Result`.
///
/// The macro hides an `unsafe` block, so it is private to this crate and
/// **every invocation must be preceded by its own `// SAFETY:` comment**
/// explaining why the arguments (pointers, lengths, fds) satisfy the
/// syscall's contract. The success value is returned unchanged (`c_int` or
/// `ssize_t`, whatever the libc function returns).
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the invoking site documents why these arguments satisfy
        // the contract of this libc function (see the comment above it).
        let res = unsafe { ::libc::$fn($($arg),*) };
        if res == -1 {
            ::std::result::Result::Err(::std::io::Error::last_os_error())
        } else {
            ::std::result::Result::Ok(res)
        }
    }};
}

pub mod epoll;
pub mod eventfd;
pub mod signal;
pub mod socket;

pub use epoll::{Epoll, Event, Events, Interest};
pub use eventfd::EventFd;
pub use signal::{SigInfo, SigSet, SignalFd};
