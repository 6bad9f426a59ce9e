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
///
/// Every call is counted in [`stats`] under the kind its name maps to
/// (`Syscall::of`, evaluated at compile time); `syscall!(as Kind, f(..))`
/// overrides the kind (the eventfd's `read`/`write`). While [`trace`] is on, each call is
/// also recorded (name, first argument, result or errno, thread, task, start, duration);
/// while it is off that costs one relaxed load.
macro_rules! syscall {
    (as $kind:ident, $fn:ident ( $($arg:expr),* $(,)? )) => {{
        syscall!(@call $crate::stats::Syscall::$kind, $fn ( $($arg),* ))
    }};
    (@call $kind:expr, $fn:ident ( $first:expr $(, $rest:expr)* )) => {{
        let kind: $crate::stats::Syscall = $kind;
        $crate::stats::record(kind);
        // The first argument is evaluated once, before the call, as it always was; the trace
        // keeps it (the fd, for every call that takes one).
        let first = $first;
        // One relaxed load when tracing is off.
        let started = $crate::trace::begin();
        let fd = if started.is_some() {
            $crate::trace::FirstArg::as_fd(&first)
        } else {
            -1
        };
        // SAFETY: the invoking site documents why these arguments satisfy
        // the contract of this libc function (see the comment above it).
        let res = unsafe { ::libc::$fn(first $(, $rest)*) };
        let out = if res == -1 {
            ::std::result::Result::Err(::std::io::Error::last_os_error())
        } else {
            ::std::result::Result::Ok(res)
        };
        if let ::std::option::Option::Some(started) = started {
            $crate::trace::end(started, kind, stringify!($fn), fd, &out);
        }
        out
    }};
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        const KIND: $crate::stats::Syscall = $crate::stats::Syscall::of(stringify!($fn));
        syscall!(@call KIND, $fn ( $($arg),* ))
    }};
}

pub mod cpustat;
pub mod epoll;
pub mod eventfd;
pub mod process;
pub mod resource;
pub mod sched;
pub mod signal;
pub mod socket;
pub mod stats;
pub mod trace;
pub mod unix;

/// Closes `fd` through `close(2)`, counted like every other syscall here
/// (dropping an `OwnedFd` closes it too, but uncounted). Errors other than
/// `EINTR` are returned; after `EINTR` the fd is closed anyway on Linux, so
/// it is never retried.
pub fn close(fd: std::os::fd::OwnedFd) -> std::io::Result<()> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an OwnedFd we consumed, so we own it and nobody else closes it.
    match syscall!(close(raw)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
        Err(e) => Err(e),
    }
}

pub use epoll::{Epoll, Event, Events, Interest};
pub use eventfd::EventFd;
pub use signal::{SigInfo, SigSet, SignalFd};
