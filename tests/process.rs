//! `rawrt::process` end to end, with real children (`sh`, `cat`, `sleep`, ...).
//!
//! Every body runs under a watchdog (`common::with_timeout`) and every wait for an event is
//! bounded (`PATIENCE`). The `SIGCHLD` fallback is tested by re-running this binary with
//! `RAWRT_PROCESS_FORCE_SIGCHLD=1` (the knob is read once per process), running only the
//! ignored test `fallback_scenarios`.

mod common;

use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use rawrt::io::{AsyncRead, AsyncWrite, ReadBuf};
use rawrt::process::{Child, ChildStdout, Command};
use rawrt_sys::{Epoll, Events, Interest};

const PATIENCE: Duration = Duration::from_secs(10);
const FORCE_SIGCHLD: &str = "RAWRT_PROCESS_FORCE_SIGCHLD";

/// Runs `body` on a two-worker runtime under the watchdog.
fn run<F, Fut>(what: &'static str, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    common::with_timeout(what, common::LIMIT, move || {
        let rt = common::runtime(2, what);
        rt.block_on(body());
    })
}

/// `future`, or a test failure naming `what` if it takes longer than `PATIENCE`.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match rawrt::time::timeout(PATIENCE, future).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not done within {PATIENCE:?}"),
    }
}

/// Reads `r` to end of stream (a local helper: the io extension traits live elsewhere).
async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut buf = ReadBuf::new(&mut chunk);
        poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
        if buf.filled().is_empty() {
            return Ok(out);
        }
        out.extend_from_slice(buf.filled());
    }
}

/// Writes all of `data` to `w`.
async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, data)).await?;
        assert!(n > 0, "poll_write returned 0");
        data = &data[n..];
    }
    Ok(())
}

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script);
    cmd
}

fn proc_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Spawns and waits for throwaway children (each spawn and wait reaps the orphan list)
/// until `/proc/<pid>` is gone; fails after `PATIENCE`.
async fn reaped_by_later_children(pid: u32) {
    bounded("orphan reaped", async {
        while proc_exists(pid) {
            assert!(Command::new("true").status().await.unwrap().success());
            rawrt::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
}

/// A pidfd for `pid` in its own epoll set, to observe its exit without reaping it.
fn exit_observer(pid: u32) -> (Epoll, std::os::fd::OwnedFd) {
    let pidfd = rawrt_sys::process::pidfd_open(pid as i32).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(pidfd.as_fd(), 1, Interest::READABLE).unwrap();
    (epoll, pidfd)
}

fn exits_within(epoll: &Epoll, limit: Duration) -> bool {
    let mut events = Events::with_capacity(4);
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if epoll.wait(&mut events, Some(left)).unwrap() > 0 {
            return true;
        }
        if left.is_zero() {
            return false;
        }
    }
}

// ---- the scenarios, shared by the pidfd run and the SIGCHLD-fallback run ----

async fn status_is_the_exit_code() {
    let status = bounded("status", sh("exit 7").status()).await.unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(status.signal(), None);
    assert!(!status.success());
    let status = bounded("status", sh("exit 0").status()).await.unwrap();
    assert!(status.success());
}

async fn output_captures_both_streams() {
    let out = bounded("output", sh("printf out; printf err >&2; exit 2").output())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"out");
    assert_eq!(out.stderr, b"err");

    // More than a pipe holds on stderr before stdout is written: only reading both at once
    // lets the child finish.
    let out = bounded(
        "big output",
        sh("head -c 300000 /dev/zero >&2; head -c 200000 /dev/zero").output(),
    )
    .await
    .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stderr.len(), 300_000);
    assert_eq!(out.stdout.len(), 200_000);
    assert!(out.stdout.iter().chain(&out.stderr).all(|&b| b == 0));
}

async fn kill_then_wait_reports_sigkill() {
    let mut child = sh("exec sleep 30").spawn().unwrap();
    assert!(child.try_wait().unwrap().is_none());
    bounded("kill", child.kill()).await.unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(9));
    assert_eq!(status.code(), None);
    assert_eq!(child.id(), None);
    // Killing a reaped child is fine, and changes nothing.
    child.start_kill().unwrap();
    assert_eq!(child.wait().await.unwrap(), status);
}

