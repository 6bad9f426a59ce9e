//! Unix signals as async events: [`signal`] and [`Signal::recv`], and [`ctrl_c`].
//!
//! ```no_run
//! use rawrt::signal::{self, SignalKind};
//!
//! fn main() -> std::io::Result<()> {
//!     let rt = rawrt::Runtime::new()?;
//!     rt.block_on(async {
//!         let mut term = signal::signal(SignalKind::terminate())?;
//!         let mut int = signal::signal(SignalKind::interrupt())?;
//!         // ... serve, then stop on either signal:
//!         std::future::poll_fn(|cx| {
//!             if term.poll_recv(cx).is_ready() || int.poll_recv(cx).is_ready() {
//!                 std::task::Poll::Ready(())
//!             } else {
//!                 std::task::Poll::Pending
//!             }
//!         })
//!         .await;
//!         println!("shutting down");
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # How signals arrive
//!
//! The first [`signal(kind)`](signal) for a signal number installs a `sigaction` handler for
//! it (`rawrt_sys::signal::install_handler`), process-wide and for the rest of the process's
//! life. The handler counts the delivery in a static atomic and writes to one process-wide
//! eventfd; nothing else (it is async-signal-safe, and chains to a handler installed before
//! it). Each [`Signal`] registers its own duplicate of that eventfd with its runtime's
//! reactor, edge-triggered, so every delivery wakes every `Signal` of every runtime; on a
//! wake-up a `Signal` compares the delivery count with the count it has reported.
//!
//! Why a handler and not a `signalfd`: a signalfd sees only signals that *every* thread of
//! the process blocks — the kernel hands a process-directed signal to any thread that does
//! not block it, where its default action (for `SIGINT`, `SIGTERM`, ... terminating the
//! process) runs. Threads that the program, a library or the runtime started before the
//! signal was blocked keep their own masks, so a signalfd needs every program to block its
//! signals first thing in `main`. A handler runs on whichever thread the kernel picks, so
//! nothing has to be blocked anywhere, as with Tokio, which uses the same mechanism
//! (through a pipe).
//!
//! # Behaviour
//!
//! * A `Signal` reports every delivery that happens after it was created, at least once;
//!   deliveries between two polls are coalesced into one `recv` (the kernel coalesces
//!   standard signals anyway: they do not queue).
//! * Every `Signal` for a kind sees every delivery, in every runtime of the process.
//! * Once a handler is installed for a signal it stays: after the last `Signal` for it is
//!   dropped, a delivery is counted and otherwise ignored — `Ctrl-C` no longer terminates
//!   the process. (Tokio documents the same.)
//! * A thread that blocks a signal never runs the handler; if every thread blocks it, the
//!   signal stays pending and no `Signal` sees it. So do not block signals you listen to.
//! * Programs spawned with `std::process::Command` get default dispositions back (a handler
//!   does not survive `exec`).
//! * Interrupted system calls are restarted (`SA_RESTART`) where the kernel allows it;
//!   `epoll_wait` and sleeps return `EINTR`, which rawrt handles.
//!
//! Unlike Tokio, [`signal`] outside a runtime returns an error instead of panicking.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll};

use rawrt_sys::signal as sys;

use crate::reactor::{self, Direction, PollEvented};
use crate::runtime::with_current_reactor;
use crate::scheduler::coop;

