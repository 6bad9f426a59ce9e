//! The parent's ends of a child's standard streams: [`ChildStdin`], [`ChildStdout`] and
//! [`ChildStderr`], pipes made nonblocking and registered with the reactor.

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use rawrt_sys::socket;

use crate::io::{read_buf, AsyncRead, AsyncWrite, ReadBuf};
use crate::reactor::{self, Direction, PollEvented};
use crate::scheduler::coop;

/// One registered pipe end.
struct Pipe {
    io: PollEvented<OwnedFd>,
}

impl Pipe {
    /// Makes `fd` nonblocking (its own open file: the child's end keeps blocking mode) and
    /// registers it. On error the fd is closed.
    fn new(fd: OwnedFd, reactor: &reactor::Handle) -> io::Result<Pipe> {
        socket::set_nonblocking(fd.as_fd(), true)?;
        Ok(Pipe {
            io: PollEvented::new(fd, reactor)?,
        })
    }

    fn from_std(fd: OwnedFd, what: &str) -> io::Result<Pipe> {
        let reactor = super::current_reactor(what)?;
        Pipe::new(fd, &reactor)
    }

    /// Deregisters the fd and puts it back in blocking mode, as std's handles expect.
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let fd = self.io.into_inner()?;
        socket::set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }

    /// Reads into the unfilled part of `buf` (possibly uninitialised memory) with `read(2)`.
    /// A short read clears the readiness: the pipe is empty, and new data is a new edge.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let len = buf.remaining();
        if len == 0 {
            return Poll::Ready(Ok(()));
        }
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_stream(cx, Direction::Read, len, |fd| {
                read_buf::fill_with(buf, |dst| socket::read_uninit(fd.as_fd(), dst))
            })
        })
        .map_ok(drop)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_stream(cx, Direction::Write, buf.len(), |fd| {
                socket::write(fd.as_fd(), buf)
            })
        })
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_stream(cx, Direction::Write, len, |fd| {
                socket::writev(fd.as_fd(), bufs)
            })
        })
    }
}

/// The parent's end of a child's standard input: an [`AsyncWrite`] pipe.
///
/// Made by [`Command::spawn`](super::Command::spawn) for a `stdin(Stdio::piped())`, and found
/// in [`Child::stdin`](super::Child::stdin). The child reads end of input once this is
/// dropped (or converted away); [`Child::wait`](super::Child::wait) drops it for you.
///
/// `poll_shutdown` does not close the pipe (as in Tokio; writes go straight to the kernel, so
/// there is nothing to flush): drop the `ChildStdin` to signal end of input. A write after
/// the child has closed its end fails with `BrokenPipe` (`EPIPE`); Rust programs ignore
/// `SIGPIPE`, which a program that restores it would receive instead.
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use std::process::Stdio;
/// use rawrt::io::AsyncWrite;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut child = rawrt::process::Command::new("sh")
///         .args(["-c", "read line; test \"$line\" = ping"])
///         .stdin(Stdio::piped())
///         .spawn()?;
///     let mut stdin = child.stdin.take().unwrap();
///     let n = poll_fn(|cx| Pin::new(&mut stdin).poll_write(cx, b"ping\n")).await?;
///     assert_eq!(n, 5);
///     drop(stdin);
///     assert!(child.wait().await?.success());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct ChildStdin {
    pipe: Pipe,
}

/// The parent's end of a child's standard output: an [`AsyncRead`] pipe, at end of stream
/// once the child (and every process it passed the pipe on to) has closed it.
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use std::process::Stdio;
/// use rawrt::io::{AsyncRead, ReadBuf};
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut child = rawrt::process::Command::new("echo")
///         .arg("hi")
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut stdout = child.stdout.take().unwrap();
///     let mut got = Vec::new();
///     loop {
///         let mut buf = [0u8; 64];
///         let mut rb = ReadBuf::new(&mut buf);
///         poll_fn(|cx| Pin::new(&mut stdout).poll_read(cx, &mut rb)).await?;
///         if rb.filled().is_empty() {
///             break; // end of stream
///         }
///         got.extend_from_slice(rb.filled());
///     }
///     assert_eq!(got, b"hi\n");
///     assert!(child.wait().await?.success());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct ChildStdout {
    pipe: Pipe,
}

/// The parent's end of a child's standard error: an [`AsyncRead`] pipe, like
/// [`ChildStdout`].
pub struct ChildStderr {
    pipe: Pipe,
}

/// The constructors, conversions and fd traits the three types share.
macro_rules! pipe_type {
    ($ty:ident, $std:ty, $name:literal) => {
        impl $ty {
            pub(crate) fn from_fd(fd: OwnedFd, reactor: &reactor::Handle) -> io::Result<$ty> {
                Ok($ty {
                    pipe: Pipe::new(fd, reactor)?,
                })
            }

            /// Wraps std's handle of the same name (from a child spawned with
            /// `std::process::Command`): the pipe is made nonblocking and registered with the
            /// current runtime's reactor. Fails outside a runtime.
            pub fn from_std(inner: $std) -> io::Result<$ty> {
                Ok($ty {
                    pipe: Pipe::from_std(OwnedFd::from(inner), concat!($name, "::from_std"))?,
                })
            }

            /// Deregisters the pipe from the reactor and returns its fd, back in blocking
            /// mode (how std and other programs expect a pipe they are handed).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_owned_fd()
            }
        }

        impl TryFrom<$ty> for OwnedFd {
            type Error = io::Error;

            /// Deregisters the pipe and returns its fd in blocking mode, as `into_owned_fd`.
            fn try_from(pipe: $ty) -> io::Result<OwnedFd> {
                pipe.into_owned_fd()
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// The pipe, in blocking mode, as a `Stdio` for another command: for example a
            /// child's stdout as the next one's stdin.
            fn try_from(pipe: $ty) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.fd().as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct($name)
                    .field("fd", &self.pipe.fd().as_raw_fd())
                    .finish()
            }
        }
    };
}

pipe_type!(ChildStdin, std::process::ChildStdin, "ChildStdin");
pipe_type!(ChildStdout, std::process::ChildStdout, "ChildStdout");
pipe_type!(ChildStderr, std::process::ChildStderr, "ChildStderr");

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the kernel: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no half-close; the end of input is the drop (see the type's docs).
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pipe.poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pipe.poll_read(cx, buf)
    }
}

/// Reads `pipe` to its end into `out`: ready once end of stream is seen.
pub(super) fn poll_read_to_end<R: AsyncRead + Unpin>(
    pipe: &mut R,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; 8192];
    loop {
        let mut buf = ReadBuf::new(&mut chunk);
        match Pin::new(&mut *pipe).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(())) => out.extend_from_slice(buf.filled()),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
