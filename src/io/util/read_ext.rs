//! [`AsyncReadExt`]: `read`, `read_exact`, `read_to_end`, the integer readers, `chain` and
//! `take`, each a small named future over the reader's `poll_read`.
//!
//! The futures borrow the reader and poll it in place, so they need `Self: Unpin` (as
//! Tokio's do); a `!Unpin` reader is used through `Pin<&mut R>` or `Box::pin`. None of them
//! allocates except `read_to_end`/`read_to_string`/`read_buf`, which grow the caller's buffer.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::buf::{poll_read_into_spare, BufTarget};
use crate::io::{AsyncBufRead, AsyncRead, ReadBuf};

/// The integer/float readers: one method per type and byte order, each a [`ReadInt`].
macro_rules! read_int_methods {
    ($($name:ident => $ty:ty, $from:ident, $order:literal;)*) => {$(
        #[doc = concat!("Reads ", $order, " `", stringify!($ty), "` (",
            stringify!($ty), "::", stringify!($from), ").")]
        ///
        /// An [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) error if the stream ends first.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe only for the one-byte types (`u8`, `i8`): no byte was read if the
        /// future is dropped before it completes. For the wider ones, bytes already read are
        /// lost if it is dropped midway.
        fn $name(&mut self) -> ReadInt<'_, Self, $ty>
        where
            Self: Unpin,
        {
            const N: usize = mem::size_of::<$ty>();
            ReadInt {
                reader: self,
                buf: [0; 16],
                filled: 0,
                size: N,
                convert: |b: &[u8; 16]| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(&b[..N]);
                    <$ty>::$from(a)
                },
            }
        }
    )*};
}

