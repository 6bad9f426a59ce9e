//! The OS backend of the reactor on rawrt's own epoll layer (`rawrt-sys`): the default.
//!
//! `Registry` (shared by every thread) owns the epoll instance and the wake-up eventfd;
//! `Poller` (owned by the thread driving the reactor) owns the event buffer.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use rawrt_sys::{Epoll, EventFd, Events, Interest};

use super::Ready;

/// The token of the wake-up eventfd.
pub(crate) const WAKE_TOKEN: u64 = u64::MAX;

/// Registration and wake-up, shared.
pub(crate) struct Registry {
    epoll: Epoll,
    waker: EventFd,
}

/// The event buffer, owned by the driving thread.
pub(crate) struct Poller {
    events: Events,
}

/// Creates the epoll instance, its eventfd (registered `EPOLLIN | EPOLLET` under
/// [`WAKE_TOKEN`]) and an event buffer of `capacity`.
pub(crate) fn new(capacity: usize) -> io::Result<(Registry, Poller)> {
    let epoll = Epoll::new()?;
    let waker = EventFd::new()?;
    epoll.add(
        waker.as_fd(),
        WAKE_TOKEN,
        Interest::READABLE | Interest::EDGE,
    )?;
    Ok((
        Registry { epoll, waker },
        Poller {
            events: Events::with_capacity(capacity.max(1)),
        },
    ))
}

impl Registry {
    /// Registers `fd` once for its whole life: both directions and peer hang-up,
    /// edge-triggered.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let interest =
            Interest::READABLE | Interest::WRITABLE | Interest::READ_CLOSED | Interest::EDGE;
        self.epoll.add(fd, token, interest)
    }

    /// Removes `fd` from the interest list.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.epoll.delete(fd)
    }

    /// Interrupts a wait in progress (or the next one). Edge-triggered: every write is a new
    /// edge, so the eventfd is never read.
    pub(crate) fn wake(&self) {
        // Fails only on a full counter, which `notify` handles itself.
        let _ = self.waker.notify();
    }
}

impl Poller {
    /// Waits for events; `EINTR` reads as zero events.
    ///
    /// # Panics
    /// On any other error (`EBADF`, `EINVAL`, `EFAULT`): the runtime's own epoll fd or
    /// buffer is unusable (something closed a descriptor it did not own), and no later
    /// wait can succeed. Carrying on would turn every park into a busy loop that never sees
    /// an event again, so this stops loudly instead, with the OS error.
    pub(crate) fn poll(&mut self, registry: &Registry, timeout: Option<Duration>) -> usize {
        match registry.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            Err(e) => panic!("rawrt: epoll_wait on the runtime's epoll instance failed: {e}"),
        }
    }

    /// The harvested events as `(token, readiness)`, the wake-up token included.
    pub(crate) fn events(&self) -> impl Iterator<Item = (u64, Ready)> + '_ {
        self.events.iter().map(|ev| (ev.token(), readiness(ev)))
    }
}

/// The readiness an epoll event reports. An error event sets both directions: the next
/// syscall in either direction reports the error itself.
fn readiness(ev: &rawrt_sys::Event) -> Ready {
    let mut r = Ready::EMPTY;
    if ev.is_readable() || ev.is_error() {
        r |= Ready::READABLE;
    }
    if ev.is_writable() || ev.is_error() {
        r |= Ready::WRITABLE;
    }
    if ev.is_read_closed() {
        r |= Ready::READ_CLOSED;
    }
    if ev.is_write_closed() {
        r |= Ready::WRITE_CLOSED;
    }
    r
}
