//! [`AsyncSeekExt`]: `seek`, `rewind` and `stream_position` over [`AsyncSeek`]'s two steps.

use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::io::AsyncSeek;

/// Seeking helpers for every [`AsyncSeek`]: Tokio's `AsyncSeekExt`, with the same methods.
///
/// ```
/// use std::io::{Cursor, SeekFrom};
/// use rawrt::io::{AsyncReadExt, AsyncSeekExt};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let mut c = Cursor::new(b"0123456789".to_vec());
///     assert_eq!(c.seek(SeekFrom::End(-3)).await?, 7);
///     assert_eq!(c.read_u8().await?, b'7');
///     assert_eq!(c.stream_position().await?, 8);
///     c.rewind().await?;
///     assert_eq!(c.read_u8().await?, b'0');
///     Ok(())
/// })
/// # }
/// ```
pub trait AsyncSeekExt: AsyncSeek {
    /// Seeks to `pos`, returning the new position from the start. Waits first for a seek
    /// still in flight (one started by a dropped `seek` future).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after the seek started, the position may or
    /// may not have moved.
    fn seek(&mut self, pos: SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        Seek {
            seeker: self,
            pos: Some(pos),
        }
    }

    /// Seeks to the start; returns the new position (`0`).
    fn rewind(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Start(0))
    }

    /// The current position from the start (a seek by zero).
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// The future of [`AsyncSeekExt::seek`], [`rewind`](AsyncSeekExt::rewind) and
/// [`stream_position`](AsyncSeekExt::stream_position).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Seek<'a, S: ?Sized> {
    seeker: &'a mut S,
    pos: Option<SeekFrom>,
}

impl<S: AsyncSeek + Unpin + ?Sized> Future for Seek<'_, S> {
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        if let Some(pos) = me.pos {
            // Let any earlier seek finish: only one may be in flight.
            ready!(Pin::new(&mut *me.seeker).poll_complete(cx))?;
            Pin::new(&mut *me.seeker).start_seek(pos)?;
            me.pos = None;
        }
        Pin::new(&mut *me.seeker).poll_complete(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::block_on;
    use super::*;
    use std::io::Cursor;

    /// A seeker whose seeks take one extra poll (`Pending` once), and which refuses a second
    /// start while one is in flight, as the trait allows.
    struct SlowSeek {
        pos: u64,
        pending: Option<u64>,
        waited: bool,
    }

    impl AsyncSeek for SlowSeek {
        fn start_seek(mut self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
            if self.pending.is_some() {
                return Err(io::Error::other("seek in flight"));
            }
            let to = match pos {
                SeekFrom::Start(n) => n as i64,
                SeekFrom::Current(d) => self.pos as i64 + d,
                SeekFrom::End(d) => 100 + d,
            };
            if to < 0 {
                return Err(io::ErrorKind::InvalidInput.into());
            }
            self.pending = Some(to as u64);
            self.waited = false;
            Ok(())
        }

        fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            if let Some(to) = self.pending {
                if !self.waited {
                    self.waited = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                self.pos = to;
                self.pending = None;
            }
            Poll::Ready(Ok(self.pos))
        }
    }

    #[test]
    fn seek_rewind_and_position() {
        let mut s = SlowSeek {
            pos: 0,
            pending: None,
            waited: false,
        };
        assert_eq!(block_on(s.seek(SeekFrom::End(-10))).unwrap(), 90);
        assert_eq!(block_on(s.seek(SeekFrom::Current(5))).unwrap(), 95);
        assert_eq!(block_on(s.stream_position()).unwrap(), 95);
        assert_eq!(block_on(s.rewind()).unwrap(), 0);
        let err = block_on(s.seek(SeekFrom::Current(-1))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_dropped_seek_is_waited_for_by_the_next() {
        let mut s = SlowSeek {
            pos: 0,
            pending: None,
            waited: false,
        };
        {
            let mut fut = s.seek(SeekFrom::Start(40));
            assert!(super::super::test_support::poll_once(&mut fut).is_pending());
        }
        assert_eq!(block_on(s.seek(SeekFrom::Current(2))).unwrap(), 42);
    }

    #[test]
    fn cursor_seek() {
        let mut c = Cursor::new(vec![0u8; 10]);
        assert_eq!(block_on(c.seek(SeekFrom::Start(4))).unwrap(), 4);
        assert_eq!(block_on(c.stream_position()).unwrap(), 4);
    }
}
