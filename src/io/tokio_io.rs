//! Tokio's I/O traits for rawrt's types (feature `tokio-io`), and adapters both ways.
//!
//! With `tokio-io`, every rawrt stream and I/O type implements `tokio::io::AsyncRead`,
//! `AsyncWrite` (and `AsyncBufRead`, `AsyncSeek` where it has rawrt's), so crates written
//! against Tokio's traits — tokio-rustls, tokio-util's codecs, tokio-tungstenite — take
//! rawrt's `TcpStream` as it is, with no adapter. The dependency is `tokio` with **no
//! features**: the four traits and `tokio::io::ReadBuf` only, no Tokio runtime (nothing of
//! Tokio runs; rawrt drives everything).
//!
//! For a type of some other crate, [`compat::TokioIo`](super::compat::TokioIo) wraps a
//! rawrt-trait type for Tokio's traits and [`compat::RawrtIo`](super::compat::RawrtIo) the
//! other way round.
//!
//! A read goes through the caller's `ReadBuf`: its unfilled part is initialised once
//! (`initialize_unfilled`, which only zeroes bytes never initialised before, so a buffer
//! reused across reads is zeroed once) and lent to rawrt's read; no `unsafe`.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// Reads through rawrt's `AsyncRead` into Tokio's `ReadBuf`.
fn read_into_tokio<T: AsyncRead + ?Sized>(
    this: Pin<&mut T>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let dst = buf.initialize_unfilled();
    let mut rb = ReadBuf::new(dst);
    match this.poll_read(cx, &mut rb) {
        Poll::Ready(Ok(())) => {
            let n = rb.filled().len();
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
        other => other,
    }
}

/// Reads through Tokio's `AsyncRead` into rawrt's `ReadBuf`.
fn read_into_rawrt<T: tokio::io::AsyncRead + ?Sized>(
    this: Pin<&mut T>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let dst = buf.initialize_unfilled();
    let mut tb = tokio::io::ReadBuf::new(dst);
    match this.poll_read(cx, &mut tb) {
        Poll::Ready(Ok(())) => {
            let n = tb.filled().len();
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
        other => other,
    }
}

/// The body of a `tokio::io::AsyncWrite` impl that forwards to rawrt's `AsyncWrite` of the
/// same type.
macro_rules! forward_write {
    () => {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            AsyncWrite::poll_write(self, cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            AsyncWrite::poll_write_vectored(self, cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            AsyncWrite::is_write_vectored(self)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            AsyncWrite::poll_flush(self, cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            AsyncWrite::poll_shutdown(self, cx)
        }
    };
}

/// Implements Tokio's traits for concrete rawrt types through their rawrt implementations.
macro_rules! tokio_traits {
    (read: $($r:ty),* ; write: $($w:ty),* ; seek: $($s:ty),* $(;)?) => {
        $(
            impl tokio::io::AsyncRead for $r {
                fn poll_read(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &mut tokio::io::ReadBuf<'_>,
                ) -> Poll<io::Result<()>> {
                    read_into_tokio(self, cx, buf)
                }
            }
        )*
        $(
            impl tokio::io::AsyncWrite for $w {
                fn poll_write(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &[u8],
                ) -> Poll<io::Result<usize>> {
                    AsyncWrite::poll_write(self, cx, buf)
                }

                fn poll_write_vectored(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    bufs: &[IoSlice<'_>],
                ) -> Poll<io::Result<usize>> {
                    AsyncWrite::poll_write_vectored(self, cx, bufs)
                }

                fn is_write_vectored(&self) -> bool {
                    AsyncWrite::is_write_vectored(self)
                }

                fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                    AsyncWrite::poll_flush(self, cx)
                }

                fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                    AsyncWrite::poll_shutdown(self, cx)
                }
            }
        )*
        $(
            impl tokio::io::AsyncSeek for $s {
                fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
                    AsyncSeek::start_seek(self, position)
                }

                fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
                    AsyncSeek::poll_complete(self, cx)
                }
            }
        )*
    };
}

use crate::net::{tcp, unix, TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

tokio_traits! {
    read: TcpStream, tcp::OwnedReadHalf, tcp::ReadHalf<'_>, UnixStream, unix::OwnedReadHalf,
        unix::ReadHalf<'_>, super::DuplexStream, super::SimplexStream, super::Empty,
        super::Repeat, ChildStdout, ChildStderr, crate::fs::File, super::Stdin;
    write: TcpStream, tcp::OwnedWriteHalf, tcp::WriteHalf<'_>, UnixStream, unix::OwnedWriteHalf,
        unix::WriteHalf<'_>, super::DuplexStream, super::SimplexStream, super::Empty,
        super::Sink, ChildStdin, crate::fs::File, super::Stdout, super::Stderr;
    seek: crate::fs::File;
}

/// Tokio's traits for rawrt's generic wrappers, when what they wrap has rawrt's.
macro_rules! generic_tokio_traits {
    ($($ty:ident<$($p:ident),+>),* $(,)?) => {$(
        impl<$($p),+> tokio::io::AsyncRead for super::$ty<$($p),+>
        where
            super::$ty<$($p),+>: AsyncRead,
        {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_into_tokio(self, cx, buf)
            }
        }

        impl<$($p),+> tokio::io::AsyncWrite for super::$ty<$($p),+>
        where
            super::$ty<$($p),+>: AsyncWrite,
        {
            forward_write!();
        }
    )*};
}

generic_tokio_traits!(BufReader<R>, BufWriter<W>, BufStream<S>, Join<R, W>);

macro_rules! read_only_generic {
    ($($ty:ident<$($p:ident),+>),*) => {$(
        impl<$($p),+> tokio::io::AsyncRead for super::$ty<$($p),+>
        where
            super::$ty<$($p),+>: AsyncRead,
        {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_into_tokio(self, cx, buf)
            }
        }
    )*};
}

