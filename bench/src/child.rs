//! Child processes with bounded lifetimes: every process the benchmark starts (servers,
//! load generators, wrk, perf) is held by a [`ChildGuard`], which kills and reaps it when
//! dropped, on success, on error and on panic alike, and every wait has a time limit.
//!
//! Our own children (`--serve`, `--load`) also get a pipe on stdin and exit when it closes
//! ([`exit_when_stdin_closes`]), so even a parent killed with SIGKILL leaves nothing behind.
//!
//! The same pipe carries commands: a server child answers them ([`answer_stdin_commands`];
//! today the only one is `stats`, see `servers::answer`). One line each way, tagged with a
//! sequence number so that a late answer is never taken for the next one:
//!
//! ```text
//! parent -> child stdin:   7 stats
//! child stdout -> parent:  7 {"server":"rawrt","backend":"epoll","total":123,...}
//! ```
//!
//! [`ChildGuard::ask`] is the parent's side.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running child process, killed and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
    what: String,
    /// The child's stdout, line by line, from a reader thread started by the first
    /// [`ChildGuard::next_line`].
    lines: Option<mpsc::Receiver<io::Result<String>>>,
    /// The sequence number of the last [`ChildGuard::ask`].
    seq: u64,
}

/// What a finished child left.
#[derive(Debug)]
pub struct Output {
    /// It exited with status 0.
    pub success: bool,
    /// Its exit status, for messages.
    pub status: String,
    /// Its stdout (lossy UTF-8), when piped.
    pub stdout: String,
    /// Its stderr (lossy UTF-8), when piped.
    pub stderr: String,
}

impl ChildGuard {
    /// Starts `cmd`. `what` names it in error messages.
    pub fn spawn(mut cmd: Command, what: &str) -> Result<ChildGuard, String> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        Ok(ChildGuard {
            child: Some(child),
            what: what.to_string(),
            lines: None,
            seq: 0,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Takes the child's stdout pipe (if it was piped and not taken yet).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Whether the child has exited (and reaps it if so).
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Reads the next line the child prints on stdout (without the line end), waiting at most
    /// `limit`. The first call starts a thread that reads the child's stdout until it closes.
    pub fn next_line(&mut self, limit: Duration) -> Result<String, String> {
        if self.lines.is_none() {
            let stdout = self
                .take_stdout()
                .ok_or_else(|| format!("{}: stdout is not piped", self.what))?;
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let failed = line.is_err();
                    if tx.send(line).is_err() || failed {
                        return;
                    }
                }
            });
            self.lines = Some(rx);
        }
        let lines = self.lines.as_ref().expect("reader started above");
        match lines.recv_timeout(limit) {
            Ok(Ok(line)) => Ok(line.trim_end().to_string()),
            Ok(Err(e)) => Err(format!("{}: reading its stdout: {e}", self.what)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("{} printed nothing within {limit:?}", self.what))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(format!("{} closed its stdout (exited?)", self.what))
            }
        }
    }

    /// Sends `command` to the child (one line on its stdin, tagged with a new sequence
    /// number) and returns its answer: the rest of the first stdout line tagged with that
    /// number. Other lines (a late answer to an earlier command, stray output) are skipped.
    /// Waits at most `limit` in all.
    pub fn ask(&mut self, command: &str, limit: Duration) -> Result<String, String> {
        self.seq += 1;
        let seq = self.seq;
        let what = self.what.clone();
        let stdin = self
            .child
            .as_mut()
            .and_then(|c| c.stdin.as_mut())
            .ok_or_else(|| format!("{what}: stdin is not piped"))?;
        stdin
            .write_all(format!("{seq} {command}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{what}: sending {command:?}: {e}"))?;
        let deadline = Instant::now() + limit;
        let tag = format!("{seq} ");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .next_line(left)
                .map_err(|e| format!("no answer to {command:?}: {e}"))?;
            if let Some(answer) = line.strip_prefix(&tag) {
                return Ok(answer.to_string());
            }
        }
    }

    /// Waits for the child to exit, at most `limit`, collecting its piped stdout and stderr.
    /// Past the limit the child is killed and this is an error.
    pub fn wait_output(mut self, limit: Duration) -> Result<Output, String> {
        let Some(mut child) = self.child.take() else {
            return Err(format!("{}: already reaped", self.what));
        };
        let collect = |pipe: Option<Box<dyn Read + Send>>| {
            let (tx, rx) = mpsc::channel();
            if let Some(mut p) = pipe {
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let _ = p.read_to_end(&mut buf);
                    let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
                });
            } else {
                let _ = tx.send(String::new());
            }
            rx
        };
        let out_rx = collect(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err_rx = collect(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not finish within {limit:?}; killed",
                        self.what
                    ));
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{}: waiting for it: {e}", self.what));
                }
            }
        };
        // The pipes close when the child (and anything it started) exits; don't hang if a
        // grandchild keeps one open.
        let grace = Duration::from_secs(2);
        let stdout = out_rx.recv_timeout(grace).unwrap_or_default();
        let stderr = err_rx.recv_timeout(grace).unwrap_or_default();
        Ok(Output {
            success: status.success(),
            status: status.to_string(),
            stdout,
            stderr,
        })
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `cmd` with piped stdin/stdout/stderr, waiting at most `limit`.
pub fn output_with_timeout(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    let what = format!("{:?}", cmd.get_program());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    ChildGuard::spawn(cmd, &what)?.wait_output(limit)
}

