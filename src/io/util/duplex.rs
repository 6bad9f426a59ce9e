//! In-memory pipes: [`duplex`] (two connected [`DuplexStream`]s, like a socket pair) and
//! [`simplex`] / [`SimplexStream`] (one direction).
//!
//! A pipe is a `VecDeque<u8>` of at most `max_buf_size` bytes behind a `std::sync::Mutex`,
//! with one waker slot for the reader and one for the writer. A write copies in as much as
//! fits and wakes the reader; a read copies out and wakes the writer; a full pipe makes the
//! writer wait (backpressure), an empty one the reader. Closing (shutdown, or dropping a
//! `DuplexStream`) wakes both sides: the reader then drains what is left and sees end of
//! stream, and writes fail with `BrokenPipe`. The lock is held only to copy bytes, never
//! across an await. Each read and write spends a unit of the task's cooperative budget.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use super::split::{split, ReadHalf, WriteHalf};
use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::scheduler::coop;

/// One direction of bytes in memory.
#[derive(Debug)]
struct Pipe {
    buf: VecDeque<u8>,
    max: usize,
    closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

impl Pipe {
    fn new(max_buf_size: usize) -> Pipe {
        Pipe {
            buf: VecDeque::new(),
            max: max_buf_size.max(1),
            closed: false,
            read_waker: None,
            write_waker: None,
        }
    }

    fn close(&mut self) {
        self.closed = true;
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let coop = ready!(coop::poll_proceed(cx));
        if self.buf.is_empty() {
            if self.closed {
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            set_waker(&mut self.read_waker, cx);
            return Poll::Pending;
        }
        let (front, back) = self.buf.as_slices();
        let n1 = front.len().min(buf.remaining());
        buf.put_slice(&front[..n1]);
        let n2 = back.len().min(buf.remaining());
        buf.put_slice(&back[..n2]);
        self.buf.drain(..n1 + n2);
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
        coop.made_progress();
        Poll::Ready(Ok(()))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let coop = ready!(coop::poll_proceed(cx));
        if self.closed {
            coop.made_progress();
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the pipe is closed",
            )));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            coop.made_progress();
            return Poll::Ready(Ok(0));
        }
        let room = self.max.saturating_sub(self.buf.len());
        if room == 0 {
            set_waker(&mut self.write_waker, cx);
            return Poll::Pending;
        }
        let mut written = 0;
        for b in bufs {
            let n = b.len().min(room - written);
            self.buf.extend(&b[..n]);
            written += n;
            if written == room {
                break;
            }
        }
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        coop.made_progress();
        Poll::Ready(Ok(written))
    }
}

fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Locks a pipe; a panic elsewhere while holding it cannot leave it inconsistent (every
/// update is a single step), so a poisoned lock is used as is.
fn lock(pipe: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    pipe.lock().unwrap_or_else(|e| e.into_inner())
}

/// One end of an in-memory, two-way pipe: made by [`duplex`]. Bytes written to one end are
/// read from the other.
///
/// Dropping an end, or shutting it down, closes the direction it writes (the other end
/// reads what is left, then end of stream); dropping also closes the direction it reads
/// (the other end's writes fail with `BrokenPipe`).
#[derive(Debug)]
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

/// Two connected in-memory streams, each direction holding at most `max_buf_size` bytes
/// (at least 1) before a writer waits for the reader: Tokio's `io::duplex`. A stand-in for
/// a socket pair in tests.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let (mut client, mut server) = rawrt::io::duplex(64);
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     drop(client);
///     assert_eq!(server.read(&mut buf).await?, 0, "end of stream");
///     let err = server.write_all(b"x").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
///     Ok(())
/// })
/// # }
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    let one = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let two = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        lock(&self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        lock(&self.write).poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        lock(&self.write).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.write).close();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        lock(&self.write).close();
        lock(&self.read).close();
    }
}

/// A one-way in-memory pipe: what is written is read back, with at most `max_buf_size`
/// bytes held. Shutting it down ends the stream for the reader once it has drained it.
/// Usually made with [`simplex`], which splits it into a reader and a writer; dropping the
/// [`WriteHalf`] does not end the stream (shut it down first), as in Tokio.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt, SimplexStream};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut pipe = SimplexStream::new_unsplit(16);
///     pipe.write_all(b"loop").await?;
///     pipe.shutdown().await?;
///     let mut back = String::new();
///     pipe.read_to_string(&mut back).await?;
///     assert_eq!(back, "loop");
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct SimplexStream {
    pipe: Pipe,
}