/// A kind of signal: a signal number, with constructors for the common ones.
///
/// ```
/// use rawrt::signal::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGHUP), SignalKind::hangup());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// The kind for signal number `signo`. Any number is accepted here; [`signal`] rejects
    /// the ones that cannot be waited for.
    ///
    /// ```
    /// let first_free = rawrt_sys::signal::rt_min(); // SIGRTMIN
    /// let rt_signal = rawrt::signal::SignalKind::from_raw(first_free + 1);
    /// assert_eq!(rt_signal.as_raw(), first_free + 1);
    /// ```
    pub const fn from_raw(signo: i32) -> SignalKind {
        SignalKind(signo)
    }

    /// The signal number.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::interrupt().as_raw(), libc::SIGINT);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// `SIGINT`: interrupt from the terminal (`Ctrl-C`).
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::interrupt().as_raw(), 2);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: polite termination request (`kill`, service managers, container stops).
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::terminate().as_raw(), 15);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; by convention for daemons, "reload the configuration".
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::hangup().as_raw(), 1);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: quit from the terminal (`Ctrl-\`).
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::quit().as_raw(), 3);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`: user-defined signal 1.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::user_defined1().as_raw(), 10);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined signal 2.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::user_defined2().as_raw(), 12);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped or exited. (Listening to it does not stop
    /// `std::process::Child::wait` from working.)
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::child().as_raw(), 17);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader. Rust programs ignore it by
    /// default; rawrt's sockets never raise it.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::pipe().as_raw(), 13);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`: a timer set with `alarm(2)` or `setitimer(2)` expired.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::alarm().as_raw(), 14);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGWINCH`: the terminal window changed size.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::window_change().as_raw(), 28);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGIO`: I/O is possible on an fd set up for signal-driven I/O.
    ///
    /// ```
    /// assert_eq!(rawrt::signal::SignalKind::io().as_raw(), 29);
    /// ```
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }
}

impl From<i32> for SignalKind {
    fn from(signo: i32) -> SignalKind {
        SignalKind(signo)
    }
}

impl From<SignalKind> for i32 {
    fn from(kind: SignalKind) -> i32 {
        kind.0
    }
}

/// Checks that `kind` can be caught and waited for.
fn check_kind(kind: SignalKind) -> io::Result<()> {
    let signo = kind.0;
    let invalid = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("rawrt::signal: cannot wait for signal {signo}: {why}"),
        ))
    };
    if !(1..=sys::MAX_SIGNAL).contains(&signo) {
        return invalid("not a signal number (1 to 64)");
    }
    match signo {
        libc::SIGKILL | libc::SIGSTOP => invalid("it can be neither caught nor blocked"),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
            invalid("it reports a fault of the thread itself; a handler cannot resume it")
        }
        s if (32..sys::rt_min()).contains(&s) => {
            invalid("it is reserved by the C library for its threads")
        }
        _ => Ok(()),
    }
}

/// Starts listening for signals of `kind` in the current runtime.
///
/// Installs rawrt's handler for the signal (once per process; see the [module docs](self)),
/// then returns a [`Signal`] whose [`recv`](Signal::recv) completes once for the deliveries
/// since it was created or last reported (coalesced).
///
/// Fails outside a runtime (not in a task, `block_on` or `Handle::enter`), with
/// `InvalidInput` for a signal that cannot be waited for (`SIGKILL`, `SIGSTOP`, the fault
/// signals `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, numbers reserved by the C library,
/// numbers outside 1..=64), or with the OS error if the handler cannot be installed or the
/// wake fd cannot be duplicated or registered.
///
/// ```no_run
/// use rawrt::signal::{signal, SignalKind};
///
/// fn main() -> std::io::Result<()> {
///     let rt = rawrt::Runtime::new()?;
///     rt.block_on(async {
///         let mut hangup = signal(SignalKind::hangup())?;
///         while hangup.recv().await.is_some() {
///             println!("SIGHUP: reloading the configuration");
///         }
///         Ok(())
///     })
/// }
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let reactor = with_current_reactor(reactor::Handle::clone).ok_or_else(|| {
        io::Error::other(
            "rawrt::signal::signal needs a rawrt runtime: call it from a task, inside \
             Runtime::block_on, or under Handle::enter",
        )
    })?;
    check_kind(kind)?;
    sys::install_handler(kind.0)?;
    // Counted from here: a delivery from now on is reported, one before is not.
    let seen = sys::deliveries(kind.0);
    let wake = WakeFd(sys::dup_wake_fd()?);
    Ok(Signal {
        kind,
        seen,
        io: PollEvented::new(wake, &reactor)?,
    })
}

