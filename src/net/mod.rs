//! Networking: TCP ([`TcpListener`], [`TcpStream`]), UDP ([`UdpSocket`]) and Unix-domain
//! streams ([`UnixListener`], [`UnixStream`], also under [`unix`]). Every socket is nonblocking
//! and close-on-exec, registered edge-triggered with the current runtime's reactor.
//!
//! Constructors need a runtime: call them from a task, inside `block_on` or under
//! [`Handle::enter`](crate::Handle::enter). Outside one they return an `io::Error` saying so.
//!
//! With the `hyper` feature the stream types implement `hyper::rt::Read`/`Write`; with
//! `futures-io` they (and references to them) implement `futures_io::AsyncRead`/`AsyncWrite`.

mod addr;
#[cfg(feature = "futures-io")]
mod futures_io;
mod listener;
mod split;
mod stream;
mod stream_io;
pub mod tcp;
mod tcp_socket;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use listener::TcpListener;
pub use stream::TcpStream;
pub use tcp_socket::TcpSocket;
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::io;

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
