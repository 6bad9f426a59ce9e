//! [`join`]: a separate reader and writer as one reader-writer.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// A reader and a writer as one stream: made by [`join`]. Reads go to the reader, writes
/// to the writer.
///
/// Its trait implementations need both parts `Unpin` (put a `!Unpin` one in a
/// `Pin<Box<_>>`).
#[derive(Debug)]
pub struct Join<R, W> {
    reader: R,
    writer: W,
}

/// Joins a reader and a writer into one value that is both: Tokio's `io::join` (the
/// opposite of [`split`](crate::io::split)).
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut both = rawrt::io::join(&b"in"[..], Vec::new());
///     let mut got = String::new();
///     both.read_to_string(&mut got).await?;
///     both.write_all(b"out").await?;
///     let (_, written) = both.into_inner();
///     assert_eq!((got.as_str(), &written[..]), ("in", &b"out"[..]));
///     Ok(())
/// })
/// # }
/// ```
pub fn join<R: AsyncRead, W: AsyncWrite>(reader: R, writer: W) -> Join<R, W> {
    Join { reader, writer }
}

impl<R, W> Join<R, W> {
    /// The reader and the writer back.
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The writer.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// The reader, mutably.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The writer, mutably.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// The reader, pinned.
    pub fn reader_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R>
    where
        R: Unpin,
        W: Unpin,
    {
        Pin::new(&mut self.get_mut().reader)
    }

    /// The writer, pinned.
    pub fn writer_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W>
    where
        R: Unpin,
        W: Unpin,
    {
        Pin::new(&mut self.get_mut().writer)
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for Join<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().reader).poll_read(cx, buf)
    }
}

impl<R: AsyncBufRead + Unpin, W: Unpin> AsyncBufRead for Join<R, W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().reader).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().reader).consume(amt)
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Join<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.writer.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::block_on;
    use super::*;
    use crate::io::{AsyncBufReadExt, AsyncWriteExt};

    #[test]
    fn reads_from_one_writes_to_the_other() {
        let mut j = join(&b"line\nmore"[..], Vec::new());
        let mut line = String::new();
        block_on(j.read_line(&mut line)).unwrap();
        assert_eq!(line, "line\n");
        block_on(j.write_all(b"sent")).unwrap();
        assert_eq!(j.writer(), b"sent");
        assert_eq!(*j.reader(), b"more");
        j.writer_mut().clear();
        let (r, w) = j.into_inner();
        assert_eq!((r, w.len()), (&b"more"[..], 0));
    }
}
