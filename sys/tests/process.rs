//! Process calls against real children: pidfds, waitid/waitpid, kill, pipe2.
//!
//! Children are started with `std::process::Command` and reaped by the calls under test
//! (never by std's `Child::wait`).

mod common;

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use common::{wait_for, PATIENCE};
use rawrt_sys::process::{self, pidfd_open, pidfd_send_signal, waitid_pid, waitid_pidfd, waitpid};
use rawrt_sys::{socket, Epoll, Event, Interest};

/// Calls `poll` until it reports an exit, for at most `PATIENCE`.
fn reap_with(mut poll: impl FnMut() -> io::Result<Option<ExitStatus>>) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = poll().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "child did not exit within {PATIENCE:?}"
        );
        std::thread::yield_now();
    }
}

fn spawn_sh(script: &str) -> (std::process::Child, i32) {
    let child = Command::new("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    (child, pid)
}

/// The fd flags (`F_GETFD`) and status flags (`F_GETFL`) of `fd`, read from `/proc`.
fn fd_flags(fd: i32) -> (bool, u32) {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    (flags & libc::O_CLOEXEC as u32 != 0, flags)
}

#[test]
fn pidfd_becomes_readable_on_exit_and_reaps_the_exit_code() {
    let (_child, pid) = spawn_sh("exit 3");
    let pidfd = pidfd_open(pid).unwrap();
    let (cloexec, flags) = fd_flags(pidfd.as_raw_fd());
    assert!(cloexec, "pidfd not close-on-exec: flags {flags:o}");

    let epoll = Epoll::new().unwrap();
    epoll.add(pidfd.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);

    let status = waitid_pidfd(pidfd.as_fd())
        .unwrap()
        .expect("readable pidfd: exited");
    assert_eq!(status.code(), Some(3));
    assert_eq!(status.signal(), None);
    // Reaped: a second wait finds no child.
    let err = waitid_pidfd(pidfd.as_fd()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECHILD), "{err}");
    // And the pid is no longer ours.
    assert_eq!(waitpid(pid).unwrap_err().raw_os_error(), Some(libc::ECHILD));
}

#[test]
fn waitid_pidfd_is_none_while_running_and_the_signal_after_a_kill() {
    let (_child, pid) = spawn_sh("exec sleep 30");
    let pidfd = pidfd_open(pid).unwrap();
    assert!(waitid_pidfd(pidfd.as_fd()).unwrap().is_none());

    pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap();
    let status = reap_with(|| waitid_pidfd(pidfd.as_fd()));
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(status.code(), None);
    assert!(!status.core_dumped());

    // Reaped: signalling it now fails, and names the process as gone.
    let err = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err}");
}

#[test]
fn pidfd_send_signal_to_a_zombie_succeeds() {
    let (_child, pid) = spawn_sh("exit 0");
    let pidfd = pidfd_open(pid).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(pidfd.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    // Exited, not reaped: signals are accepted and ignored.
    pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap();
    assert!(waitid_pidfd(pidfd.as_fd()).unwrap().unwrap().success());
}

#[test]
fn bad_arguments_keep_the_os_error() {
    // No such process (pid_max is at most 2^22).
    let err = pidfd_open(i32::MAX).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err}");
    for pid in [0, -5] {
        let err = pidfd_open(pid).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "pid {pid}: {err}");
    }

    let (_child, pid) = spawn_sh("exec sleep 30");
    let pidfd = pidfd_open(pid).unwrap();
    let err = pidfd_send_signal(pidfd.as_fd(), 1000).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    let err = process::kill(pid, -1).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");

    // A pidfd call on an fd that is not a pidfd.
    let (rx, _tx) = process::pipe2().unwrap();
    let err = pidfd_send_signal(rx.as_fd(), libc::SIGKILL).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");

    pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap();
    reap_with(|| waitid_pidfd(pidfd.as_fd()));
}

