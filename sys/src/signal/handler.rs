//! Signal handlers that count deliveries and wake an eventfd: signals without masks.
//!
//! [`install_handler`] installs, once per signal number and for the rest of the process's
//! life, a `sigaction` handler (`SA_SIGINFO | SA_RESTART | SA_ONSTACK`) that does three
//! async-signal-safe things: it adds one to the signal's delivery counter (an atomic in a
//! static array, [`deliveries`]), it writes 1 to one process-wide eventfd (the *wake fd*), and
//! it calls the handler that was installed before it, if that was a function (not `SIG_DFL` or
//! `SIG_IGN`). `errno` is saved and restored around all of it.
//!
//! Whichever thread the kernel picks runs the handler, so no thread has to block anything:
//! unlike a signalfd, this sees a process-directed signal whatever the masks of the process's
//! threads (a thread that *blocks* the signal just never runs the handler; if every thread
//! blocks it, it stays pending). Once installed, the signal's default action (for most
//! signals, terminating the process) no longer happens.
//!
//! A reader takes its own duplicate of the wake fd ([`dup_wake_fd`]) and registers it with
//! its epoll instance edge-triggered: every handler write is a new edge on every such
//! registration (the counter is never read, as with [`EventFd`] used as a
//! waker). On an edge it compares [`deliveries`] with the count it has seen. The counter is
//! incremented *before* the eventfd is written, so a reader woken by the edge sees the new
//! count.
//!
//! The handler's `write` cannot go through this crate's per-thread counters (they allocate
//! on a thread's first call, which a signal handler must not do); it is counted in a static
//! atomic instead, and [`stats::snapshot`](crate::stats::snapshot) adds it to
//! `EventfdWrite`.
//!
//! ```
//! use rawrt_sys::signal;
//!
//! signal::install_handler(libc::SIGUSR1)?;
//! let before = signal::deliveries(libc::SIGUSR1);
//! signal::kill(std::process::id() as i32, libc::SIGUSR1)?; // would otherwise terminate us
//! // `kill` to our own process runs a handler before it returns (on some thread, maybe
//! // another one): wait for the count, bounded.
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
//! while signal::deliveries(libc::SIGUSR1) == before {
//!     assert!(std::time::Instant::now() < deadline, "the handler never ran");
//!     std::thread::yield_now();
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering::*};
use std::sync::Mutex;

use libc::c_int;

use super::{check_signo, MAX_SIGNAL};
use crate::EventFd;

const SLOTS: usize = MAX_SIGNAL as usize + 1;

/// Deliveries counted by the handler, by signal number.
static DELIVERIES: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// The handlers that were installed before ours (leaked boxes; null: none was a function).
static PREVIOUS: [AtomicPtr<libc::sigaction>; SLOTS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS];

/// The wake fd (an eventfd that lives as long as the process), or -1 before the first
/// handler is installed.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// Which signal numbers have our handler; also serializes installation.
static INSTALLED: Mutex<[bool; SLOTS]> = Mutex::new([false; SLOTS]);

/// Installs the counting handler for `signo` (once; later calls return `Ok` at once).
///
/// Fails with `InvalidInput` for a number outside 1..=64, and with the OS error of
/// `sigaction` for a signal that cannot be caught (`SIGKILL`, `SIGSTOP`: `EINVAL`) or of
/// `eventfd` if the wake fd cannot be created. Nothing is changed on failure.
///
/// The handler stays for the rest of the process: a signal that arrives after its last
/// listener went away is counted and otherwise ignored, instead of killing the process.
pub fn install_handler(signo: i32) -> io::Result<()> {
    check_signo(signo)?;
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if installed[signo as usize] {
        return Ok(());
    }
    if WAKE_FD.load(Acquire) < 0 {
        // Lives as long as the process: the handler may write it at any moment.
        let fd = EventFd::new()?;
        WAKE_FD.store(OwnedFd::from(fd).into_raw_fd(), Release);
    }
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty mask, no flags).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only queries; `old` is a live, writable sigaction for the call.
    syscall!(sigaction(signo, ptr::null(), &mut old))?;
    if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
        // Published before our handler can run, so it finds the one to chain to.
        PREVIOUS[signo as usize].store(Box::into_raw(Box::new(old)), Release);
    }
    // SAFETY: as above, all-zero is valid; the fields are filled in below.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler as *const () as usize;
    new.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `new.sa_mask` is a live, writable sigset_t.
    unsafe { libc::sigemptyset(&mut new.sa_mask) };
    // SAFETY: `new` is a live sigaction whose handler has the SA_SIGINFO signature; a null
    // `oldact` is allowed.
    if let Err(e) = syscall!(sigaction(signo, &new, ptr::null_mut())) {
        let prev = PREVIOUS[signo as usize].swap(ptr::null_mut(), AcqRel);
        if !prev.is_null() {
            // SAFETY: `prev` came from Box::into_raw above and our handler was never
            // installed, so nothing else can read it.
            drop(unsafe { Box::from_raw(prev) });
        }
        return Err(e);
    }
    installed[signo as usize] = true;
    Ok(())
}

