//! Child processes: [`Command`] builds and spawns one, [`Child`] waits for it or kills it,
//! and [`ChildStdin`], [`ChildStdout`], [`ChildStderr`] talk to it through pipes. The same
//! names and behaviour as Tokio's `tokio::process`.
//!
//! ```
//! use rawrt::process::Command;
//!
//! let rt = rawrt::Runtime::new()?;
//! rt.block_on(async {
//!     let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 4"]).output().await?;
//!     assert_eq!(out.status.code(), Some(4));
//!     assert_eq!(out.stdout, b"out\n");
//!     assert_eq!(out.stderr, b"err\n");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! * **Spawning** is std's: [`Command`] wraps a `std::process::Command`, whose `spawn`
//!   forks (or `posix_spawn`s) and execs on the calling thread, as Tokio does. The parent's
//!   ends of the pipes are made nonblocking (one `ioctl` each) and registered with the
//!   current runtime's reactor (one `epoll_ctl` each), then read with `read(2)` and written
//!   with `write(2)`/`writev(2)` through readiness, like a socket, within the cooperative
//!   budget. [`Command::output`] makes its two pipes itself (`pipe2(O_CLOEXEC)`) and hands the
//!   child's ends over as `Stdio`s; for `Stdio::piped()` given to [`Command::stdin`] and
//!   friends std makes the pipe (a `Stdio` cannot be inspected on stable Rust, so rawrt
//!   cannot tell `piped()` from the other kinds and leaves it to std).
//! * **Exit** is learned from a **pidfd**: right after the spawn, `pidfd_open(pid)` (one
//!   syscall) and one `epoll_ctl` to register it; the pidfd becomes readable when the child
//!   exits, which wakes the task in [`Child::wait`], and `waitid(P_PIDFD, WNOHANG)` reaps
//!   it. No thread waits and no signal is involved; std's `Child::wait` is never called.
//! * **Fallback without pidfds** (`pidfd_open` fails with `ENOSYS`, kernels before 5.3, or
//!   `EPERM`, which some seccomp filters return for calls they do not know): a
//!   [`signal`](crate::signal::signal) listener for `SIGCHLD` per child, and on each delivery
//!   `waitpid(pid, WNOHANG)`. Every `SIGCHLD` wakes every waiting child (each checks its own
//!   pid), so many children cost O(n) `waitpid`s per exit there. The first failure is
//!   remembered and later spawns go straight to the fallback. Setting the environment
//!   variable `RAWRT_PROCESS_FORCE_SIGCHLD=1` (read once, at the first spawn) forces the
//!   fallback, for tests.
//! * **Dropped children.** Dropping a [`Child`] does not kill it, unless
//!   [`Command::kill_on_drop`] was set (then `SIGKILL` is sent, through the pidfd). A child
//!   dropped before it was reaped is put on a process-wide orphan list, and the list is
//!   reaped (`waitpid(WNOHANG)` per entry) at every later [`Command::spawn`],
//!   [`Child::wait`] and [`Child::try_wait`], so no zombie lingers past the next of those.
//!   (Tokio reaps its orphans on `SIGCHLD`; here nothing runs in the background.)
//!
//! # Caveats
//!
//! * A process-wide `SIGCHLD` disposition of `SIG_IGN`, or anyone calling `waitpid(-1)` /
//!   `wait()` in the process, reaps rawrt's children behind its back: waiting then fails
//!   with `ECHILD`.
//! * Writing to a child's stdin after it has closed it fails with `BrokenPipe`; a program
//!   that restored the default `SIGPIPE` action (Rust ignores it) would be killed instead.
//! * `pre_exec` is not offered: it is `unsafe` (the closure runs between `fork` and `exec`,
//!   where only async-signal-safe calls are allowed). Use
//!   [`as_std_mut`](Command::as_std_mut) and `std::os::unix::process::CommandExt::pre_exec`
//!   if you need it.

mod pipe;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

use std::ffi::OsStr;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};

use rawrt_sys::process as sys;

use crate::reactor::{self, Direction, PollEvented};
use crate::runtime::with_current_reactor;
use crate::scheduler::coop;
use crate::signal::{self, Signal, SignalKind};

