//! [`split`]: one reader-writer as a [`ReadHalf`] and a [`WriteHalf`] that can be moved to
//! different tasks.
//!
//! Both halves hold an `Arc` of a `std::sync::Mutex` around the stream. Each poll locks it
//! just for the inner `poll_read`/`poll_write`, which never blocks, so the halves contend
//! only for the length of one non-blocking call; each passes its own task's waker, so a
//! reader waiting for data and a writer waiting for room are woken independently (the
//! stream keeps one waker per direction, as rawrt's sockets and pipes do). For a
//! `TcpStream` or `UnixStream`, `into_split` avoids the lock altogether.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The reading half of a stream split by [`split`].
pub struct ReadHalf<T> {
    inner: Arc<Mutex<T>>,
}

/// The writing half of a stream split by [`split`].
pub struct WriteHalf<T> {
    inner: Arc<Mutex<T>>,
}

/// Splits a reader-writer into a reading half and a writing half, which may be used from
/// different tasks at once: Tokio's `io::split`. [`ReadHalf::unsplit`] puts them back.
///
/// The halves' trait implementations need `T: Unpin` (Tokio's do not; rawrt pins without
/// `unsafe`): split a `Pin<Box<T>>` for a `!Unpin` stream.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let (near, mut far) = rawrt::io::duplex(64);
///     let (mut rd, mut wr) = rawrt::io::split(near);
///     let writer = rawrt::spawn(async move { wr.write_all(b"hi").await.map(|_| wr) });
///     let mut buf = [0u8; 2];
///     far.read_exact(&mut buf).await?;
///     far.write_all(b"yo").await?;
///     rd.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"yo");
///     let wr = writer.await.unwrap()?;
///     let _near = rd.unsplit(wr);
///     Ok(())
/// })
/// # }
/// ```
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let inner = Arc::new(Mutex::new(stream));
    (
        ReadHalf {
            inner: inner.clone(),
        },
        WriteHalf { inner },
    )
}

/// Locks the stream; a poll that panicked while holding it poisons nothing that matters
/// here (the stream's own state is its business), so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the writing half split off the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Joins the two halves back into the stream.
    ///
    /// # Panics
    ///
    /// If `wr` is not this half's pair (a programming error, as in Tokio).
    pub fn unsplit(self, wr: WriteHalf<T>) -> T
    where
        T: Unpin,
    {
        assert!(
            self.is_pair_of(&wr),
            "ReadHalf::unsplit: the WriteHalf is from another split"
        );
        drop(wr);
        match Arc::try_unwrap(self.inner) {
            Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            // Both halves were here and each holds the only other reference.
            Err(_) => unreachable!("a split stream has exactly two handles"),
        }
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the reading half split off the same stream.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        other.is_pair_of(self)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        lock(&self.inner).is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_shutdown(cx)
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_support::block_on;
    use super::*;
    use crate::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[test]
    fn halves_pair_and_unsplit() {
        let (a, _b) = duplex(8);
        let (c, _d) = duplex(8);
        let (ra, wa) = split(a);
        let (rc, wc) = split(c);
        assert!(ra.is_pair_of(&wa) && wa.is_pair_of(&ra));
        assert!(!ra.is_pair_of(&wc) && !wc.is_pair_of(&ra));
        let _a = ra.unsplit(wa);
        let _c = rc.unsplit(wc);
    }

    #[test]
    #[should_panic(expected = "another split")]
    fn unsplit_of_strangers_panics() {
        let (ra, _wa) = split(duplex(8).0);
        let (_rc, wc) = split(duplex(8).0);
        ra.unsplit(wc);
    }

    #[test]
    fn halves_read_and_write_the_one_stream() {
        let (a, mut b) = duplex(8);
        let (mut r, mut w) = split(a);
        block_on(w.write_all(b"to b")).unwrap();
        let mut buf = [0u8; 4];
        block_on(b.read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"to b");
        block_on(b.write_all(b"to a")).unwrap();
        block_on(r.read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"to a");
        block_on(w.shutdown()).unwrap();
        assert_eq!(block_on(b.read(&mut buf)).unwrap(), 0);
    }
}
