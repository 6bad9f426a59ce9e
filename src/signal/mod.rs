//! Unix signals as async events: [`signal`] and [`Signal::recv`], [`ctrl_c`], and [`block`].
//!
//! ```no_run
//! use rawrt::signal::{self, SignalKind};
//!
//! fn main() -> std::io::Result<()> {
//!     // First thing in main, before any thread exists: every thread inherits the mask.
//!     signal::block(&[SignalKind::interrupt(), SignalKind::terminate()])?;
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
//! # How signals arrive: `signalfd` and signal masks
//!
//! rawrt installs no signal handler. Each signal number that a [`Signal`] listens to gets one
//! `signalfd` per runtime (see `rawrt_sys::signal`), registered with the runtime's reactor
//! like a socket; reading it dequeues the signal. A signalfd only ever sees signals that are
//! **blocked**: the kernel delivers a process-directed signal (`kill`, `Ctrl-C` in a
//! terminal, `systemctl stop`...) to *any* thread of the process that does **not** block it,
//! and in that thread the signal's disposition runs — for `SIGINT`, `SIGTERM`, `SIGHUP`,
//! `SIGUSR1`... the default action, which terminates the process. Only when every thread
//! blocks a signal does it stay pending for the process, where the signalfd reads it.
//!
//! Signal masks belong to threads, and a thread can only change its own. So:
//!
//! * [`signal(kind)`](signal) blocks the signal in the **calling thread**, and makes **every
//!   worker thread of the current runtime** block it too: the runtime keeps a set of wanted
//!   signals that each worker compares with its own mask at every scheduling step and after
//!   every wake-up (two relaxed atomic loads when nothing changed); `signal` wakes the sleeping
//!   workers and waits until each one has blocked the signal (up to one second, for a worker
//!   stuck in a task that never yields). Workers started later by the same runtime block the
//!   set too.
//! * **Every other thread must block it as well**: the thread in [`Runtime::block_on`] if
//!   `signal` was not called on it, other runtimes' threads, threads spawned with
//!   `std::thread`, and the main thread. Threads **inherit** the mask of the thread that
//!   creates them, and a thread created *before* a signal was blocked keeps its mask. The
//!   robust recipe is therefore to call [`block`] at the very top of `main`, before building
//!   the runtime or spawning anything, with every signal the program will handle; then every
//!   thread of the process, rawrt's or not, blocks them from birth.
//! * Signals stay blocked after the last `Signal` for them is dropped (a late delivery then
//!   waits, pending, for the next `Signal`, instead of killing the process).
//! * Programs spawned with `std::process::Command` start with an empty mask (std resets
//!   it), so they get the default behaviour back.
//!
//! # Delivery
//!
//! * Every [`Signal`] of one kind in one runtime sees every delivery at least once: the
//!   runtime's signalfd for that kind is shared, whichever `Signal` is polled reads it, bumps
//!   a delivery counter and wakes the others. Deliveries that arrive between two polls of a
//!   `Signal` are coalesced into one `recv` (the kernel coalesces them anyway: standard
//!   signals do not queue).
//! * Runtimes do not share their signalfds. Two runtimes listening to the same signal
//!   compete: each delivery is read by one of them. Listen in one runtime only.
//! * Only process-directed signals are reported reliably. A signal sent to one thread
//!   (`pthread_kill`, `tgkill`) is pending for that thread only, and only a read on that
//!   thread would see it.
//!
//! [`Runtime::block_on`]: crate::Runtime::block_on

use std::collections::HashMap;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};

use rawrt_sys::signal::{self as sys, SigSet, SignalFd};

use crate::reactor::{Direction, PollEvented};
use crate::scheduler::Handle;

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
    /// The kind for signal number `signo`. Any number is accepted here; [`signal`] and
    /// [`block`] reject the ones that cannot be waited for.
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

    /// `SIGCHLD`: a child process stopped or exited. (Blocking it does not stop
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

/// Checks that `kind` can be blocked and waited for, returning its bit (`1 << (signo - 1)`).
fn check_kind(kind: SignalKind) -> io::Result<u64> {
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
            invalid("it reports a fault of the thread itself; blocking it cannot work")
        }
        s if (32..sys::rt_min()).contains(&s) => {
            invalid("it is reserved by the C library for its threads")
        }
        _ => Ok(1u64 << (signo - 1)),
    }
}