/// The current runtime's reactor, or an error naming the operation.
fn current_reactor(what: &str) -> io::Result<reactor::Handle> {
    with_current_reactor(reactor::Handle::clone).ok_or_else(|| {
        io::Error::other(format!(
            "{what} needs a rawrt runtime: call it from a task, inside Runtime::block_on, \
             or under Handle::enter"
        ))
    })
}

/// Set once `pidfd_open` has failed with `ENOSYS`/`EPERM`: every later child uses the
/// `SIGCHLD` fallback without trying again.
static NO_PIDFD: AtomicBool = AtomicBool::new(false);

/// Whether `RAWRT_PROCESS_FORCE_SIGCHLD=1` asks for the `SIGCHLD` fallback (read once).
fn sigchld_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED
        .get_or_init(|| std::env::var_os("RAWRT_PROCESS_FORCE_SIGCHLD").is_some_and(|v| v == "1"))
}

/// A process to run: program, arguments, environment, working directory and standard
/// streams, as `std::process::Command` has them, and a [`spawn`](Command::spawn) that gives an
/// async [`Child`].
///
/// Every builder method returns `&mut Command`, so calls chain; a `Command` can spawn any
/// number of children.
///
/// ```
/// use rawrt::process::Command;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let status = Command::new("sh")
///         .arg("-c")
///         .arg("test \"$GREETING\" = hello && exit 7")
///         .env("GREETING", "hello")
///         .status()
///         .await?;
///     assert_eq!(status.code(), Some(7));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command for `program`, with no arguments, the parent's environment and working
    /// directory, inherited standard streams, and `kill_on_drop` off. A `program` without a
    /// `/` is looked up in `PATH`.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// The std command inside, to read its settings (`get_program`, `get_args`, ...).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, to use settings this type does not forward (`pre_exec`,
    /// `groups`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The std command inside (the `kill_on_drop` setting is lost).
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Adds one argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment: only variables set afterwards are passed.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input: `Stdio::piped()` gives a [`ChildStdin`] in
    /// [`Child::stdin`]; `Stdio::null()`, `Stdio::inherit()` (the default for
    /// [`spawn`](Self::spawn) and [`status`](Self::status)), or any fd as a `Stdio`.
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// Sets the child's standard output; `Stdio::piped()` gives a [`ChildStdout`] in
    /// [`Child::stdout`]. Inherited by default.
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Sets the child's standard error; `Stdio::piped()` gives a [`ChildStderr`] in
    /// [`Child::stderr`]. Inherited by default.
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether a [`Child`] spawned from this command is killed (`SIGKILL`) when it is
    /// dropped before it was reaped. Off by default: a dropped child runs on, and is reaped
    /// later (see the [module docs](self)). Also applies to the futures of
    /// [`status`](Self::status) and [`output`](Self::output), which own their child.
    ///
    /// ```
    /// use rawrt::process::Command;
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut cmd = Command::new("sleep");
    ///     cmd.arg("30").kill_on_drop(true);
    ///     assert!(cmd.get_kill_on_drop());
    ///     let child = cmd.spawn()?;
    ///     drop(child); // killed now, reaped at the next spawn or wait
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The [`kill_on_drop`](Self::kill_on_drop) setting.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Runs the child as user `id` (`setuid`; needs the privilege to do so).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Runs the child as group `id` (`setgid`; needs the privilege to do so).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Sets the child's `argv[0]` (by default the program as given to [`new`](Self::new)).
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Puts the child in process group `pgroup`; 0 makes a new group led by the child
    /// (`setpgid`), so that, for example, `Ctrl-C` in the terminal does not reach it.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Starts the child and returns its handle at once. Its piped streams are in the
    /// [`Child`]'s `stdin`/`stdout`/`stderr` fields, registered with the current runtime's
    /// reactor.
    ///
    /// Fails outside a runtime; with the spawn's error (`NotFound` with `ENOENT` for a
    /// missing program, `PermissionDenied` with `EACCES`, `WouldBlock` with `EAGAIN` at the
    /// process limit, ...); or with the error of the pidfd or of a pipe's registration, in
    /// which case the child is handled as if dropped (killed if `kill_on_drop`, reaped
    /// later).
    ///
    /// ```
    /// use rawrt::process::Command;
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut child = Command::new("true").spawn()?;
    ///     assert!(child.id().is_some());
    ///     assert!(child.wait().await?.success());
    ///
    ///     let err = Command::new("/no/such/program").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let reactor = current_reactor("rawrt::process::Command::spawn")?;
        orphans::reap();
        let std_child = self.std.spawn()?;
        Child::new(std_child, self.kill_on_drop, &reactor, None)
    }

    /// Spawns the child with its output streams as pipes this crate made
    /// (`pipe2(O_CLOEXEC)`), for [`output`](Self::output).
    fn spawn_capturing(&mut self) -> io::Result<Child> {
        let reactor = current_reactor("rawrt::process::Command::output")?;
        let (out_read, out_write) = sys::pipe2()?;
        let (err_read, err_write) = sys::pipe2()?;
        self.std.stdout(Stdio::from(out_write));
        self.std.stderr(Stdio::from(err_write));
        orphans::reap();
        let spawned = self.std.spawn();
        // The std command holds a `Stdio` until it is replaced: put `piped()` in (as Tokio
        // leaves the command) so that the write ends close here now — the child has its own
        // copies, and the reads see end of stream once the child closes those.
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        Child::new(
            spawned?,
            self.kill_on_drop,
            &reactor,
            Some((out_read, err_read)),
        )
    }

    /// Spawns the child and waits for it to exit; its `stdin`, `stdout` and `stderr` are
    /// inherited unless set, and any that were set to `Stdio::piped()` are closed at once
    /// (so the child cannot block on a pipe nobody serves).
    ///
    /// The child is spawned when this is called, not when the future is first polled.
    /// Dropping the future drops the child (killed only with
    /// [`kill_on_drop`](Self::kill_on_drop)).
    ///
    /// ```
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let status = rawrt::process::Command::new("false").status().await?;
    ///     assert_eq!(status.code(), Some(1));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + 'static {
        let child = self.spawn();
        async move {
            let mut child = child?;
            child.stdin = None;
            child.stdout = None;
            child.stderr = None;
            child.wait().await
        }
    }

    /// Spawns the child, collects all of its standard output and standard error, and waits
    /// for it to exit.
    ///
    /// As in Tokio, stdout and stderr are **always** made pipes for this, whatever they
    /// were set to (the command keeps `Stdio::piped()` for them afterwards); stdin is as set
    /// (inherited by default). Use [`spawn`](Self::spawn) and
    /// [`Child::wait_with_output`] to capture only some streams. The child is spawned when
    /// this is called; dropping the future drops it.
    ///
    /// ```
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let out = rawrt::process::Command::new("echo").arg("hello").output().await?;
    ///     assert!(out.status.success());
    ///     assert_eq!(out.stdout, b"hello\n");
    ///     assert!(out.stderr.is_empty());
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + 'static {
        let child = self.spawn_capturing();
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a std command, with `kill_on_drop` off.
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

