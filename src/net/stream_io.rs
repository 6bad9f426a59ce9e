//! The read and write plumbing shared by the stream sockets ([`TcpStream`](super::TcpStream)
//! and [`UnixStream`](super::UnixStream)): stream semantics, so every transfer goes through
//! [`PollEvented::poll_stream`] and a short transfer clears the readiness.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use rawrt_sys::socket;

use crate::io::{read_buf, Interest, ReadBuf, Ready};
use crate::reactor::{Direction, PollEvented};
use crate::scheduler::coop;

/// A registered stream socket.
pub(crate) type Io = PollEvented<OwnedFd>;

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
    Poll::Ready(
        match socket::shutdown(io.get_ref().as_fd(), std::net::Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        },
    )
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

/// Polls a peek (`MSG_PEEK`) into a `ReadBuf`, returning how many bytes were copied.
///
/// Unlike a read, a short peek must not clear the readiness: the bytes stay queued, so no
/// new edge would come for them and the next read would wait forever. Only `WouldBlock`
/// clears it ([`PollEvented::poll_io`]).
pub(crate) fn poll_peek(
    io: &Io,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<usize>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(0));
    }
    coop::poll_budgeted(cx, |cx| {
        io.poll_io(cx, Direction::Read, |fd| {
            read_buf::fill_with(buf, |dst| {
                socket::recv_uninit(fd.as_fd(), dst, libc::MSG_PEEK)
            })
        })
    })
}

/// Polls for readiness in `dir` (budgeted), without transferring anything.
pub(crate) fn poll_ready(io: &Io, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
    coop::poll_budgeted(cx, |cx| io.poll_ready(cx, dir).map_ok(drop))
}

/// A vectored read now (`readv`), if the socket is known readable; `WouldBlock` if not.
pub(crate) fn try_read_vectored(io: &Io, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    io.try_io(Direction::Read, |fd| socket::readv(fd.as_fd(), bufs))
}

