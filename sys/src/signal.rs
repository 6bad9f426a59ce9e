//! Signals: counting handlers that wake an eventfd ([`install_handler`], see
//! [`handler`]), and signal masks with `signalfd`.
//!
//! rawrt's runtime uses the handlers: they see a signal whatever the threads' masks. The
//! rest of this module is the classic alternative, kept as part of the syscall layer.
//!
//! # Signal masks and `signalfd`
//! A signalfd reports the signals of its mask that are **pending** for the thread that reads
//! it (sent to that thread) or for the process (sent to the process). A signal becomes
//! pending only while it is **blocked**: the kernel hands a process-directed signal to any
//! thread that does not block it, and that thread then runs the signal's disposition (for
//! most signals the default action, which terminates the process) — the signalfd never sees
//! it. So a signal read through a signalfd must be blocked with [`block`] in *every* thread
//! of the process, usually by blocking it in the main thread before any other thread is
//! created (threads inherit their creator's mask).
//!
//! * [`SigSet`]: a `sigset_t`, built with [`SigSet::empty`], [`SigSet::add`] or
//!   [`SigSet::from_signals`].
//! * [`block`], [`unblock`], [`set_mask`], [`current_mask`]: the **calling thread's** mask,
//!   through `pthread_sigmask`. Other threads keep theirs.
//! * [`SignalFd`]: `signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC)`; [`SignalFd::read`]
//!   returns one [`SigInfo`], or `None` when nothing is pending (`EAGAIN`). `EINTR` is
//!   retried.
//! * [`raise`] (to the calling thread) and [`kill`] (to a process), mostly for tests;
//!   [`rt_min`], the first real-time signal the C library leaves to applications.
//!
//! ```
//! use rawrt_sys::signal::{self, SigSet, SignalFd};
//!
//! // On a thread of our own, so that no other thread's mask changes.
//! std::thread::spawn(|| {
//!     let set = SigSet::from_signals(&[libc::SIGUSR1])?;
//!     signal::block(&set)?;
//!     let fd = SignalFd::new(&set)?;
//!     assert!(fd.read()?.is_none());
//!     signal::raise(libc::SIGUSR1)?; // to this thread, which blocks it: it stays pending
//!     let info = fd.read()?.expect("SIGUSR1 is pending");
//!     assert_eq!(info.signo(), libc::SIGUSR1);
//!     assert_eq!(info.pid(), std::process::id() as i32);
//!     Ok::<(), std::io::Error>(())
//! })
//! .join()
//! .unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io;
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use libc::c_int;

pub mod handler;

pub use handler::{deliveries, dup_wake_fd, handler_installed, install_handler};

/// The highest signal number a `sigset_t` holds on Linux (`_NSIG - 1`).
pub const MAX_SIGNAL: i32 = 64;

/// A set of signals (`libc::sigset_t`).
///
/// ```
/// use rawrt_sys::signal::SigSet;
///
/// let mut set = SigSet::empty();
/// set.add(libc::SIGINT)?;
/// assert!(set.contains(libc::SIGINT));
/// assert!(!set.contains(libc::SIGTERM));
/// assert!(set.add(0).is_err(), "0 is not a signal");
/// assert_eq!(set, SigSet::from_signals(&[libc::SIGINT])?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct SigSet {
    raw: libc::sigset_t,
}

impl SigSet {
    /// The empty set (`sigemptyset`).
    pub fn empty() -> SigSet {
        // SAFETY: sigset_t is an array of integers, for which all-zero bytes are valid (and,
        // on Linux, the empty set; sigemptyset below makes it so in any case).
        let mut raw: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `raw` is a live, writable sigset_t; sigemptyset only fails for a null pointer.
        let res = syscall!(sigemptyset(&mut raw));
        debug_assert!(res.is_ok());
        SigSet { raw }
    }

    /// The set holding each of `signals`; `InvalidInput` if one is not a valid signal
    /// number (1 to [`MAX_SIGNAL`]).
    pub fn from_signals(signals: &[i32]) -> io::Result<SigSet> {
        let mut set = SigSet::empty();
        for &signo in signals {
            set.add(signo)?;
        }
        Ok(set)
    }

