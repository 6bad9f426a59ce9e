//! Asynchronous I/O: the traits every rawrt stream implements, and readiness.
//!
//! - [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`], [`AsyncSeek`]: the poll-level traits,
//!   with Tokio's shapes (a read fills a [`ReadBuf`], which may be uninitialised memory).
//!   Implemented by [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream)
//!   and references to them, by `&[u8]`, `Vec<u8>`, `io::Cursor`, and forwarded through
//!   `&mut T`, `Box<T>` and `Pin<P>`.
//! - [`Interest`] (what to wait for) and [`Ready`] (what a resource is ready for), as taken
//!   and returned by `readable`, `writable` and `ready` on rawrt's sockets.

pub(crate) mod read_buf;
mod ready;
mod stdio;
mod traits;
mod util;

pub use read_buf::ReadBuf;
pub use ready::{Interest, Ready};
pub use stdio::*;
pub use traits::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
#[allow(unused_imports)] // filled in by the io-util work
pub use util::*;
