//! The four poll-level I/O traits and their implementations for std's in-memory types and
//! for the forwarding wrappers (`&mut T`, `Box<T>`, `Pin<P>`).
//!
//! Each trait has the shape of Tokio's trait of the same name, so code generic over
//! `tokio::io::AsyncRead` ports by renaming the crate. `Poll::Pending` always means the
//! waker of the context passed in is registered to be woken when progress can be made.

use std::io::{self, IoSlice, SeekFrom};
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ReadBuf;

/// Reads bytes asynchronously: the async counterpart of [`std::io::Read`].
///
/// Use the methods of [`AsyncReadExt`](super::AsyncReadExt) (`read`, `read_exact`,
/// `read_to_end`, ...) rather than calling `poll_read` directly.
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use rawrt::io::{AsyncRead, ReadBuf};
///
/// /// A reader that yields `n` copies of one byte, then end of stream.
/// struct Bytes { byte: u8, n: usize }
///
/// impl AsyncRead for Bytes {
///     fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>)
///         -> Poll<std::io::Result<()>> {
///         let k = self.n.min(buf.remaining());
///         buf.initialize_unfilled_to(k).fill(self.byte);
///         buf.advance(k);
///         self.n -= k;
///         Poll::Ready(Ok(()))
///     }
/// }
/// ```
pub trait AsyncRead {
    /// Reads into the unfilled part of `buf`, advancing its filled part.
    ///
    /// `Ready(Ok(()))` with nothing added (and room in `buf`) means end of stream.
    /// `Pending` means no data yet; the task is woken when there may be.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>>;
}

/// Writes bytes asynchronously: the async counterpart of [`std::io::Write`], plus
/// [`poll_shutdown`](Self::poll_shutdown) to end the stream.
///
/// Use the methods of [`AsyncWriteExt`](super::AsyncWriteExt) (`write_all`, `flush`,
/// `shutdown`, ...) rather than calling these directly.
pub trait AsyncWrite {
    /// Writes some of `buf`, returning how much. `Ready(Ok(0))` with a non-empty `buf` means
    /// the writer can take no more (for a socket: it is closed for writing).
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Pushes out anything buffered inside the writer.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes, then ends the stream (for a socket: shuts down its write half, so the peer
    /// reads end of stream). Writing afterwards is an error.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes from several buffers in one go, returning the total written. The default
    /// writes the first non-empty buffer with [`poll_write`](Self::poll_write).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.poll_write(cx, buf)
    }

    /// Whether [`poll_write_vectored`](Self::poll_write_vectored) writes more than one
    /// buffer at a time (so that gathering buffers is worth it). `false` by default.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// A reader with an internal buffer, which lends out what it holds: the async counterpart
/// of [`std::io::BufRead`]. Its line methods are in
/// [`AsyncBufReadExt`](super::AsyncBufReadExt).
pub trait AsyncBufRead: AsyncRead {
    /// The buffered bytes, reading more first if there are none. An empty slice means end of
    /// stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks `amt` bytes of what [`poll_fill_buf`](Self::poll_fill_buf) returned as read.
    fn consume(self: Pin<&mut Self>, amt: usize);
}

/// Seeks asynchronously: the async counterpart of [`std::io::Seek`], in two steps because a
/// seek may have to wait (a file's seek runs on the blocking pool).
pub trait AsyncSeek {
    /// Starts a seek to `position`. Only one seek may be in flight: starting another before
    /// [`poll_complete`](Self::poll_complete) has returned `Ready` is an error.
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()>;

    /// Waits for the seek started last and returns the new position from the start. With no
    /// seek started it returns the current position.
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>>;
}

// ---- forwarding: &mut T, Box<T>, Pin<P> ----

macro_rules! deref_async_read {
    () => {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_read(cx, buf)
        }
    };
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for Box<T> {
    deref_async_read!();
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for &mut T {
    deref_async_read!();
}

impl<P> AsyncRead for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_read(cx, buf)
    }
}

macro_rules! deref_async_write {
    () => {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            (**self).is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_shutdown(cx)
        }
    };
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for Box<T> {
    deref_async_write!();
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for &mut T {
    deref_async_write!();
}

impl<P> AsyncWrite for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_shutdown(cx)
    }
}

macro_rules! deref_async_buf_read {
    () => {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
        }

        fn consume(mut self: Pin<&mut Self>, amt: usize) {
            Pin::new(&mut **self).consume(amt)
        }
    };
}

impl<T: ?Sized + AsyncBufRead + Unpin> AsyncBufRead for Box<T> {
    deref_async_buf_read!();
}

impl<T: ?Sized + AsyncBufRead + Unpin> AsyncBufRead for &mut T {
    deref_async_buf_read!();
}

impl<P> AsyncBufRead for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncBufRead,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().as_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().as_mut().consume(amt)
    }
}

macro_rules! deref_async_seek {
    () => {
        fn start_seek(mut self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
            Pin::new(&mut **self).start_seek(pos)
        }

        fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            Pin::new(&mut **self).poll_complete(cx)
        }
    };
}

impl<T: ?Sized + AsyncSeek + Unpin> AsyncSeek for Box<T> {
    deref_async_seek!();
}

impl<T: ?Sized + AsyncSeek + Unpin> AsyncSeek for &mut T {
    deref_async_seek!();
}

