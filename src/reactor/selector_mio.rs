//! The OS backend of the reactor on mio (feature `mio`), for A/B comparisons with the raw
//! epoll backend. Same protocol: each fd is registered once through `mio::unix::SourceFd`
//! (mio registers `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`), the driver blocks in
//! `Poll::poll`, and `mio::Waker` (an eventfd on Linux) interrupts it.
//!
//! The calls rawrt makes into mio are counted in `rawrt::stats` as the syscalls they make:
//! `poll` as `epoll_wait`, `register`/`deregister` as `epoll_ctl`, `wake` as an eventfd write;
//! and traced the same way (`rawrt_sys::trace::external`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use rawrt_sys::stats::Syscall;
use rawrt_sys::trace::external;

use super::Ready;

/// The token of the waker.
pub(crate) const WAKE_TOKEN: u64 = usize::MAX as u64;

/// Registration and wake-up, shared.
pub(crate) struct Registry {
    registry: mio::Registry,
    waker: mio::Waker,
}

/// The `Poll` and its event buffer, owned by the driving thread.
pub(crate) struct Poller {
    poll: Poll,
    events: Events,
}

/// Creates the `Poll`, a cloned `Registry` and the `Waker`.
pub(crate) fn new(capacity: usize) -> io::Result<(Registry, Poller)> {
    let poll = Poll::new()?;
    let registry = poll.registry().try_clone()?;
    let waker = mio::Waker::new(poll.registry(), Token(WAKE_TOKEN as usize))?;
    Ok((
        Registry { registry, waker },
        Poller {
            poll,
            events: Events::with_capacity(capacity.max(1)),
        },
    ))
}

impl Registry {
    /// Registers `fd` for both directions (mio adds read-closed and edge triggering).
    pub(crate) fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        external(Syscall::EpollCtl, "epoll_ctl", raw.into(), || {
            self.registry.register(
                &mut SourceFd(&raw),
                Token(token as usize),
                Interest::READABLE | Interest::WRITABLE,
            )
        })
    }

    /// Removes `fd` from the interest list.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        external(Syscall::EpollCtl, "epoll_ctl", raw.into(), || {
            self.registry.deregister(&mut SourceFd(&raw))
        })
    }

    /// Interrupts a wait in progress (or the next one).
    pub(crate) fn wake(&self) {
        let _ = external(Syscall::EventfdWrite, "write", -1, || self.waker.wake());
    }
}

impl Poller {
    /// Waits for events; `EINTR` reads as zero events.
    pub(crate) fn poll(&mut self, _registry: &Registry, timeout: Option<Duration>) -> usize {
        let (poll, events) = (&mut self.poll, &mut self.events);
        let epfd = i64::from(poll.as_raw_fd());
        let res = external(Syscall::EpollWait, "epoll_wait", epfd, || {
            poll.poll(events, timeout)?;
            Ok(events.iter().count() as i64)
        });
        match res {
            Ok(n) => n as usize,
            // mio reports EINTR as `Interrupted`: zero events, as on the epoll backend.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
            // As on the epoll backend (`selector_epoll.rs`): an unusable epoll instance.
            Err(e) => panic!("rawrt: epoll_wait on the runtime's epoll instance failed: {e}"),
        }
    }

    /// The harvested events as `(token, readiness)`, the waker's token included.
    pub(crate) fn events(&self) -> impl Iterator<Item = (u64, Ready)> + '_ {
        self.events.iter().map(|ev| {
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
            (ev.token().0 as u64, r)
        })
    }
}
