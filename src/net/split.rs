//! The read and write halves of a stream socket: borrowed (`split`, free: two references) and
//! owned (`into_split`, one `Arc`), generated for [`TcpStream`](super::TcpStream) into
//! [`tcp`](super::tcp) and for [`UnixStream`](super::UnixStream) into [`unix`](super::unix).
//!
//! A stream's reads and writes are independent (each direction has its own readiness and
//! waiters, and every transfer takes `&self`), so the halves need no lock: each is a handle
//! on the same socket that only exposes one direction. The owned write half shuts the write
//! direction down when dropped (so the peer reads end of stream), unless
//! [`forget`](super::tcp::OwnedWriteHalf::forget) is called; `reunite` puts the two owned
//! halves back together.

/// Generates the half types for `$stream`, whose address type is `$addr`.
macro_rules! split_halves {
    ($stream:ident, $addr:ty, $example:literal) => {
        use std::io::{self, IoSlice, IoSliceMut};
        use std::pin::Pin;
        use std::sync::Arc;
        use std::task::{Context, Poll};

        use $crate::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

        #[doc = concat!("The read half of a borrowed [`", stringify!($stream), "`], from [`split`](", stringify!($stream), "::split).")]
        #[doc = ""]
        #[doc = $example]
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        #[doc = concat!("The write half of a borrowed [`", stringify!($stream), "`], from [`split`](", stringify!($stream), "::split). Shutting it down (`AsyncWriteExt::shutdown`) shuts down the stream's write direction.")]
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        #[doc = concat!("The read half of a [`", stringify!($stream), "`], owned: from [`into_split`](", stringify!($stream), "::into_split); can move to another task.")]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: Arc<$stream>,
        }

        #[doc = concat!("The write half of a [`", stringify!($stream), "`], owned: from [`into_split`](", stringify!($stream), "::into_split). Dropping it shuts down the write direction (the peer reads end of stream) unless [`forget`](Self::forget) is used.")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// Returned by `reunite` when the two halves came from different streams; it gives
        /// both back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split(stream: &$stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(stream), WriteHalf(stream))
        }

        pub(crate) fn into_split(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = Arc::new(stream);
            (
                OwnedReadHalf {
                    inner: Arc::clone(&inner),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        /// The read-side methods, the same on both read halves.
        macro_rules! read_methods {
            () => {
                /// Reads without consuming; see the stream's `peek`.
                pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    self.stream().peek(buf).await
                }

                /// Polls a peek; see the stream's `poll_peek`.
                pub fn poll_peek(
                    &mut self,
                    cx: &mut Context<'_>,
                    buf: &mut ReadBuf<'_>,
                ) -> Poll<io::Result<usize>> {
                    self.stream().poll_peek(cx, buf)
                }

                /// Waits for readiness (of any interest: the write half may use the other).
                pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                    self.stream().ready(interest).await
                }

                /// Waits until readable.
                pub async fn readable(&self) -> io::Result<()> {
                    self.stream().readable().await
                }

                /// Reads now if known readable; `WouldBlock` if not.
                pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                    self.stream().try_read(buf)
                }

                /// Reads into several buffers now if known readable; `WouldBlock` if not.
                pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                    self.stream().try_read_vectored(bufs)
                }

                /// The peer's address.
                pub fn peer_addr(&self) -> io::Result<$addr> {
                    self.stream().peer_addr()
                }

                /// The local address.
                pub fn local_addr(&self) -> io::Result<$addr> {
                    self.stream().local_addr()
                }
            };
        }

        /// The write-side methods, the same on both write halves.
        macro_rules! write_methods {
            () => {
                /// Waits for readiness (of any interest).
                pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                    self.stream().ready(interest).await
                }

                /// Waits until writable.
                pub async fn writable(&self) -> io::Result<()> {
                    self.stream().writable().await
                }

                /// Writes now if known writable; `WouldBlock` if not.
                pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                    self.stream().try_write(buf)
                }

                /// Writes several buffers now if known writable; `WouldBlock` if not.
                pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                    self.stream().try_write_vectored(bufs)
                }

                /// The peer's address.
                pub fn peer_addr(&self) -> io::Result<$addr> {
                    self.stream().peer_addr()
                }

                /// The local address.
                pub fn local_addr(&self) -> io::Result<$addr> {
                    self.stream().local_addr()
                }
            };
        }

        impl ReadHalf<'_> {
            fn stream(&self) -> &$stream {
                self.0
            }
            read_methods!();
        }

        impl WriteHalf<'_> {
            fn stream(&self) -> &$stream {
                self.0
            }
            write_methods!();
        }

        impl OwnedReadHalf {
            fn stream(&self) -> &$stream {
                &self.inner
            }
            read_methods!();

            /// Puts the two halves of one stream back together; `ReuniteError` (with both
            /// halves) if they are from different streams.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                reunite(self, other)
            }
        }

        impl OwnedWriteHalf {
            fn stream(&self) -> &$stream {
                &self.inner
            }
            write_methods!();

            /// Puts the two halves of one stream back together; see
            /// [`OwnedReadHalf::reunite`].
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                reunite(other, self)
            }

            /// Drops the half without shutting down the write direction (the socket closes
            /// when the read half goes too).
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }
        }

        fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
            if !Arc::ptr_eq(&read.inner, &write.inner) {
                return Err(ReuniteError(read, write));
            }
            write.shutdown_on_drop = false;
            drop(write);
            // The two halves held the only two references (they are not `Clone`), and the
            // write half's is gone.
            Arc::try_unwrap(read.inner)
                .map_err(|_| unreachable!("a stream's owned halves are its only references"))
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // The peer may be gone already; nothing to report from a drop.
                    let _ = self.inner.shutdown_std(std::net::Shutdown::Write);
                }
            }
        }

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsyncRead for ReadHalf<'_> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().stream()).poll_read(cx, buf)
            }
        }

        impl AsyncRead for OwnedReadHalf {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().stream()).poll_read(cx, buf)
            }
        }

        /// `AsyncWrite` for a write half: straight to the stream's; shutting down shuts down
        /// the write direction.
        macro_rules! write_half_io {
            ($half:ty) => {
                impl AsyncWrite for $half {
                    fn poll_write(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        buf: &[u8],
                    ) -> Poll<io::Result<usize>> {
                        Pin::new(&mut self.get_mut().stream()).poll_write(cx, buf)
                    }

                    fn poll_write_vectored(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        bufs: &[IoSlice<'_>],
                    ) -> Poll<io::Result<usize>> {
                        Pin::new(&mut self.get_mut().stream()).poll_write_vectored(cx, bufs)
                    }

                    fn is_write_vectored(&self) -> bool {
                        true
                    }

                    fn poll_flush(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                    ) -> Poll<io::Result<()>> {
                        Pin::new(&mut self.get_mut().stream()).poll_flush(cx)
                    }

                    fn poll_shutdown(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                    ) -> Poll<io::Result<()>> {
                        Pin::new(&mut self.get_mut().stream()).poll_shutdown(cx)
                    }
                }
            };
        }

        write_half_io!(WriteHalf<'_>);
        write_half_io!(OwnedWriteHalf);
    };
}

pub(crate) use split_halves;