/// Whether [`install_handler`] has installed the handler for `signo`.
pub fn handler_installed(signo: i32) -> bool {
    (1..=MAX_SIGNAL).contains(&signo)
        && INSTALLED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[signo as usize]
}

/// How many times the handler has run for `signo` so far (0 for a number without a handler
/// or outside 1..=64). Deliveries that the kernel merged (a standard signal sent twice
/// before it ran) count once.
pub fn deliveries(signo: i32) -> u64 {
    match usize::try_from(signo) {
        Ok(i) if (1..SLOTS).contains(&i) => DELIVERIES[i].load(SeqCst),
        _ => 0,
    }
}

/// A new descriptor of the wake fd (`fcntl(F_DUPFD_CLOEXEC)`), to register with an epoll
/// instance (`EPOLLIN | EPOLLET`) and close when done. Fails with `NotFound` before any
/// handler is installed.
pub fn dup_wake_fd() -> io::Result<OwnedFd> {
    let fd = WAKE_FD.load(Acquire);
    if fd < 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no signal handler installed yet: the wake fd does not exist",
        ));
    }
    // SAFETY: `fd` is the wake fd, open for the rest of the process.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    // SAFETY: F_DUPFD_CLOEXEC takes an int argument and returns a new descriptor that
    // nothing else owns, so OwnedFd may take it.
    let dup = syscall!(fcntl(borrowed.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0))
        .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })?;
    Ok(dup)
}

/// The handler. Only async-signal-safe operations: atomics, `write(2)`, the chained
/// handler (itself a signal handler), `errno` through `__errno_location`.
extern "C" fn handler(signo: c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    if let Some(counter) = usize::try_from(signo).ok().and_then(|i| DELIVERIES.get(i)) {
        // SeqCst: ordered before the write below, which is what wakes the readers.
        counter.fetch_add(1, SeqCst);
    }
    let fd = WAKE_FD.load(Acquire);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: `one` is a live 8-byte buffer; `fd` is the wake fd, open for the rest of
        // the process. A full counter (EAGAIN) needs nothing: an edge is pending anyway.
        let _ = unsafe { libc::write(fd, ptr::from_ref(&one).cast(), 8) };
        crate::stats::record_from_signal_handler(crate::stats::Syscall::EventfdWrite);
    }
    if let Some(prev) = usize::try_from(signo).ok().and_then(|i| PREVIOUS.get(i)) {
        let prev = prev.load(Acquire);
        if !prev.is_null() {
            // SAFETY: `prev` was published (Release) before our handler was installed and
            // is never freed while it is.
            unsafe { chain(&*prev, signo, info, context) };
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Calls the handler `prev` describes the way the kernel would have.
///
/// # Safety
/// Called from a signal handler for `signo`, with the kernel's `info` and `context`; `prev`
/// was the disposition of `signo` before ours and holds a function, not `SIG_DFL`/`SIG_IGN`.
unsafe fn chain(
    prev: &libc::sigaction,
    signo: c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO the handler has this three-argument signature.
        let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(signo, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the handler takes the signal number only.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(signo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_cannot_be_caught() {
        assert_eq!(
            install_handler(0).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            install_handler(65).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let err = install_handler(libc::SIGKILL).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert!(!handler_installed(libc::SIGKILL));
        assert_eq!(deliveries(-1), 0);
        assert_eq!(deliveries(1000), 0);
    }
}