/// Waits for one `SIGINT` (`Ctrl-C`) in the current runtime.
///
/// The same as `signal(SignalKind::interrupt())?.recv().await`: the handler is installed
/// when the future is first polled, and a `Ctrl-C` before that is not seen (and, before any
/// handler for `SIGINT` exists, still terminates the process). Fails outside a runtime, or
/// if the runtime shuts down first.
///
/// ```no_run
/// fn main() -> std::io::Result<()> {
///     let rt = rawrt::Runtime::new()?;
///     rt.block_on(async {
///         println!("press Ctrl-C to stop");
///         rawrt::signal::ctrl_c().await?;
///         println!("bye");
///         Ok(())
///     })
/// }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    match sigint.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other(
            "the rawrt runtime shut down before SIGINT arrived",
        )),
    }
}

/// A listener for one kind of signal, made by [`signal`].
///
/// ```
/// use rawrt::signal::{self, SignalKind};
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut a = signal::signal(SignalKind::user_defined1())?;
///     let mut b = signal::signal(SignalKind::user_defined1())?;
///     rawrt_sys::signal::kill(std::process::id() as i32, libc::SIGUSR1)?;
///     assert_eq!(a.recv().await, Some(())); // both see the one delivery
///     assert_eq!(b.recv().await, Some(()));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct Signal {
    kind: SignalKind,
    /// The delivery count this `Signal` has reported.
    seen: u64,
    /// Its own duplicate of the handlers' wake fd, registered with the runtime's reactor.
    io: PollEvented<WakeFd>,
}

impl Signal {
    /// Waits for the next delivery of the signal: `Some(())`, or `None` once the runtime the
    /// `Signal` was made in has shut down. Deliveries since the last `recv` (or since the
    /// `Signal` was made) that were not reported yet are reported at once, coalesced into one.
    ///
    /// Cancel safe: dropping the future loses nothing; the next `recv` reports the delivery.
    ///
    /// ```
    /// use rawrt::signal::{self, SignalKind};
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut usr2 = signal::signal(SignalKind::user_defined2())?;
    ///     let waiter = rawrt::spawn(async move { usr2.recv().await });
    ///     rawrt_sys::signal::kill(std::process::id() as i32, libc::SIGUSR2)?;
    ///     assert_eq!(waiter.await.unwrap(), Some(()));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; see [`recv`](Self::recv). `Pending` stores the task's
    /// waker (the latest one), which is woken on the next delivery.
    ///
    /// ```
    /// use std::task::Poll;
    /// use rawrt::signal::{self, SignalKind};
    ///
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut winch = signal::signal(SignalKind::window_change())?;
    ///     std::future::poll_fn(|cx| {
    ///         assert!(winch.poll_recv(cx).is_pending(), "nothing delivered yet");
    ///         Poll::Ready(())
    ///     })
    ///     .await;
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let signo = self.kind.0;
        let seen = &mut self.seen;
        // The count moves before the wake fd is written, so once an edge has woken us the
        // new count is visible; without a new count, the readiness is cleared (unless a
        // newer edge arrived meanwhile) and we wait for the next edge.
        let io = &self.io;
        let res = coop::poll_budgeted(cx, |cx| {
            io.poll_io(cx, Direction::Read, |_| {
                let now = sys::deliveries(signo);
                if now == *seen {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                *seen = now;
                Ok(())
            })
        });
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Some(())),
            // The reactor shut down: no delivery will wake this `Signal` any more.
            Poll::Ready(Err(_)) => Poll::Ready(None),
        }
    }

    /// The kind of signal this listens to.
    ///
    /// ```
    /// # use rawrt::signal::{self, SignalKind};
    /// # let rt = rawrt::Runtime::new()?;
    /// # let _g = rt.enter();
    /// let hup = signal::signal(SignalKind::hangup())?;
    /// assert_eq!(hup.kind(), SignalKind::hangup());
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish()
    }
}

/// A `Signal`'s duplicate of the wake fd (closed, counted, when the `Signal` drops).
struct WakeFd(OwnedFd);

impl AsFd for WakeFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<WakeFd> for OwnedFd {
    fn from(fd: WakeFd) -> OwnedFd {
        fd.0
    }
}