async fn try_wait_before_and_after_exit() {
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = cat.id().unwrap();
    // `cat` waits for input: not exited, and try_wait does not close stdin.
    assert!(cat.try_wait().unwrap().is_none());
    assert!(cat.stdin.is_some());
    assert_eq!(cat.id(), Some(pid));

    drop(cat.stdin.take()); // end of input: cat exits
    let status = bounded("try_wait", async {
        loop {
            if let Some(status) = cat.try_wait().unwrap() {
                return status;
            }
            rawrt::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(status.success());
    assert_eq!(cat.id(), None);
    assert!(!proc_exists(pid), "try_wait reaped it");
    assert_eq!(cat.try_wait().unwrap(), Some(status));
    assert_eq!(cat.wait().await.unwrap(), status);
}

async fn many_children_waited_from_tasks(n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            rawrt::spawn(async move {
                let mut child = sh(&format!("exit {}", i % 100)).spawn().unwrap();
                let status = child.wait().await.unwrap();
                (i, status)
            })
        })
        .collect();
    for task in tasks {
        let (i, status) = bounded("many children", task).await.unwrap();
        assert_eq!(status.code(), Some((i % 100) as i32), "child {i}");
    }
}

async fn kill_on_drop_kills_and_the_orphan_is_reaped() {
    let child = sh("exec sleep 30").kill_on_drop(true).spawn().unwrap();
    let pid = child.id().unwrap();
    let (epoll, _pidfd) = exit_observer(pid);
    drop(child);
    assert!(
        exits_within(&epoll, PATIENCE),
        "kill_on_drop did not kill {pid}"
    );
    reaped_by_later_children(pid).await;
}

// ---- tests: the pidfd path ----

#[test]
fn status_of_exit_7() {
    run("status", status_is_the_exit_code);
}

#[test]
fn output_captures_stdout_and_stderr() {
    run("output", output_captures_both_streams);
}

#[test]
fn kill_and_wait_gives_a_signal_exit() {
    run("kill", kill_then_wait_reports_sigkill);
}

#[test]
fn try_wait_before_and_after() {
    run("try_wait", try_wait_before_and_after_exit);
}

#[test]
fn fifty_children_waited_concurrently() {
    run("many", || many_children_waited_from_tasks(50));
}

#[test]
fn kill_on_drop_kills_the_child() {
    run("kill_on_drop", kill_on_drop_kills_and_the_orphan_is_reaped);
}

#[test]
fn pidfd_path_installs_no_sigchld_handler() {
    run("no_sigchld", || async {
        assert!(sh("exit 0").status().await.unwrap().success());
        assert!(
            !rawrt_sys::signal::handler_installed(libc::SIGCHLD),
            "the pidfd path must not need SIGCHLD"
        );
    });
}

#[test]
fn stdin_piped_in_is_echoed_back_by_cat() {
    run("cat", || async {
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let mut stdout = cat.stdout.take().unwrap();
        // More than a pipe holds, so writing and reading must overlap.
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = rawrt::spawn(async move {
            write_all(&mut stdin, &data).await.unwrap();
            poll_fn(|cx| Pin::new(&mut stdin).poll_flush(cx))
                .await
                .unwrap();
            poll_fn(|cx| Pin::new(&mut stdin).poll_shutdown(cx))
                .await
                .unwrap();
            drop(stdin); // the end of input
        });
        let got = bounded("cat echo", read_to_end(&mut stdout)).await.unwrap();
        bounded("writer", writer).await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "cat echoed different bytes");
        assert!(cat.wait().await.unwrap().success());
    });
}

#[test]
fn wait_closes_stdin_so_cat_exits() {
    run("wait_closes_stdin", || async {
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        write_all(cat.stdin.as_mut().unwrap(), b"last words")
            .await
            .unwrap();
        let mut stdout = cat.stdout.take().unwrap();
        // Without closing stdin this would hang until the watchdog fires.
        let status = bounded("wait", cat.wait()).await.unwrap();
        assert!(status.success());
        assert!(cat.stdin.is_none());
        assert_eq!(read_to_end(&mut stdout).await.unwrap(), b"last words");
    });
}

#[test]
fn wait_with_output_closes_stdin_and_reads_both() {
    run("wait_with_output", || async {
        let mut child = sh("cat; echo done >&2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        write_all(child.stdin.as_mut().unwrap(), b"input")
            .await
            .unwrap();
        let out = bounded("wait_with_output", child.wait_with_output())
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"input");
        assert_eq!(out.stderr, b"done\n");

        // Streams that were not piped come back empty.
        let out = sh("exit 3")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
            .wait_with_output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert!(out.stdout.is_empty() && out.stderr.is_empty());
    });
}

