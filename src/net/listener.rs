//! `TcpListener`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use rawrt_sys::socket;

use super::addr::each_addr;
use super::{current_reactor, TcpStream, ToSocketAddrs};
use crate::reactor::{Direction, PollEvented};
use crate::scheduler::coop;

/// Backlog passed to `listen(2)`; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// A TCP socket server, listening for connections.
///
/// ```
/// # let rt = rawrt::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = rawrt::spawn(async move { rawrt::net::TcpStream::connect(addr).await });
/// let (_stream, peer) = listener.accept().await?;
/// assert_eq!(peer, client.await??.local_addr()?);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct TcpListener {
    io: PollEvented<OwnedFd>,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) with `SO_REUSEADDR`, listens, and
    /// registers with the current runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let reactor = current_reactor("TcpListener::bind")?;
        let fd = each_addr(addr, |a| async move {
            let fd = socket::tcp_socket(&a)?;
            socket::set_reuseaddr(fd.as_fd(), true)?;
            socket::bind(fd.as_fd(), &a)?;
            socket::listen(fd.as_fd(), BACKLOG)?;
            Ok(fd)
        })
        .await?;
        Ok(TcpListener {
            io: PollEvented::new(fd, &reactor)?,
        })
    }

    pub(crate) fn from_fd(
        fd: OwnedFd,
        reactor: &crate::reactor::Handle,
    ) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    /// Sets the IPv4 time-to-live (`IP_TTL`) of the connections it accepts.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        socket::set_ttl(self.as_fd(), ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        socket::ttl(self.as_fd())
    }

    /// Wraps a listening std socket (made nonblocking here) for use with the current runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let reactor = current_reactor("TcpListener::from_std")?;
        let fd = OwnedFd::from(listener);
        socket::set_nonblocking(fd.as_fd(), true)?;
        Ok(TcpListener {
            io: PollEvented::new(fd, &reactor)?,
        })
    }

    /// Deregisters and returns the std listener (left nonblocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner().map(std::net::TcpListener::from)
    }

    /// Accepts a connection: the stream (nonblocking, close-on-exec, registered) and the
    /// peer's address.
    ///
    /// Errors are returned as they come. In particular, when the process is out of file
    /// descriptors (`EMFILE`/`ENFILE`) the pending connection stays queued and the listener
    /// stays ready, so calling `accept` again at once would fail again: back off (sleep, or
    /// close something) before retrying. The worker itself never spins on it.
    ///
    /// Any number of tasks may wait in `accept` on one listener (shared through an `Arc`):
    /// each waits in the listener's list of waiters, and each connection goes to one of them.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let accept = self
            .io
            .async_io(Direction::Read, |fd| socket::accept(fd.as_fd()));
        let (fd, addr) = coop::budgeted(accept).await?;
        TcpStream::from_fd(fd, self.io.reactor()).map(|s| (s, addr))
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (fd, addr) = match coop::poll_budgeted(cx, |cx| {
            self.io
                .poll_io(cx, Direction::Read, |fd| socket::accept(fd.as_fd()))
        }) {
            Poll::Ready(Ok(v)) => v,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let reactor = self.io.reactor();
        Poll::Ready(TcpStream::from_fd(fd, reactor).map(|s| (s, addr)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.get_ref().as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.io.get_ref().as_fd())
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.as_raw_fd())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// [`TcpListener::from_std`].
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}