/// Blocks `kinds` in the **calling thread**, so that they stay pending for rawrt's signalfds
/// instead of running their default action (which, for most signals, terminates the process).
///
/// Call it first thing in `main`, before building a runtime or spawning any thread, with
/// every signal the program will listen to: threads inherit the mask of the thread that
/// creates them, so every thread of the process then blocks the signals. A thread created
/// before this call keeps its own mask, and a signal it does not block may be delivered to
/// it. See the [module docs](self) for why.
///
/// Fails with `InvalidInput` for a signal that cannot be waited for (`SIGKILL`, `SIGSTOP`,
/// the fault signals `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, numbers reserved by the C
/// library, numbers outside 1..=64); nothing is blocked then.
///
/// ```
/// use rawrt::signal::{self, SignalKind};
///
/// fn main() -> std::io::Result<()> {
///     signal::block(&[SignalKind::interrupt(), SignalKind::terminate()])?;
///     let rt = rawrt::Runtime::new()?; // its threads inherit the mask
///     rt.block_on(async {
///         let _int = signal::signal(SignalKind::interrupt())?;
///         Ok::<_, std::io::Error>(())
///     })?;
///     assert!(signal::block(&[SignalKind::from_raw(libc::SIGKILL)]).is_err());
///     Ok(())
/// }
/// ```
pub fn block(kinds: &[SignalKind]) -> io::Result<()> {
    let mut set = SigSet::empty();
    for &kind in kinds {
        check_kind(kind)?;
        set.add(kind.0)?;
    }
    sys::block(&set)
}

/// Starts listening for signals of `kind` in the current runtime.
///
/// Blocks the signal in the calling thread and in every worker of the current runtime
/// (waiting until they have), then returns a [`Signal`] whose [`recv`](Signal::recv)
/// completes once per delivery (deliveries between two `recv`s are coalesced). Every other
/// thread of the process must block the signal too, or it may be delivered there: call
/// [`block`] at the top of `main` (see the [module docs](self)).
///
/// Fails outside a runtime (not in a task, `block_on` or `Handle::enter`), with
/// `InvalidInput` for a signal that cannot be waited for (see [`block`]), or if the signalfd
/// cannot be created or registered.
///
/// ```no_run
/// use rawrt::signal::{signal, SignalKind};
///
/// fn main() -> std::io::Result<()> {
///     rawrt::signal::block(&[SignalKind::hangup()])?;
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
    let handle = Handle::try_current().map_err(|_| {
        io::Error::other(
            "rawrt::signal::signal needs a rawrt runtime: call it from a task, inside \
             Runtime::block_on, or under Handle::enter",
        )
    })?;
    let bit = check_kind(kind)?;
    let set = SigSet::from_signals(&[kind.0])?;
    sys::block(&set)?;
    handle.block_signals(bit);
    let shared = handle
        .signal_registry(Registry::default)
        .get_or_create(kind, &set, &handle)?;
    let seen = shared.broadcast.lock().generation;
    Ok(Signal {
        shared,
        seen,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
    })
}

/// Waits for one `SIGINT` (`Ctrl-C`) in the current runtime.
///
/// The same as `signal(SignalKind::interrupt())?.recv().await`: it starts listening when
/// first polled, so block `SIGINT` at the top of `main` with [`block`] (see the [module
/// docs](self)), or an early `Ctrl-C` still terminates the process. Fails outside a runtime,
/// or if the runtime shuts down first.
///
/// ```no_run
/// fn main() -> std::io::Result<()> {
///     rawrt::signal::block(&[rawrt::signal::SignalKind::interrupt()])?;
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

