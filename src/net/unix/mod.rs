//! Unix-domain stream sockets: [`UnixListener`] and [`UnixStream`], nonblocking and
//! close-on-exec, registered edge-triggered with the current runtime's reactor.
//!
//! Addresses are std's [`SocketAddr`] (re-exported here): a path, *unnamed* (a socket that
//! was never bound, such as either end of [`UnixStream::pair`] or the client end of most
//! connections), or a name in Linux's abstract namespace (build one with
//! [`SocketAddrExt::from_abstract_name`](std::os::linux::net::SocketAddrExt::from_abstract_name)
//! and use [`UnixListener::bind_addr`] / [`UnixStream::connect_addr`]).
//!
//! Both types are also re-exported as `rawrt::net::{UnixListener, UnixStream}`.

mod listener;
mod stream;

pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
