//! The read and write plumbing shared by the stream sockets ([`TcpStream`](super::TcpStream)
//! and [`UnixStream`](super::UnixStream)): stream semantics, so every transfer goes through
//! [`PollEvented::poll_stream`] and a short transfer clears the readiness.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use rawrt_sys::socket;

use crate::io::{read_buf, Interest, ReadBuf, Ready};
use crate::reactor::{Direction, PollEvented};
use crate::scheduler::coop;

/// A registered stream socket.
pub(crate) type Io = PollEvented<OwnedFd>;

/// Polls a read; ready with `Ok(n)` as soon as any bytes (or end of stream) are available.
pub(crate) fn poll_read(io: &Io, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let len = buf.len();
    coop::poll_budgeted(cx, |cx| {
        io.poll_stream(cx, Direction::Read, len, |fd| socket::read(fd.as_fd(), buf))
    })
}

/// Polls a read into a `ReadBuf` (its unfilled part may be uninitialised memory).
pub(crate) fn poll_read_buf(
    io: &Io,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let len = buf.remaining();
    coop::poll_budgeted(cx, |cx| {
        io.poll_stream(cx, Direction::Read, len, |fd| {
            read_buf::fill_with(buf, |dst| socket::read_uninit(fd.as_fd(), dst))
        })
    })
    .map_ok(drop)
}

/// Shuts down the write half (`AsyncWrite::poll_shutdown`); a peer that already went away
/// counts as done, as does a second shutdown.
pub(crate) fn shutdown_write(io: &Io) -> Poll<io::Result<()>> {
    Poll::Ready(match socket::shutdown(io.get_ref().as_fd(), std::net::Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        res => res,
    })
}

/// Implements [`AsyncRead`](crate::io::AsyncRead) and [`AsyncWrite`](crate::io::AsyncWrite)
/// for a stream socket type and for shared references to it (every transfer takes `&self`,
/// so one task may read through one reference while another writes through a second).
/// `$ty` has a field `io: Io`.
macro_rules! impl_async_io {
    ($ty:ty) => {
        $crate::net::stream_io::impl_async_io!(@ $ty, $ty);
        $crate::net::stream_io::impl_async_io!(@ &$ty, $ty);
    };
    (@ $impl_ty:ty, $ty:ty) => {
        impl $crate::io::AsyncRead for $impl_ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut $crate::io::ReadBuf<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let this: &$ty = &self;
                $crate::net::stream_io::poll_read_buf(&this.io, cx, buf)
            }
        }

        impl $crate::io::AsyncWrite for $impl_ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let this: &$ty = &self;
                $crate::net::stream_io::poll_write(&this.io, cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let this: &$ty = &self;
                $crate::net::stream_io::poll_write_vectored(&this.io, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                // Writes go straight to the kernel: nothing is buffered here.
                ::std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let this: &$ty = &self;
                $crate::net::stream_io::shutdown_write(&this.io)
            }
        }
    };
}
pub(crate) use impl_async_io;

/// Polls a read into possibly uninitialized memory.
#[cfg(feature = "hyper")]
pub(crate) fn poll_read_uninit(
    io: &Io,
    cx: &mut Context<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let len = buf.len();
    coop::poll_budgeted(cx, |cx| {
        io.poll_stream(cx, Direction::Read, len, |fd| {
            socket::read_uninit(fd.as_fd(), buf)
        })
    })
}

/// Polls a peek (`MSG_PEEK`).
///
/// Unlike a read, a short peek must not clear the readiness: the bytes stay queued, so no
/// new edge would come for them and the next read would wait forever. Only `WouldBlock`
/// clears it ([`PollEvented::poll_io`]).
pub(crate) fn poll_peek(io: &Io, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    coop::poll_budgeted(cx, |cx| {
        io.poll_io(cx, Direction::Read, |fd| socket::peek(fd.as_fd(), buf))
    })
}

/// Polls a write (`send` with `MSG_NOSIGNAL`).
pub(crate) fn poll_write(io: &Io, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    coop::poll_budgeted(cx, |cx| {
        io.poll_stream(cx, Direction::Write, buf.len(), |fd| {
            socket::send(fd.as_fd(), buf)
        })
    })
}

/// Polls a vectored write (`sendmsg` with `MSG_NOSIGNAL`).
pub(crate) fn poll_write_vectored(
    io: &Io,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let len: usize = bufs.iter().map(|b| b.len()).sum();
    if len == 0 {
        return Poll::Ready(Ok(0));
    }
    coop::poll_budgeted(cx, |cx| {
        io.poll_stream(cx, Direction::Write, len, |fd| {
            socket::send_vectored(fd.as_fd(), bufs)
        })
    })
}

/// Peeks, waiting in the waiters' list (any number of tasks may at once).
pub(crate) async fn peek(io: &Io, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    coop::budgeted(io.async_io(Direction::Read, |fd| socket::peek(fd.as_fd(), buf))).await
}

/// Waits until the socket is ready for some of `interest`, in the waiters' list.
pub(crate) async fn ready(io: &Io, interest: Interest) -> io::Result<Ready> {
    let event = coop::budgeted(io.ready(interest.mask())).await?;
    Ok(Ready::from_reactor(event.ready))
}

/// A read now, if the socket is known readable; `WouldBlock` (without a syscall) if not.
pub(crate) fn try_read(io: &Io, buf: &mut [u8]) -> io::Result<usize> {
    io.try_io(Direction::Read, |fd| socket::read(fd.as_fd(), buf))
}

/// A write now, if the socket is known writable; `WouldBlock` (without a syscall) if not.
pub(crate) fn try_write(io: &Io, buf: &[u8]) -> io::Result<usize> {
    io.try_io(Direction::Write, |fd| socket::send(fd.as_fd(), buf))
}

/// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
pub(crate) async fn read_exact(io: &Io, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match poll_fn(|cx| poll_read(io, cx, &mut buf[done..])).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("stream ended after {done} of {} bytes", buf.len()),
                ))
            }
            n => done += n,
        }
    }
    Ok(())
}

/// Writes all of `buf`.
pub(crate) async fn write_all(io: &Io, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| poll_write(io, cx, buf)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}