/// In a child process: exit as soon as stdin reaches EOF, i.e. when the parent closes the
/// pipe or dies. Whatever arrives on stdin before that is ignored.
pub fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 64];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => std::process::exit(0),
                Ok(_) => {}
            }
        }
    });
}

/// In a child process: answer the commands that arrive on stdin (`SEQ COMMAND`, one per
/// line) with one line each on stdout (`SEQ ANSWER`, `answer(COMMAND)` with its line breaks
/// replaced by spaces), from a thread of its own; exit as soon as stdin reaches EOF, like
/// [`exit_when_stdin_closes`]. A line without a sequence number is answered with `? error`.
pub fn answer_stdin_commands(answer: impl Fn(&str) -> String + Send + 'static) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut stdin = stdin.lock();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => std::process::exit(0),
                Ok(_) => {}
            }
            let reply = match line.trim().split_once(' ') {
                Some((seq, cmd)) if seq.parse::<u64>().is_ok() => {
                    format!("{seq} {}", answer(cmd.trim()).replace(['\n', '\r'], " "))
                }
                _ => "? error: expected \"SEQ COMMAND\"".to_string(),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{reply}").and_then(|()| out.flush());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_timeout() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = output_with_timeout(cmd, Duration::from_secs(10)).unwrap();
        assert!(!out.success);
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");

        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let t = Instant::now();
        let err = output_with_timeout(cmd, Duration::from_millis(100)).unwrap_err();
        assert!(err.contains("killed"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn guard_kills_on_drop_and_next_line_times_out() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30").stdout(Stdio::piped());
        let mut g = ChildGuard::spawn(cmd, "sleep").unwrap();
        assert!(!g.has_exited());
        let err = g.next_line(Duration::from_millis(50)).unwrap_err();
        assert!(err.contains("printed nothing"), "{err}");
        let pid = g.pid();
        drop(g);
        // The process is gone (reaped by the guard).
        assert!(!std::path::Path::new(&format!("/proc/{pid}/status")).exists());
    }

    #[test]
    fn ask_skips_stray_lines_and_late_answers() {
        // A stand-in for a server child: a first line, then for every command some noise,
        // the answer, and (for the second one) a second, late-looking answer.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo listening; while read seq cmd; do echo noise; echo \"$seq got $cmd\"; \
             echo \"$seq again\"; done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
        let mut g = ChildGuard::spawn(cmd, "sh").unwrap();
        let limit = Duration::from_secs(10);
        assert_eq!(g.next_line(limit).unwrap(), "listening");
        assert_eq!(g.ask("stats", limit).unwrap(), "got stats");
        // "1 again" and "noise" are still queued: skipped, not taken for answer 2.
        assert_eq!(g.ask("other thing", limit).unwrap(), "got other thing");
        drop(g);

        // A child that never answers: an error within the limit, not a hang.
        let mut cmd = Command::new("sleep");
        cmd.arg("30").stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut g = ChildGuard::spawn(cmd, "sleep").unwrap();
        let t = Instant::now();
        let err = g.ask("stats", Duration::from_millis(100)).unwrap_err();
        assert!(err.contains("no answer"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn spawn_failure_is_an_error() {
        let cmd = Command::new("/nonexistent/program");
        assert!(ChildGuard::spawn(cmd, "nothing").is_err());
    }
}
