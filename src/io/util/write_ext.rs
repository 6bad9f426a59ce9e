//! [`AsyncWriteExt`]: `write`, `write_all`, the integer writers, `flush` and `shutdown`, each
//! a small named future over the writer's poll methods (needing `Self: Unpin`, as Tokio's).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::buf::BufSource;
use crate::io::AsyncWrite;

/// The integer/float writers: one method per type and byte order, each a [`WriteInt`].
macro_rules! write_int_methods {
    ($($name:ident => $ty:ty, $to:ident, $order:literal;)*) => {$(
        #[doc = concat!("Writes `n` as ", $order, " `", stringify!($ty), "` (",
            stringify!($ty), "::", stringify!($to), "), all of it.")]
        ///
        /// # Cancel safety
        ///
        /// Cancel safe only for the one-byte types (`u8`, `i8`). For the wider ones, part of
        /// the value may have been written if the future is dropped midway.
        fn $name(&mut self, n: $ty) -> WriteInt<'_, Self>
        where
            Self: Unpin,
        {
            let bytes = n.$to();
            let mut buf = [0u8; 16];
            buf[..bytes.len()].copy_from_slice(&bytes);
            WriteInt {
                writer: self,
                buf,
                pos: 0,
                len: bytes.len(),
            }
        }
    )*};
}

/// Writing helpers for every [`AsyncWrite`]: Tokio's `AsyncWriteExt`, with the same methods.
///
/// ```
/// use rawrt::io::AsyncWriteExt;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut out = Vec::new();
///     out.write_all(b"id=").await?;
///     out.write_u16_le(0x0201).await?;
///     out.flush().await?;
///     assert_eq!(out, b"id=\x01\x02");
///     Ok(())
/// })
/// # }
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `src`, returning how much (possibly less than all of it; `Ok(0)` for a
    /// non-empty `src` means the writer takes no more).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written.
    ///
    /// ```
    /// use rawrt::io::AsyncWriteExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut out = Vec::new();
    ///     assert_eq!(out.write(b"abc").await?, 3);
    ///     assert_eq!(out, b"abc");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn write<'a>(&'a mut self, src: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, src }
    }

    /// Writes from several buffers in one call ([`AsyncWrite::poll_write_vectored`]),
    /// returning the total written (possibly less than all).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written.
    fn write_vectored<'a, 'b>(&'a mut self, bufs: &'a [IoSlice<'b>]) -> WriteVectored<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteVectored { writer: self, bufs }
    }

    /// Writes some of `src` (one write of its next chunk) and advances it past what was
    /// written, returning how much. `Ok(0)` at once if `src` is empty.
    ///
    /// Tokio's takes any `bytes::Buf`; rawrt's takes a [`BufSource`] (implemented for `&[u8]`
    /// and `io::Cursor`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written and
    /// `src` is unchanged.
    fn write_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteBuf<'a, Self, B>
    where
        Self: Unpin,
        B: BufSource,
    {
        WriteBuf { writer: self, src }
    }

    /// Writes all of `src`, advancing it as it goes; a
    /// [`WriteZero`](io::ErrorKind::WriteZero) error if the writer stops taking bytes.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, part of `src` may have been written,
    /// and `src` has been advanced past exactly that part, so a new call carries on.
    ///
    /// ```
    /// use rawrt::io::AsyncWriteExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut out = Vec::new();
    ///     let mut src = std::io::Cursor::new(b"all of this");
    ///     out.write_all_buf(&mut src).await?;
    ///     assert_eq!(out, b"all of this");
    ///     assert_eq!(src.position(), 11);
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn write_all_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteAllBuf<'a, Self, B>
    where
        Self: Unpin,
        B: BufSource,
    {
        WriteAllBuf { writer: self, src }
    }

    /// Writes all of `src`; a [`WriteZero`](io::ErrorKind::WriteZero) error if the writer
    /// stops taking bytes (a write returns `Ok(0)`) first.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped before it completes, some of `src` may have
    /// been written, and how much is not known.
    ///
    /// ```
    /// use rawrt::io::AsyncWriteExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut room = [0u8; 4];
    ///     let mut out: &mut [u8] = &mut room;
    ///     let mut cursor = std::io::Cursor::new(&mut out[..]);
    ///     cursor.write_all(b"abcd").await?;
    ///     let err = cursor.write_all(b"e").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WriteZero);
    ///     assert_eq!(&room, b"abcd");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    fn write_all<'a>(&'a mut self, src: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, src }
    }

    write_int_methods! {
        write_u8 => u8, to_be_bytes, "a";
        write_i8 => i8, to_be_bytes, "a";
        write_u16 => u16, to_be_bytes, "a big-endian";
        write_i16 => i16, to_be_bytes, "a big-endian";
        write_u32 => u32, to_be_bytes, "a big-endian";
        write_i32 => i32, to_be_bytes, "a big-endian";
        write_u64 => u64, to_be_bytes, "a big-endian";
        write_i64 => i64, to_be_bytes, "a big-endian";
        write_u128 => u128, to_be_bytes, "a big-endian";
        write_i128 => i128, to_be_bytes, "a big-endian";
        write_f32 => f32, to_be_bytes, "a big-endian";
        write_f64 => f64, to_be_bytes, "a big-endian";
        write_u16_le => u16, to_le_bytes, "a little-endian";
        write_i16_le => i16, to_le_bytes, "a little-endian";
        write_u32_le => u32, to_le_bytes, "a little-endian";
        write_i32_le => i32, to_le_bytes, "a little-endian";
        write_u64_le => u64, to_le_bytes, "a little-endian";
        write_i64_le => i64, to_le_bytes, "a little-endian";
        write_u128_le => u128, to_le_bytes, "a little-endian";
        write_i128_le => i128, to_le_bytes, "a little-endian";
        write_f32_le => f32, to_le_bytes, "a little-endian";
        write_f64_le => f64, to_le_bytes, "a little-endian";
    }

    /// Pushes out anything buffered inside the writer ([`AsyncWrite::poll_flush`]).
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Flushes, then ends the stream ([`AsyncWrite::poll_shutdown`]): for a socket, the peer
    /// reads end of stream.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

