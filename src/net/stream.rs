//! `TcpStream`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use rawrt_sys::socket;

use super::addr::each_addr;
use super::{current_reactor, stream_io, ToSocketAddrs};
use crate::reactor::{self, Direction, PollEvented};

/// A TCP connection.
///
/// Reading and writing go through [`AsyncReadExt`](crate::io::AsyncReadExt) and
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt), as in Tokio. The two directions are
/// independent: one task may wait to read while another writes (split the stream with
/// [`split`](Self::split) or [`into_split`](Self::into_split)). Any number of tasks may wait
/// in `readable`, `writable`, `ready` and `peek` at once; the `poll_*` readiness methods keep
/// one waker per direction, the latest poller's.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
/// # let rt = rawrt::Runtime::new().unwrap();
/// # rt.block_on(async {
/// # let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # rawrt::spawn(async move { let (mut s, _) = listener.accept().await.unwrap(); s.write_all(b"pong").await.unwrap(); });
/// let mut stream = rawrt::net::TcpStream::connect(addr).await?;
/// stream.set_nodelay(true)?;
/// let mut buf = [0u8; 4];
/// stream.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"pong");
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct TcpStream {
    io: PollEvented<OwnedFd>,
}

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd, reactor: &reactor::Handle) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    /// Opens a connection to `addr`, trying each resolved address in turn.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let reactor = current_reactor("TcpStream::connect")?;
        let reactor = &reactor;
        each_addr(addr, |a| async move {
            let fd = socket::tcp_socket(&a)?;
            TcpStream::connect_fd(fd, a, reactor).await
        })
        .await
    }

    /// Connects a fresh socket `fd` to `addr`. Errors are the OS's own (`raw_os_error` kept:
    /// `ECONNREFUSED` is `Some(111)`), as Tokio returns them.
    pub(crate) async fn connect_fd(
        fd: OwnedFd,
        addr: SocketAddr,
        reactor: &reactor::Handle,
    ) -> io::Result<TcpStream> {
        match socket::connect(fd.as_fd(), &addr) {
            Ok(()) => {}
            Err(e) if socket::is_in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream::from_fd(fd, reactor)?;
        // Writable (or an error/hang-up) means the handshake finished one way or the other.
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = socket::take_error(stream.as_fd())? {
            return Err(e);
        }
        Ok(stream)
    }

    /// Wraps a connected std stream (made nonblocking here) for use with the current runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let reactor = current_reactor("TcpStream::from_std")?;
        let fd = OwnedFd::from(stream);
        socket::set_nonblocking(fd.as_fd(), true)?;
        TcpStream::from_fd(fd, &reactor)
    }

    /// Deregisters and returns the std stream (left nonblocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner().map(std::net::TcpStream::from)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        socket::set_nodelay(self.as_fd(), nodelay)
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        socket::nodelay(self.as_fd())
    }

    /// Sets `SO_LINGER`; `Some(Duration::ZERO)` makes close reset the connection.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.as_fd(), linger)
    }

    /// Reads `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket::linger(self.as_fd())
    }

    /// Sets the IPv4 time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        socket::set_ttl(self.as_fd(), ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        socket::ttl(self.as_fd())
    }

    stream_io::stream_methods!(
        TcpStream,
        tcp,
        "# let listener = rawrt::net::TcpListener::bind(\"127.0.0.1:0\").await?;\n\
         # let mut a = rawrt::net::TcpStream::connect(listener.local_addr()?).await?;\n\
         # let (mut b, _) = listener.accept().await?;"
    );

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(self.as_fd())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.as_fd())
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

stream_io::impl_async_io!(TcpStream);

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// [`TcpStream::from_std`].
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}