    /// Adds `signo` (`sigaddset`); `InvalidInput` if it is not a valid signal number.
    pub fn add(&mut self, signo: i32) -> io::Result<()> {
        check_signo(signo)?;
        // SAFETY: `self.raw` is a live, writable sigset_t.
        syscall!(sigaddset(&mut self.raw, signo))?;
        Ok(())
    }

    /// Removes `signo` (`sigdelset`); `InvalidInput` if it is not a valid signal number.
    ///
    /// ```
    /// let mut set = rawrt_sys::signal::SigSet::from_signals(&[libc::SIGINT, libc::SIGHUP])?;
    /// set.remove(libc::SIGINT)?;
    /// assert!(!set.contains(libc::SIGINT) && set.contains(libc::SIGHUP));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove(&mut self, signo: i32) -> io::Result<()> {
        check_signo(signo)?;
        // SAFETY: `self.raw` is a live, writable sigset_t.
        syscall!(sigdelset(&mut self.raw, signo))?;
        Ok(())
    }

    /// Whether `signo` is in the set (`sigismember`); false for an invalid number.
    pub fn contains(&self, signo: i32) -> bool {
        if check_signo(signo).is_err() {
            return false;
        }
        // SAFETY: `self.raw` is a live, readable sigset_t.
        matches!(syscall!(sigismember(&self.raw, signo)), Ok(1))
    }

    /// Whether the set holds no signal.
    ///
    /// ```
    /// assert!(rawrt_sys::signal::SigSet::empty().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.signals().next().is_none()
    }

    /// The signal numbers in the set, in increasing order.
    ///
    /// ```
    /// let set = rawrt_sys::signal::SigSet::from_signals(&[libc::SIGTERM, libc::SIGHUP])?;
    /// assert_eq!(set.signals().collect::<Vec<_>>(), [libc::SIGHUP, libc::SIGTERM]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signals(&self) -> impl Iterator<Item = i32> + '_ {
        (1..=MAX_SIGNAL).filter(|&s| self.contains(s))
    }

    /// The underlying `sigset_t`, for calls this crate does not wrap.
    pub fn as_raw(&self) -> &libc::sigset_t {
        &self.raw
    }
}

impl Default for SigSet {
    fn default() -> SigSet {
        SigSet::empty()
    }
}

impl PartialEq for SigSet {
    fn eq(&self, other: &SigSet) -> bool {
        (1..=MAX_SIGNAL).all(|s| self.contains(s) == other.contains(s))
    }
}

impl Eq for SigSet {}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.signals()).finish()
    }
}

fn check_signo(signo: i32) -> io::Result<()> {
    if (1..=MAX_SIGNAL).contains(&signo) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signo} is not a signal number (1 to {MAX_SIGNAL})"),
        ))
    }
}

/// `pthread_sigmask(how, set)` on the calling thread, returning the previous mask.
fn sigmask(how: c_int, set: Option<&SigSet>) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    let new = set.map_or(ptr::null(), |s| ptr::from_ref(&s.raw));
    // SAFETY: `new` is null or points to a live sigset_t, and `old.raw` is a live, writable
    // sigset_t, both for the whole call.
    let rc = unsafe { libc::pthread_sigmask(how, new, &mut old.raw) };
    // pthread_sigmask returns the error number instead of setting errno.
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(old)
}

/// Blocks the signals of `set` in the **calling thread** (`pthread_sigmask(SIG_BLOCK)`).
///
/// A blocked signal stays pending instead of being delivered, until it is unblocked or read
/// through a [`SignalFd`]. Threads created afterwards by this thread inherit the mask; other
/// threads keep theirs. (`SIGKILL` and `SIGSTOP` cannot be blocked; the kernel ignores them
/// in `set`.)
///
/// ```
/// use rawrt_sys::signal::{self, SigSet};
///
/// std::thread::spawn(|| {
///     let set = SigSet::from_signals(&[libc::SIGUSR2])?;
///     signal::block(&set)?;
///     assert!(signal::current_mask()?.contains(libc::SIGUSR2));
///     signal::unblock(&set)?;
///     assert!(!signal::current_mask()?.contains(libc::SIGUSR2));
///     Ok::<(), std::io::Error>(())
/// })
/// .join()
/// .unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn block(set: &SigSet) -> io::Result<()> {
    sigmask(libc::SIG_BLOCK, Some(set)).map(drop)
}

