//! [`AsyncBufReadExt`]: `read_until`, `read_line`, `lines`, `split`, `fill_buf` and `consume`
//! over an [`AsyncBufRead`]'s buffer. They copy out of the reader's buffer and consume it,
//! one `poll_fill_buf` per buffer refill; [`Lines`] and [`Split`] keep a partial line inside
//! themselves, which is what makes their `next_*` methods cancel safe.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::read_ext::{invalid_utf8, put_back_string};
use crate::io::AsyncBufRead;

/// Line and delimiter helpers for every [`AsyncBufRead`]: Tokio's `AsyncBufReadExt`, with
/// the same methods.
///
/// ```
/// use rawrt::io::{AsyncBufReadExt, BufReader};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut lines = BufReader::new(&b"one\r\ntwo\nthree"[..]).lines();
///     let mut all = Vec::new();
///     while let Some(line) = lines.next_line().await? {
///         all.push(line);
///     }
///     assert_eq!(all, ["one", "two", "three"]);
///     Ok(())
/// })
/// # }
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads up to and including the first `byte`, or to end of stream, appending to `buf`;
    /// returns how many bytes were read (`0` at end of stream).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes read before the future is dropped are already appended to `buf`,
    /// so calling it again carries on where it stopped.
    ///
    /// ```
    /// use rawrt::io::AsyncBufReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"key=value";
    ///     let mut key = Vec::new();
    ///     assert_eq!(src.read_until(b'=', &mut key).await?, 4);
    ///     assert_eq!(key, b"key=");
    ///     assert_eq!(src, b"value");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            delim: byte,
            buf,
            read: 0,
        }
    }

    /// Reads up to and including the next `\n`, or to end of stream, appending to `buf`;
    /// returns how many bytes were read (`0` at end of stream). The line ending is kept.
    ///
    /// If the bytes read are not valid UTF-8, the error is
    /// [`InvalidData`](io::ErrorKind::InvalidData) and `buf` is left as it was (the bytes are
    /// consumed from the reader all the same). On an I/O error, what was read is kept if it
    /// is valid UTF-8.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped before it completes, what it read is
    /// appended to `buf` when valid UTF-8 and discarded otherwise, so the line may be split
    /// across calls. Use [`lines`](Self::lines) where cancellation matters.
    ///
    /// ```
    /// use rawrt::io::AsyncBufReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"first\nsecond";
    ///     let mut line = String::new();
    ///     assert_eq!(src.read_line(&mut line).await?, 6);
    ///     assert_eq!(line, "first\n");
    ///     line.clear();
    ///     src.read_line(&mut line).await?;
    ///     assert_eq!(line, "second");
    ///     assert_eq!(src.read_line(&mut line).await?, 0);
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        let bytes = mem::take(buf).into_bytes();
        ReadLine {
            reader: self,
            start: bytes.len(),
            bytes,
            out: buf,
            read: 0,
            done: false,
        }
    }

    /// The segments of the stream between `byte`s (each without its `byte`), one per
    /// [`Split::next_segment`].
    ///
    /// ```
    /// use rawrt::io::AsyncBufReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut parts = rawrt::io::BufReader::new(&b"a,bc,"[..]).split(b',');
    ///     assert_eq!(parts.next_segment().await?, Some(b"a".to_vec()));
    ///     assert_eq!(parts.next_segment().await?, Some(b"bc".to_vec()));
    ///     assert_eq!(parts.next_segment().await?, None);
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split {
            reader: self,
            delim: byte,
            buf: Vec::new(),
            read: 0,
        }
    }

    /// The reader's buffered bytes, reading more first if it holds none; empty at end of
    /// stream. Mark what was used with [`consume`](Self::consume).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// ```
    /// use rawrt::io::AsyncBufReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"abc";
    ///     assert_eq!(src.fill_buf().await?, b"abc");
    ///     src.consume(2);
    ///     assert_eq!(src.fill_buf().await?, b"c");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` bytes of what [`fill_buf`](Self::fill_buf) returned as read.
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }

    /// The lines of the stream, one per [`Lines::next_line`], each without its `\n` or
    /// `\r\n`; the last may have no line ending.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines {
            reader: self,
            buf: Vec::new(),
            read: 0,
        }
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Reads into `out` up to and including `delim` (or to end of stream), counting into
/// `read`; ready with the count (and `read` reset) when done.
pub(crate) fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    out: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (done, used) = {
            let avail = ready!(reader.as_mut().poll_fill_buf(cx))?;
            match avail.iter().position(|&b| b == delim) {
                Some(i) => {
                    out.extend_from_slice(&avail[..=i]);
                    (true, i + 1)
                }
                None => {
                    out.extend_from_slice(avail);
                    (avail.is_empty(), avail.len())
                }
            }
        };
        reader.as_mut().consume(used);
        *read += used;
        if done {
            return Poll::Ready(Ok(mem::take(read)));
        }
    }
}