impl<P> AsyncSeek for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncSeek,
{
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        self.get_mut().as_mut().start_seek(pos)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        self.get_mut().as_mut().poll_complete(cx)
    }
}

// ---- in-memory types: never Pending ----

impl AsyncRead for &[u8] {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.len().min(buf.remaining());
        let (head, tail) = self.split_at(n);
        buf.put_slice(head);
        *self = tail;
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(*self.get_mut()))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        *self = &self[amt.min(self.len())..];
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncRead for io::Cursor<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let data = self.get_ref().as_ref();
        let start = (self.position() as usize).min(data.len());
        let n = (data.len() - start).min(buf.remaining());
        buf.put_slice(&data[start..start + n]);
        self.set_position((start + n) as u64);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncBufRead for io::Cursor<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let data = this.get_ref().as_ref();
        let start = (this.position() as usize).min(data.len());
        Poll::Ready(Ok(&data[start..]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let pos = self.position() + amt as u64;
        self.set_position(pos);
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncSeek for io::Cursor<T> {
    fn start_seek(mut self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        io::Seek::seek(&mut *self, pos).map(drop)
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.get_mut().position()))
    }
}

impl AsyncWrite for Vec<u8> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Write::write_vectored(self.get_mut(), bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// `AsyncWrite` for the cursors std implements `Write` for, by forwarding to it.
macro_rules! cursor_async_write {
    ($($ty:ty),* $(,)?) => {$(
        impl AsyncWrite for io::Cursor<$ty> {
            fn poll_write(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(io::Write::write(self.get_mut(), buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(io::Write::write_vectored(self.get_mut(), bufs))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(io::Write::flush(self.get_mut()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush(cx)
            }
        }
    )*};
}

cursor_async_write!(&mut [u8], &mut Vec<u8>, Vec<u8>, Box<[u8]>);

#[cfg(test)]
mod tests {
    use super::*;

    fn ready<T>(p: Poll<T>) -> T {
        match p {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("in-memory I/O returned Pending"),
        }
    }

    fn with_cx<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> T {
        let waker = std::task::Waker::noop();
        f(&mut Context::from_waker(waker))
    }

    #[test]
    fn slice_reads_in_pieces_then_eof() {
        let mut src: &[u8] = b"hello";
        let mut out = [0u8; 3];
        with_cx(|cx| {
            let mut buf = ReadBuf::new(&mut out);
            ready(Pin::new(&mut src).poll_read(cx, &mut buf)).unwrap();
            assert_eq!(buf.filled(), b"hel");
            let mut buf = ReadBuf::new(&mut out);
            ready(Pin::new(&mut src).poll_read(cx, &mut buf)).unwrap();
            assert_eq!(buf.filled(), b"lo");
            let mut buf = ReadBuf::new(&mut out);
            ready(Pin::new(&mut src).poll_read(cx, &mut buf)).unwrap();
            assert_eq!(buf.filled(), b"", "end of stream");
        });
    }

    #[test]
    fn cursor_reads_seeks_and_writes() {
        let mut c = io::Cursor::new(b"abcdef".to_vec());
        with_cx(|cx| {
            Pin::new(&mut c).start_seek(SeekFrom::End(-2)).unwrap();
            assert_eq!(ready(Pin::new(&mut c).poll_complete(cx)).unwrap(), 4);
            let mut out = [0u8; 8];
            let mut buf = ReadBuf::new(&mut out);
            ready(Pin::new(&mut c).poll_read(cx, &mut buf)).unwrap();
            assert_eq!(buf.filled(), b"ef");
            assert_eq!(ready(Pin::new(&mut c).poll_write(cx, b"gh")).unwrap(), 2);
            assert!(Pin::new(&mut c)
                .start_seek(SeekFrom::Current(-100))
                .is_err());
        });
        assert_eq!(c.get_ref(), b"abcdefgh");
    }

    #[test]
    fn vectored_default_writes_first_non_empty_buffer() {
        struct One(Vec<u8>);
        impl AsyncWrite for One {
            fn poll_write(
                mut self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.0.extend_from_slice(buf);
                Poll::Ready(Ok(buf.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let mut w = One(Vec::new());
        let bufs = [IoSlice::new(b""), IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        let n = with_cx(|cx| ready(Pin::new(&mut w).poll_write_vectored(cx, &bufs))).unwrap();
        assert_eq!(n, 2);
        assert_eq!(w.0, b"ab");
        assert!(!w.is_write_vectored());
        // Through the forwarding impls too.
        let mut boxed: Box<dyn AsyncWrite + Unpin> = Box::new(Vec::new());
        assert!(boxed.is_write_vectored());
        let n = with_cx(|cx| ready(Pin::new(&mut boxed).poll_write_vectored(cx, &bufs))).unwrap();
        assert_eq!(n, 4);
    }

    #[test]
    fn buf_read_of_slice_lends_and_consumes() {
        let mut src: &[u8] = b"line\nrest";
        with_cx(|cx| {
            let got = ready(Pin::new(&mut src).poll_fill_buf(cx)).unwrap();
            assert_eq!(got, b"line\nrest");
            Pin::new(&mut src).consume(5);
            assert_eq!(
                ready(Pin::new(&mut src).poll_fill_buf(cx)).unwrap(),
                b"rest"
            );
            Pin::new(&mut src).consume(100);
            assert_eq!(ready(Pin::new(&mut src).poll_fill_buf(cx)).unwrap(), b"");
        });
    }
}