/// Unblocks the signals of `set` in the calling thread (`pthread_sigmask(SIG_UNBLOCK)`).
/// A pending signal among them is delivered at once (to its disposition: for most signals,
/// by default, that terminates the process).
pub fn unblock(set: &SigSet) -> io::Result<()> {
    sigmask(libc::SIG_UNBLOCK, Some(set)).map(drop)
}

/// Replaces the calling thread's mask with `set` (`pthread_sigmask(SIG_SETMASK)`), returning
/// the previous mask, e.g. to restore it later.
///
/// ```
/// use rawrt_sys::signal::{self, SigSet};
///
/// std::thread::spawn(|| {
///     let old = signal::set_mask(&SigSet::from_signals(&[libc::SIGHUP])?)?;
///     assert!(signal::current_mask()?.contains(libc::SIGHUP));
///     signal::set_mask(&old)?;
///     assert_eq!(signal::current_mask()?, old);
///     Ok::<(), std::io::Error>(())
/// })
/// .join()
/// .unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_mask(set: &SigSet) -> io::Result<SigSet> {
    sigmask(libc::SIG_SETMASK, Some(set))
}

/// The calling thread's mask: the signals it blocks.
///
/// ```
/// let mask = rawrt_sys::signal::current_mask()?;
/// assert!(!mask.contains(libc::SIGKILL), "SIGKILL can never be blocked");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn current_mask() -> io::Result<SigSet> {
    sigmask(libc::SIG_BLOCK, None)
}

/// The lowest real-time signal left to applications (`SIGRTMIN`, 34 with glibc). Signal
/// numbers from 32 up to it are reserved by the C library for its own threading and cannot
/// be blocked or waited for reliably.
///
/// ```
/// assert!((32..=libc::SIGRTMAX()).contains(&rawrt_sys::signal::rt_min()));
/// ```
pub fn rt_min() -> i32 {
    libc::SIGRTMIN()
}