impl SimplexStream {
    /// A pipe holding at most `max_buf_size` bytes (at least 1), not split.
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        SimplexStream {
            pipe: Pipe::new(max_buf_size),
        }
    }
}

/// A one-way in-memory pipe as a reader and a writer, with at most `max_buf_size` bytes
/// held (at least 1): Tokio's `io::simplex`. Shut the writer down to end the stream.
///
/// ```
/// use rawrt::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let (mut rx, mut tx) = rawrt::io::simplex(8);
///     let writer = rawrt::spawn(async move {
///         tx.write_all(b"more than eight bytes").await?;
///         tx.shutdown().await
///     });
///     let mut got = String::new();
///     rx.read_to_string(&mut got).await?;
///     assert_eq!(got, "more than eight bytes");
///     writer.await.unwrap()?;
///     Ok(())
/// })
/// # }
/// ```
pub fn simplex(max_buf_size: usize) -> (ReadHalf<SimplexStream>, WriteHalf<SimplexStream>) {
    split(SimplexStream::new_unsplit(max_buf_size))
}

impl AsyncRead for SimplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().pipe.poll_read(cx, buf)
    }
}

impl AsyncWrite for SimplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .pipe
            .poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().pipe.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().pipe.close();
        Poll::Ready(Ok(()))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_support::{block_on, poll_once};
    use super::*;
    use crate::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn backpressure_at_max_buf_size() {
        let (mut a, mut b) = duplex(4);
        assert_eq!(block_on(a.write(b"abcdef")).unwrap(), 4, "only what fits");
        {
            let mut w = a.write(b"g");
            assert!(poll_once(&mut w).is_pending(), "full: the writer waits");
        }
        let mut buf = [0u8; 3];
        assert_eq!(block_on(b.read(&mut buf)).unwrap(), 3);
        assert_eq!(&buf, b"abc");
        block_on(a.write_all(b"efg")).unwrap();
        let mut rest = [0u8; 4];
        block_on(b.read_exact(&mut rest)).unwrap();
        assert_eq!(&rest, b"defg");
    }

    #[test]
    fn wraparound_reads_both_slices() {
        let (mut a, mut b) = duplex(5);
        block_on(a.write_all(b"12345")).unwrap();
        block_on(b.read_exact(&mut [0u8; 3])).unwrap();
        block_on(a.write_all(b"678")).unwrap();
        let mut buf = [0u8; 5];
        block_on(b.read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"45678");
    }

    #[test]
    fn shutdown_gives_eof_after_the_data_and_breaks_own_writes() {
        let (mut a, mut b) = duplex(16);
        block_on(a.write_all(b"last")).unwrap();
        block_on(a.shutdown()).unwrap();
        let mut got = Vec::new();
        block_on(b.read_to_end(&mut got)).unwrap();
        assert_eq!(got, b"last");
        let err = block_on(a.write(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        // The other direction still works.
        block_on(b.write_all(b"reply")).unwrap();
        let mut r = [0u8; 5];
        block_on(a.read_exact(&mut r)).unwrap();
        assert_eq!(&r, b"reply");
    }

    #[test]
    fn drop_wakes_a_waiting_reader_and_writer() {
        let (mut a, b) = duplex(2);
        let mut buf = [0u8; 1];
        let (waker, woken) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        {
            let mut r = a.read(&mut buf);
            assert!(Pin::new(&mut r).poll(&mut cx).is_pending());
        }
        assert_eq!(block_on(a.write(b"full")).unwrap(), 2);
        {
            let mut w = a.write(b"more");
            assert!(Pin::new(&mut w).poll(&mut cx).is_pending());
        }
        assert_eq!(woken.load(std::sync::atomic::Ordering::SeqCst), 0);
        drop(b);
        assert_eq!(
            woken.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "both the waiting reader and the waiting writer are woken"
        );
        assert_eq!(block_on(a.read(&mut buf)).unwrap(), 0);
        let err = block_on(a.write(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    fn counting_waker() -> (Waker, Arc<std::sync::atomic::AtomicUsize>) {
        struct W(Arc<std::sync::atomic::AtomicUsize>);
        impl std::task::Wake for W {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        (Waker::from(Arc::new(W(n.clone()))), n)
    }

    use std::future::Future;

    #[test]
    fn simplex_round_trip_and_eof_on_shutdown() {
        let (mut rx, mut tx) = simplex(3);
        assert_eq!(block_on(tx.write(b"abcd")).unwrap(), 3);
        block_on(tx.shutdown()).unwrap();
        let mut got = Vec::new();
        block_on(rx.read_to_end(&mut got)).unwrap();
        assert_eq!(got, b"abc");
        assert!(rx.is_pair_of(&tx));
    }
}
