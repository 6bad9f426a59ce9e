//! Process syscalls: pidfds (`pidfd_open`, `pidfd_send_signal`, `waitid(P_PIDFD)`), the
//! pid-based calls for kernels without pidfds (`waitid(P_PID)`, `waitpid`, `kill`), and
//! `pipe2`.
//!
//! # Conventions
//!
//! * Every fd made here is close-on-exec and owned by an [`OwnedFd`] from the moment it
//!   exists: the pidfd of [`pidfd_open`] (the kernel sets `O_CLOEXEC` on every pidfd) and
//!   both ends of a [`pipe2`].
//! * Waiting never blocks: [`waitid_pidfd`], [`waitid_pid`] and [`waitpid`] always pass
//!   `WNOHANG` and return `Ok(None)` while the child runs. Only exits are reported
//!   (`WEXITED`); a stopped or continued child is still "running" here. A child is reaped by
//!   the call that reports its exit, so that call may be made once only; after it, the pid is
//!   free for reuse and a pid-based call fails with `ECHILD` (a pidfd-based call too).
//! * The result is a [`std::process::ExitStatus`], built with
//!   [`ExitStatusExt::from_raw`] from a wait-status word, so `code()`, `signal()` and
//!   `core_dumped()` work as for a child that std waited for.
//! * **EINTR.** The wait calls are retried on `EINTR` (with `WNOHANG` they do not sleep, so
//!   this is rare); the others do not block and return their errors as they are.
//! * Errors are the OS's, unchanged: `ENOSYS` where the kernel lacks the call (pidfds came
//!   with Linux 5.3), `EINVAL` for a bad argument (a signal number out of range, a `pid` of 0
//!   or below for [`pidfd_open`]), `ESRCH` for a process that is gone, `ECHILD` for one that
//!   is not our (unreaped) child.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use libc::c_int;

use crate::socket::{owned, retry_eintr};

/// `PIDFD_NONBLOCK` (Linux 5.10): the pidfd's open file is `O_NONBLOCK`.
const PIDFD_NONBLOCK: libc::c_uint = libc::O_NONBLOCK as libc::c_uint;

/// Set once the kernel has refused `PIDFD_NONBLOCK` (Linux 5.3 to 5.9), so later calls do
/// not try the flag again.
static NO_PIDFD_NONBLOCK: AtomicBool = AtomicBool::new(false);

/// Opens a pidfd for process `pid` (`pidfd_open(2)`, through `syscall(SYS_pidfd_open)`).
///
/// The fd is close-on-exec (every pidfd is) and nonblocking (`PIDFD_NONBLOCK`) where the
/// kernel accepts that flag (5.10 and later); on older kernels it is opened without it, which
/// changes nothing for the calls here (they never block). It becomes readable when the
/// process exits, so it can be registered with epoll, and it keeps naming that process even
/// after its pid is reused, so [`pidfd_send_signal`] and [`waitid_pidfd`] cannot reach the
/// wrong one.
///
/// A child that has exited but was not reaped (a zombie) can still be opened. Fails with
/// `ENOSYS` before Linux 5.3, `ESRCH` if there is no such process, `EINVAL` for a `pid` of 0
/// or below.
///
/// ```
/// use std::os::fd::AsFd;
/// let mut child = std::process::Command::new("true").spawn()?;
/// let pidfd = rawrt_sys::process::pidfd_open(child.id() as i32)?;
/// // Reap it through the pidfd; `WNOHANG`, so ask until it has exited.
/// let status = loop {
///     if let Some(status) = rawrt_sys::process::waitid_pidfd(pidfd.as_fd())? {
///         break status;
///     }
///     std::thread::yield_now();
/// };
/// assert!(status.success());
/// # let _ = child.try_wait(); // already reaped: std sees ECHILD
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    if !NO_PIDFD_NONBLOCK.load(Relaxed) {
        // SAFETY: pidfd_open takes a pid and a flags word, no pointers.
        match syscall!(syscall(libc::SYS_pidfd_open, pid as c_int, PIDFD_NONBLOCK)) {
            Ok(fd) => return Ok(owned(fd as c_int)),
            // EINVAL is either the flag (kernel < 5.10) or the pid: tell them apart by
            // trying again without the flag.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && pid > 0 => {}
            Err(e) => return Err(e),
        }
    }
    // SAFETY: pidfd_open takes a pid and a flags word, no pointers.
    let fd = syscall!(syscall(
        libc::SYS_pidfd_open,
        pid as c_int,
        0 as libc::c_uint
    ))?;
    if pid > 0 {
        NO_PIDFD_NONBLOCK.store(true, Relaxed);
    }
    Ok(owned(fd as c_int))
}