/// Sends `signo` to the **calling thread** (`pthread_kill(pthread_self(), signo)`, which is
/// what `raise(3)` does in a multi-threaded process). If the thread blocks it, it stays
/// pending for this thread (a [`SignalFd`] read *on this thread* reports it); otherwise its
/// disposition runs before this returns.
pub fn raise(signo: i32) -> io::Result<()> {
    check_signo(signo)?;
    // SAFETY: pthread_self is always a live thread (this one); pthread_kill takes no pointers.
    let rc = unsafe { libc::pthread_kill(libc::pthread_self(), signo) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Sends `signo` to process `pid` (`kill(2)`; a `pid` of 0 or below means a process group or
/// every process, as in `kill(2)`). `signo` 0 sends nothing and only checks that `pid`
/// exists and may be signalled.
///
/// A signal sent to the process goes to one of its threads that does not block it, or, if
/// every thread blocks it, stays pending for the process.
///
/// ```
/// rawrt_sys::signal::kill(std::process::id() as i32, 0)?; // we exist
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn kill(pid: i32, signo: i32) -> io::Result<()> {
    if signo != 0 {
        check_signo(signo)?;
    }
    // SAFETY: kill takes no pointers.
    syscall!(kill(pid, signo))?;
    Ok(())
}

/// One signal read from a [`SignalFd`] (the useful fields of `signalfd_siginfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    signo: i32,
    code: i32,
    pid: i32,
    uid: u32,
}

impl SigInfo {
    /// The signal number (`ssi_signo`).
    pub fn signo(&self) -> i32 {
        self.signo
    }

    /// The process that sent it (`ssi_pid`): for `kill`, `raise` and `pthread_kill`, the
    /// sender's process id; 0 for signals the kernel generates (e.g. from the terminal).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The real user id of the sender (`ssi_uid`).
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// How it was sent (`ssi_code`): `SI_USER` (0) for `kill`, `SI_TKILL` (-6) for
    /// `pthread_kill`/`raise`, `SI_KERNEL` (0x80) or a signal-specific code otherwise.
    pub fn code(&self) -> i32 {
        self.code
    }
}

/// A nonblocking, close-on-exec signalfd (`signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC)`),
/// closed on drop.
///
/// It is readable while a signal of its mask is pending for the process or for the thread
/// that polls or reads it. Only **blocked** signals become pending (see the [module
/// docs](self)). With epoll, register it `EPOLLIN` (edge-triggered is fine: every new signal
/// is a new edge) and read until [`read`](Self::read) returns `None`.
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// A signalfd reporting the signals of `mask`.
    pub fn new(mask: &SigSet) -> io::Result<SignalFd> {
        // SAFETY: `mask.raw` is a live sigset_t for the call; with fd -1, signalfd returns a
        // new fd that nothing else owns, so OwnedFd may take it.
        let fd = syscall!(signalfd(
            -1,
            &mask.raw,
            libc::SFD_NONBLOCK | libc::SFD_CLOEXEC
        ))
        .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })?;
        Ok(SignalFd { fd })
    }

    /// Dequeues one pending signal of the mask: `Ok(None)` if none is pending (`EAGAIN`).
    /// `EINTR` is retried.
    pub fn read(&self) -> io::Result<Option<SigInfo>> {
        const SIZE: usize = mem::size_of::<libc::signalfd_siginfo>();
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
        loop {
            // SAFETY: `info` is a live, writable buffer of SIZE bytes for the whole call; the
            // fd is owned by self.
            let res = syscall!(read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), SIZE));
            match res {
                Ok(n) if n as usize == SIZE => break,
                Ok(n) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("signalfd read returned {n} bytes, not {SIZE}"),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        // SAFETY: the buffer was zeroed and then filled by the kernel; signalfd_siginfo holds
        // only integers, for which any bytes are valid.
        let info = unsafe { info.assume_init() };
        Ok(Some(SigInfo {
            signo: info.ssi_signo as i32,
            code: info.ssi_code,
            pid: info.ssi_pid as i32,
            uid: info.ssi_uid,
        }))
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<SignalFd> for std::os::fd::OwnedFd {
    /// The signalfd's descriptor (to close it through [`crate::close`], counted).
    fn from(fd: SignalFd) -> std::os::fd::OwnedFd {
        fd.fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Epoll, Events, Interest};
    use std::time::Duration;

    /// Runs `f` on a fresh thread, so that mask changes stay there.
    fn on_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f).join().unwrap();
    }

    #[test]
    fn sigset_add_remove_contains() {
        let mut set = SigSet::empty();
        assert!(set.is_empty());
        set.add(libc::SIGUSR1).unwrap();
        set.add(MAX_SIGNAL).unwrap();
        assert!(set.contains(libc::SIGUSR1) && set.contains(MAX_SIGNAL));
        assert_eq!(
            set.signals().collect::<Vec<_>>(),
            [libc::SIGUSR1, MAX_SIGNAL]
        );
        set.remove(libc::SIGUSR1).unwrap();
        assert!(!set.contains(libc::SIGUSR1));
        for bad in [0, -1, MAX_SIGNAL + 1] {
            assert_eq!(
                set.add(bad).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert!(!set.contains(bad));
        }
        assert_eq!(format!("{set:?}"), format!("{{{MAX_SIGNAL}}}"));
        assert!(SigSet::from_signals(&[libc::SIGINT, 0]).is_err());
    }

    #[test]
    fn block_unblock_current_mask_are_per_thread() {
        on_thread(|| {
            let set = SigSet::from_signals(&[libc::SIGUSR1, libc::SIGUSR2]).unwrap();
            let before = current_mask().unwrap();
            assert!(!before.contains(libc::SIGUSR1));
            block(&set).unwrap();
            let now = current_mask().unwrap();
            assert!(now.contains(libc::SIGUSR1) && now.contains(libc::SIGUSR2));
            // A thread spawned now inherits the mask; this one's changes do not leak back.
            std::thread::spawn(|| {
                assert!(current_mask().unwrap().contains(libc::SIGUSR1));
                unblock(&SigSet::from_signals(&[libc::SIGUSR1]).unwrap()).unwrap();
            })
            .join()
            .unwrap();
            assert!(current_mask().unwrap().contains(libc::SIGUSR1));
            unblock(&set).unwrap();
            assert_eq!(current_mask().unwrap(), before);
        });
    }

    #[test]
    fn blocked_signal_is_read_from_signalfd() {
        on_thread(|| {
            let set = SigSet::from_signals(&[libc::SIGUSR1]).unwrap();
            block(&set).unwrap();
            let sfd = SignalFd::new(&set).unwrap();
            assert_eq!(sfd.read().unwrap(), None);

            let epoll = Epoll::new().unwrap();
            epoll
                .add(sfd.as_fd(), 1, Interest::READABLE | Interest::EDGE)
                .unwrap();
            let mut events = Events::with_capacity(4);
            assert_eq!(epoll.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);

            // Thread-directed (pthread_kill to ourselves): only this thread can see it.
            raise(libc::SIGUSR1).unwrap();
            let n = epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(n, 1, "the signalfd became readable");
            assert!(events.get(0).unwrap().is_readable());

            let info = sfd.read().unwrap().expect("SIGUSR1 reported");
            assert_eq!(info.signo(), libc::SIGUSR1);
            assert_eq!(info.pid(), std::process::id() as i32);
            assert_eq!(info.code(), libc::SI_TKILL);
            assert_eq!(sfd.read().unwrap(), None, "read once");

            // Standard signals do not queue: two raises before a read are one delivery.
            raise(libc::SIGUSR1).unwrap();
            raise(libc::SIGUSR1).unwrap();
            assert!(sfd.read().unwrap().is_some());
            assert_eq!(sfd.read().unwrap(), None);
            unblock(&set).unwrap();
        });
    }

    #[test]
    fn only_the_mask_of_the_fd_is_reported() {
        on_thread(|| {
            let both = SigSet::from_signals(&[libc::SIGUSR1, libc::SIGUSR2]).unwrap();
            block(&both).unwrap();
            let usr1 = SignalFd::new(&SigSet::from_signals(&[libc::SIGUSR1]).unwrap()).unwrap();
            raise(libc::SIGUSR2).unwrap();
            assert_eq!(
                usr1.read().unwrap(),
                None,
                "SIGUSR2 is not in the fd's mask"
            );
            raise(libc::SIGUSR1).unwrap();
            assert_eq!(usr1.read().unwrap().unwrap().signo(), libc::SIGUSR1);
            // SIGUSR2 is still pending: consume it before unblocking, or it would kill us.
            let usr2 = SignalFd::new(&SigSet::from_signals(&[libc::SIGUSR2]).unwrap()).unwrap();
            assert_eq!(usr2.read().unwrap().unwrap().signo(), libc::SIGUSR2);
            unblock(&both).unwrap();
        });
    }

    #[test]
    fn unblocked_signal_is_not_reported() {
        on_thread(|| {
            // SIGWINCH's default action is to ignore it, so delivering it is harmless.
            assert!(!current_mask().unwrap().contains(libc::SIGWINCH));
            let sfd = SignalFd::new(&SigSet::from_signals(&[libc::SIGWINCH]).unwrap()).unwrap();
            raise(libc::SIGWINCH).unwrap();
            assert_eq!(
                sfd.read().unwrap(),
                None,
                "an unblocked signal is delivered, never pending"
            );
        });
    }

    #[test]
    fn signalfd_is_nonblocking_and_cloexec() {
        let sfd = SignalFd::new(&SigSet::from_signals(&[libc::SIGUSR1]).unwrap()).unwrap();
        // SAFETY: F_GETFL takes no pointer argument; the fd is owned by `sfd`.
        let fl = unsafe { libc::fcntl(sfd.as_raw_fd(), libc::F_GETFL) };
        // SAFETY: F_GETFD takes no pointer argument; the fd is owned by `sfd`.
        let fdfl = unsafe { libc::fcntl(sfd.as_raw_fd(), libc::F_GETFD) };
        assert!(fl & libc::O_NONBLOCK != 0);
        assert!(fdfl & libc::FD_CLOEXEC != 0);
    }

    #[test]
    fn kill_checks_and_reports_errors() {
        kill(std::process::id() as i32, 0).unwrap();
        assert_eq!(
            kill(std::process::id() as i32, 65).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // No such process (pid_max is at most 2^22).
        assert_eq!(
            kill(i32::MAX, 0).unwrap_err().raw_os_error(),
            Some(libc::ESRCH)
        );
        assert_eq!(raise(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