/// Reading helpers for every [`AsyncRead`]: Tokio's `AsyncReadExt`, with the same methods.
///
/// ```
/// use rawrt::io::AsyncReadExt;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut src: &[u8] = b"\x00\x2aabc";
///     assert_eq!(src.read_u16().await?, 42);
///     let mut rest = String::new();
///     src.read_to_string(&mut rest).await?;
///     assert_eq!(rest, "abc");
///     Ok(())
/// })
/// # }
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// A reader that reads all of `self`, then all of `next`.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut all = Vec::new();
    ///     (&b"ab"[..]).chain(&b"cd"[..]).read_to_end(&mut all).await?;
    ///     assert_eq!(all, b"abcd");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain {
            first: self,
            second: next,
            done_first: false,
        }
    }

    /// Reads some bytes into `buf`, returning how many. `Ok(0)` means end of stream (or an
    /// empty `buf`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no data was read.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"hello";
    ///     let mut buf = [0u8; 3];
    ///     assert_eq!(src.read(&mut buf).await?, 3);
    ///     assert_eq!(&buf, b"hel");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads some bytes, appending them to `buf` (a `Vec<u8>`, grown if it has no spare
    /// capacity), and returns how many. `Ok(0)` means end of stream.
    ///
    /// Tokio's takes any `bytes::BufMut`; rawrt has no `bytes` dependency, so it takes a
    /// [`BufTarget`] (implemented for `Vec<u8>`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no data was read.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"xyz";
    ///     let mut buf = b"w".to_vec();
    ///     assert_eq!(src.read_buf(&mut buf).await?, 3);
    ///     assert_eq!(buf, b"wxyz");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_buf<'a, B>(&'a mut self, buf: &'a mut B) -> ReadBufFuture<'a, Self, B>
    where
        Self: Unpin,
        B: BufTarget + ?Sized,
    {
        ReadBufFuture { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes, returning that length. An
    /// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) error if the stream ends first (the
    /// contents of `buf` are then unspecified).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped before it completes, the bytes already read
    /// into `buf` are lost to the caller.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"abc";
    ///     let mut buf = [0u8; 2];
    ///     src.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ab");
    ///     let err = src.read_exact(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            pos: 0,
        }
    }

    read_int_methods! {
        read_u8 => u8, from_be_bytes, "an";
        read_i8 => i8, from_be_bytes, "an";
        read_u16 => u16, from_be_bytes, "a big-endian";
        read_i16 => i16, from_be_bytes, "a big-endian";
        read_u32 => u32, from_be_bytes, "a big-endian";
        read_i32 => i32, from_be_bytes, "a big-endian";
        read_u64 => u64, from_be_bytes, "a big-endian";
        read_i64 => i64, from_be_bytes, "a big-endian";
        read_u128 => u128, from_be_bytes, "a big-endian";
        read_i128 => i128, from_be_bytes, "a big-endian";
        read_f32 => f32, from_be_bytes, "a big-endian";
        read_f64 => f64, from_be_bytes, "a big-endian";
        read_u16_le => u16, from_le_bytes, "a little-endian";
        read_i16_le => i16, from_le_bytes, "a little-endian";
        read_u32_le => u32, from_le_bytes, "a little-endian";
        read_i32_le => i32, from_le_bytes, "a little-endian";
        read_u64_le => u64, from_le_bytes, "a little-endian";
        read_i64_le => i64, from_le_bytes, "a little-endian";
        read_u128_le => u128, from_le_bytes, "a little-endian";
        read_i128_le => i128, from_le_bytes, "a little-endian";
        read_f32_le => f32, from_le_bytes, "a little-endian";
        read_f64_le => f64, from_le_bytes, "a little-endian";
    }

    /// Reads until end of stream, appending everything to `buf`; returns how many bytes were
    /// read. On an error, the bytes read before it stay in `buf`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe as a whole: the bytes read before the future is dropped stay appended
    /// to `buf`, but where the stream stands is then known only from `buf`'s length.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut src: &[u8] = b"all of it";
    ///     let mut buf = Vec::new();
    ///     assert_eq!(src.read_to_end(&mut buf).await?, 9);
    ///     assert_eq!(buf, b"all of it");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        ReadToEnd {
            reader: self,
            buf,
            read: 0,
        }
    }

    /// Reads until end of stream, appending everything to `dst` if it is valid UTF-8;
    /// returns how many bytes were read. If it is not, the error is
    /// [`InvalidData`](io::ErrorKind::InvalidData) and `dst` is left as it was (the bytes are
    /// consumed from the reader all the same). On an I/O error, what was read is kept if it
    /// is valid UTF-8.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped before it completes, what it read is
    /// appended to `dst` when valid UTF-8 and discarded otherwise.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut s = String::from("> ");
    ///     (&b"text"[..]).read_to_string(&mut s).await?;
    ///     assert_eq!(s, "> text");
    ///     let err = (&b"\xff"[..]).read_to_string(&mut s).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    ///     assert_eq!(s, "> text");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn read_to_string<'a>(&'a mut self, dst: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        let bytes = mem::take(dst).into_bytes();
        ReadToString {
            reader: self,
            start: bytes.len(),
            bytes,
            out: dst,
            read: 0,
            done: false,
        }
    }

    /// A reader that reads at most `limit` bytes from `self`, then reports end of stream.
    ///
    /// ```
    /// use rawrt::io::AsyncReadExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut head = Vec::new();
    ///     (&b"abcdef"[..]).take(4).read_to_end(&mut head).await?;
    ///     assert_eq!(head, b"abcd");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take { inner: self, limit }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let mut buf = ReadBuf::new(me.buf);
        ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

/// The future of [`AsyncReadExt::read_buf`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadBufFuture<'a, R: ?Sized, B: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut B,
}

impl<R: AsyncRead + Unpin + ?Sized, B: BufTarget + ?Sized> Future for ReadBufFuture<'_, R, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        me.buf.poll_read_from(Pin::new(&mut *me.reader), cx)
    }
}

/// The future of [`AsyncReadExt::read_exact`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    pos: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.pos < me.buf.len() {
            let mut buf = ReadBuf::new(&mut me.buf[me.pos..]);
            ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut buf))?;
            let n = buf.filled().len();
            if n == 0 {
                return Poll::Ready(Err(eof()));
            }
            me.pos += n;
        }
        Poll::Ready(Ok(me.buf.len()))
    }
}

pub(crate) fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "early end of stream")
}

/// The future of [`AsyncReadExt::read_u8`], [`read_u32_le`](AsyncReadExt::read_u32_le) and
/// the other integer and float readers: `T` is what it produces.
#[must_use = "futures do nothing unless polled"]
pub struct ReadInt<'a, R: ?Sized, T> {
    reader: &'a mut R,
    buf: [u8; 16],
    filled: usize,
    size: usize,
    convert: fn(&[u8; 16]) -> T,
}

