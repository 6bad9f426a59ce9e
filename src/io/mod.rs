//! Asynchronous I/O: the traits every rawrt stream implements, their extension traits and
//! utilities, and readiness.
//!
//! - [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`], [`AsyncSeek`]: the poll-level traits,
//!   with Tokio's shapes (a read fills a [`ReadBuf`], which may be uninitialised memory).
//!   Implemented by [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream)
//!   and references to them, by `&[u8]`, `Vec<u8>`, `io::Cursor`, and forwarded through
//!   `&mut T`, `Box<T>` and `Pin<P>`.
//! - The extension traits [`AsyncReadExt`], [`AsyncWriteExt`], [`AsyncBufReadExt`] and
//!   [`AsyncSeekExt`]: `read`, `read_exact`, `read_to_end`, `read_to_string`, `read_u32` and
//!   the other integer readers, `write_all`, `write_u32_le`..., `flush`, `shutdown`,
//!   `read_line`, `lines`, `split`, `seek`: each a small named future, as in Tokio.
//!   [`BufTarget`] and [`BufSource`] stand in for `bytes::BufMut`/`Buf` in `read_buf` and
//!   `write_buf`/`write_all_buf` (rawrt does not depend on `bytes`).
//! - Adapters: [`BufReader`], [`BufWriter`], [`BufStream`], [`Chain`], [`Take`], [`Lines`],
//!   [`Split`], [`Join`] ([`join`]), [`ReadHalf`]/[`WriteHalf`] ([`split`]: one stream used
//!   from two tasks, through a mutex held only during a poll).
//! - [`copy`], [`copy_buf`], [`copy_bidirectional`], [`copy_bidirectional_with_sizes`].
//! - In memory: [`duplex`] ([`DuplexStream`], a socket-pair stand-in with backpressure),
//!   [`simplex`] ([`SimplexStream`]), [`empty`], [`repeat`], [`sink`]. Every utility that is
//!   always ready spends the task's cooperative budget, so loops over them yield.
//! - std's [`Error`], [`ErrorKind`], [`Result`] and [`SeekFrom`], re-exported (as Tokio
//!   does), so that `rawrt::io::Result` and friends resolve.
//! - [`Interest`] (what to wait for) and [`Ready`] (what a resource is ready for), as taken
//!   and returned by `readable`, `writable` and `ready` on rawrt's sockets.

mod async_fd;
pub(crate) mod read_buf;
mod ready;
mod stdio;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod traits;
mod util;

pub use read_buf::ReadBuf;
pub use ready::{Interest, Ready};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};
pub use stdio::*;
#[cfg(feature = "tokio-io")]
pub use tokio_io::compat;
pub use traits::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use util::*;

/// Unix-specific I/O: [`AsyncFd`](unix::AsyncFd), any file descriptor in the reactor.
pub mod unix {
    pub use super::async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
}
