//! [`BufWriter`]: an [`AsyncWrite`] with a buffer in front, so that many small writes cost
//! one inner write per buffer-full.
//!
//! Writes are copied into a `Vec` of the chosen capacity (allocated once). When a write does
//! not fit, the buffer is written out first; a write at least as large as the buffer then
//! goes straight to the inner writer. Nothing is written out on drop: call
//! [`flush`](crate::io::AsyncWriteExt::flush) or
//! [`shutdown`](crate::io::AsyncWriteExt::shutdown) (which flushes first).

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::buf_reader::DEFAULT_BUF_SIZE;
use super::write_ext::write_zero;
use crate::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// Adds a write buffer to a writer: Tokio's `BufWriter`.
///
/// Its trait implementations need the writer `Unpin` (put a `!Unpin` one in a
/// `Pin<Box<W>>`). Reads pass straight through to the inner type when it is also a reader.
///
/// ```
/// use rawrt::io::{AsyncWriteExt, BufWriter};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut w = BufWriter::with_capacity(16, Vec::new());
///     w.write_all(b"small").await?;
///     assert_eq!(w.buffer(), b"small");
///     assert!(w.get_ref().is_empty(), "still buffered");
///     w.flush().await?;
///     assert_eq!(w.get_ref(), b"small");
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct BufWriter<W> {
    inner: W,
    buf: Vec<u8>,
    cap: usize,
    seek: Option<SeekFrom>,
}

impl<W> BufWriter<W> {
    /// A `BufWriter` with an 8 KiB buffer.
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// A `BufWriter` with a buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            cap: capacity,
            seek: None,
        }
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably (writing to it directly skips what is buffered).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W>
    where
        W: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }

    /// The inner writer back; whatever is still buffered is lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The bytes buffered and not written out yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }
}

impl<W: AsyncWrite + Unpin> BufWriter<W> {
    /// Writes the whole buffer out to the inner writer (without flushing that).
    fn poll_flush_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut written = 0;
        let res = loop {
            if written == self.buf.len() {
                break Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf[written..]) {
                Poll::Ready(Ok(0)) => break Poll::Ready(Err(write_zero())),
                Poll::Ready(Ok(n)) => written += n.min(self.buf.len() - written),
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        self.buf.drain(..written);
        res
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for BufWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.buf.len() + src.len() > me.cap {
            ready!(me.poll_flush_buf(cx))?;
        }
        if src.len() >= me.cap {
            Pin::new(&mut me.inner).poll_write(cx, src)
        } else {
            me.buf.extend_from_slice(src);
            Poll::Ready(Ok(src.len()))
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let total = bufs
            .iter()
            .fold(0usize, |sum, b| sum.saturating_add(b.len()));
        if me.buf.len() + total > me.cap {
            ready!(me.poll_flush_buf(cx))?;
        }
        if total >= me.cap {
            Pin::new(&mut me.inner).poll_write_vectored(cx, bufs)
        } else {
            for b in bufs {
                me.buf.extend_from_slice(b);
            }
            Poll::Ready(Ok(total))
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_flush_buf(cx))?;
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_flush_buf(cx))?;
        Pin::new(&mut me.inner).poll_shutdown(cx)
    }
}

/// Seeks the inner writer after writing out the buffer.
impl<W: AsyncWrite + AsyncSeek + Unpin> AsyncSeek for BufWriter<W> {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        self.get_mut().seek = Some(pos);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        if let Some(pos) = me.seek {
            ready!(me.poll_flush_buf(cx))?;
            me.seek = None;
            Pin::new(&mut me.inner).start_seek(pos)?;
        }
        Pin::new(&mut me.inner).poll_complete(cx)
    }
}

impl<W: AsyncRead + Unpin> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<W: AsyncBufRead + Unpin> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{block_on, TrickleWriter};
    use super::*;
    use crate::io::{AsyncSeekExt, AsyncWriteExt};
    use std::io::Cursor;

    /// Records each inner write's length.
    #[derive(Default)]
    struct Log {
        writes: Vec<usize>,
        data: Vec<u8>,
        shut: bool,
    }

    impl AsyncWrite for Log {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.push(buf.len());
            self.data.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.shut = true;
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn buffers_until_full_then_writes_once() {
        let mut w = BufWriter::with_capacity(10, Log::default());
        for _ in 0..3 {
            block_on(w.write_all(b"abc")).unwrap();
        }
        assert!(w.get_ref().writes.is_empty());
        block_on(w.write_all(b"de")).unwrap(); // 9 + 2 > 10: the 9 go out first
        assert_eq!(w.get_ref().writes, [9]);
        assert_eq!(w.buffer(), b"de");
    }

    #[test]
    fn big_writes_go_straight_through() {
        let mut w = BufWriter::with_capacity(8, Log::default());
        block_on(w.write_all(b"ab")).unwrap();
        block_on(w.write_all(&[1u8; 20])).unwrap();
        assert_eq!(
            w.get_ref().writes,
            [2, 20],
            "buffer first, then the big write as is"
        );
        assert!(w.buffer().is_empty());
    }

    #[test]
    fn shutdown_flushes_first() {
        let mut w = BufWriter::new(Log::default());
        block_on(w.write_all(b"tail")).unwrap();
        block_on(w.shutdown()).unwrap();
        let log = w.into_inner();
        assert_eq!(log.data, b"tail");
        assert!(log.shut);
    }

    #[test]
    fn flush_over_partial_inner_writes() {
        let mut w = BufWriter::with_capacity(32, TrickleWriter::default());
        block_on(w.write_all(b"several bytes")).unwrap();
        block_on(w.flush()).unwrap();
        assert_eq!(w.get_ref().data, b"several bytes");
        assert_eq!(w.get_ref().flushed, 1);
    }

    #[test]
    fn vectored_writes_are_gathered() {
        let mut w = BufWriter::with_capacity(16, Log::default());
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(block_on(w.write_vectored(&bufs)).unwrap(), 4);
        assert_eq!(w.buffer(), b"abcd");
        block_on(w.flush()).unwrap();
        assert_eq!(w.get_ref().writes, [4]);
    }

    #[test]
    fn seek_writes_out_the_buffer_first() {
        let mut w = BufWriter::new(Cursor::new(vec![0u8; 4]));
        block_on(w.write_all(b"xy")).unwrap();
        assert_eq!(block_on(w.seek(SeekFrom::Start(3))).unwrap(), 3);
        block_on(w.write_all(b"z")).unwrap();
        block_on(w.flush()).unwrap();
        assert_eq!(w.get_ref().get_ref(), b"xy\0z");
    }
}