impl<R: ?Sized, T> std::fmt::Debug for ReadInt<'_, R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadInt")
            .field("size", &self.size)
            .field("filled", &self.filled)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin + ?Sized, T> Future for ReadInt<'_, R, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.filled < me.size {
            let mut buf = ReadBuf::new(&mut me.buf[me.filled..me.size]);
            ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut buf))?;
            let n = buf.filled().len();
            if n == 0 {
                return Poll::Ready(Err(eof()));
            }
            me.filled += n;
        }
        Poll::Ready(Ok((me.convert)(&me.buf)))
    }
}

/// Reads to end of stream into `buf`, counting into `read`; `Ready(Ok(total))` at the end.
pub(crate) fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        if buf.capacity() - buf.len() < 32 {
            // Vec doubles its capacity when it reallocates, so this is amortised O(1).
            buf.reserve(32);
        }
        let n = ready!(poll_read_into_spare(reader.as_mut(), cx, buf))?;
        if n == 0 {
            return Poll::Ready(Ok(*read));
        }
        *read += n;
    }
}

/// The future of [`AsyncReadExt::read_to_end`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    read: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        poll_read_to_end(Pin::new(&mut *me.reader), cx, me.buf, &mut me.read)
    }
}

/// The future of [`AsyncReadExt::read_to_string`]. While it runs, the string's bytes are held
/// inside it; they are put back when it completes or is dropped.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    out: &'a mut String,
    bytes: Vec<u8>,
    start: usize,
    read: usize,
    done: bool,
}

/// Puts `bytes` into `out` if they are valid UTF-8 (returning true), else only their first
/// `start` bytes, which were `out`'s original, valid contents.
pub(crate) fn put_back_string(out: &mut String, bytes: Vec<u8>, start: usize) -> bool {
    match String::from_utf8(bytes) {
        Ok(s) => {
            *out = s;
            true
        }
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.truncate(start);
            // The first `start` bytes were a String's contents, so this cannot fail.
            *out = String::from_utf8(bytes).unwrap_or_default();
            false
        }
    }
}

pub(crate) fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let res = ready!(poll_read_to_end(
            Pin::new(&mut *me.reader),
            cx,
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

impl<R: ?Sized> Drop for ReadToString<'_, R> {
    fn drop(&mut self) {
        if !self.done {
            put_back_string(self.out, mem::take(&mut self.bytes), self.start);
        }
    }
}

/// Two readers one after the other: made by [`AsyncReadExt::chain`].
///
/// Its `AsyncRead` and `AsyncBufRead` need both readers `Unpin` (Tokio's do not; rawrt
/// projects pins without `unsafe`, so a `!Unpin` reader goes in as `Pin<Box<R>>`).
#[derive(Debug)]
pub struct Chain<T, U> {
    first: T,
    second: U,
    done_first: bool,
}

impl<T, U> Chain<T, U> {
    /// The two readers.
    pub fn get_ref(&self) -> (&T, &U) {
        (&self.first, &self.second)
    }

    /// The two readers, mutably (reading from them directly may confuse the chain).
    pub fn get_mut(&mut self) -> (&mut T, &mut U) {
        (&mut self.first, &mut self.second)
    }

    /// The two readers, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> (Pin<&mut T>, Pin<&mut U>)
    where
        T: Unpin,
        U: Unpin,
    {
        let me = self.get_mut();
        (Pin::new(&mut me.first), Pin::new(&mut me.second))
    }

    /// The two readers back (whatever they buffer stays in them).
    pub fn into_inner(self) -> (T, U) {
        (self.first, self.second)
    }
}

impl<T: AsyncRead + Unpin, U: AsyncRead + Unpin> AsyncRead for Chain<T, U> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.done_first {
            let room = buf.remaining();
            ready!(Pin::new(&mut me.first).poll_read(cx, buf))?;
            if buf.remaining() != room || room == 0 {
                return Poll::Ready(Ok(()));
            }
            me.done_first = true;
        }
        Pin::new(&mut me.second).poll_read(cx, buf)
    }
}

