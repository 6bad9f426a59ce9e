//! `futures_io::AsyncRead` and `AsyncWrite` for the stream sockets (feature `futures-io`),
//! through their `rawrt::io` implementations.
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
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{TcpStream, UnixStream};
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Implements the two traits for `$ty` through its `rawrt::io` implementations.
macro_rules! impl_futures_io {
    ($ty:ty) => {
        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let mut rb = ReadBuf::new(buf);
                AsyncRead::poll_read(self, cx, &mut rb).map_ok(|()| rb.filled().len())
            }
        }

        impl ::futures_io::AsyncWrite for $ty {
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

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }
        }
    };
}

impl_futures_io!(TcpStream);
impl_futures_io!(&TcpStream);
impl_futures_io!(UnixStream);
impl_futures_io!(&UnixStream);
