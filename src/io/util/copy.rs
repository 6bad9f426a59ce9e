//! [`copy`], [`copy_buf`], [`copy_bidirectional`] and [`copy_bidirectional_with_sizes`].
//!
//! A copy is a loop inside one future: read into a buffer (8 KiB, allocated once per
//! direction), write it all out, repeat; when the reader has nothing yet, the writer is
//! flushed so that nothing waits in a buffered writer meanwhile. At end of stream the
//! writer is flushed (and, in the bidirectional copies, shut down). Each read spends a unit
//! of the task's cooperative budget, so a copy between two always-ready ends (`repeat` into
//! `sink`, or a fast socket) yields to other tasks regularly instead of looping forever.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::buf_reader::DEFAULT_BUF_SIZE;
use super::write_ext::write_zero;
use crate::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use crate::scheduler::coop;

/// One direction of a copy: its buffer and progress.
#[derive(Debug)]
struct CopyBuffer {
    buf: Box<[u8]>,
    /// `buf[pos..cap]` is read and not yet written.
    pos: usize,
    cap: usize,
    amt: u64,
    read_done: bool,
    need_flush: bool,
}

impl CopyBuffer {
    fn new(size: usize) -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; size.max(1)].into_boxed_slice(),
            pos: 0,
            cap: 0,
            amt: 0,
            read_done: false,
            need_flush: false,
        }
    }

    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.pos == self.cap && !self.read_done {
                let coop = ready!(coop::poll_proceed(cx));
                let mut rb = ReadBuf::new(&mut self.buf);
                match reader.as_mut().poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {
                        coop.made_progress();
                        let n = rb.filled().len();
                        if n == 0 {
                            self.read_done = true;
                        } else {
                            self.pos = 0;
                            self.cap = n;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Nothing to read yet: push out what a buffered writer holds.
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            while self.pos < self.cap {
                let n = ready!(writer
                    .as_mut()
                    .poll_write(cx, &self.buf[self.pos..self.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(write_zero()));
                }
                self.pos += n.min(self.cap - self.pos);
                self.amt += n as u64;
                self.need_flush = true;
            }
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(self.amt));
            }
        }
    }
}

/// Copies everything `reader` yields into `writer` until end of stream, then flushes the
/// writer; returns the number of bytes copied. Tokio's `io::copy`. The writer is not shut
/// down.
///
/// # Cancel safety
///
/// Not cancel safe: bytes read but not yet written when the future is dropped are lost.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut src: &[u8] = b"some bytes";
///     let mut dst = Vec::new();
///     assert_eq!(rawrt::io::copy(&mut src, &mut dst).await?, 10);
///     assert_eq!(dst, b"some bytes");
///     Ok(())
/// })
/// # }
/// ```
pub async fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = CopyBuffer::new(DEFAULT_BUF_SIZE);
    poll_fn(|cx| buf.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))).await
}

/// Copies from a buffered reader into `writer` until end of stream, writing straight out of
/// the reader's buffer (no second buffer), then flushes the writer; returns the number of
/// bytes copied. Tokio's `io::copy_buf`.
///
/// # Cancel safety
///
/// Cancel safe in the sense that nothing is lost: the reader's buffer is consumed only by
/// what was written.
///
/// ```
/// use rawrt::io::BufReader;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut src = BufReader::new(&b"buffered"[..]);
///     let mut dst = Vec::new();
///     assert_eq!(rawrt::io::copy_buf(&mut src, &mut dst).await?, 8);
///     assert_eq!(dst, b"buffered");
///     Ok(())
/// })
/// # }
/// ```
pub async fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> io::Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut amt = 0u64;
    let mut need_flush = false;
    poll_fn(|cx| loop {
        let coop = ready!(coop::poll_proceed(cx));
        let mut reader = Pin::new(&mut *reader);
        let mut writer = Pin::new(&mut *writer);
        let n = {
            let avail = match reader.as_mut().poll_fill_buf(cx) {
                Poll::Ready(res) => res?,
                Poll::Pending => {
                    if need_flush {
                        ready!(writer.as_mut().poll_flush(cx))?;
                        need_flush = false;
                    }
                    return Poll::Pending;
                }
            };
            if avail.is_empty() {
                coop.made_progress();
                ready!(writer.as_mut().poll_flush(cx))?;
                return Poll::Ready(Ok(amt));
            }
            let n = ready!(writer.as_mut().poll_write(cx, avail))?;
            if n == 0 {
                return Poll::Ready(Err(write_zero()));
            }
            coop.made_progress();
            n.min(avail.len())
        };
        reader.as_mut().consume(n);
        amt += n as u64;
        need_flush = true;
    })
    .await
}

/// Where one direction of a bidirectional copy stands.
enum Direction {
    Copying(CopyBuffer),
    ShuttingDown(u64),
    Done(u64),
}

