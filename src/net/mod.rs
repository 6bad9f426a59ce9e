//! Networking: TCP ([`TcpListener`], [`TcpStream`]), UDP ([`UdpSocket`]) and Unix-domain
//! streams ([`UnixListener`], [`UnixStream`], also under [`unix`]). Every socket is nonblocking
//! and close-on-exec, registered edge-triggered with the current runtime's reactor.
//!
//! Constructors need a runtime: call them from a task, inside `block_on` or under
//! [`Handle::enter`](crate::Handle::enter). Outside one they return an `io::Error` saying so.
//!
//! With the `hyper` feature the stream types implement `hyper::rt::Read`/`Write`; with
//! `futures-io` they (and references to them) implement `futures_io::AsyncRead`/`AsyncWrite`.

#[cfg(feature = "futures-io")]
mod futures_io;
mod listener;
mod stream;
mod stream_io;
mod udp;
pub mod unix;

pub use listener::TcpListener;
pub use stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::reactor;
use crate::runtime::with_current_reactor;

/// The current runtime's reactor, or an error naming the operation.
fn current_reactor(what: &str) -> io::Result<reactor::Handle> {
    with_current_reactor(reactor::Handle::clone).ok_or_else(|| {
        io::Error::other(format!(
            "{what} needs a rawrt runtime: call it from a task, inside Runtime::block_on, \
             or under Handle::enter"
        ))
    })
}

/// Resolves `addr` and runs `f` on each address until one succeeds; the last error otherwise.
/// Resolution uses `std::net::ToSocketAddrs` (IP literals never block; host names may).
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
