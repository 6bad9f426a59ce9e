//! `UnixDatagram`.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use rawrt_sys::{socket, unix};

use super::SocketAddr;
use crate::io::{read_buf, Interest, ReadBuf, Ready};
use crate::net::current_reactor;
use crate::reactor::{self, Direction, PollEvented};
use crate::scheduler::coop;

/// A Unix-domain datagram socket: message boundaries kept, delivery reliable and ordered
/// within one host. Tokio's `UnixDatagram`.
///
/// Every method takes `&self`, so one socket can be shared (in an `Arc`) by tasks; any number
/// of them may wait in the async methods at once (each datagram goes to one receiver).
/// A datagram longer than the receive buffer is truncated.
///
/// ```
/// use rawrt::net::UnixDatagram;
///
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"one").await?;
/// a.send(b"two").await?;
/// let mut buf = [0u8; 16];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"one"); // boundaries kept
///
/// // Bound sockets talk by address; an abstract name needs no file.
/// let name = format!("\0rawrt-dgram-doc-{}", std::process::id());
/// let server = UnixDatagram::bind(&name)?;
/// let client = UnixDatagram::unbound()?;
/// client.send_to(b"hello", &name).await?;
/// let (n, _from) = server.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"hello");
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct UnixDatagram {
    io: PollEvented<OwnedFd>,
}

impl UnixDatagram {
    fn from_fd(fd: OwnedFd, reactor: &reactor::Handle) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    /// A socket bound to `path` (a leading NUL makes it an abstract name). `AddrInUse` if the
    /// file exists.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let reactor = current_reactor("UnixDatagram::bind")?;
        let addr = unix::path_addr(path.as_ref())?;
        let fd = unix::datagram_socket()?;
        unix::bind(fd.as_fd(), &addr)?;
        UnixDatagram::from_fd(fd, &reactor)
    }

    /// A connected pair of unnamed sockets (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let reactor = current_reactor("UnixDatagram::pair")?;
        let (a, b) = unix::socketpair_datagram()?;
        Ok((
            UnixDatagram::from_fd(a, &reactor)?,
            UnixDatagram::from_fd(b, &reactor)?,
        ))
    }

    /// A socket bound to no address: it can send (with [`send_to`](Self::send_to), or after
    /// [`connect`](Self::connect)) but nobody can address replies to it.
    pub fn unbound() -> io::Result<UnixDatagram> {
        let reactor = current_reactor("UnixDatagram::unbound")?;
        UnixDatagram::from_fd(unix::datagram_socket()?, &reactor)
    }

    /// Wraps a std socket (made nonblocking here) for use with the current runtime.
    pub fn from_std(datagram: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        let reactor = current_reactor("UnixDatagram::from_std")?;
        let fd = OwnedFd::from(datagram);
        socket::set_nonblocking(fd.as_fd(), true)?;
        UnixDatagram::from_fd(fd, &reactor)
    }

    /// Deregisters and returns the std socket (left nonblocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixDatagram::from)
    }

    /// Sets the default peer: [`send`](Self::send) goes there, and only its datagrams are
    /// received.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let addr = unix::path_addr(path.as_ref())?;
        unix::connect(self.as_fd(), &addr)
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let send = self
            .io
            .async_io(Direction::Write, |fd| socket::send(fd.as_fd(), buf));
        coop::budgeted(send).await
    }

    /// Receives one datagram from the connected peer. Cancel safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let recv = self.io.async_io(Direction::Read, |fd| {
            read_buf::fill_with(&mut ReadBuf::new(buf), |dst| {
                socket::recv_uninit(fd.as_fd(), dst, 0)
            })
        });
        coop::budgeted(recv).await
    }

    /// Sends one datagram to `target` (a path; a leading NUL makes it an abstract name).
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let addr = unix::path_addr(target.as_ref())?;
        let send = self
            .io
            .async_io(Direction::Write, |fd| unix::send_to(fd.as_fd(), buf, &addr));
        coop::budgeted(send).await
    }

    /// Receives one datagram and the sender's address (unnamed if it never bound). Cancel
    /// safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let recv = self.io.async_io(Direction::Read, |fd| {
            let mut rb = ReadBuf::new(buf);
            let mut from = None;
            read_buf::fill_with(&mut rb, |dst| {
                let (n, addr) = unix::recv_from(fd.as_fd(), dst, 0)?;
                from = Some(addr);
                Ok(n)
            })
            .map(|n| (n, from.unwrap_or_else(unix::unnamed_addr)))
        });
        coop::budgeted(recv).await
    }

    /// Polls sending one datagram to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        coop::poll_budgeted(cx, |cx| {
            self.io
                .poll_io(cx, Direction::Write, |fd| socket::send(fd.as_fd(), buf))
        })
    }

    /// Polls sending one datagram to `target`.
    pub fn poll_send_to<P: AsRef<Path>>(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: P,
    ) -> Poll<io::Result<usize>> {
        let addr = match unix::path_addr(target.as_ref()) {
            Ok(a) => a,
            Err(e) => return Poll::Ready(Err(e)),
        };
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Write, |fd| {
                unix::send_to(fd.as_fd(), buf, &addr)
            })
        })
    }

    /// Polls receiving one datagram into `buf` (which it fills).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Read, |fd| {
                read_buf::fill_with(buf, |dst| socket::recv_uninit(fd.as_fd(), dst, 0))
            })
        })
        .map_ok(drop)
    }

    /// Polls receiving one datagram into `buf`, returning the sender's address.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Read, |fd| {
                let mut from = None;
                read_buf::fill_with(buf, |dst| {
                    let (n, addr) = unix::recv_from(fd.as_fd(), dst, 0)?;
                    from = Some(addr);
                    Ok(n)
                })?;
                Ok(from.unwrap_or_else(unix::unnamed_addr))
            })
        })
    }

    /// Sends now if known writable; `WouldBlock` otherwise.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |fd| socket::send(fd.as_fd(), buf))
    }

    /// Sends to `target` now if known writable; `WouldBlock` otherwise.
    pub fn try_send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let addr = unix::path_addr(target.as_ref())?;
        self.io
            .try_io(Direction::Write, |fd| unix::send_to(fd.as_fd(), buf, &addr))
    }

    /// Receives now if known readable; `WouldBlock` otherwise.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |fd| {
            read_buf::fill_with(&mut ReadBuf::new(buf), |dst| {
                socket::recv_uninit(fd.as_fd(), dst, 0)
            })
        })
    }

    /// Receives now, with the sender's address, if known readable; `WouldBlock` otherwise.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |fd| {
            let mut from = None;
            let n = read_buf::fill_with(&mut ReadBuf::new(buf), |dst| {
                let (n, addr) = unix::recv_from(fd.as_fd(), dst, 0)?;
                from = Some(addr);
                Ok(n)
            })?;
            Ok((n, from.unwrap_or_else(unix::unnamed_addr)))
        })
    }

    /// Waits until ready for some of `interest`. Cancel safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let event = coop::budgeted(self.io.ready(interest.mask())).await?;
        Ok(Ready::from_reactor(event.ready))
    }

    /// Waits until readable. Cancel safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until writable. Cancel safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// The bound address (unnamed if not bound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix::local_addr(self.as_fd())
    }

    /// The connected peer's address; `ENOTCONN` if not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix::peer_addr(self.as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }

    /// Shuts down receiving, sending, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket::shutdown(self.as_fd(), how)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// [`UnixDatagram::from_std`].
    fn try_from(datagram: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(datagram)
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