fn poll_direction<R, W>(
    cx: &mut Context<'_>,
    state: &mut Direction,
    mut reader: Pin<&mut R>,
    mut writer: Pin<&mut W>,
) -> Poll<io::Result<u64>>
where
    R: AsyncRead + ?Sized,
    W: AsyncWrite + ?Sized,
{
    loop {
        match state {
            Direction::Copying(buf) => {
                let n = ready!(buf.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                *state = Direction::ShuttingDown(n);
            }
            Direction::ShuttingDown(n) => {
                ready!(writer.as_mut().poll_shutdown(cx))?;
                *state = Direction::Done(*n);
            }
            Direction::Done(n) => return Poll::Ready(Ok(*n)),
        }
    }
}

/// Copies both ways between `a` and `b` at once, until both have reached end of stream:
/// when one side's reads end, the other side's write half is shut down (so its peer sees
/// end of stream too), while the other direction goes on. Returns `(a_to_b, b_to_a)`, the
/// bytes copied each way. Tokio's `io::copy_bidirectional`, with 8 KiB buffers. An error
/// either way ends both.
///
/// # Cancel safety
///
/// Not cancel safe: bytes read but not yet written when the future is dropped are lost.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     // client <-> (a | proxy | b) <-> server
///     let (mut client, mut a) = rawrt::io::duplex(64);
///     let (mut b, mut server) = rawrt::io::duplex(64);
///     let proxy = rawrt::spawn(async move {
///         rawrt::io::copy_bidirectional(&mut a, &mut b).await
///     });
///     client.write_all(b"request").await?;
///     client.shutdown().await?;
///     let mut req = Vec::new();
///     server.read_to_end(&mut req).await?;
///     server.write_all(b"reply!").await?;
///     drop(server);
///     let mut reply = Vec::new();
///     client.read_to_end(&mut reply).await?;
///     assert_eq!((&req[..], &reply[..]), (&b"request"[..], &b"reply!"[..]));
///     assert_eq!(proxy.await.unwrap()?, (7, 6));
///     Ok(())
/// })
/// # }
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, DEFAULT_BUF_SIZE, DEFAULT_BUF_SIZE).await
}

/// [`copy_bidirectional`] with a buffer of `a_to_b_buf_size` bytes for the copy from `a` to
/// `b` and one of `b_to_a_buf_size` for the other way (each at least 1).
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Direction::Copying(CopyBuffer::new(a_to_b_buf_size));
    let mut b_to_a = Direction::Copying(CopyBuffer::new(b_to_a_buf_size));
    poll_fn(|cx| {
        let ab = poll_direction(cx, &mut a_to_b, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let ba = poll_direction(cx, &mut b_to_a, Pin::new(&mut *b), Pin::new(&mut *a))?;
        match (ab, ba) {
            (Poll::Ready(ab), Poll::Ready(ba)) => Poll::Ready(Ok((ab, ba))),
            _ => Poll::Pending,
        }
    })
    .await
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_support::{block_on, Trickle, TrickleWriter};
    use super::*;
    use crate::io::{BufReader, BufWriter};

    #[test]
    fn copy_over_partial_reads_and_writes() {
        let data: Vec<u8> = (0..50u8).collect();
        let mut r = Trickle::new(&data);
        let mut w = TrickleWriter::default();
        assert_eq!(block_on(copy(&mut r, &mut w)).unwrap(), 50);
        assert_eq!(w.data, data);
        assert!(w.flushed >= 1, "flushed at the end");
        assert!(!w.shut, "copy does not shut the writer down");
    }

    #[test]
    fn copy_flushes_a_buffered_writer_while_the_reader_waits() {
        let mut r = Trickle::new(b"ab");
        let mut w = BufWriter::new(TrickleWriter::default());
        block_on(copy(&mut r, &mut w)).unwrap();
        assert_eq!(w.get_ref().data, b"ab");
    }

    #[test]
    fn copy_reports_write_zero() {
        let mut room = [0u8; 2];
        let mut dst = io::Cursor::new(&mut room[..]);
        let err = block_on(copy(&mut &b"abc"[..], &mut dst)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn copy_buf_from_a_buf_reader() {
        let data = vec![9u8; 20_000];
        let mut r = BufReader::with_capacity(1000, &data[..]);
        let mut w = Vec::new();
        assert_eq!(block_on(copy_buf(&mut r, &mut w)).unwrap(), 20_000);
        assert_eq!(w, data);
        let mut r = BufReader::new(Trickle::new(b"slow"));
        let mut w = TrickleWriter::default();
        assert_eq!(block_on(copy_buf(&mut r, &mut w)).unwrap(), 4);
        assert_eq!(w.data, b"slow");
    }
}
