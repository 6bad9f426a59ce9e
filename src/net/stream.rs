//! `TcpStream`.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Duration;

use rawrt_sys::socket;

use super::{current_reactor, stream_io};
use crate::io::{Interest, Ready};
use crate::reactor::{self, Direction, PollEvented};

/// A TCP connection.
///
/// Reading and writing are independent: one task may wait to read while another writes
/// (each direction has its own waker slot; if two tasks wait in the *same* direction, only
/// the last one to poll is woken).
///
/// ```
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
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_one(a, &reactor).await {
                Ok(s) => return Ok(s),
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

    async fn connect_one(addr: SocketAddr, reactor: &reactor::Handle) -> io::Result<TcpStream> {
        let fd = socket::tcp_socket(&addr)?;
        match socket::connect(fd.as_fd(), &addr) {
            Ok(()) => {}
            Err(e) if socket::is_in_progress(&e) => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("connect {addr}: {e}"))),
        }
        let stream = TcpStream::from_fd(fd, reactor)?;
        // Writable (or an error/hang-up) means the handshake finished one way or the other.
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = socket::take_error(stream.as_fd())? {
            return Err(io::Error::new(e.kind(), format!("connect {addr}: {e}")));
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

    /// Reads some bytes; `Ok(0)` means end of stream (or an empty `buf`).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        stream_io::read_exact(&self.io, buf).await
    }

    /// Writes some bytes, returning how many.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        stream_io::write_all(&self.io, buf).await
    }

    /// Reads without consuming. Any number of tasks may wait in `peek`, `readable`,
    /// `writable` and `ready` on one stream at once; each is woken by the events it waits
    /// for.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::peek(&self.io, buf).await
    }

    /// Waits until the stream is ready for some of `interest` and says for what. The
    /// readiness may be stale by the time the caller acts on it: a `try_read` or
    /// `try_write` may still return `WouldBlock` (which clears it), so loop.
    ///
    /// ```
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// use rawrt::io::Interest;
    /// # let (a, mut b) = rawrt::net::UnixStream::pair()?;
    /// b.write_all(b"hi").await?;
    /// let ready = a.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// assert!(ready.is_readable() || ready.is_writable());
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        stream_io::ready(&self.io, interest).await
    }

    /// Waits until the stream is readable (data, or end of stream); then use
    /// [`try_read`](Self::try_read).
    ///
    /// ```
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// # let (a, mut b) = rawrt::net::UnixStream::pair()?;
    /// b.write_all(b"hello").await?;
    /// let mut buf = [0u8; 16];
    /// let n = loop {
    ///     a.readable().await?;
    ///     match a.try_read(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         res => break res?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until the stream is writable; then use [`try_write`](Self::try_write).
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Reads now if the stream is known to be readable, without waiting: `WouldBlock` (and
    /// no syscall) if it is not, or if the read finds nothing (which clears the readiness).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.io, buf)
    }

    /// Writes now if the stream is known to be writable, without waiting: `WouldBlock` (and
    /// no syscall) if it is not, or if the send finds no room (which clears the readiness).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
    }

    /// Polls a read. Ready with `Ok(n)` as soon as any bytes (or end of stream) are available.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_read(&self.io, cx, buf)
    }

    /// Polls a read into possibly uninitialized memory (for buffer types that track
    /// initialization, such as hyper's).
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_read_uninit(&self.io, cx, buf)
    }

    /// Polls a peek (`MSG_PEEK`).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_peek(&self.io, cx, buf)
    }

    /// Polls a write (`send` with `MSG_NOSIGNAL`: a closed peer gives `EPIPE`, never
    /// `SIGPIPE`).
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_write(&self.io, cx, buf)
    }

    /// Polls a vectored write (`sendmsg`).
    pub fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_write_vectored(&self.io, cx, bufs)
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket::shutdown(self.as_fd(), how)
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

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(self.as_fd())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
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