#[test]
fn waitpid_and_waitid_on_a_pid_reap_exit_codes_and_signals() {
    let (_child, pid) = spawn_sh("exit 42");
    let status = reap_with(|| waitpid(pid));
    assert_eq!(status.code(), Some(42));
    assert_eq!(waitpid(pid).unwrap_err().raw_os_error(), Some(libc::ECHILD));

    let (_child, pid) = spawn_sh("exit 5");
    assert_eq!(reap_with(|| waitid_pid(pid)).code(), Some(5));
    assert_eq!(
        waitid_pid(pid).unwrap_err().raw_os_error(),
        Some(libc::ECHILD)
    );

    // Killed with kill(2) while running: both report the signal.
    let (_child, pid) = spawn_sh("exec sleep 30");
    assert!(waitpid(pid).unwrap().is_none());
    process::kill(pid, libc::SIGTERM).unwrap();
    let status = reap_with(|| waitpid(pid));
    assert_eq!(
        (status.code(), status.signal()),
        (None, Some(libc::SIGTERM))
    );

    let (_child, pid) = spawn_sh("exec sleep 30");
    assert!(waitid_pid(pid).unwrap().is_none());
    process::kill(pid, libc::SIGKILL).unwrap();
    assert_eq!(reap_with(|| waitid_pid(pid)).signal(), Some(libc::SIGKILL));
    // Gone: kill reports no such process.
    assert_eq!(
        process::kill(pid, 0).unwrap_err().raw_os_error(),
        Some(libc::ESRCH)
    );
}

#[test]
fn a_core_dump_is_reported_as_such_by_both_wait_paths() {
    // `ulimit -c` may forbid cores, in which case the kernel reports CLD_KILLED. Either
    // way both paths must agree with each other on the signal, and with the core bit.
    for pidfd_path in [true, false] {
        let (_child, pid) = spawn_sh("kill -QUIT $$");
        let status = if pidfd_path {
            let pidfd = pidfd_open(pid).unwrap();
            reap_with(|| waitid_pidfd(pidfd.as_fd()))
        } else {
            reap_with(|| waitpid(pid))
        };
        assert_eq!(status.signal(), Some(libc::SIGQUIT), "{status:?}");
        assert_eq!(status.code(), None);
        let raw = status.into_raw();
        assert_eq!(raw & 0x7f, libc::SIGQUIT);
        assert_eq!(status.core_dumped(), raw & 0x80 != 0);
    }
}

#[test]
fn pipe2_ends_are_close_on_exec_and_carry_data_to_a_child() {
    let (rx, tx) = process::pipe2().unwrap();
    for fd in [rx.as_raw_fd(), tx.as_raw_fd()] {
        let (cloexec, flags) = fd_flags(fd);
        assert!(cloexec, "fd {fd} not close-on-exec: {flags:o}");
        assert_eq!(flags & libc::O_NONBLOCK as u32, 0, "blocking by default");
    }
    // The write end becomes the child's stdout (std dups it onto fd 1, clearing CLOEXEC
    // for the child only). Reaped below through rawrt-sys, not std's `wait`.
    #[allow(clippy::zombie_processes)]
    let child = Command::new("/bin/sh")
        .args(["-c", "printf hello"])
        .stdout(std::process::Stdio::from(tx))
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    socket::set_nonblocking(rx.as_fd(), true).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll
        .add(rx.as_fd(), 1, Interest::READABLE | Interest::EDGE)
        .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut buf = [0u8; 64];
        match socket::read(rx.as_fd(), &mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no EOF within {PATIENCE:?}");
                wait_for(&epoll, 1, |_| true);
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    assert_eq!(got, b"hello");
    assert!(reap_with(|| waitpid(pid)).success());
}

#[test]
fn pipe_with_no_reader_gives_epipe() {
    // Rust ignores SIGPIPE, so write(2) reports EPIPE.
    let (rx, tx) = process::pipe2().unwrap();
    drop(rx);
    let err = socket::write(tx.as_fd(), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
}
