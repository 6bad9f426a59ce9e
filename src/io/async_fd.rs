//! `AsyncFd`: any file descriptor in the reactor.
//!
//! The fd is registered like rawrt's own sockets: edge-triggered for readable, writable and
//! read-closed, with per-resource readiness and a tick (see the reactor's docs). A readiness
//! *guard* is the caller's proof that the fd was seen ready; the caller then makes its own
//! syscall and, if that says `WouldBlock`, clears the readiness through the guard, so the
//! next wait blocks until the kernel reports a new edge. Clearing only takes effect if no
//! event arrived since the guard was made (the tick is unchanged), so a clear can never
//! swallow an edge.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{Interest, Ready};
use crate::reactor::{self, Direction, ScheduledIo};
use crate::runtime::with_current_reactor;
use crate::scheduler::coop;

type ReadyEvent = crate::reactor::ReadyEvent;

/// An fd of any kind (a timerfd, an inotify fd, a pipe, a tun device, a raw socket, a
/// socket from another library) registered with the current runtime's reactor, so tasks can
/// wait until it is readable or writable and then do their own nonblocking I/O on it.
/// Tokio's `AsyncFd`.
///
/// The fd must be **nonblocking** (or every syscall on it must be), and must stay open, and
/// the same, while the `AsyncFd` lives; `AsyncFd` never closes it: dropping the `AsyncFd`
/// deregisters the fd and drops `T`, which closes it if it owns it.
///
/// ```
/// use rawrt::io::unix::AsyncFd;
///
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// // An eventfd (nonblocking, from rawrt-sys): readable once written.
/// let afd = AsyncFd::new(rawrt_sys::EventFd::new()?)?;
/// afd.get_ref().notify()?;
/// let mut guard = afd.readable().await?;
/// assert!(guard.ready().is_readable());
/// let drained = guard.try_io(|fd| fd.get_ref().drain());
/// assert_eq!(drained.expect("it was readable")?, 1);
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct AsyncFd<T: AsRawFd> {
    inner: Option<T>,
    shared: Arc<ScheduledIo>,
    token: u64,
    handle: reactor::Handle,
    interest: Interest,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd for reading and writing with the current runtime. Fails
    /// (giving nothing back: `inner` is dropped) outside a runtime, or with the OS's error
    /// (`EPERM` for a regular file, which epoll refuses).
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// As [`new`](Self::new), for the directions in `interest` only: the readiness methods
    /// for the other direction wait forever. (The fd is registered for both either way;
    /// the interest decides what the guards report.)
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let handle = with_current_reactor(reactor::Handle::clone).ok_or_else(|| {
            io::Error::other(
                "AsyncFd::new needs a rawrt runtime: call it from a task, inside \
                 Runtime::block_on, or under Handle::enter",
            )
        })?;
        let (shared, token) = handle.register(borrow(&inner))?;
        Ok(AsyncFd {
            inner: Some(inner),
            shared,
            token,
            handle,
            interest,
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("AsyncFd used after into_inner")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("AsyncFd used after into_inner")
    }

    /// The interest given at registration.
    pub fn interest(&self) -> Interest {
        self.interest
    }

    /// Deregisters the fd and gives back the value (which still owns it, if it did).
    pub fn into_inner(mut self) -> T {
        let inner = self.inner.take().expect("AsyncFd used after into_inner");
        let _ = self.handle.deregister(borrow(&inner), self.token);
        inner
    }

    fn mask(&self, interest: Interest) -> reactor::Ready {
        let mut mask = reactor::Ready::EMPTY;
        let allowed = self.interest;
        if interest.is_readable() && allowed.is_readable() {
            mask |= Direction::Read.mask();
        }
        if interest.is_writable() && allowed.is_writable() {
            mask |= Direction::Write.mask();
        }
        mask
    }

    async fn wait(&self, interest: Interest) -> io::Result<ReadyEvent> {
        let mask = self.mask(interest);
        if mask.is_empty() {
            // Nothing registered that could ever wake this wait: as Tokio, wait forever.
            std::future::pending::<()>().await;
        }
        coop::budgeted(self.shared.readiness(mask)).await
    }

    /// Waits until the fd is ready for some of `interest`, returning a guard that says for
    /// what; `Err` only if the runtime shut down. Any number of tasks may wait at once.
    /// Cancel safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.wait(interest).await?;
        Ok(AsyncFdReadyGuard {
            fd: self,
            event: Some(event),
        })
    }

    /// As [`ready`](Self::ready), with a guard that lends the `AsyncFd` mutably.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = self.wait(interest).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        })
    }

    /// Waits until readable (or read-closed).
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until readable, with a mutable guard.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until writable (or write-closed).
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Waits until writable, with a mutable guard.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    fn poll_dir(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        coop::poll_budgeted(cx, |cx| self.shared.poll_ready(cx, dir))
    }

    /// Polls for read readiness. Only the last task to poll is woken (one slot per
    /// direction); use [`readable`](Self::readable) from several tasks.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_dir(cx, Direction::Read)
            .map_ok(|event| AsyncFdReadyGuard {
                fd: self,
                event: Some(event),
            })
    }

    /// Polls for read readiness, with a mutable guard.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.poll_dir(cx, Direction::Read) {
            Poll::Ready(Ok(event)) => Poll::Ready(Ok(AsyncFdReadyMutGuard {
                fd: self,
                event: Some(event),
            })),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls for write readiness.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_dir(cx, Direction::Write)
            .map_ok(|event| AsyncFdReadyGuard {
                fd: self,
                event: Some(event),
            })
    }

    /// Polls for write readiness, with a mutable guard.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.poll_dir(cx, Direction::Write) {
            Poll::Ready(Ok(event)) => Poll::Ready(Ok(AsyncFdReadyMutGuard {
                fd: self,
                event: Some(event),
            })),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for `interest` and runs `f`, again after each `WouldBlock` it returns (which
    /// clears the readiness): the loop every use of a guard otherwise writes by hand.
    ///
    /// ```
    /// use rawrt::io::{unix::AsyncFd, Interest};
    ///
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// let efd = rawrt_sys::EventFd::new()?;
    /// efd.notify()?;
    /// let afd = AsyncFd::new(efd)?;
    /// let n = afd.async_io(Interest::READABLE, |e| e.drain()).await?;
    /// assert_eq!(n, 1);
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready(interest).await?;
            match guard.try_io(|fd| f(fd.get_ref())) {
                Ok(res) => return res,
                Err(_would_block) => continue,
            }
        }
    }

    /// As [`async_io`](Self::async_io), lending the value mutably.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready_mut(interest).await?;
            match guard.try_io(|fd| f(fd.get_mut())) {
                Ok(res) => return res,
                Err(_would_block) => continue,
            }
        }
    }

    /// Runs `f` if the fd is known ready for `interest` now; `WouldBlock` otherwise (without
    /// calling it). A `WouldBlock` from `f` clears the readiness.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = match self.shared.observe_interest(self.mask(interest)) {
            Some(Ok(event)) => event,
            Some(Err(e)) => return Err(e),
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.shared.clear_readiness(event);
                Err(e)
            }
            res => res,
        }
    }
}