#[test]
fn id_is_none_after_reap() {
    run("id", || async {
        let mut child = sh("exit 0").spawn().unwrap();
        let pid = child.id().expect("running child has an id");
        assert!(pid > 0);
        child.wait().await.unwrap();
        assert_eq!(child.id(), None);
        assert!(!proc_exists(pid), "wait reaped it");
    });
}

#[test]
fn a_dropped_child_runs_on_without_kill_on_drop_and_is_reaped_later() {
    run("drop_no_kill", || async {
        let child = sh("exec sleep 30").spawn().unwrap();
        let pid = child.id().unwrap();
        let (epoll, _pidfd) = exit_observer(pid);
        drop(child);
        assert!(
            !exits_within(&epoll, Duration::from_millis(100)),
            "dropping without kill_on_drop killed the child"
        );
        assert!(proc_exists(pid));
        rawrt_sys::process::kill(pid as i32, libc::SIGKILL).unwrap();
        assert!(exits_within(&epoll, PATIENCE));
        reaped_by_later_children(pid).await;
    });
}

#[test]
fn kill_on_drop_of_the_output_future_kills_the_child() {
    run("output_drop", || async {
        let pidfile = std::env::temp_dir().join(format!("rawrt-process-{}", std::process::id()));
        let _ = std::fs::remove_file(&pidfile);
        let script = format!(
            "echo $$ > {0}.tmp && mv {0}.tmp {0} && exec sleep 30",
            pidfile.display()
        );
        // Spawned by `output()` itself; the future owns the child.
        let fut = sh(&script).kill_on_drop(true).output();
        let pid: u32 = bounded("pid file", async {
            loop {
                if let Ok(text) = std::fs::read_to_string(&pidfile) {
                    return text.trim().parse().unwrap();
                }
                rawrt::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        std::fs::remove_file(&pidfile).unwrap();
        let (epoll, _pidfd) = exit_observer(pid);
        assert!(!exits_within(&epoll, Duration::ZERO), "still sleeping");
        drop(fut);
        assert!(
            exits_within(&epoll, PATIENCE),
            "dropping the future did not kill {pid}"
        );
        reaped_by_later_children(pid).await;
    });
}

#[test]
fn wait_is_cancel_safe() {
    run("cancel", || async {
        let mut child = sh("exec sleep 30").spawn().unwrap();
        assert!(
            rawrt::time::timeout(Duration::from_millis(20), child.wait())
                .await
                .is_err()
        );
        assert!(child.id().is_some());
        child.start_kill().unwrap();
        let status = bounded("wait after cancel", child.wait()).await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn missing_program_is_not_found_with_enoent() {
    run("missing", || async {
        let err = Command::new("/definitely/not/a/program")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
        let err = Command::new("no-such-program-rawrt-test")
            .status()
            .await
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    });
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let err = Command::new("true").spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(err.to_string().contains("runtime"), "{err}");
}

#[test]
fn env_current_dir_and_arg0_reach_the_child() {
    run("env", || async {
        let out = sh("printf '%s|%s|%s|' \"$FOO\" \"$BAR\" \"$HOME_SET\"; pwd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs([("FOO", "foo"), ("BAR", "bar")])
            .env("HOME_SET", "x")
            .env_remove("HOME_SET")
            .current_dir("/")
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "foo|bar||/\n");

        let out = Command::new("/bin/sh")
            .arg0("renamed")
            .args(["-c", "printf %s \"$0\""])
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"renamed");

        let mut cmd = sh("exit 0");
        cmd.kill_on_drop(true);
        assert!(cmd.get_kill_on_drop());
        assert_eq!(cmd.as_std().get_program(), "/bin/sh");
        cmd.as_std_mut().arg("ignored");
        assert_eq!(cmd.as_std().get_args().count(), 3);
        let std_cmd = cmd.into_std();
        let mut back = Command::from(std_cmd);
        assert!(!back.get_kill_on_drop());
        assert!(back.status().await.unwrap().success());
    });
}

#[test]
fn process_group_zero_makes_the_child_a_group_leader() {
    run("pgroup", || async {
        let mut child = sh("exec sleep 30")
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // After "pid (comm) state ppid": the process group.
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        assert_eq!(fields[2], pid.to_string(), "pgrp of {pid}: {stat}");
        child.kill().await.unwrap();
    });
}

#[test]
fn write_after_the_child_closed_stdin_is_broken_pipe() {
    run("epipe", || async {
        let mut child = sh("exec 0<&-; exit 0")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        assert!(child.wait().await.unwrap().success());
        let err = write_all(&mut stdin, b"nobody reads this")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    });
}

#[test]
fn pipes_convert_to_blocking_fds_and_stdio() {
    run("convert", || async {
        // ChildStdout -> OwnedFd, read with std (blocking).
        let mut child = Command::new("echo")
            .arg("plain")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let fd = child.stdout.take().unwrap().into_owned_fd().unwrap();
        let mut text = String::new();
        std::fs::File::from(fd).read_to_string(&mut text).unwrap();
        assert_eq!(text, "plain\n");
        assert!(child.wait().await.unwrap().success());

        // ChildStdout -> Stdio: one child's output is the next one's input.
        let mut first = Command::new("echo")
            .arg("shout")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe: ChildStdout = first.stdout.take().unwrap();
        let stdin: Stdio = pipe.try_into().unwrap();
        let out = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(stdin)
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"SHOUT\n");
        assert!(first.wait().await.unwrap().success());

        // And back: from std's handle.
        let mut std_child = std::process::Command::new("echo")
            .arg("from std")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = ChildStdout::from_std(std_child.stdout.take().unwrap()).unwrap();
        assert_eq!(read_to_end(&mut stdout).await.unwrap(), b"from std\n");
        assert!(std_child.wait().unwrap().success());
    });
}

#[test]
fn debug_shows_the_pid_then_the_status() {
    run("debug", || async {
        let mut child: Child = sh("exit 0").spawn().unwrap();
        let pid = child.id().unwrap();
        assert!(format!("{child:?}").contains(&format!("pid: {pid}")));
        child.wait().await.unwrap();
        assert!(format!("{child:?}").contains("status"), "{child:?}");
    });
}

// ---- the SIGCHLD fallback, in a child process of this binary ----

#[test]
fn sigchld_fallback_passes_the_same_scenarios() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "fallback_scenarios",
            "--ignored",
            "--test-threads=1",
        ])
        .env(FORCE_SIGCHLD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fallback run failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("test fallback_scenarios ... ok") && stdout.contains("1 passed"),
        "the fallback scenarios did not run: {stdout}\n{stderr}"
    );
}

/// Run by `sigchld_fallback_passes_the_same_scenarios` with the fallback forced.
#[test]
#[ignore = "run by sigchld_fallback_passes_the_same_scenarios with RAWRT_PROCESS_FORCE_SIGCHLD=1"]
fn fallback_scenarios() {
    // Run by hand (`--include-ignored`) without the knob, this is the pidfd path again.
    let forced = std::env::var(FORCE_SIGCHLD).as_deref() == Ok("1");
    run("fallback", move || async move {
        status_is_the_exit_code().await;
        // The fallback listens to SIGCHLD; the pidfd path never does.
        assert_eq!(rawrt_sys::signal::handler_installed(libc::SIGCHLD), forced);
        output_captures_both_streams().await;
        kill_then_wait_reports_sigkill().await;
        try_wait_before_and_after_exit().await;
        many_children_waited_from_tasks(50).await;
        kill_on_drop_kills_and_the_orphan_is_reaped().await;
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<Child>();
    send_sync::<rawrt::process::ChildStdin>();
    send_sync::<ChildStdout>();
    send_sync::<rawrt::process::ChildStderr>();
}

#[test]
fn vectored_writes_reach_the_child_in_order() {
    run("writev", || async {
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        assert!(stdin.is_write_vectored());
        let parts = [
            io::IoSlice::new(b"one "),
            io::IoSlice::new(b""),
            io::IoSlice::new(b"two "),
            io::IoSlice::new(b"three"),
        ];
        let n = poll_fn(|cx| Pin::new(&mut stdin).poll_write_vectored(cx, &parts))
            .await
            .unwrap();
        // A pipe with room takes all 13 bytes at once.
        assert_eq!(n, 13);
        drop(stdin);
        let got = bounded("cat", read_to_end(cat.stdout.as_mut().unwrap()))
            .await
            .unwrap();
        assert_eq!(got, b"one two three");
        assert!(cat.wait().await.unwrap().success());
    });
}
