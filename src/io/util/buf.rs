//! The two small buffer traits behind `read_buf`, `write_buf` and `write_all_buf`.
//!
//! Tokio takes `bytes::BufMut` and `bytes::Buf` there; rawrt does not depend on `bytes`, so it
//! has its own, implemented for the buffers those methods are most often given: a `Vec<u8>`
//! to read into; a `&[u8]` or an `io::Cursor` to write from.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::io::{AsyncRead, ReadBuf};

/// A growable buffer that [`read_buf`](crate::io::AsyncReadExt::read_buf) appends to:
/// rawrt's stand-in for `bytes::BufMut`, implemented for `Vec<u8>` (and `&mut` of anything
/// implementing it). Sealed: its one method writes through uninitialised memory.
pub trait BufTarget: sealed::Sealed {}

/// A buffer that [`write_buf`](crate::io::AsyncWriteExt::write_buf) and
/// [`write_all_buf`](crate::io::AsyncWriteExt::write_all_buf) take bytes from, advancing past
/// what was written: rawrt's stand-in for `bytes::Buf`. Implemented for `&[u8]`,
/// `io::Cursor<T: AsRef<[u8]>>` and `&mut` of anything implementing it.
pub trait BufSource {
    /// How many bytes are left.
    fn remaining(&self) -> usize;
    /// The next bytes (a non-empty slice while [`remaining`](Self::remaining) is non-zero).
    fn chunk(&self) -> &[u8];
    /// Marks `n` bytes (at most [`remaining`](Self::remaining)) as taken.
    fn advance(&mut self, n: usize);
}

impl BufSource for &[u8] {
    fn remaining(&self) -> usize {
        self.len()
    }
    fn chunk(&self) -> &[u8] {
        self
    }
    fn advance(&mut self, n: usize) {
        *self = &self[n.min(self.len())..];
    }
}

impl<T: AsRef<[u8]>> BufSource for io::Cursor<T> {
    fn remaining(&self) -> usize {
        self.get_ref()
            .as_ref()
            .len()
            .saturating_sub(self.position() as usize)
    }
    fn chunk(&self) -> &[u8] {
        let data = self.get_ref().as_ref();
        &data[(self.position() as usize).min(data.len())..]
    }
    fn advance(&mut self, n: usize) {
        let n = n.min(self.remaining());
        self.set_position(self.position() + n as u64);
    }
}

impl<B: BufSource + ?Sized> BufSource for &mut B {
    fn remaining(&self) -> usize {
        (**self).remaining()
    }
    fn chunk(&self) -> &[u8] {
        (**self).chunk()
    }
    fn advance(&mut self, n: usize) {
        (**self).advance(n)
    }
}

impl BufTarget for Vec<u8> {}
impl<B: BufTarget + ?Sized> BufTarget for &mut B {}

pub(crate) mod sealed {
    use super::*;

    /// The workings of [`BufTarget`](super::BufTarget).
    pub trait Sealed {
        /// One read from `reader` into the spare room (growing it first if there is none).
        fn poll_read_from<R: AsyncRead + ?Sized>(
            &mut self,
            reader: Pin<&mut R>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<usize>>;
    }

    impl Sealed for Vec<u8> {
        fn poll_read_from<R: AsyncRead + ?Sized>(
            &mut self,
            reader: Pin<&mut R>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<usize>> {
            if self.len() == self.capacity() {
                self.reserve(64);
            }
            poll_read_into_spare(reader, cx, self)
        }
    }

    impl<B: Sealed + ?Sized> Sealed for &mut B {
        fn poll_read_from<R: AsyncRead + ?Sized>(
            &mut self,
            reader: Pin<&mut R>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<usize>> {
            (**self).poll_read_from(reader, cx)
        }
    }
}

/// One read into `vec`'s spare capacity (as it is: no growing), appending what was read.
/// `Ok(0)` is end of stream when there was room.
pub(crate) fn poll_read_into_spare<R: AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    vec: &mut Vec<u8>,
) -> Poll<io::Result<usize>> {
    let len = vec.len();
    let spare: &mut [MaybeUninit<u8>] = vec.spare_capacity_mut();
    let start = spare.as_ptr();
    let mut buf = ReadBuf::uninit(spare);
    match reader.poll_read(cx, &mut buf) {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Ready(Ok(())) => {}
    }
    if buf.filled().as_ptr() != start.cast::<u8>() {
        // A reader that replaced the ReadBuf with one over other memory: its "filled" bytes
        // are not in `vec`, so nothing may be appended.
        return Poll::Ready(Err(io::Error::other(
            "AsyncRead::poll_read replaced the ReadBuf it was given",
        )));
    }
    let n = buf.filled().len();
    // SAFETY: `buf` is a view of `vec`'s spare capacity starting at its first spare byte
    // (checked just above), and `ReadBuf` guarantees its first `n` (filled) bytes are
    // initialised, so `len + n` bytes of `vec` are initialised and within its capacity.
    unsafe { vec.set_len(len + n) };
    Poll::Ready(Ok(n))
}