/// The fd of `inner`, borrowed for one registration call.
fn borrow<T: AsRawFd>(inner: &T) -> BorrowedFd<'_> {
    let raw: RawFd = inner.as_raw_fd();
    // SAFETY: `AsyncFd`'s contract (documented on the type, as Tokio's): the fd `inner`
    // reports is open and stays the same while `inner` is alive, which covers this borrow
    // (it ends before `inner` can be dropped).
    unsafe { BorrowedFd::borrow_raw(raw) }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // Deregister before `inner` (which may own and close the fd) is dropped.
            let _ = self.handle.deregister(borrow(&inner), self.token);
        }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Clears the bits of `ready` in `event`'s readiness (if no event came since), leaving the
/// rest in the guard.
fn clear_matching(shared: &ScheduledIo, event: &mut Option<ReadyEvent>, ready: Ready) {
    if let Some(ev) = event.as_mut() {
        let bits = ev.ready & ready.to_reactor();
        shared.clear_readiness(ReadyEvent {
            tick: ev.tick,
            ready: bits,
        });
        ev.ready = ev.ready - bits;
        if ev.ready.is_empty() {
            *event = None;
        }
    }
}

/// Proof that an [`AsyncFd`] was seen ready: do the I/O with
/// [`try_io`](Self::try_io), or call [`clear_ready`](Self::clear_ready) after a
/// `WouldBlock` of your own. Dropping it keeps the readiness.
#[must_use = "a readiness guard does nothing unless the I/O is done through it"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// [`try_io`](AsyncFdReadyGuard::try_io) found the fd not ready after all (`WouldBlock`);
/// the readiness was cleared, so wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the I/O would block; readiness cleared")
    }
}

impl std::error::Error for TryIoError {}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Clears the readiness this guard saw, so the next wait blocks until a new edge (unless
    /// one already came). Call it after your syscall returned `WouldBlock`.
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.shared.clear_readiness(event);
        }
    }

    /// Clears only the readiness in `ready` (e.g. `Ready::READABLE` after a read hit
    /// `WouldBlock` on an fd also found writable).
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        clear_matching(&self.fd.shared, &mut self.event, ready);
    }

    /// Keeps the readiness (what dropping the guard does anyway).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// What the fd was seen ready for (empty once cleared).
    pub fn ready(&self) -> Ready {
        self.event
            .map_or(Ready::EMPTY, |e| Ready::from_reactor(e.ready))
    }

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)`, else `Ok` with its result.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The value inside the `AsyncFd`.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("ready", &self.ready())
            .finish()
    }
}

/// As [`AsyncFdReadyGuard`], lending the [`AsyncFd`] mutably.
#[must_use = "a readiness guard does nothing unless the I/O is done through it"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    /// See [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.shared.clear_readiness(event);
        }
    }

    /// See [`AsyncFdReadyGuard::clear_ready_matching`].
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        clear_matching(&self.fd.shared, &mut self.event, ready);
    }

    /// Keeps the readiness.
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// What the fd was seen ready for.
    pub fn ready(&self) -> Ready {
        self.event
            .map_or(Ready::EMPTY, |e| Ready::from_reactor(e.ready))
    }

    /// See [`AsyncFdReadyGuard::try_io`]; `f` gets the `AsyncFd` mutably.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The value inside.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The value inside, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("ready", &self.ready())
            .finish()
    }
}
