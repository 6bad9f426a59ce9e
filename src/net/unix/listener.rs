//! `UnixListener`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use rawrt_sys::{socket, unix};

use super::{SocketAddr, UnixStream};
use crate::net::current_reactor;
use crate::reactor::{Direction, PollEvented};
use crate::scheduler::coop;

/// Backlog passed to `listen(2)`; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// A Unix-domain socket server, listening for connections.
///
/// Binding a path creates a socket file there; it is **not** removed when the listener is
/// dropped (as with std and Tokio), and binding fails with `AddrInUse` while it exists, so
/// remove a stale file before binding and clean up after.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
/// use rawrt::net::{UnixListener, UnixStream};
///
/// # let rt = rawrt::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let path = std::env::temp_dir().join(format!("rawrt-doc-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let client = rawrt::spawn({
///     let path = path.clone();
///     async move {
///         let mut stream = UnixStream::connect(&path).await?;
///         stream.write_all(b"hello").await?;
///         Ok::<_, std::io::Error>(())
///     }
/// });
/// let (mut stream, peer) = listener.accept().await?;
/// assert!(peer.is_unnamed());
/// let mut buf = [0u8; 5];
/// stream.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hello");
/// client.await??;
/// std::fs::remove_file(&path)?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<OwnedFd>,
}

impl UnixListener {
    /// Creates a socket bound to the path `path`, listens, and registers it with the current
    /// runtime.
    ///
    /// Synchronous (binding a Unix socket never blocks), but it must be called within a
    /// runtime — from a task, inside `block_on` or under [`Handle::enter`](crate::Handle::enter)
    /// — or it returns an error saying so. Fails with `AddrInUse` if the path exists, and with
    /// `InvalidInput` if it is 108 bytes or longer or contains a NUL byte.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let reactor = current_reactor("UnixListener::bind")?;
        let addr = unix::path_addr(path)?;
        UnixListener::bind_with(&addr, &reactor)
    }

    /// As [`bind`](Self::bind), for any Unix address: a path, or a name in the abstract
    /// namespace (an unnamed address binds to a fresh abstract name the kernel picks).
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        let reactor = current_reactor("UnixListener::bind_addr")?;
        UnixListener::bind_with(addr, &reactor)
    }

    fn bind_with(addr: &SocketAddr, reactor: &crate::reactor::Handle) -> io::Result<UnixListener> {
        let fd = unix::stream_socket()?;
        unix::bind(fd.as_fd(), addr)?;
        socket::listen(fd.as_fd(), BACKLOG)?;
        Ok(UnixListener {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    /// Wraps a listening std socket (made nonblocking here) for use with the current runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        let reactor = current_reactor("UnixListener::from_std")?;
        let fd = OwnedFd::from(listener);
        socket::set_nonblocking(fd.as_fd(), true)?;
        Ok(UnixListener {
            io: PollEvented::new(fd, &reactor)?,
        })
    }

    /// Deregisters and returns the std listener (left nonblocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixListener::from)
    }

    /// Accepts a connection: the stream (nonblocking, close-on-exec, registered) and the
    /// peer's address, which is usually unnamed (clients rarely bind).
    ///
    /// As with [`TcpListener::accept`](crate::net::TcpListener::accept), errors such as
    /// running out of file descriptors are returned as they come: back off before retrying.
    ///
    /// Any number of tasks may wait in `accept` on one listener at once; each connection
    /// goes to one of them.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let accept = self
            .io
            .async_io(Direction::Read, |fd| unix::accept(fd.as_fd()));
        let (fd, addr) = coop::budgeted(accept).await?;
        UnixStream::from_fd(fd, self.io.reactor()).map(|s| (s, addr))
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (fd, addr) = match coop::poll_budgeted(cx, |cx| {
            self.io
                .poll_io(cx, Direction::Read, |fd| unix::accept(fd.as_fd()))
        }) {
            Poll::Ready(Ok(v)) => v,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let reactor = self.io.reactor();
        Poll::Ready(UnixStream::from_fd(fd, reactor).map(|s| (s, addr)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix::local_addr(self.as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.as_raw_fd())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// [`UnixListener::from_std`].
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}
