//! [`BufReader`]: an [`AsyncRead`] with a buffer in front, so that small reads and the line
//! methods of [`AsyncBufReadExt`](crate::io::AsyncBufReadExt) cost one inner read per
//! buffer-full rather than one per call.
//!
//! The buffer is a boxed slice allocated (and zeroed) once, in the constructor. A read at
//! least as large as the buffer, when the buffer is empty, goes straight to the inner reader.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// The buffer size of [`BufReader::new`] and [`BufWriter::new`](crate::io::BufWriter::new):
/// 8 KiB, as Tokio's.
pub(crate) const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// Adds a read buffer to a reader: Tokio's `BufReader`.
///
/// Its trait implementations need the reader `Unpin` (Tokio's do not; rawrt projects pins
/// without `unsafe`): put a `!Unpin` reader in a `Pin<Box<R>>`. Writes pass straight through
/// to the inner type when it is also a writer.
///
/// ```
/// use rawrt::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut r = BufReader::with_capacity(4, &b"line one\nrest"[..]);
///     let mut line = String::new();
///     r.read_line(&mut line).await?;
///     assert_eq!(line, "line one\n");
///     // The buffer was filled 4 bytes at a time: "line", " one", "\nres".
///     assert_eq!(r.buffer(), b"res");
///     assert_eq!(r.read_u8().await?, b'r');
///     assert_eq!(r.buffer(), b"es");
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    seek: SeekState,
}

#[derive(Debug, Clone, Copy)]
enum SeekState {
    Idle,
    /// The first of two inner seeks is in flight; then a seek by this much follows.
    Then(i64),
}

impl<R> BufReader<R> {
    /// A `BufReader` with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// A `BufReader` with a buffer of `capacity` bytes (at least one).
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            seek: SeekState::Idle,
        }
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably (reading from it directly skips what is buffered).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R>
    where
        R: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }

    /// The inner reader back; whatever was buffered is lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes buffered and not read yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    fn discard_buffer(&mut self) {
        self.pos = 0;
        self.filled = 0;
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.pos == me.filled && buf.remaining() >= me.buf.len() {
            // Nothing buffered and a read at least a buffer long: buffering would only copy.
            me.discard_buffer();
            return Pin::new(&mut me.inner).poll_read(cx, buf);
        }
        let avail = ready!(Pin::new(&mut *me).poll_fill_buf(cx))?;
        let n = avail.len().min(buf.remaining());
        buf.put_slice(&avail[..n]);
        Pin::new(me).consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if me.pos >= me.filled {
            let mut rb = ReadBuf::new(&mut me.buf);
            ready!(Pin::new(&mut me.inner).poll_read(cx, &mut rb))?;
            me.filled = rb.filled().len();
            me.pos = 0;
        }
        Poll::Ready(Ok(&me.buf[me.pos..me.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        me.pos = (me.pos + amt).min(me.filled);
    }
}

/// Seeks the inner reader, counting the buffered bytes: `SeekFrom::Current(n)` is from the
/// position of the next byte `BufReader` hands out, not the inner reader's. The buffer is
/// discarded once the inner seek has started.
impl<R: AsyncSeek + Unpin> AsyncSeek for BufReader<R> {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let me = self.get_mut();
        let pos = match pos {
            SeekFrom::Current(n) => {
                let remainder = (me.filled - me.pos) as i64;
                match n.checked_sub(remainder) {
                    Some(m) => SeekFrom::Current(m),
                    None => {
                        // n - remainder overflows: step back over the buffer first, then n.
                        Pin::new(&mut me.inner).start_seek(SeekFrom::Current(-remainder))?;
                        me.discard_buffer();
                        me.seek = SeekState::Then(n);
                        return Ok(());
                    }
                }
            }
            other => other,
        };
        Pin::new(&mut me.inner).start_seek(pos)?;
        me.discard_buffer();
        me.seek = SeekState::Idle;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        if let SeekState::Then(n) = me.seek {
            ready!(Pin::new(&mut me.inner).poll_complete(cx))?;
            me.seek = SeekState::Idle;
            Pin::new(&mut me.inner).start_seek(SeekFrom::Current(n))?;
        }
        Pin::new(&mut me.inner).poll_complete(cx)
    }
}

impl<R: AsyncWrite + Unpin> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::block_on;
    use super::*;
    use crate::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt};
    use std::io::Cursor;

    /// Counts the reads that reach the inner reader, and the largest asked for.
    struct Counting<'a> {
        data: &'a [u8],
        reads: usize,
        biggest: usize,
    }

    impl AsyncRead for Counting<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.reads += 1;
            self.biggest = self.biggest.max(buf.remaining());
            Pin::new(&mut self.data).poll_read(cx, buf)
        }
    }

    #[test]
    fn small_reads_come_from_one_inner_read() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut r = BufReader::with_capacity(
            64,
            Counting {
                data: &data,
                reads: 0,
                biggest: 0,
            },
        );
        let mut out = Vec::new();
        for _ in 0..64 {
            out.push(block_on(r.read_u8()).unwrap());
        }
        assert_eq!(r.get_ref().reads, 1, "64 one-byte reads, one inner read");
        assert_eq!(r.get_ref().biggest, 64);
        let mut rest = Vec::new();
        block_on(r.read_to_end(&mut rest)).unwrap();
        out.extend(rest);
        assert_eq!(out, data);
    }

    #[test]
    fn big_reads_bypass_the_buffer() {
        let data = vec![7u8; 300];
        let mut r = BufReader::with_capacity(
            16,
            Counting {
                data: &data,
                reads: 0,
                biggest: 0,
            },
        );
        let mut big = [0u8; 200];
        assert_eq!(block_on(r.read(&mut big)).unwrap(), 200);
        assert_eq!(r.get_ref().reads, 1);
        assert_eq!(
            r.get_ref().biggest,
            200,
            "read straight into the caller's buffer"
        );
        assert!(r.buffer().is_empty());
        // A small read now fills the buffer; a big one after it drains the buffer first.
        assert_eq!(block_on(r.read(&mut [0u8; 1])).unwrap(), 1);
        assert_eq!(r.buffer().len(), 15);
        assert_eq!(block_on(r.read(&mut big)).unwrap(), 15);
        assert_eq!(r.into_inner().data.len(), 84);
    }

    #[test]
    fn seek_counts_buffered_bytes() {
        let mut r = BufReader::with_capacity(8, Cursor::new(b"0123456789abcdef".to_vec()));
        assert_eq!(block_on(r.read_u8()).unwrap(), b'0');
        assert_eq!(r.buffer(), b"1234567");
        assert_eq!(block_on(r.stream_position()).unwrap(), 1);
        assert_eq!(block_on(r.seek(SeekFrom::Current(2))).unwrap(), 3);
        assert!(r.buffer().is_empty());
        assert_eq!(block_on(r.read_u8()).unwrap(), b'3');
        assert_eq!(block_on(r.seek(SeekFrom::End(-1))).unwrap(), 15);
        assert_eq!(block_on(r.read_u8()).unwrap(), b'f');
        // A relative seek so far back that subtracting the buffer overflows: two steps.
        block_on(r.rewind()).unwrap();
        block_on(r.fill_buf()).unwrap();
        let err = block_on(r.seek(SeekFrom::Current(i64::MIN))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn writes_pass_through() {
        let mut r = BufReader::new(Cursor::new(Vec::new()));
        block_on(crate::io::AsyncWriteExt::write_all(&mut r, b"hi")).unwrap();
        assert_eq!(r.get_ref().get_ref(), b"hi");
    }
}