/// The future of [`AsyncBufReadExt::read_until`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadUntil<'a, R: ?Sized> {
    reader: &'a mut R,
    delim: u8,
    buf: &'a mut Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            me.delim,
            me.buf,
            &mut me.read,
        )
    }
}

/// The future of [`AsyncBufReadExt::read_line`]. While it runs, the string's bytes are held
/// inside it; they are put back when it completes or is dropped.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadLine<'a, R: ?Sized> {
    reader: &'a mut R,
    out: &'a mut String,
    bytes: Vec<u8>,
    start: usize,
    read: usize,
    done: bool,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let res = ready!(poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            b'\n',
            &mut me.bytes,
            &mut me.read
        ));
        me.done = true;
        let valid = put_back_string(me.out, mem::take(&mut me.bytes), me.start);
        Poll::Ready(match res {
            Ok(n) if valid => Ok(n),
            Ok(_) => Err(invalid_utf8()),
            Err(e) => Err(e),
        })
    }
}

impl<R: ?Sized> Drop for ReadLine<'_, R> {
    fn drop(&mut self) {
        if !self.done {
            put_back_string(self.out, mem::take(&mut self.bytes), self.start);
        }
    }
}

/// The future of [`AsyncBufReadExt::fill_buf`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct FillBuf<'a, R: ?Sized> {
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + Unpin + ?Sized> Future for FillBuf<'a, R> {
    type Output = io::Result<&'a [u8]>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let Some(reader) = me.reader.as_mut() else {
            return Poll::Ready(Err(io::Error::other("FillBuf polled after completion")));
        };
        // First a look with a short borrow, to learn whether the buffer is ready; only then
        // is the reader's full borrow handed over (so it is not lost on `Pending`).
        if ready!(Pin::new(&mut **reader).poll_fill_buf(cx))?.is_empty() {
            me.reader = None;
            return Poll::Ready(Ok(&[]));
        }
        let reader = me.reader.take().expect("checked above");
        match Pin::new(reader).poll_fill_buf(cx) {
            Poll::Ready(res) => Poll::Ready(res),
            // A reader whose buffer was ready an instant ago and is not now: nothing to lend.
            Poll::Pending => Poll::Ready(Err(io::Error::other(
                "AsyncBufRead::poll_fill_buf returned Pending right after Ready",
            ))),
        }
    }
}

/// The lines of a reader: made by [`AsyncBufReadExt::lines`].
///
/// ```
/// use rawrt::io::AsyncBufReadExt;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut lines = (&b"a\r\nb\n\nc"[..]).lines();
///     assert_eq!(lines.next_line().await?.as_deref(), Some("a"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("b"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some(""));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("c"));
///     assert_eq!(lines.next_line().await?, None);
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    read: usize,
}

impl<R> Lines<R> {
    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R>
    where
        R: Unpin,
    {
        Pin::new(&mut self.get_mut().reader)
    }

    /// The reader back (a partial line read so far is dropped).
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// The next line, without its `\n` or `\r\n`; `None` at end of stream. A line that is
    /// not valid UTF-8 is an [`InvalidData`](io::ErrorKind::InvalidData) error (and is
    /// skipped).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partial line stays inside `Lines` and the next call completes it.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// Polls for the next line (see [`next_line`](Self::next_line)).
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let me = self.get_mut();
        ready!(poll_read_until(
            Pin::new(&mut me.reader),
            cx,
            b'\n',
            &mut me.buf,
            &mut me.read
        ))?;
        if me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut line = mem::take(&mut me.buf);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Poll::Ready(
            String::from_utf8(line)
                .map(Some)
                .map_err(|_| invalid_utf8()),
        )
    }
}

