//! `TcpSocket`: a TCP socket not yet connected or listening, to set options on first.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use rawrt_sys::socket;

use super::{current_reactor, TcpListener, TcpStream};

/// A TCP socket before it becomes a [`TcpStream`] (with [`connect`](Self::connect)) or a
/// [`TcpListener`] (with [`listen`](Self::listen)): the place to set options that must come
/// before `bind`, `connect` or `listen` (`SO_REUSEPORT`, buffer sizes, ...). Tokio's
/// `TcpSocket`.
///
/// Creating and configuring it needs no runtime; `connect` and `listen` register it with the
/// current one. Every setter reports the OS's error as is.
///
/// ```
/// use rawrt::net::TcpSocket;
///
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(128)?;
/// let addr = listener.local_addr()?;
///
/// let client = TcpSocket::new_v4()?;
/// client.set_nodelay(true)?;
/// let stream = client.connect(addr).await?;
/// assert!(stream.nodelay()?);
/// let (_, peer) = listener.accept().await?;
/// assert_eq!(peer, stream.local_addr()?);
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (nonblocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        socket::socket(libc::AF_INET, libc::SOCK_STREAM, 0).map(|fd| TcpSocket { fd })
    }

    /// A new IPv6 TCP socket (nonblocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        socket::socket(libc::AF_INET6, libc::SOCK_STREAM, 0).map(|fd| TcpSocket { fd })
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        socket::set_keepalive(self.fd.as_fd(), keepalive)
    }

    /// Reads `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        socket::keepalive(self.fd.as_fd())
    }

    /// Sets `SO_REUSEADDR` (rebind a port whose old connections are in `TIME_WAIT`).
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        socket::set_reuseaddr(self.fd.as_fd(), reuseaddr)
    }

    /// Reads `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        socket::reuseaddr(self.fd.as_fd())
    }

    /// Sets `SO_REUSEPORT` (several sockets bind one port; the kernel spreads connections).
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        socket::set_reuseport(self.fd.as_fd(), reuseport)
    }

    /// Reads `SO_REUSEPORT`.
    pub fn reuseport(&self) -> io::Result<bool> {
        socket::reuseport(self.fd.as_fd())
    }

    /// Requests a send buffer of `size` bytes (`SO_SNDBUF`; Linux doubles it).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        socket::set_send_buffer_size(self.fd.as_fd(), size as usize)
    }

    /// Reads `SO_SNDBUF`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        socket::send_buffer_size(self.fd.as_fd()).map(|n| n.min(u32::MAX as usize) as u32)
    }

    /// Requests a receive buffer of `size` bytes (`SO_RCVBUF`; Linux doubles it).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        socket::set_recv_buffer_size(self.fd.as_fd(), size as usize)
    }

    /// Reads `SO_RCVBUF`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        socket::recv_buffer_size(self.fd.as_fd()).map(|n| n.min(u32::MAX as usize) as u32)
    }

    /// Sets `SO_LINGER`; `Some(Duration::ZERO)` makes close reset the connection.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.fd.as_fd(), dur)
    }

    /// Reads `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket::linger(self.fd.as_fd())
    }

    /// Sets `TCP_NODELAY` (the stream made by [`connect`](Self::connect) keeps it).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        socket::set_nodelay(self.fd.as_fd(), nodelay)
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        socket::nodelay(self.fd.as_fd())
    }

    /// The address bound (`0.0.0.0:0` before `bind`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.fd.as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.fd.as_fd())
    }

    /// Binds to `addr`. `EADDRINUSE` (`raw_os_error() == Some(98)`) if it is taken.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        socket::bind(self.fd.as_fd(), &addr)
    }

    /// Connects to `addr`, registering the socket with the current runtime. Errors are the
    /// OS's (`ECONNREFUSED` when nothing listens).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let reactor = current_reactor("TcpSocket::connect")?;
        TcpStream::connect_fd(self.fd, addr, &reactor).await
    }

    /// Listens with a backlog of `backlog` pending connections (the kernel caps it at
    /// `net.core.somaxconn`), registering the socket with the current runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let reactor = current_reactor("TcpSocket::listen")?;
        socket::listen(self.fd.as_fd(), backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_fd(self.fd, &reactor)
    }

    /// Turns a std stream into a `TcpSocket` (made nonblocking), to read or change its options.
    pub fn from_std_stream(std_stream: std::net::TcpStream) -> TcpSocket {
        let fd = OwnedFd::from(std_stream);
        // A socket std made is blocking; rawrt's are not. Failing here is not possible for a
        // valid fd, and an invalid one fails at the first use instead.
        let _ = socket::set_nonblocking(fd.as_fd(), true);
        TcpSocket { fd }
    }
}

impl From<OwnedFd> for TcpSocket {
    /// Takes an fd that must be a TCP socket (made nonblocking here).
    fn from(fd: OwnedFd) -> TcpSocket {
        let _ = socket::set_nonblocking(fd.as_fd(), true);
        TcpSocket { fd }
    }
}

impl From<TcpSocket> for OwnedFd {
    fn from(socket: TcpSocket) -> OwnedFd {
        socket.fd
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}
