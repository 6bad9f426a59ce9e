//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (and its split halves) and
//! [`UnixDatagram`], nonblocking and close-on-exec, registered edge-triggered with the current
//! runtime's reactor.
//!
//! Addresses are std's [`SocketAddr`] (re-exported here): a path, *unnamed* (a socket that
//! was never bound, such as either end of [`UnixStream::pair`] or the client end of most
//! connections), or a name in Linux's abstract namespace. Every function that takes a path
//! takes an abstract name spelled the Linux way, with a leading NUL (`"\0name"`), as Tokio
//! does; or build a [`SocketAddr`] with
//! [`SocketAddrExt::from_abstract_name`](std::os::linux::net::SocketAddrExt::from_abstract_name)
//! and use [`UnixListener::bind_addr`] / [`UnixStream::connect_addr`].
//!
//! ```
//! use rawrt::io::{AsyncReadExt, AsyncWriteExt};
//! use rawrt::net::{UnixListener, UnixStream};
//!
//! # let rt = rawrt::Runtime::new()?;
//! # rt.block_on(async {
//! let name = format!("\0rawrt-doc-{}", std::process::id());
//! let listener = UnixListener::bind(&name)?; // abstract: no file to clean up
//! let mut client = UnixStream::connect(&name).await?;
//! let (mut server, _) = listener.accept().await?;
//! client.write_all(b"hi").await?;
//! let mut buf = [0u8; 2];
//! server.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"hi");
//! # Ok::<_, std::io::Error>(()) })?;
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! The types are also re-exported as `rawrt::net::{UnixListener, UnixStream, UnixDatagram}`.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

/// The credentials of a Unix socket's peer process: [`UnixStream::peer_cred`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred(rawrt_sys::socket::PeerCred);

impl UCred {
    /// The peer's effective user id.
    pub fn uid(&self) -> u32 {
        self.0.uid
    }

    /// The peer's effective group id.
    pub fn gid(&self) -> u32 {
        self.0.gid
    }

    /// The peer's process id, if the kernel knows it in this pid namespace.
    pub fn pid(&self) -> Option<i32> {
        self.0.pid
    }
}

super::split::split_halves!(
    UnixStream,
    SocketAddr,
    "Borrowing halves: both directions in one task, no allocation.\n\n\
     ```\n\
     # let rt = rawrt::Runtime::new()?;\n\
     # rt.block_on(async {\n\
     use rawrt::io::{AsyncReadExt, AsyncWriteExt};\n\
     let (mut a, mut b) = rawrt::net::UnixStream::pair()?;\n\
     let (mut rd, mut wr) = a.split();\n\
     wr.write_all(b\"ping\").await?;\n\
     b.write_all(b\"pong\").await?;\n\
     let mut buf = [0u8; 4];\n\
     rd.read_exact(&mut buf).await?;\n\
     assert_eq!(&buf, b\"pong\");\n\
     # Ok::<_, std::io::Error>(()) })?;\n\
     # Ok::<_, std::io::Error>(())\n\
     ```"
);