pub(crate) fn write_zero() -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        "the writer accepted no more bytes",
    )
}

/// The future of [`AsyncWriteExt::write`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    src: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write(cx, me.src)
    }
}

/// The future of [`AsyncWriteExt::write_vectored`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteVectored<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    bufs: &'a [IoSlice<'b>],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteVectored<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write_vectored(cx, me.bufs)
    }
}

/// The future of [`AsyncWriteExt::write_buf`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteBuf<'a, W: ?Sized, B> {
    writer: &'a mut W,
    src: &'a mut B,
}

impl<W: AsyncWrite + Unpin + ?Sized, B: BufSource> Future for WriteBuf<'_, W, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        if me.src.remaining() == 0 {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(Pin::new(&mut *me.writer).poll_write(cx, me.src.chunk()))?;
        me.src.advance(n);
        Poll::Ready(Ok(n))
    }
}

/// The future of [`AsyncWriteExt::write_all_buf`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteAllBuf<'a, W: ?Sized, B> {
    writer: &'a mut W,
    src: &'a mut B,
}

impl<W: AsyncWrite + Unpin + ?Sized, B: BufSource> Future for WriteAllBuf<'_, W, B> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.src.remaining() > 0 {
            let n = ready!(Pin::new(&mut *me.writer).poll_write(cx, me.src.chunk()))?;
            if n == 0 {
                return Poll::Ready(Err(write_zero()));
            }
            me.src.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncWriteExt::write_all`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    src: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while !me.src.is_empty() {
            let n = ready!(Pin::new(&mut *me.writer).poll_write(cx, me.src))?;
            if n == 0 {
                return Poll::Ready(Err(write_zero()));
            }
            me.src = &me.src[n.min(me.src.len())..];
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncWriteExt::write_u8`], [`write_u32_le`](AsyncWriteExt::write_u32_le)
/// and the other integer and float writers.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteInt<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: [u8; 16],
    pos: usize,
    len: usize,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteInt<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.pos < me.len {
            let n = ready!(Pin::new(&mut *me.writer).poll_write(cx, &me.buf[me.pos..me.len]))?;
            if n == 0 {
                return Poll::Ready(Err(write_zero()));
            }
            me.pos += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncWriteExt::flush`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
    }
}

/// The future of [`AsyncWriteExt::shutdown`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().writer).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{block_on, poll_once, TrickleWriter};
    use super::*;
    use crate::io::AsyncReadExt;

    #[test]
    fn write_all_over_partial_writes() {
        let mut w = TrickleWriter::default();
        block_on(w.write_all(b"hello")).unwrap();
        assert_eq!(w.data, b"hello");
        assert_eq!(block_on(w.write(b"xy")).unwrap(), 1, "one byte per write");
        block_on(w.flush()).unwrap();
        assert_eq!(w.flushed, 1);
        block_on(w.shutdown()).unwrap();
        assert!(w.shut);
        let err = block_on(w.write_all(b"z")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn write_cancelled_while_pending_writes_nothing() {
        let mut w = TrickleWriter::default();
        {
            let mut fut = w.write(b"abc");
            assert!(poll_once(&mut fut).is_pending());
        }
        assert!(w.data.is_empty());
    }

    #[test]
    fn write_all_reports_write_zero() {
        let mut room = [0u8; 3];
        let mut c = io::Cursor::new(&mut room[..]);
        let err = block_on(c.write_all(b"abcd")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(&room, b"abc");
        let mut room = [0u8; 1];
        let mut c = io::Cursor::new(&mut room[..]);
        let err = block_on(c.write_u16(7)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn integer_round_trips_in_both_orders() {
        let mut w = TrickleWriter::default();
        block_on(async {
            w.write_u8(0xab).await?;
            w.write_i8(-3).await?;
            w.write_u16(0x0102).await?;
            w.write_u16_le(0x0102).await?;
            w.write_i32(-70000).await?;
            w.write_u64_le(u64::MAX - 1).await?;
            w.write_i128(i128::MIN + 5).await?;
            w.write_u128_le(1 << 100).await?;
            w.write_f64(-2.5).await?;
            w.write_f32_le(0.75).await
        })
        .unwrap();
        assert_eq!(&w.data[2..6], &[1, 2, 2, 1]);
        let mut r: &[u8] = &w.data;
        block_on(async {
            assert_eq!(r.read_u8().await?, 0xab);
            assert_eq!(r.read_i8().await?, -3);
            assert_eq!(r.read_u16().await?, 0x0102);
            assert_eq!(r.read_u16_le().await?, 0x0102);
            assert_eq!(r.read_i32().await?, -70000);
            assert_eq!(r.read_u64_le().await?, u64::MAX - 1);
            assert_eq!(r.read_i128().await?, i128::MIN + 5);
            assert_eq!(r.read_u128_le().await?, 1 << 100);
            assert_eq!(r.read_f64().await?, -2.5);
            assert_eq!(r.read_f32_le().await?, 0.75);
            io::Result::Ok(())
        })
        .unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn write_buf_and_write_all_buf_advance_the_source() {
        let mut w = TrickleWriter::default();
        let mut src: &[u8] = b"abc";
        assert_eq!(block_on(w.write_buf(&mut src)).unwrap(), 1);
        assert_eq!(src, b"bc");
        block_on(w.write_all_buf(&mut src)).unwrap();
        assert!(src.is_empty());
        assert_eq!(block_on(w.write_buf(&mut src)).unwrap(), 0);
        assert_eq!(w.data, b"abc");
    }

    #[test]
    fn write_vectored_gathers() {
        let mut out = Vec::new();
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cd")];
        assert_eq!(block_on(out.write_vectored(&bufs)).unwrap(), 4);
        assert_eq!(out, b"abcd");
        let mut w = TrickleWriter::default();
        assert_eq!(block_on(w.write_vectored(&bufs)).unwrap(), 1);
    }
}