read_only_generic!(ReadHalf<T>, Chain<T, U>, Take<T>);

impl<T> tokio::io::AsyncWrite for super::WriteHalf<T>
where
    super::WriteHalf<T>: AsyncWrite,
{
    forward_write!();
}

impl<R> tokio::io::AsyncBufRead for super::BufReader<R>
where
    super::BufReader<R>: AsyncBufRead,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        AsyncBufRead::poll_fill_buf(self, cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        AsyncBufRead::consume(self, amt)
    }
}

/// Adapters between rawrt's I/O traits and Tokio's (feature `tokio-io`), for types of other
/// crates: rawrt's own types implement both already.
pub mod compat {
    use super::*;

    /// Gives a rawrt-trait type Tokio's traits: `TokioIo<T>` is `tokio::io::AsyncRead` when
    /// `T` is `rawrt::io::AsyncRead`, and so on for `AsyncWrite`, `AsyncBufRead`,
    /// `AsyncSeek`.
    ///
    /// ```
    /// use rawrt::io::compat::TokioIo;
    /// use tokio::io::AsyncReadExt as _; // Tokio's own extension trait
    ///
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// let mut reader = TokioIo::new(&b"from rawrt"[..]);
    /// let mut s = String::new();
    /// reader.read_to_string(&mut s).await?;
    /// assert_eq!(s, "from rawrt");
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    #[derive(Debug, Default, Clone, Copy)]
    pub struct TokioIo<T>(T);

    /// Gives a Tokio-trait type rawrt's traits: the reverse of [`TokioIo`].
    ///
    /// ```
    /// use rawrt::io::compat::{RawrtIo, TokioIo};
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// // A Tokio-trait reader (here, rawrt's own wrapped once), read with rawrt's methods.
    /// let mut reader = RawrtIo::new(TokioIo::new(&b"round trip"[..]));
    /// let mut s = String::new();
    /// reader.read_to_string(&mut s).await?;
    /// assert_eq!(s, "round trip");
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    #[derive(Debug, Default, Clone, Copy)]
    pub struct RawrtIo<T>(T);

    macro_rules! wrapper_methods {
        ($ty:ident) => {
            impl<T> $ty<T> {
                /// Wraps `inner`.
                pub fn new(inner: T) -> $ty<T> {
                    $ty(inner)
                }

                /// The wrapped value.
                pub fn get_ref(&self) -> &T {
                    &self.0
                }

                /// The wrapped value, mutably.
                pub fn get_mut(&mut self) -> &mut T {
                    &mut self.0
                }

                /// Unwraps.
                pub fn into_inner(self) -> T {
                    self.0
                }
            }
        };
    }

    wrapper_methods!(TokioIo);
    wrapper_methods!(RawrtIo);

    impl<T: AsyncRead + Unpin> tokio::io::AsyncRead for TokioIo<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            read_into_tokio(Pin::new(&mut self.get_mut().0), cx, buf)
        }
    }

    impl<T: AsyncWrite + Unpin> tokio::io::AsyncWrite for TokioIo<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.0.is_write_vectored()
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
        }
    }

    impl<T: AsyncBufRead + Unpin> tokio::io::AsyncBufRead for TokioIo<T> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Pin::new(&mut self.get_mut().0).poll_fill_buf(cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            Pin::new(&mut self.get_mut().0).consume(amt)
        }
    }

    impl<T: AsyncSeek + Unpin> tokio::io::AsyncSeek for TokioIo<T> {
        fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
            Pin::new(&mut self.get_mut().0).start_seek(position)
        }

        fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            Pin::new(&mut self.get_mut().0).poll_complete(cx)
        }
    }

    impl<T: tokio::io::AsyncRead + Unpin> AsyncRead for RawrtIo<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            read_into_rawrt(Pin::new(&mut self.get_mut().0), cx, buf)
        }
    }

    impl<T: tokio::io::AsyncWrite + Unpin> AsyncWrite for RawrtIo<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.0.is_write_vectored()
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
        }
    }

    impl<T: tokio::io::AsyncBufRead + Unpin> AsyncBufRead for RawrtIo<T> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Pin::new(&mut self.get_mut().0).poll_fill_buf(cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            Pin::new(&mut self.get_mut().0).consume(amt)
        }
    }

    impl<T: tokio::io::AsyncSeek + Unpin> AsyncSeek for RawrtIo<T> {
        fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
            Pin::new(&mut self.get_mut().0).start_seek(position)
        }

        fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            Pin::new(&mut self.get_mut().0).poll_complete(cx)
        }
    }
}