impl<T: AsyncBufRead + Unpin, U: AsyncBufRead + Unpin> AsyncBufRead for Chain<T, U> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if !me.done_first {
            let empty = ready!(Pin::new(&mut me.first).poll_fill_buf(cx))?.is_empty();
            if !empty {
                // Returns the same buffered bytes at once (a second look, because the borrow
                // checker cannot return the first one conditionally).
                return Pin::new(&mut me.first).poll_fill_buf(cx);
            }
            me.done_first = true;
        }
        Pin::new(&mut me.second).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        if me.done_first {
            Pin::new(&mut me.second).consume(amt)
        } else {
            Pin::new(&mut me.first).consume(amt)
        }
    }
}

/// A reader limited to a number of bytes: made by [`AsyncReadExt::take`].
///
/// Its `AsyncRead` and `AsyncBufRead` need the reader `Unpin` (see [`Chain`]).
#[derive(Debug)]
pub struct Take<R> {
    inner: R,
    limit: u64,
}

impl<R> Take<R> {
    /// How many bytes may still be read before it reports end of stream.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Sets how many bytes may still be read.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader, mutably (reading from it directly does not count against the limit).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R>
    where
        R: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.limit == 0 {
            return Poll::Ready(Ok(()));
        }
        let max = (buf.remaining() as u64).min(me.limit) as usize;
        let part = &mut buf.initialize_unfilled_to(max)[..max];
        let start = part.as_ptr();
        let mut sub = ReadBuf::new(part);
        ready!(Pin::new(&mut me.inner).poll_read(cx, &mut sub))?;
        if sub.filled().as_ptr() != start {
            return Poll::Ready(Err(io::Error::other(
                "AsyncRead::poll_read replaced the ReadBuf it was given",
            )));
        }
        let n = sub.filled().len();
        buf.advance(n);
        me.limit -= n as u64;
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncBufRead + Unpin> AsyncBufRead for Take<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if me.limit == 0 {
            return Poll::Ready(Ok(&[]));
        }
        let limit = me.limit;
        let buf = ready!(Pin::new(&mut me.inner).poll_fill_buf(cx))?;
        let n = (buf.len() as u64).min(limit) as usize;
        Poll::Ready(Ok(&buf[..n]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        let amt = (amt as u64).min(me.limit);
        me.limit -= amt;
        Pin::new(&mut me.inner).consume(amt as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{block_on, poll_once, Trickle};
    use super::*;

    #[test]
    fn read_round_trip_and_eof() {
        let mut r = Trickle::new(b"abc");
        let mut buf = [0u8; 8];
        let mut got = Vec::new();
        loop {
            let n = block_on(r.read(&mut buf)).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(n, 1, "the trickle reader gives one byte per read");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"abc");
        assert_eq!(block_on(r.read(&mut [])).unwrap(), 0);
    }

    #[test]
    fn read_cancelled_while_pending_loses_nothing() {
        let mut r = Trickle::new(b"xy");
        let mut buf = [0u8; 4];
        {
            let mut fut = r.read(&mut buf);
            assert!(poll_once(&mut fut).is_pending());
        } // dropped while pending
        assert_eq!(r.pos, 0, "nothing consumed by the cancelled read");
        let mut all = Vec::new();
        block_on(r.read_to_end(&mut all)).unwrap();
        assert_eq!(all, b"xy");
    }

    #[test]
    fn read_exact_over_partial_reads_and_unexpected_eof() {
        let mut r = Trickle::new(b"hello world");
        let mut buf = [0u8; 5];
        assert_eq!(block_on(r.read_exact(&mut buf)).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        let mut rest = [0u8; 10];
        let err = block_on(r.read_exact(&mut rest)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&rest[..6], b" world", "what was there was read first");
        assert_eq!(block_on(r.read_exact(&mut [])).unwrap(), 0);
    }

    #[test]
    fn read_to_end_appends_and_counts() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut src: &[u8] = &data;
        let mut out = b"prefix".to_vec();
        assert_eq!(block_on(src.read_to_end(&mut out)).unwrap(), 1000);
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(&out[6..], &data[..]);
        let mut t = Trickle::new(b"slow");
        let mut out = Vec::new();
        assert_eq!(block_on(t.read_to_end(&mut out)).unwrap(), 4);
        assert_eq!(out, b"slow");
    }

    #[test]
    fn read_to_string_checks_utf8_and_keeps_dst_on_error() {
        let mut s = String::from("é:");
        let mut t = Trickle::new("ünï".as_bytes());
        assert_eq!(block_on(t.read_to_string(&mut s)).unwrap(), 5);
        assert_eq!(s, "é:ünï");
        let mut bad: &[u8] = b"ok\xc3";
        let err = block_on(bad.read_to_string(&mut s)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(s, "é:ünï", "nothing appended on invalid UTF-8");
        assert!(bad.is_empty(), "the bytes were consumed nonetheless");
    }

    #[test]
    fn read_to_string_dropped_midway_restores_the_string() {
        let mut s = String::from("keep");
        let mut t = Trickle::new(b"ab");
        {
            let mut fut = t.read_to_string(&mut s);
            assert!(poll_once(&mut fut).is_pending());
        }
        assert_eq!(s, "keep");
    }

    #[test]
    fn integers_both_byte_orders() {
        let mut src: &[u8] = &[
            0x01, 0x02, 0x01, 0x02, 0xff, 0xfe, 0x80, 0, 0, 0, 0x3f, 0x80, 0, 0,
        ];
        assert_eq!(block_on(src.read_u16()).unwrap(), 0x0102);
        assert_eq!(block_on(src.read_u16_le()).unwrap(), 0x0201);
        assert_eq!(block_on(src.read_i16()).unwrap(), -2);
        assert_eq!(block_on(src.read_i32_le()).unwrap(), 0x80);
        assert_eq!(block_on(src.read_f32()).unwrap(), 1.0);
        assert_eq!(
            block_on(src.read_u8()).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );

        let v: u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10;
        let mut t = Trickle::new(&v.to_be_bytes());
        assert_eq!(block_on(t.read_u128()).unwrap(), v);
        let mut t = Trickle::new(&(-5i64).to_le_bytes());
        assert_eq!(block_on(t.read_i64_le()).unwrap(), -5);
        let mut t = Trickle::new(&[1, 2, 3]);
        assert_eq!(
            block_on(t.read_u32()).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn read_buf_grows_a_full_vec() {
        let mut src: &[u8] = b"more";
        let mut v = Vec::with_capacity(0);
        assert_eq!(block_on(src.read_buf(&mut v)).unwrap(), 4);
        assert_eq!(v, b"more");
        assert_eq!(block_on(src.read_buf(&mut v)).unwrap(), 0, "end of stream");
    }

    #[test]
    fn chain_and_take() {
        let mut c = Trickle::new(b"ab").chain(&b"cd"[..]);
        let mut out = Vec::new();
        block_on(c.read_to_end(&mut out)).unwrap();
        assert_eq!(out, b"abcd");
        let (first, second) = c.into_inner();
        assert_eq!(first.pos, 2);
        assert!(second.is_empty());

        let mut t = (&b"0123456789"[..]).take(4);
        let mut out = Vec::new();
        block_on(t.read_to_end(&mut out)).unwrap();
        assert_eq!(out, b"0123");
        assert_eq!(t.limit(), 0);
        t.set_limit(2);
        let mut out = Vec::new();
        block_on(t.read_to_end(&mut out)).unwrap();
        assert_eq!(out, b"45");
        assert_eq!(t.into_inner(), b"6789");
    }

    #[test]
    fn chain_and_take_as_buf_readers() {
        use crate::io::AsyncBufReadExt;
        let mut c = (&b"a"[..]).chain(&b"b\nc"[..]);
        let mut line = String::new();
        block_on(c.read_line(&mut line)).unwrap();
        assert_eq!(line, "ab\n");
        let mut t = (&b"xyz\n"[..]).take(2);
        let mut v = Vec::new();
        block_on(t.read_until(b'\n', &mut v)).unwrap();
        assert_eq!(v, b"xy");
    }

    #[test]
    fn futures_are_send_when_the_reader_is() {
        fn is_send<T: Send>(_: &T) {}
        let mut r: &[u8] = b"";
        let mut b = [0u8; 1];
        is_send(&r.read(&mut b));
        is_send(&r.read_u64());
        let mut s = String::new();
        is_send(&r.read_to_string(&mut s));
    }
}