/// Unique ids for `Signal`s, naming their entry in the waiter list.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A listener for one kind of signal, made by [`signal`].
///
/// ```
/// use rawrt::signal::{self, SignalKind};
///
/// // In a doctest's own process, blocking first: a test harness thread that did not block
/// // SIGUSR1 could otherwise receive it.
/// signal::block(&[SignalKind::user_defined1()])?;
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
    shared: Arc<Shared>,
    /// The delivery count this `Signal` has reported.
    seen: u64,
    id: u64,
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
    /// signal::block(&[SignalKind::user_defined2()])?;
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
    /// waker (the latest one, per `Signal`), which is woken on the next delivery.
    ///
    /// ```
    /// use std::task::Poll;
    /// use rawrt::signal::{self, SignalKind};
    ///
    /// signal::block(&[SignalKind::window_change()])?;
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
        let broadcast = &self.shared.broadcast;
        {
            let mut state = broadcast.lock();
            if state.generation != self.seen {
                self.seen = state.generation;
                state.remove(self.id);
                return Poll::Ready(Some(()));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            // Registered before the fd is polled: a delivery read by another `Signal` from
            // now on wakes us.
            state.register(self.id, cx.waker());
        }
        // Poll the shared fd with the broadcast waker, so that its readiness wakes every
        // `Signal`, not just the one that polled it last.
        let waker = Waker::from(broadcast.clone());
        let mut bcx = Context::from_waker(&waker);
        let read = self.shared.fd.poll_io(&mut bcx, Direction::Read, drain);
        match read {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(_count)) => {
                let wake = {
                    let mut state = broadcast.lock();
                    state.generation += 1;
                    self.seen = state.generation;
                    state.remove(self.id);
                    state.take_waiters()
                };
                wake.into_iter().for_each(Waker::wake);
                Poll::Ready(Some(()))
            }
            Poll::Ready(Err(_)) => {
                // The reactor shut down (or the fd failed): no delivery will come any more.
                let wake = {
                    let mut state = broadcast.lock();
                    state.closed = true;
                    state.take_waiters()
                };
                wake.into_iter().for_each(Waker::wake);
                Poll::Ready(None)
            }
        }
    }

    /// The kind of signal this listens to.
    ///
    /// ```
    /// # use rawrt::signal::{self, SignalKind};
    /// # signal::block(&[SignalKind::hangup()])?;
    /// # let rt = rawrt::Runtime::new()?;
    /// # let _g = rt.enter();
    /// let hup = signal::signal(SignalKind::hangup())?;
    /// assert_eq!(hup.kind(), SignalKind::hangup());
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.shared.kind
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.shared.broadcast.lock().remove(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.shared.kind)
            .field("seen", &self.seen)
            .finish()
    }
}

/// Reads every pending signal from `fd`: the count, or `WouldBlock` if there was none.
fn drain(fd: &SignalFd) -> io::Result<usize> {
    let mut count = 0;
    while fd.read()?.is_some() {
        count += 1;
    }
    if count == 0 {
        Err(io::ErrorKind::WouldBlock.into())
    } else {
        Ok(count)
    }
}

/// The per-runtime registry: one shared signalfd per signal number, alive while some
/// `Signal` for it is.
#[derive(Default)]
struct Registry {
    kinds: Mutex<HashMap<i32, Weak<Shared>>>,
}

impl Registry {
    fn get_or_create(
        &self,
        kind: SignalKind,
        set: &SigSet,
        handle: &Handle,
    ) -> io::Result<Arc<Shared>> {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = kinds.get(&kind.0).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        let fd = SignalFd::new(set)?;
        let shared = Arc::new(Shared {
            kind,
            fd: PollEvented::new(fd, handle.reactor())?,
            broadcast: Arc::new(Broadcast {
                state: Mutex::new(State {
                    generation: 0,
                    closed: false,
                    waiters: Vec::new(),
                }),
            }),
        });
        kinds.insert(kind.0, Arc::downgrade(&shared));
        Ok(shared)
    }
}

/// One signal number in one runtime: its signalfd, shared by every `Signal` of the kind.
struct Shared {
    kind: SignalKind,
    fd: PollEvented<SignalFd>,
    broadcast: Arc<Broadcast>,
}

/// The delivery counter and the waiting `Signal`s' wakers. Also the waker the signalfd's
/// registration holds: the reactor waking it wakes every waiting `Signal`. (It holds no
/// reference to the fd, so no cycle through the reactor.)
struct Broadcast {
    state: Mutex<State>,
}

struct State {
    /// Deliveries read so far (each read of the fd, however many signals it drained).
    generation: u64,
    /// The fd failed (the runtime shut down): every `recv` returns `None`.
    closed: bool,
    /// `(Signal id, waker)` of the `Signal`s waiting for the next delivery.
    waiters: Vec<(u64, Waker)>,
}

impl State {
    fn register(&mut self, id: u64, waker: &Waker) {
        match self.waiters.iter_mut().find(|(i, _)| *i == id) {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((_, w)) => w.clone_from(waker),
            None => self.waiters.push((id, waker.clone())),
        }
    }

    fn remove(&mut self, id: u64) {
        self.waiters.retain(|(i, _)| *i != id);
    }

    fn take_waiters(&mut self) -> Vec<Waker> {
        self.waiters.drain(..).map(|(_, w)| w).collect()
    }
}

impl Broadcast {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Wake for Broadcast {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The fd is readable: let every waiting `Signal` poll it; one of them reads it and
        // wakes the rest through the counter.
        let wake = self.lock().take_waiters();
        wake.into_iter().for_each(Waker::wake);
    }
}
