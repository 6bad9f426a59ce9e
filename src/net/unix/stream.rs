//! `UnixStream`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use rawrt_sys::{socket, unix};

use super::SocketAddr;
use crate::net::{current_reactor, stream_io};
use crate::reactor::{self, Direction, PollEvented};

/// A Unix-domain stream connection.
///
/// It reads and writes like [`TcpStream`](crate::net::TcpStream), through
/// [`AsyncReadExt`](crate::io::AsyncReadExt)/[`AsyncWriteExt`](crate::io::AsyncWriteExt);
/// the two directions are independent, and writes use `MSG_NOSIGNAL`, so a closed peer
/// gives `EPIPE`, never `SIGPIPE`.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
/// use rawrt::net::UnixStream;
///
/// # let rt = rawrt::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
///
/// // Closing one end: the other reads end of stream.
/// drop(a);
/// assert_eq!(b.read(&mut buf).await?, 0);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixStream {
    io: PollEvented<OwnedFd>,
}

impl UnixStream {
    pub(crate) fn from_fd(fd: OwnedFd, reactor: &reactor::Handle) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    /// Connects to the socket listening at `path`.
    ///
    /// Fails with `NotFound` if there is no such file, `ConnectionRefused` if nothing listens
    /// on it, and `WouldBlock` if the listener's backlog is full (the kernel gives no readiness
    /// event for that, so retrying is up to the caller).
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let reactor = current_reactor("UnixStream::connect")?;
        let addr = unix::path_addr(path)?;
        UnixStream::connect_with(&addr, &reactor).await
    }

    /// As [`connect`](Self::connect), for any Unix address: a path, or a name in the abstract
    /// namespace.
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let reactor = current_reactor("UnixStream::connect_addr")?;
        UnixStream::connect_with(addr, &reactor).await
    }

    async fn connect_with(addr: &SocketAddr, reactor: &reactor::Handle) -> io::Result<UnixStream> {
        let fd = unix::stream_socket()?;
        // A Unix stream connect completes (or fails) at once; should it ever be in progress,
        // wait for the outcome as for TCP.
        let in_progress = match unix::connect(fd.as_fd(), addr) {
            Ok(()) => false,
            Err(e) if socket::is_in_progress(&e) => true,
            Err(e) => return Err(e),
        };
        let stream = UnixStream::from_fd(fd, reactor)?;
        if in_progress {
            poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
            if let Some(e) = socket::take_error(stream.as_fd())? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// Creates a connected pair of unnamed streams (`socketpair(2)`), both registered with the
    /// current runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let reactor = current_reactor("UnixStream::pair")?;
        let (a, b) = socket::socketpair_stream()?;
        Ok((
            UnixStream::from_fd(a, &reactor)?,
            UnixStream::from_fd(b, &reactor)?,
        ))
    }

    /// Wraps a connected std stream (made nonblocking here) for use with the current runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let reactor = current_reactor("UnixStream::from_std")?;
        let fd = OwnedFd::from(stream);
        socket::set_nonblocking(fd.as_fd(), true)?;
        UnixStream::from_fd(fd, &reactor)
    }

    /// Deregisters and returns the std stream (left nonblocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixStream::from)
    }

    /// The remote address (unnamed, unless the peer bound its socket).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix::peer_addr(self.as_fd())
    }

    /// The local address (unnamed for a client or a [`pair`](Self::pair) end).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix::local_addr(self.as_fd())
    }

    /// The credentials of the peer process (`SO_PEERCRED`), as recorded when the
    /// connection was made.
    ///
    /// ```
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// let (a, _b) = rawrt::net::UnixStream::pair()?;
    /// let cred = a.peer_cred()?;
    /// assert_eq!(cred.pid(), Some(std::process::id() as i32));
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn peer_cred(&self) -> io::Result<super::UCred> {
        socket::peer_cred(self.as_fd()).map(super::UCred)
    }

    stream_io::stream_methods!(
        UnixStream,
        unix,
        "# let (mut a, mut b) = rawrt::net::UnixStream::pair()?;"
    );
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

stream_io::impl_async_io!(UnixStream);

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// [`UnixStream::from_std`].
    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}
