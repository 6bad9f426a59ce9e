//! [`empty`], [`repeat`] and [`sink`]: readers and writers that never wait.
//!
//! Because they are always ready, each operation on them spends a unit of the task's
//! cooperative budget (`scheduler::coop`): a loop over them (`copy(&mut repeat(0), &mut
//! sink())`) yields to other tasks every [`BUDGET`](crate::scheduler::coop) operations
//! instead of holding its worker forever.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
use crate::scheduler::coop;

/// Spends one budget unit, or returns `Pending` (the task woken) when none is left.
fn proceed(cx: &mut Context<'_>) -> Poll<()> {
    ready!(coop::poll_proceed(cx)).made_progress();
    Poll::Ready(())
}

/// A reader at end of stream and a writer that discards everything: made by [`empty`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Empty {
    _private: (),
}

/// A reader that is always at end of stream, and a writer that accepts and drops every
/// byte: Tokio's `io::empty`.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut e = rawrt::io::empty();
///     let mut buf = Vec::new();
///     assert_eq!(e.read_to_end(&mut buf).await?, 0);
///     assert_eq!(e.write(b"gone").await?, 4);
///     Ok(())
/// })
/// # }
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

impl AsyncWrite for Empty {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }
}

/// Every seek succeeds and the position is always 0.
impl AsyncSeek for Empty {
    fn start_seek(self: Pin<&mut Self>, _position: SeekFrom) -> io::Result<()> {
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(0))
    }
}

/// A reader that yields one byte forever: made by [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// A reader that fills every read with `byte`, forever: Tokio's `io::repeat`.
///
/// ```
/// use rawrt::io::AsyncReadExt;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut buf = [0u8; 4];
///     rawrt::io::repeat(b'z').read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"zzzz");
///     Ok(())
/// })
/// # }
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        let n = buf.remaining();
        buf.initialize_unfilled_to(n).fill(self.byte);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A writer that accepts and drops every byte: made by [`sink`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Sink {
    _private: (),
}

/// A writer that accepts every byte and drops it: Tokio's `io::sink`.
///
/// ```
/// use rawrt::io::AsyncWriteExt;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut s = rawrt::io::sink();
///     assert_eq!(s.write(&[1, 2, 3]).await?, 3);
///     s.shutdown().await?;
///     Ok(())
/// })
/// # }
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_support::block_on;
    use super::*;
    use crate::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

    #[test]
    fn empty_reads_nothing_and_swallows_writes() {
        let mut e = empty();
        let mut buf = [0u8; 8];
        assert_eq!(block_on(e.read(&mut buf)).unwrap(), 0);
        assert!(block_on(e.fill_buf()).unwrap().is_empty());
        assert_eq!(block_on(e.write(b"abc")).unwrap(), 3);
        assert_eq!(block_on(e.seek(SeekFrom::Start(9))).unwrap(), 0);
        block_on(e.shutdown()).unwrap();
    }

    #[test]
    fn repeat_fills_whole_reads() {
        let mut r = repeat(0xaa);
        let mut buf = [0u8; 100];
        assert_eq!(block_on(r.read(&mut buf)).unwrap(), 100);
        assert!(buf.iter().all(|&b| b == 0xaa));
        let mut taken = Vec::new();
        block_on(r.take(1000).read_to_end(&mut taken)).unwrap();
        assert_eq!(taken.len(), 1000);
    }

    #[test]
    fn sink_counts_vectored_writes() {
        let mut s = sink();
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cde")];
        assert_eq!(block_on(s.write_vectored(&bufs)).unwrap(), 5);
        block_on(s.write_all(&[0; 10_000])).unwrap();
        block_on(s.flush()).unwrap();
    }

    #[test]
    fn every_operation_spends_budget() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        coop::budget(|| {
            let mut r = repeat(1);
            let mut spent = 0;
            let mut buf = [0u8; 4];
            while Pin::new(&mut r)
                .poll_read(&mut cx, &mut ReadBuf::new(&mut buf))
                .is_ready()
            {
                spent += 1;
                assert!(
                    spent <= usize::from(coop::BUDGET),
                    "never ran out of budget"
                );
            }
            assert_eq!(spent, usize::from(coop::BUDGET));
            assert!(Pin::new(&mut sink()).poll_write(&mut cx, b"x").is_pending());
            assert!(Pin::new(&mut empty()).poll_flush(&mut cx).is_pending());
        });
    }
}