/// How a running child's exit is learned.
enum Watch {
    /// Its pidfd, registered with the reactor: readable once it exits.
    Pidfd(PollEvented<OwnedFd>),
    /// The `SIGCHLD` fallback: a delivery may mean it exited; `waitpid` tells.
    Sigchld(Signal),
}

/// A child that has not been reaped.
struct Running {
    pid: u32,
    /// `None` only while the child is being set up (then the pid is used).
    watch: Option<Watch>,
}

impl Running {
    fn raw_pid(&self) -> i32 {
        self.pid as i32
    }

    /// Sets up the exit watch: a pidfd, or the `SIGCHLD` fallback.
    fn watch(&mut self, reactor: &reactor::Handle) -> io::Result<()> {
        if !sigchld_forced() && !NO_PIDFD.load(Relaxed) {
            match sys::pidfd_open(self.raw_pid()) {
                Ok(fd) => {
                    self.watch = Some(Watch::Pidfd(PollEvented::new(fd, reactor)?));
                    return Ok(());
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    NO_PIDFD.store(true, Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        // Deliveries count from here; one that came earlier does not matter, because every
        // poll asks `waitpid` before it waits for the next delivery.
        self.watch = Some(Watch::Sigchld(signal::signal(SignalKind::child())?));
        Ok(())
    }

    /// Reaps the child if it has exited, without waiting.
    fn try_reap(&self) -> io::Result<Option<ExitStatus>> {
        match &self.watch {
            Some(Watch::Pidfd(io)) => reap_pidfd(io, self.raw_pid()),
            _ => sys::waitpid(self.raw_pid()),
        }
    }

    /// Polls for the exit, reaping the child when it comes.
    fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let pid = self.raw_pid();
        match &mut self.watch {
            Some(Watch::Pidfd(io)) => coop::poll_budgeted(cx, |cx| {
                // Readable means exited: reap. If the reap finds it still running (it
                // cannot, but then) the readiness is cleared and the next edge awaited.
                io.poll_io(cx, Direction::Read, |_| {
                    reap_pidfd(io, pid)?.ok_or_else(|| io::ErrorKind::WouldBlock.into())
                })
            }),
            Some(Watch::Sigchld(sigchld)) => loop {
                match sys::waitpid(pid) {
                    Ok(Some(status)) => return Poll::Ready(Ok(status)),
                    Ok(None) => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
                match sigchld.poll_recv(cx) {
                    Poll::Ready(Some(())) => {}
                    Poll::Ready(None) => {
                        return Poll::Ready(Err(io::Error::other(
                            "the rawrt runtime the child was spawned in has shut down",
                        )))
                    }
                    Poll::Pending => return Poll::Pending,
                }
            },
            None => Poll::Ready(Err(io::Error::other("child has no exit watch"))),
        }
    }

    /// Sends `signo` (through the pidfd when there is one).
    fn signal(&self, signo: i32) -> io::Result<()> {
        match &self.watch {
            Some(Watch::Pidfd(io)) => sys::pidfd_send_signal(io.get_ref().as_fd(), signo),
            _ => sys::kill(self.raw_pid(), signo),
        }
    }
}

/// `waitid(P_PIDFD)`, or `waitpid` on Linux 5.3, which has pidfds but not `P_PIDFD` (the
/// pid is still ours: it is not reaped).
fn reap_pidfd(io: &PollEvented<OwnedFd>, pid: i32) -> io::Result<Option<ExitStatus>> {
    match sys::waitid_pidfd(io.get_ref().as_fd()) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => sys::waitpid(pid),
        res => res,
    }
}

enum State {
    Running(Running),
    Exited(ExitStatus),
}

/// A spawned child process, made by [`Command::spawn`].
///
/// The child runs on when this handle is dropped, unless
/// [`Command::kill_on_drop`] was set; either way it is reaped (see the [module docs](self)).
///
/// ```
/// use std::os::unix::process::ExitStatusExt;
/// use rawrt::process::Command;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut child = Command::new("sleep").arg("30").spawn()?;
///     assert!(child.try_wait()?.is_none()); // still running
///     child.kill().await?; // SIGKILL, then wait
///     assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
///     assert_eq!(child.id(), None); // reaped
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct Child {
    state: State,
    kill_on_drop: bool,
    /// The child's standard input, if it was `Stdio::piped()`. `take()` it to use it while
    /// keeping the `Child` whole.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Takes over a child std has just spawned. `output_pipes` are the read ends of the
    /// stdout and stderr pipes when rawrt made them (then std made none for those two).
    fn new(
        mut std_child: std::process::Child,
        kill_on_drop: bool,
        reactor: &reactor::Handle,
        output_pipes: Option<(OwnedFd, OwnedFd)>,
    ) -> io::Result<Child> {
        let stdin = std_child.stdin.take().map(OwnedFd::from);
        let (stdout, stderr) = match output_pipes {
            Some((out, err)) => (Some(out), Some(err)),
            None => (
                std_child.stdout.take().map(OwnedFd::from),
                std_child.stderr.take().map(OwnedFd::from),
            ),
        };
        // From here on the child is this handle's to reap: an error below drops it through
        // `Drop`, like any dropped child (killed if asked, reaped later), and closes the pipes.
        let mut child = Child {
            state: State::Running(Running {
                pid: std_child.id(),
                watch: None,
            }),
            kill_on_drop,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        // Dropping std's handle neither waits nor kills.
        drop(std_child);
        if let State::Running(running) = &mut child.state {
            running.watch(reactor)?;
        }
        child.stdin = stdin
            .map(|fd| ChildStdin::from_fd(fd, reactor))
            .transpose()?;
        child.stdout = stdout
            .map(|fd| ChildStdout::from_fd(fd, reactor))
            .transpose()?;
        child.stderr = stderr
            .map(|fd| ChildStderr::from_fd(fd, reactor))
            .transpose()?;
        Ok(child)
    }

    /// The child's process id while it has not been reaped; `None` once [`wait`](Self::wait)
    /// or [`try_wait`](Self::try_wait) has reported its exit (the pid may then belong to
    /// another process).
    ///
    /// ```
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut child = rawrt::process::Command::new("true").spawn()?;
    ///     assert!(child.id().unwrap() > 0);
    ///     child.wait().await?;
    ///     assert_eq!(child.id(), None);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        match &self.state {
            State::Running(running) => Some(running.pid),
            State::Exited(_) => None,
        }
    }

    /// Sends `SIGKILL` to the child without waiting for it to die; [`wait`](Self::wait)
    /// (or [`try_wait`](Self::try_wait)) then reaps it. `Ok` if the child was already reaped.
    /// Through the pidfd, so never to another process that reused the pid.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &self.state {
            State::Running(running) => running.signal(libc::SIGKILL),
            State::Exited(_) => Ok(()),
        }
    }

