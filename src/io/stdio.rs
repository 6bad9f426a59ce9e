//! `stdin`, `stdout` and `stderr` on the blocking pool, through the same state machine as
//! `fs::File` (`crate::fs::Blocking`). The standard streams may be terminals, pipes or files
//! shared with other processes, so rawrt leaves them blocking and makes std's calls on a
//! pool thread; the public docs are on [`Stdin`] and [`Stdout`].

use std::fmt;
use std::io::{self, IoSlice, Read, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite, ReadBuf};
use crate::fs::{Blocking, BlockingTarget};

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported here"),
    )
}

impl BlockingTarget for io::Stdin {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.lock().read(buf)
    }
    fn write_all(&self, _: &[u8]) -> io::Result<()> {
        Err(unsupported("writing to stdin"))
    }
    fn seek(&self, _: SeekFrom) -> io::Result<u64> {
        Err(unsupported("seeking stdin"))
    }
}

macro_rules! output_target {
    ($ty:ty, $name:literal) => {
        impl BlockingTarget for $ty {
            fn read(&self, _: &mut [u8]) -> io::Result<usize> {
                Err(unsupported(concat!("reading from ", $name)))
            }
            fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                let mut out = self.lock();
                out.write_all(buf)?;
                out.flush()
            }
            fn seek(&self, _: SeekFrom) -> io::Result<u64> {
                Err(unsupported(concat!("seeking ", $name)))
            }
        }
    };
}

output_target!(io::Stdout, "stdout");
output_target!(io::Stderr, "stderr");

/// The process's standard input, read on the blocking pool; from [`stdin`].
///
/// The standard streams may be terminals, pipes or files shared with other processes, so
/// rawrt does not make them non-blocking: each read is a call of std's `Stdin` on a
/// blocking-pool thread, one pool trip (a thread hand-off each way; std's system calls there
/// are not counted in rawrt's syscall counters). A read asks for 64 KiB (or the caller's room
/// if larger, at most 2 MiB) and serves later reads from what came back.
///
/// **A read keeps a pool thread blocked** until input arrives or input ends, and nothing
/// can interrupt it: dropping the read future leaves it running (what it reads is kept for
/// the next read on this `Stdin`). Dropping the runtime waits for it, so with an interactive
/// stdin, end the program with
/// [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) or
/// [`shutdown_background`](crate::Runtime::shutdown_background), or read stdin on a thread
/// of your own.
pub struct Stdin {
    io: Blocking<io::Stdin>,
}

/// A handle to standard input for reading on the blocking pool.
///
/// ```no_run
/// # use std::future::poll_fn;
/// # use std::pin::Pin;
/// use rawrt::io::{AsyncRead, ReadBuf};
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut stdin = rawrt::io::stdin();
///     let mut bytes = [0u8; 64];
///     let mut buf = ReadBuf::new(&mut bytes);
///     poll_fn(|cx| Pin::new(&mut stdin).poll_read(cx, &mut buf)).await?;
///     println!("read {} bytes", buf.filled().len());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn stdin() -> Stdin {
    Stdin {
        io: Blocking::new(Arc::new(io::stdin())),
    }
}

/// The process's standard output, written on the blocking pool; from [`stdout`].
///
/// A write copies the bytes (up to 2 MiB) and returns at once; they are written, and std's
/// line buffer flushed, by a call of std's `Stdout` on a blocking-pool thread (one pool trip;
/// not counted in rawrt's syscall counters). The next write waits for that one, so writes
/// reach the stream in order. A failed write is reported by the next write or by `flush`;
/// flush before the program exits, or the last write may not have happened yet. Each value
/// returned by [`stdout`] has its own buffer: writes through two of them at once interleave
/// at the granularity of their writes.
pub struct Stdout {
    io: Blocking<io::Stdout>,
}

/// A handle to standard output for writing on the blocking pool.
///
/// ```
/// # use std::future::poll_fn;
/// # use std::pin::Pin;
/// use rawrt::io::AsyncWrite;
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut out = rawrt::io::stdout();
///     let n = poll_fn(|cx| Pin::new(&mut out).poll_write(cx, b"hello\n")).await?;
///     assert_eq!(n, 6);
///     poll_fn(|cx| Pin::new(&mut out).poll_flush(cx)).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        io: Blocking::new(Arc::new(io::stdout())),
    }
}

/// The process's standard error, written on the blocking pool; from [`stderr`]. Behaves
/// as [`Stdout`].
pub struct Stderr {
    io: Blocking<io::Stderr>,
}

/// A handle to standard error for writing on the blocking pool; see [`stdout`].
pub fn stderr() -> Stderr {
    Stderr {
        io: Blocking::new(Arc::new(io::stderr())),
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_read(cx, buf)
    }
}

macro_rules! output_impls {
    ($ty:ident) => {
        /// Writes are buffered and happen in order on the pool; `poll_flush` waits for the
        /// write in flight and reports its error; `poll_shutdown` is `poll_flush` (the
        /// stream stays open).
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().io.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    };
}

output_impls!(Stdout);
output_impls!(Stderr);

macro_rules! fd_impls {
    ($ty:ident) => {
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.target().as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.target().as_fd()
            }
        }
    };
}

fd_impls!(Stdin);
fd_impls!(Stdout);
fd_impls!(Stderr);

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin").finish_non_exhaustive()
    }
}
