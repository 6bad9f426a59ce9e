//! Child processes with bounded lifetimes: every process the benchmark starts (servers,
//! load generators, wrk, perf) is held by a [`ChildGuard`], which kills and reaps it when
//! dropped, on success, on error and on panic alike, and every wait has a time limit.
//!
//! Our own children (`--serve`, `--load`) also get a pipe on stdin and exit when it closes
//! ([`exit_when_stdin_closes`]), so even a parent killed with SIGKILL leaves nothing behind.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running child process, killed and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
    what: String,
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

    /// Reads the first line the child prints on stdout, waiting at most `limit`.
    pub fn first_line(&mut self, limit: Duration) -> Result<String, String> {
        let stdout = self
            .take_stdout()
            .ok_or_else(|| format!("{}: stdout is not piped", self.what))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        match rx.recv_timeout(limit) {
            Ok(Ok(line)) if !line.is_empty() => Ok(line.trim_end().to_string()),
            Ok(Ok(_)) => Err(format!("{} exited before printing anything", self.what)),
            Ok(Err(e)) => Err(format!("{}: reading its stdout: {e}", self.what)),
            Err(_) => Err(format!("{} printed nothing within {limit:?}", self.what)),
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
/// pipe or dies.
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

// Cargo compiles harness = false benches with `--cfg test` but without a test harness, so
// these tests only run from `tests/bench_http.rs`; here their helpers would look unused.
#[cfg(test)]
#[allow(dead_code, unused_imports)]
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
    fn guard_kills_on_drop_and_first_line_times_out() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30").stdout(Stdio::piped());
        let mut g = ChildGuard::spawn(cmd, "sleep").unwrap();
        assert!(!g.has_exited());
        let err = g.first_line(Duration::from_millis(50)).unwrap_err();
        assert!(err.contains("printed nothing"), "{err}");
        let pid = g.pid();
        drop(g);
        // The process is gone (reaped by the guard).
        assert!(!std::path::Path::new(&format!("/proc/{pid}/status")).exists());
    }

    #[test]
    fn spawn_failure_is_an_error() {
        let cmd = Command::new("/nonexistent/program");
        assert!(ChildGuard::spawn(cmd, "nothing").is_err());
    }
}