/// A vectored write now (`sendmsg`), if the socket is known writable; `WouldBlock` if not.
pub(crate) fn try_write_vectored(io: &Io, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    io.try_io(Direction::Write, |fd| {
        socket::send_vectored(fd.as_fd(), bufs)
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

/// The inherent methods that [`TcpStream`](crate::net::TcpStream) and
/// [`UnixStream`](crate::net::UnixStream) share, written once: readiness (`ready`,
/// `readable`, `writable`, `poll_read_ready`, `poll_write_ready`), the `try_*` transfers,
/// `try_io`/`async_io` for the user's own syscalls, `peek`/`poll_peek`, `split`/`into_split`
/// and `shutdown_std`. `$ty` has a field `io: Io`; `$half` is the module with its halves;
/// `$setup` is doctest set-up making a connected pair `a`, `b`.
macro_rules! stream_methods {
    ($ty:ident, $half:ident, $setup:literal) => {
        /// Waits until the stream is ready for some of `interest` and says for what. Any
        /// number of tasks may wait at once, each woken by the events it waits for. The
        /// readiness may be stale by the time the caller acts on it: a `try_read` or
        /// `try_write` may still return `WouldBlock` (which clears it), so loop.
        ///
        /// Cancel safe.
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use rawrt::io::{AsyncWriteExt, Interest};
        #[doc = $setup]
        /// b.write_all(b"hi").await?;
        /// let ready = a.ready(Interest::READABLE | Interest::WRITABLE).await?;
        /// assert!(ready.is_readable() || ready.is_writable());
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub async fn ready(
            &self,
            interest: $crate::io::Interest,
        ) -> ::std::io::Result<$crate::io::Ready> {
            $crate::net::stream_io::ready(&self.io, interest).await
        }

        /// Waits until the stream is readable (data, or end of stream); then use
        /// [`try_read`](Self::try_read). Cancel safe.
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use rawrt::io::AsyncWriteExt;
        #[doc = $setup]
        /// b.write_all(b"hello").await?;
        /// let mut buf = [0u8; 16];
        /// let n = loop {
        ///     a.readable().await?;
        ///     match a.try_read(&mut buf) {
        ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///         res => break res?,
        ///     }
        /// };
        /// assert_eq!(&buf[..n], b"hello");
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub async fn readable(&self) -> ::std::io::Result<()> {
            self.ready($crate::io::Interest::READABLE).await.map(drop)
        }

        /// Waits until the stream is writable; then use [`try_write`](Self::try_write).
        /// Cancel safe.
        pub async fn writable(&self) -> ::std::io::Result<()> {
            self.ready($crate::io::Interest::WRITABLE).await.map(drop)
        }

        /// Polls for read readiness. Only the last task to poll is woken (one slot per
        /// direction, as Tokio's `poll_*` have); use [`readable`](Self::readable) to wait
        /// from several tasks.
        pub fn poll_read_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            $crate::net::stream_io::poll_ready(&self.io, cx, $crate::reactor::Direction::Read)
        }

        /// Polls for write readiness; see [`poll_read_ready`](Self::poll_read_ready).
        pub fn poll_write_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            $crate::net::stream_io::poll_ready(&self.io, cx, $crate::reactor::Direction::Write)
        }

        /// Reads now if the stream is known to be readable, without waiting: `WouldBlock` (and
        /// no syscall) if it is not, or if the read finds nothing (which clears the readiness).
        /// `Ok(0)` is end of stream.
        pub fn try_read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            $crate::net::stream_io::try_read(&self.io, buf)
        }

        /// As [`try_read`](Self::try_read), into several buffers in order (`readv`).
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use std::io::IoSliceMut;
        /// use rawrt::io::AsyncWriteExt;
        #[doc = $setup]
        /// b.write_all(b"headbody").await?;
        /// let (mut head, mut body) = ([0u8; 4], [0u8; 8]);
        /// let n = loop {
        ///     a.readable().await?;
        ///     let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)];
        ///     match a.try_read_vectored(&mut bufs) {
        ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///         res => break res?,
        ///     }
        /// };
        /// assert_eq!((n, &head, &body[..4]), (8, b"head", &b"body"[..]));
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub fn try_read_vectored(
            &self,
            bufs: &mut [::std::io::IoSliceMut<'_>],
        ) -> ::std::io::Result<usize> {
            $crate::net::stream_io::try_read_vectored(&self.io, bufs)
        }

        /// Writes now if the stream is known to be writable, without waiting: `WouldBlock`
        /// (and no syscall) if it is not, or if the send finds no room (which clears the
        /// readiness).
        pub fn try_write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
            $crate::net::stream_io::try_write(&self.io, buf)
        }

        /// As [`try_write`](Self::try_write), from several buffers in order (`sendmsg`).
        pub fn try_write_vectored(
            &self,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::std::io::Result<usize> {
            $crate::net::stream_io::try_write_vectored(&self.io, bufs)
        }

        /// Runs `f` (the caller's own syscall on this socket, through
        /// [`AsRawFd`](std::os::fd::AsRawFd)) if the stream is known ready for `interest`;
        /// `WouldBlock` otherwise, without calling it. A `WouldBlock` from `f` clears the
        /// readiness, so `f` must return it exactly when the OS did.
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use rawrt::io::{AsyncWriteExt, Interest};
        #[doc = $setup]
        /// b.write_all(b"x").await?;
        /// a.readable().await?;
        /// let mut buf = [0u8; 1];
        /// let n = a.try_io(Interest::READABLE, || a.try_read(&mut buf))?;
        /// assert_eq!(n, 1);
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub fn try_io<R>(
            &self,
            interest: $crate::io::Interest,
            f: impl FnOnce() -> ::std::io::Result<R>,
        ) -> ::std::io::Result<R> {
            self.io.try_io_mask(interest.mask(), |_| f())
        }

        /// Waits until the stream is ready for `interest` and runs `f`, again after each
        /// `WouldBlock` it returns (which clears the readiness): the async form of
        /// [`try_io`](Self::try_io).
        pub async fn async_io<R>(
            &self,
            interest: $crate::io::Interest,
            mut f: impl FnMut() -> ::std::io::Result<R>,
        ) -> ::std::io::Result<R> {
            $crate::scheduler::coop::budgeted(self.io.async_io_mask(interest.mask(), |_| f())).await
        }

        /// Reads without consuming: the bytes stay queued for the next read. Waits until
        /// there is at least one (or end of stream: `Ok(0)`). Any number of tasks may wait at
        /// once.
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
        #[doc = $setup]
        /// b.write_all(b"hey").await?;
        /// let mut buf = [0u8; 8];
        /// let n = a.peek(&mut buf).await?;
        /// assert_eq!(&buf[..n], &b"hey"[..n]);
        /// let mut all = [0u8; 3];
        /// a.read_exact(&mut all).await?; // the peeked bytes are still there
        /// assert_eq!(&all, b"hey");
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub async fn peek(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            $crate::net::stream_io::peek(&self.io, buf).await
        }

        /// Polls a peek (`MSG_PEEK`) into `buf`, returning how many bytes it copied.
        pub fn poll_peek(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &mut $crate::io::ReadBuf<'_>,
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            $crate::net::stream_io::poll_peek(&self.io, cx, buf)
        }

        /// Splits into a read half and a write half borrowing the stream: free (no
        /// allocation, no lock), for use in one task (e.g. `io::copy` each way under `join`).
        pub fn split(
            &mut self,
        ) -> (
            $crate::net::$half::ReadHalf<'_>,
            $crate::net::$half::WriteHalf<'_>,
        ) {
            $crate::net::$half::split(self)
        }

        /// Splits into owned halves, which can move to different tasks (one `Arc`). Dropping
        /// the write half shuts down the write direction; `reunite` puts them back together.
        ///
        /// ```
        /// # let rt = rawrt::Runtime::new()?;
        /// # rt.block_on(async {
        /// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
        #[doc = $setup]
        /// let (mut rd, mut wr) = a.into_split();
        /// let writer = rawrt::spawn(async move {
        ///     wr.write_all(b"from a").await?;
        ///     Ok::<_, std::io::Error>(wr)
        /// });
        /// let mut got = [0u8; 6];
        /// b.read_exact(&mut got).await?;
        /// assert_eq!(&got, b"from a");
        /// b.write_all(b"!").await?;
        /// let mut one = [0u8; 1];
        /// rd.read_exact(&mut one).await?;
        /// let a = rd.reunite(writer.await??).expect("same stream");
        /// # drop(a);
        /// # Ok::<_, std::io::Error>(()) })?;
        /// # Ok::<_, std::io::Error>(())
        /// ```
        pub fn into_split(
            self,
        ) -> (
            $crate::net::$half::OwnedReadHalf,
            $crate::net::$half::OwnedWriteHalf,
        ) {
            $crate::net::$half::into_split(self)
        }

        /// Shuts down the read direction, the write direction, or both, at once (std's
        /// `shutdown`). The async way to end the write direction is
        /// [`AsyncWriteExt::shutdown`](crate::io::AsyncWriteExt::shutdown).
        pub fn shutdown_std(&self, how: ::std::net::Shutdown) -> ::std::io::Result<()> {
            ::rawrt_sys::socket::shutdown(::std::os::fd::AsFd::as_fd(self.io.get_ref()), how)
        }

        /// The pending socket error (`SO_ERROR`), if any.
        pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
            ::rawrt_sys::socket::take_error(::std::os::fd::AsFd::as_fd(self.io.get_ref()))
        }
    };
}
pub(crate) use stream_methods;