/// Sends signal `signo` to the process of `pidfd` (`pidfd_send_signal(2)` with no siginfo
/// and no flags, through `syscall(SYS_pidfd_send_signal)`), like `kill(2)` but to exactly
/// that process.
///
/// Succeeds for a child that has exited but was not reaped yet (the signal has no effect);
/// fails with `ESRCH` once it has been reaped, `EINVAL` for a bad signal number, `ENOSYS`
/// before Linux 5.1.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signo: i32) -> io::Result<()> {
    // SAFETY: a null siginfo pointer is allowed (the kernel fills in a default, as for kill);
    // flags must be 0; the fd is borrowed, so open.
    syscall!(syscall(
        libc::SYS_pidfd_send_signal,
        pidfd.as_raw_fd(),
        signo as c_int,
        ptr::null::<libc::siginfo_t>(),
        0 as libc::c_uint
    ))?;
    Ok(())
}

/// Reaps the child of `pidfd` if it has exited (`waitid(P_PIDFD, pidfd, WEXITED | WNOHANG)`,
/// Linux 5.4): `Ok(Some(status))` once (the child is then gone), `Ok(None)` while it runs.
///
/// Fails with `ECHILD` if the process is not our child or was already reaped, `EINVAL`
/// before Linux 5.4 (no `P_PIDFD`). `EINTR` is retried.
pub fn waitid_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<Option<ExitStatus>> {
    waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t)
}

/// Reaps child `pid` if it has exited (`waitid(P_PID, pid, WEXITED | WNOHANG)`):
/// `Ok(Some(status))` once, `Ok(None)` while it runs. For kernels without pidfds.
///
/// Fails with `ECHILD` if `pid` is not an unreaped child of this process, `EINVAL` for a
/// `pid` of 0 or below. `EINTR` is retried.
pub fn waitid_pid(pid: i32) -> io::Result<Option<ExitStatus>> {
    if pid <= 0 {
        // waitid(P_PID, 0) would mean "any child" on some kernels; never reap a stranger.
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    waitid(libc::P_PID, pid as libc::id_t)
}

/// `waitid(idtype, id, WEXITED | WNOHANG)`, turned into an `ExitStatus`.
fn waitid(idtype: libc::idtype_t, id: libc::id_t) -> io::Result<Option<ExitStatus>> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    retry_eintr(|| {
        // SAFETY: `info` is a writable siginfo_t that outlives the call; the kernel writes
        // only into it.
        syscall!(waitid(
            idtype,
            id,
            info.as_mut_ptr(),
            libc::WEXITED | libc::WNOHANG
        ))
    })?;
    // SAFETY: zeroed, then (maybe) filled in by the kernel; siginfo_t holds integers only.
    let info = unsafe { info.assume_init() };
    // With WNOHANG and no exited child the kernel leaves si_pid 0 (we zeroed it).
    // SAFETY: for SIGCHLD-style results the kernel fills the child fields si_pid/si_status.
    if unsafe { info.si_pid() } == 0 {
        return Ok(None);
    }
    // SAFETY: as above; si_status is the exit code or the signal number, per si_code.
    let status = unsafe { info.si_status() };
    exit_status_from_siginfo(info.si_code, status).map(Some)
}

/// Builds the [`ExitStatus`] that `waitid` reported as `si_code` and `si_status`: the exit
/// code for `CLD_EXITED`, the signal for `CLD_KILLED` and `CLD_DUMPED` (the latter with the
/// core-dump bit), as the wait-status word `waitpid` would have given.
///
/// Any other code (`CLD_STOPPED`, `CLD_CONTINUED`, `CLD_TRAPPED`: not exits) is an
/// `InvalidData` error.
///
/// ```
/// use std::os::unix::process::ExitStatusExt;
/// use rawrt_sys::process::exit_status_from_siginfo;
///
/// assert_eq!(exit_status_from_siginfo(libc::CLD_EXITED, 3)?.code(), Some(3));
/// let killed = exit_status_from_siginfo(libc::CLD_KILLED, libc::SIGKILL)?;
/// assert_eq!((killed.code(), killed.signal()), (None, Some(libc::SIGKILL)));
/// assert!(exit_status_from_siginfo(libc::CLD_DUMPED, libc::SIGABRT)?.core_dumped());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn exit_status_from_siginfo(si_code: i32, si_status: i32) -> io::Result<ExitStatus> {
    // The wait-status word: exit code in bits 8..16 (low 7 bits zero), or the signal number
    // in bits 0..7 with bit 7 set when a core was dumped.
    let raw = match si_code {
        libc::CLD_EXITED => (si_status & 0xff) << 8,
        libc::CLD_KILLED => si_status & 0x7f,
        libc::CLD_DUMPED => (si_status & 0x7f) | 0x80,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("waitid reported si_code {other}, which is not an exit"),
            ))
        }
    };
    Ok(ExitStatus::from_raw(raw))
}

