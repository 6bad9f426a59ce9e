//! `PollEvented`: an fd registered with the reactor, deregistered before it is closed.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::scheduled_io::ReadyEvent;
use super::{Direction, Handle, Ready, ScheduledIo};

/// An I/O object registered with a reactor for its whole life.
pub(crate) struct PollEvented<T: AsFd + Into<OwnedFd>> {
    io: Option<T>,
    shared: Arc<ScheduledIo>,
    token: u64,
    handle: Handle,
}

impl<T: AsFd + Into<OwnedFd>> PollEvented<T> {
    /// Registers `io`. On error `io` is dropped (its fd closed): nothing leaks.
    pub(crate) fn new(io: T, handle: &Handle) -> io::Result<PollEvented<T>> {
        let (shared, token) = handle.register(io.as_fd())?;
        Ok(PollEvented {
            io: Some(io),
            shared,
            token,
            handle: handle.clone(),
        })
    }

    /// The reactor this resource is registered with.
    pub(crate) fn reactor(&self) -> &Handle {
        &self.handle
    }

    /// The I/O object.
    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("PollEvented used after into_inner")
    }

    /// Ready in `dir`, or the task's waker is stored.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.shared.poll_ready(cx, dir)
    }

    /// Clears readiness observed in `event` (unless a newer event arrived).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.shared.clear_readiness(event)
    }

    /// Runs `f` while the resource is ready in `dir`. `WouldBlock` clears the readiness and
    /// waits for the next edge; any other result is returned.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = match self.poll_ready(cx, dir) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return Poll::Ready(res),
            }
        }
    }

    /// As [`poll_io`](Self::poll_io) for a stream transfer of `len` bytes: a short transfer
    /// (0 < n < len) also clears the readiness, because the kernel buffer is drained (read) or
    /// full (write) and the next attempt would only return `EAGAIN`; new data or space
    /// arrives as a new edge, which bumps the tick and keeps the readiness.
    pub(crate) fn poll_stream(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut f: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let event = match self.poll_ready(cx, dir) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match f(self.get_ref()) {
                Ok(n) if n > 0 && n < len => {
                    self.clear_readiness(event);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return Poll::Ready(res),
            }
        }
    }

    /// Waits until the resource is ready for some of `interest` (or shut down: an error).
    /// Any number of tasks may wait at once, each woken by the events it waits for.
    pub(crate) async fn ready(&self, interest: Ready) -> io::Result<ReadyEvent> {
        self.shared.readiness(interest).await
    }

    /// The async counterpart of [`poll_io`](Self::poll_io): waits in the waiters' list (so
    /// any number of tasks may do this at once), runs `f` once ready, and on `WouldBlock`
    /// clears the readiness and waits again.
    pub(crate) async fn async_io<R>(
        &self,
        dir: Direction,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.async_io_mask(dir.mask(), f).await
    }

    /// As [`async_io`](Self::async_io), waiting for any of the readiness in `mask`.
    pub(crate) async fn async_io_mask<R>(
        &self,
        mask: Ready,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.ready(mask).await?;
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return res,
            }
        }
    }

    /// Runs `f` only if the resource is ready in `dir` now; `WouldBlock` otherwise (no
    /// syscall made). A `WouldBlock` from `f` clears the readiness.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_mask(dir.mask(), f)
    }

    /// As [`try_io`](Self::try_io), for any of the readiness in `mask`.
    pub(crate) fn try_io_mask<R>(
        &self,
        mask: Ready,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = match self.shared.observe_interest(mask) {
            Some(Ok(event)) => event,
            Some(Err(e)) => return Err(e),
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(event);
                Err(e)
            }
            res => res,
        }
    }

    /// Deregisters and returns the I/O object.
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("PollEvented used after into_inner");
        self.handle.deregister(io.as_fd(), self.token)?;
        Ok(io)
    }
}

impl<T: AsFd + Into<OwnedFd>> Drop for PollEvented<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister before the fd is closed, so the number cannot be reused while still
            // in the epoll set. An error here (ENOENT after shutdown) changes nothing.
            let _ = self.handle.deregister(io.as_fd(), self.token);
            // Close through rawrt-sys so the close is counted; a close error leaves nothing
            // to recover (the fd is gone either way).
            let _ = rawrt_sys::close(io.into());
        }
    }
}