    /// Kills the child (`SIGKILL`) and waits for it to exit: [`start_kill`](Self::start_kill)
    /// then [`wait`](Self::wait). Unlike std's `Child::kill`, this reaps the child.
    ///
    /// Cancel safe, as `wait` is: if the future is dropped the signal may have been sent and
    /// the child not yet reaped; a later `wait` reaps it.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Waits for the child to exit and reaps it; once it has, returns the same status on
    /// every call. Closes (drops) [`stdin`](Self::stdin) first, so a child reading its input
    /// to the end can finish; `take()` it beforehand to keep it open.
    ///
    /// Cancel safe: dropping the future loses nothing; the next `wait` carries on.
    ///
    /// ```
    /// use std::process::Stdio;
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     // `cat` exits when its input ends, which `wait` causes.
    ///     let mut cat = rawrt::process::Command::new("cat").stdin(Stdio::piped()).spawn()?;
    ///     assert!(cat.wait().await?.success());
    ///     assert!(cat.stdin.is_none());
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        orphans::reap();
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let running = match &mut self.state {
            State::Running(running) => running,
            State::Exited(status) => return Poll::Ready(Ok(*status)),
        };
        let status = ready!(running.poll_exit(cx))?;
        // Drops the watch: the pidfd is deregistered and closed.
        self.state = State::Exited(status);
        Poll::Ready(Ok(status))
    }

    /// Reaps the child if it has exited: `Some(status)` then (and on every later call),
    /// `None` while it runs. Does not wait, does not close stdin, and does not arrange for
    /// the task to be woken when the child exits.
    ///
    /// ```
    /// use std::process::Stdio;
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut cat = rawrt::process::Command::new("cat").stdin(Stdio::piped()).spawn()?;
    ///     assert!(cat.try_wait()?.is_none()); // waiting for input
    ///     let status = cat.wait().await?;
    ///     assert_eq!(cat.try_wait()?, Some(status));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        orphans::reap();
        let running = match &self.state {
            State::Running(running) => running,
            State::Exited(status) => return Ok(Some(*status)),
        };
        let status = running.try_reap()?;
        if let Some(status) = status {
            self.state = State::Exited(status);
        }
        Ok(status)
    }

    /// Waits for the child to exit while reading its piped stdout and stderr to their ends,
    /// all three at once (so a child that fills one pipe while the other is being read does
    /// not deadlock). Closes stdin first, as [`wait`](Self::wait) does. A stream that was not
    /// piped gives an empty `Vec`.
    ///
    /// Dropping the future drops the child (killed only with `kill_on_drop`).
    ///
    /// ```
    /// use std::process::Stdio;
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let child = rawrt::process::Command::new("sh")
    ///         .args(["-c", "echo to-stdout; echo to-stderr >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()?;
    ///     let out = child.wait_with_output().await?;
    ///     assert_eq!(out.stdout, b"to-stdout\n");
    ///     assert_eq!(out.stderr, b"to-stderr\n");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        orphans::reap();
        let mut stdout_pipe = self.stdout.take();
        let mut stderr_pipe = self.stderr.take();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut status = None;
        poll_fn(|cx| {
            if let Some(pipe) = &mut stdout_pipe {
                if ready_or_pending(pipe::poll_read_to_end(pipe, cx, &mut stdout))?.is_some() {
                    stdout_pipe = None;
                }
            }
            if let Some(pipe) = &mut stderr_pipe {
                if ready_or_pending(pipe::poll_read_to_end(pipe, cx, &mut stderr))?.is_some() {
                    stderr_pipe = None;
                }
            }
            if status.is_none() {
                status = ready_or_pending(self.poll_wait(cx))?;
            }
            match status {
                Some(status) if stdout_pipe.is_none() && stderr_pipe.is_none() => {
                    Poll::Ready(Ok(status))
                }
                _ => Poll::Pending,
            }
        })
        .await
        .map(|status| Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// `Ready(Ok(v))` as `Ok(Some(v))`, `Pending` as `Ok(None)`, an error as itself.
fn ready_or_pending<T>(poll: Poll<io::Result<T>>) -> io::Result<Option<T>> {
    match poll {
        Poll::Ready(res) => res.map(Some),
        Poll::Pending => Ok(None),
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let State::Running(running) = &self.state {
            if self.kill_on_drop {
                // Nothing to do about a failure here; the child is still reaped below or later.
                let _ = running.signal(libc::SIGKILL);
            }
            // Reaped now if it has exited; still running: reaped later. An error means it is
            // not ours to reap any more (someone else did).
            if let Ok(None) = running.try_reap() {
                orphans::adopt(running.raw_pid());
            }
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Child");
        match &self.state {
            State::Running(running) => d.field("pid", &running.pid),
            State::Exited(status) => d.field("status", status),
        };
        d.field("kill_on_drop", &self.kill_on_drop)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

/// Children dropped before they were reaped, reaped opportunistically.
mod orphans {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::{Mutex, PoisonError, TryLockError};

    use rawrt_sys::process as sys;

    /// Pids of dropped, unreaped children: still ours (a pid is not reused before we reap
    /// it), so `waitpid` on them is exact.
    static LIST: Mutex<Vec<i32>> = Mutex::new(Vec::new());
    /// `LIST.len()`, readable without the lock, so that the common case costs one load.
    static LEN: AtomicUsize = AtomicUsize::new(0);

    /// Adds `pid` to the list.
    pub(super) fn adopt(pid: i32) {
        let mut list = LIST.lock().unwrap_or_else(PoisonError::into_inner);
        list.push(pid);
        LEN.store(list.len(), Relaxed);
    }

    /// Reaps every listed child that has exited (one `waitpid(WNOHANG)` each). Skipped if
    /// another thread is at it.
    pub(super) fn reap() {
        if LEN.load(Relaxed) == 0 {
            return;
        }
        let mut list = match LIST.try_lock() {
            Ok(list) => list,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        // Keep only those still running; an error (ECHILD) means someone else reaped it.
        list.retain(|&pid| matches!(sys::waitpid(pid), Ok(None)));
        LEN.store(list.len(), Relaxed);
    }

    /// How many dropped children are waiting to be reaped.
    #[cfg(all(test, not(loom)))]
    pub(super) fn len() -> usize {
        LEN.load(Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_running_child_is_reaped_by_a_later_wait() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            drop(child);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            // Each wait reaps the orphans; the killed child is gone once it has died.
            while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                assert!(std::time::Instant::now() < deadline, "{pid} not reaped");
                Command::new("true").status().await.unwrap();
            }
            assert_eq!(orphans::len(), 0);
        });
    }
}