/// Reaps child `pid` if it has exited (`waitpid(pid, WNOHANG)`): `Ok(Some(status))` once,
/// `Ok(None)` while it runs. For kernels without pidfds.
///
/// Fails with `ECHILD` if `pid` is not an unreaped child of this process, and with `EINVAL`
/// for a `pid` of 0 or below (which `waitpid` would take as "any child of a process
/// group"; refused here so that no stranger is reaped). `EINTR` is retried.
pub fn waitpid(pid: i32) -> io::Result<Option<ExitStatus>> {
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut status: c_int = 0;
    // SAFETY: `status` is a writable c_int that outlives the call.
    let got = retry_eintr(|| syscall!(waitpid(pid, &mut status, libc::WNOHANG)))?;
    if got == 0 {
        return Ok(None);
    }
    Ok(Some(ExitStatus::from_raw(status)))
}

/// Sends signal `signo` to process `pid` (`kill(2)`). Errors are the OS's: `ESRCH` for no
/// such process, `EINVAL` for a bad signal number, `EPERM` without permission. A `pid` of 0
/// or below addresses a process group or every process, as in `kill(2)`; signal 0 only checks
/// that the process exists.
///
/// Unlike [`pidfd_send_signal`], a pid may have been reused by an unrelated process once the
/// original was reaped; signal a child only while it is known not to be reaped.
pub fn kill(pid: i32, signo: i32) -> io::Result<()> {
    // SAFETY: kill takes no pointers.
    syscall!(kill(pid, signo))?;
    Ok(())
}

/// Creates a pipe (`pipe2(O_CLOEXEC)`): `(read end, write end)`. Both ends are blocking;
/// make one nonblocking with [`socket::set_nonblocking`](crate::socket::set_nonblocking)
/// (its own open file, so the other end keeps its mode).
///
/// ```
/// use std::os::fd::AsFd;
/// let (rx, tx) = rawrt_sys::process::pipe2()?;
/// assert_eq!(rawrt_sys::socket::write(tx.as_fd(), b"hi")?, 2);
/// drop(tx);
/// let mut buf = [0; 8];
/// assert_eq!(rawrt_sys::socket::read(rx.as_fd(), &mut buf)?, 2);
/// assert_eq!(rawrt_sys::socket::read(rx.as_fd(), &mut buf)?, 0); // writer gone: EOF
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pipe2() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: `fds` is a writable array of two c_ints, which is what pipe2 fills in.
    syscall!(pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC))?;
    Ok((owned(fds[0]), owned(fds[1])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siginfo_conversion_matches_wait_status_words() {
        let exited = exit_status_from_siginfo(libc::CLD_EXITED, 7).unwrap();
        assert_eq!(exited.into_raw(), 7 << 8);
        assert_eq!((exited.code(), exited.signal()), (Some(7), None));
        assert!(!exited.success());
        assert!(exit_status_from_siginfo(libc::CLD_EXITED, 0)
            .unwrap()
            .success());
        // An exit code is 8 bits: 256 + 1 reads back as 1.
        assert_eq!(
            exit_status_from_siginfo(libc::CLD_EXITED, 257)
                .unwrap()
                .code(),
            Some(1)
        );

        let killed = exit_status_from_siginfo(libc::CLD_KILLED, libc::SIGTERM).unwrap();
        assert_eq!(
            (killed.code(), killed.signal(), killed.core_dumped()),
            (None, Some(libc::SIGTERM), false)
        );

        let dumped = exit_status_from_siginfo(libc::CLD_DUMPED, libc::SIGSEGV).unwrap();
        assert_eq!(
            (dumped.code(), dumped.signal(), dumped.core_dumped()),
            (None, Some(libc::SIGSEGV), true)
        );

        for code in [libc::CLD_STOPPED, libc::CLD_CONTINUED, libc::CLD_TRAPPED, 0] {
            let err = exit_status_from_siginfo(code, 0).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{code}: {err}");
        }
    }

    #[test]
    fn pid_calls_refuse_pids_that_mean_a_group() {
        for pid in [0, -1] {
            assert_eq!(waitpid(pid).unwrap_err().raw_os_error(), Some(libc::EINVAL));
            assert_eq!(
                waitid_pid(pid).unwrap_err().raw_os_error(),
                Some(libc::EINVAL)
            );
        }
    }
}
