//! `futures_io::AsyncRead` and `AsyncWrite` for the stream sockets (feature `futures-io`).
//!
//! [`TcpStream`] and [`UnixStream`] implement both traits, and so do `&TcpStream` and
//! `&UnixStream` (every transfer takes `&self`), so one task can read through one reference
//! while another writes through a second. `poll_flush` has nothing to do (writes go straight
//! to the kernel); `poll_close` shuts down the write half (`shutdown(Write)`), so the peer
//! reads end of stream.
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use rawrt::net::UnixStream;
//!
//! # let rt = rawrt::Runtime::new().unwrap();
//! # rt.block_on(async {
//! let (mut a, mut b) = UnixStream::pair()?;
//! AsyncWriteExt::write_all(&mut a, b"hello").await?;
//! AsyncWriteExt::close(&mut a).await?;
//! let mut got = Vec::new();
//! b.read_to_end(&mut got).await?;
//! assert_eq!(got, b"hello");
//! # Ok::<_, std::io::Error>(()) }).unwrap();
//! ```

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{TcpStream, UnixStream};

/// Shuts down the write half; a peer that already closed counts as done.
fn close_write(res: io::Result<()>) -> Poll<io::Result<()>> {
    Poll::Ready(match res {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        res => res,
    })
}

/// Implements the two traits for `$ty`, which is `TcpStream`, `UnixStream` or a reference to
/// one: `$ty` derefs (perhaps twice) to a type with `&self` methods `poll_read`, `poll_write`,
/// `poll_write_vectored` and `shutdown`.
macro_rules! impl_futures_io {
    ($ty:ty, $inner:ty) => {
        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                <$inner>::poll_read(&self, cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                <$inner>::poll_write(&self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                <$inner>::poll_write_vectored(&self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                close_write(<$inner>::shutdown(&self, Shutdown::Write))
            }
        }
    };
}

impl_futures_io!(TcpStream, TcpStream);
impl_futures_io!(&TcpStream, TcpStream);
impl_futures_io!(UnixStream, UnixStream);
impl_futures_io!(&UnixStream, UnixStream);