/// The `byte`-separated segments of a reader: made by [`AsyncBufReadExt::split`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Split<R> {
    reader: R,
    delim: u8,
    buf: Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin> Split<R> {
    /// The next segment, without its separator; `None` at end of stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partial segment stays inside `Split` and the next call completes it.
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// Polls for the next segment (see [`next_segment`](Self::next_segment)).
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let me = self.get_mut();
        ready!(poll_read_until(
            Pin::new(&mut me.reader),
            cx,
            me.delim,
            &mut me.buf,
            &mut me.read
        ))?;
        if me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut seg = mem::take(&mut me.buf);
        if seg.last() == Some(&me.delim) {
            seg.pop();
        }
        Poll::Ready(Ok(Some(seg)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{block_on, poll_once, Trickle};
    use super::*;
    use crate::io::BufReader;

    fn trickle(data: &[u8]) -> BufReader<Trickle> {
        BufReader::new(Trickle::new(data))
    }

    #[test]
    fn read_until_across_refills_and_at_eof() {
        let mut r = trickle(b"ab;cd");
        let mut v = Vec::new();
        assert_eq!(block_on(r.read_until(b';', &mut v)).unwrap(), 3);
        assert_eq!(v, b"ab;");
        assert_eq!(block_on(r.read_until(b';', &mut v)).unwrap(), 2);
        assert_eq!(v, b"ab;cd");
        assert_eq!(block_on(r.read_until(b';', &mut v)).unwrap(), 0);
    }

    #[test]
    fn read_until_cancelled_keeps_what_it_read() {
        let mut r = trickle(b"xyz\n");
        let mut v = Vec::new();
        {
            let mut fut = r.read_until(b'\n', &mut v);
            for _ in 0..4 {
                assert!(poll_once(&mut fut).is_pending());
            }
        }
        assert_eq!(v, b"xyz", "three bytes arrived before the drop");
        block_on(r.read_until(b'\n', &mut v)).unwrap();
        assert_eq!(v, b"xyz\n");
    }

    #[test]
    fn read_line_crlf_no_trailing_newline_and_bad_utf8() {
        let mut r = trickle("é\r\nlast".as_bytes());
        let mut s = String::new();
        assert_eq!(block_on(r.read_line(&mut s)).unwrap(), 4);
        assert_eq!(s, "é\r\n");
        assert_eq!(block_on(r.read_line(&mut s)).unwrap(), 4);
        assert_eq!(s, "é\r\nlast");
        assert_eq!(block_on(r.read_line(&mut s)).unwrap(), 0);

        let mut bad: &[u8] = b"ok\xff\nnext\n";
        let mut s = String::from("kept");
        let err = block_on(bad.read_line(&mut s)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(s, "kept", "the bad line is not appended");
        block_on(bad.read_line(&mut s)).unwrap();
        assert_eq!(s, "keptnext\n", "the bad line was consumed");
    }

    #[test]
    fn lines_strip_endings_and_survive_cancellation() {
        let mut lines = trickle(b"one\r\ntwo\n\nbare\r").lines();
        {
            let mut fut = Box::pin(lines.next_line());
            for _ in 0..4 {
                assert!(poll_once(&mut fut).is_pending());
            }
        }
        let mut got = Vec::new();
        while let Some(l) = block_on(lines.next_line()).unwrap() {
            got.push(l);
        }
        assert_eq!(got, ["one", "two", "", "bare\r"]);
    }

    #[test]
    fn lines_reports_invalid_utf8_then_goes_on() {
        let mut lines = (&b"\xc3\x28\nfine\n"[..]).lines();
        let err = block_on(lines.next_line()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            block_on(lines.next_line()).unwrap().as_deref(),
            Some("fine")
        );
        assert_eq!(block_on(lines.next_line()).unwrap(), None);
        assert!(lines.into_inner().is_empty());
    }

    #[test]
    fn split_segments() {
        let mut s = trickle(b"\0a\0\0bc").split(0);
        let mut got = Vec::new();
        while let Some(seg) = block_on(s.next_segment()).unwrap() {
            got.push(seg);
        }
        assert_eq!(
            got,
            [b"".to_vec(), b"a".to_vec(), b"".to_vec(), b"bc".to_vec()]
        );
    }

    #[test]
    fn fill_buf_and_consume() {
        let mut r = trickle(b"hey");
        let first = block_on(r.fill_buf()).unwrap().to_vec();
        assert_eq!(first, b"h");
        r.consume(1);
        let mut rest = Vec::new();
        block_on(r.read_until(b'!', &mut rest)).unwrap();
        assert_eq!(rest, b"ey");
        assert!(block_on(r.fill_buf()).unwrap().is_empty());
    }
}
