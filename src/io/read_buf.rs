//! `ReadBuf`: a caller's buffer, perhaps partly uninitialised, that a reader fills.
//!
//! The buffer is three regions, front to back: *filled* (bytes a reader has put there),
//! *initialised but unfilled*, and *uninitialised*. Two counters mark the borders, with
//! `filled <= initialized <= capacity` always. Safe code can only grow `initialized` by
//! writing bytes (zeroes or data) and can only move `filled` within `initialized`, so reading
//! the filled or initialised part is always sound; the two `unsafe` methods hand out the raw
//! tail for a reader (a `read(2)`) that will write it, and `assume_init` is the reader's
//! promise that it did.

use std::fmt;
use std::mem::MaybeUninit;

/// A buffer to read into, which may start uninitialised, so a reader can fill fresh memory
/// without zeroing it first. Tokio's `ReadBuf`, with the same methods.
///
/// ```
/// use std::mem::MaybeUninit;
/// use rawrt::io::ReadBuf;
///
/// let mut storage = [MaybeUninit::<u8>::uninit(); 8];
/// let mut buf = ReadBuf::uninit(&mut storage);
/// buf.put_slice(b"abc");
/// assert_eq!(buf.filled(), b"abc");
/// assert_eq!(buf.remaining(), 5);
/// buf.initialize_unfilled_to(2).copy_from_slice(b"de");
/// buf.advance(2);
/// assert_eq!(buf.filled(), b"abcde");
/// ```
pub struct ReadBuf<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    filled: usize,
    initialized: usize,
}

impl<'a> ReadBuf<'a> {
    /// A `ReadBuf` over initialised memory (all of it counts as initialised, none as filled).
    pub fn new(buf: &'a mut [u8]) -> ReadBuf<'a> {
        let initialized = buf.len();
        // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and the only way back
        // to bytes is through `initialized`, which covers the whole (initialised) slice; no
        // method ever writes uninitialised values into it (`MaybeUninit::uninit()` cannot
        // be written through the safe API, and `inner_mut`'s contract forbids it).
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        ReadBuf {
            buf,
            filled: 0,
            initialized,
        }
    }

    /// A `ReadBuf` over uninitialised memory.
    pub fn uninit(buf: &'a mut [MaybeUninit<u8>]) -> ReadBuf<'a> {
        ReadBuf {
            buf,
            filled: 0,
            initialized: 0,
        }
    }

    /// The total size of the buffer.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The filled part.
    pub fn filled(&self) -> &[u8] {
        // SAFETY: the first `filled` bytes are initialised (`filled <= initialized`).
        unsafe { slice_assume_init(&self.buf[..self.filled]) }
    }

    /// The filled part, mutably.
    pub fn filled_mut(&mut self) -> &mut [u8] {
        // SAFETY: the first `filled` bytes are initialised (`filled <= initialized`).
        unsafe { slice_assume_init_mut(&mut self.buf[..self.filled]) }
    }

    /// A new `ReadBuf` over the first `n` bytes of the unfilled part (fewer if fewer remain),
    /// for a reader that must not take more; what it fills is not counted here until the
    /// caller [`advance`](Self::advance)s.
    pub fn take(&mut self, n: usize) -> ReadBuf<'_> {
        let max = n.min(self.remaining());
        let initialized = (self.initialized - self.filled).min(max);
        let mut sub = ReadBuf::uninit(&mut self.buf[self.filled..self.filled + max]);
        // The bytes already initialised here stay initialised in the view.
        sub.initialized = initialized;
        sub
    }

    /// The initialised part (filled or not).
    pub fn initialized(&self) -> &[u8] {
        // SAFETY: the first `initialized` bytes are initialised, by this type's invariant.
        unsafe { slice_assume_init(&self.buf[..self.initialized]) }
    }

    /// The initialised part, mutably.
    pub fn initialized_mut(&mut self) -> &mut [u8] {
        // SAFETY: the first `initialized` bytes are initialised, by this type's invariant.
        unsafe { slice_assume_init_mut(&mut self.buf[..self.initialized]) }
    }

    /// The whole buffer, as possibly uninitialised memory.
    ///
    /// # Safety
    ///
    /// The caller must not write uninitialised bytes (`MaybeUninit::uninit()`) into the part
    /// that is already initialised.
    pub unsafe fn inner_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        self.buf
    }

    /// The unfilled part, as possibly uninitialised memory, for a reader to write into; tell
    /// the buffer afterwards with [`assume_init`](Self::assume_init) and
    /// [`advance`](Self::advance).
    ///
    /// # Safety
    ///
    /// The caller must not write uninitialised bytes into the part that is already
    /// initialised.
    pub unsafe fn unfilled_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.buf[self.filled..]
    }

    /// The whole unfilled part, zeroing whatever of it was uninitialised.
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        self.initialize_unfilled_to(self.remaining())
    }

    /// The first `n` bytes of the unfilled part, zeroing whatever of them was uninitialised.
    ///
    /// # Panics
    ///
    /// If `n` is more than [`remaining`](Self::remaining).
    pub fn initialize_unfilled_to(&mut self, n: usize) -> &mut [u8] {
        assert!(
            n <= self.remaining(),
            "ReadBuf::initialize_unfilled_to: {n} bytes asked, {} remain",
            self.remaining()
        );
        let end = self.filled + n;
        if self.initialized < end {
            for b in &mut self.buf[self.initialized..end] {
                b.write(0);
            }
            self.initialized = end;
        }
        // SAFETY: `[filled, end)` lies within `[0, initialized)`, initialised just above or
        // before.
        unsafe { slice_assume_init_mut(&mut self.buf[self.filled..end]) }
    }

    /// How many bytes can still be filled.
    pub fn remaining(&self) -> usize {
        self.capacity() - self.filled
    }

    /// Empties the filled part (the memory stays initialised).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Counts `n` more bytes as filled.
    ///
    /// # Panics
    ///
    /// If that would fill bytes not yet initialised.
    pub fn advance(&mut self, n: usize) {
        let new = self
            .filled
            .checked_add(n)
            .expect("ReadBuf::advance overflowed");
        self.set_filled(new);
    }

    /// Sets the filled length (it may shrink).
    ///
    /// # Panics
    ///
    /// If `n` is beyond the initialised part.
    pub fn set_filled(&mut self, n: usize) {
        assert!(
            n <= self.initialized,
            "ReadBuf: filled ({n}) must not pass initialized ({})",
            self.initialized
        );
        self.filled = n;
    }

    /// Declares the first `n` unfilled bytes initialised (a reader wrote them through
    /// [`unfilled_mut`](Self::unfilled_mut)). Never shrinks the initialised part.
    ///
    /// # Safety
    ///
    /// The first `n` bytes of the unfilled part must really be initialised.
    pub unsafe fn assume_init(&mut self, n: usize) {
        let end = self.filled + n;
        if end > self.initialized {
            self.initialized = end;
        }
    }

    /// Appends `src` to the filled part.
    ///
    /// # Panics
    ///
    /// If `src` is longer than [`remaining`](Self::remaining).
    pub fn put_slice(&mut self, src: &[u8]) {
        assert!(
            src.len() <= self.remaining(),
            "ReadBuf::put_slice: {} bytes given, {} remain",
            src.len(),
            self.remaining()
        );
        let end = self.filled + src.len();
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; `src` cannot overlap `self.buf`
        // (one is borrowed shared, the other exclusively).
        let src_uninit = unsafe { &*(src as *const [u8] as *const [MaybeUninit<u8>]) };
        self.buf[self.filled..end].copy_from_slice(src_uninit);
        if self.initialized < end {
            self.initialized = end;
        }
        self.filled = end;
    }
}

impl fmt::Debug for ReadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf")
            .field("filled", &self.filled)
            .field("initialized", &self.initialized)
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// Fills `buf` from a reader that writes into uninitialised memory: `read` gets the unfilled
/// part and returns how many bytes it wrote at its front (rawrt-sys's `read_uninit` and
/// `recv_uninit`, whose contract that is). Those bytes become initialised and filled.
pub(crate) fn fill_with(
    buf: &mut ReadBuf<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let room = buf.remaining();
    // SAFETY: `read` only writes (the kernel's copy-out), never de-initialises bytes.
    let n = read(unsafe { buf.unfilled_mut() })?;
    let n = n.min(room);
    // SAFETY: the reader wrote the first `n` unfilled bytes (its contract; capped above).
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(n)
}

/// # Safety
/// Every byte of `s` must be initialised.
unsafe fn slice_assume_init(s: &[MaybeUninit<u8>]) -> &[u8] {
    // SAFETY: same layout; initialised by the caller's promise.
    unsafe { &*(s as *const [MaybeUninit<u8>] as *const [u8]) }
}

/// # Safety
/// Every byte of `s` must be initialised.
unsafe fn slice_assume_init_mut(s: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: same layout; initialised by the caller's promise.
    unsafe { &mut *(s as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_counts_everything_initialised_and_nothing_filled() {
        let mut storage = [7u8; 4];
        let buf = ReadBuf::new(&mut storage);
        assert_eq!(buf.capacity(), 4);
        assert_eq!(buf.filled(), b"");
        assert_eq!(buf.initialized(), &[7, 7, 7, 7]);
        assert_eq!(buf.remaining(), 4);
    }

    #[test]
    fn put_slice_advance_and_clear() {
        let mut storage = [MaybeUninit::uninit(); 6];
        let mut buf = ReadBuf::uninit(&mut storage);
        assert_eq!(buf.initialized(), b"");
        buf.put_slice(b"ab");
        assert_eq!(buf.filled(), b"ab");
        assert_eq!(buf.initialized().len(), 2);
        assert_eq!(buf.initialize_unfilled(), &[0, 0, 0, 0]);
        assert_eq!(buf.initialized().len(), 6);
        buf.advance(3);
        assert_eq!(buf.filled(), &[b'a', b'b', 0, 0, 0]);
        buf.filled_mut()[2] = b'c';
        assert_eq!(&buf.filled()[..3], b"abc");
        buf.clear();
        assert_eq!(buf.filled(), b"");
        assert_eq!(buf.initialized().len(), 6, "clear keeps memory initialised");
        buf.set_filled(1);
        assert_eq!(buf.filled(), b"a");
    }

    #[test]
    #[should_panic(expected = "must not pass initialized")]
    fn advance_past_initialised_panics() {
        let mut storage = [MaybeUninit::uninit(); 4];
        let mut buf = ReadBuf::uninit(&mut storage);
        buf.put_slice(b"x");
        buf.advance(2);
    }

    #[test]
    #[should_panic(expected = "remain")]
    fn put_slice_too_long_panics() {
        let mut storage = [0u8; 2];
        ReadBuf::new(&mut storage).put_slice(b"abc");
    }

    #[test]
    fn take_is_a_bounded_view_of_the_unfilled_part() {
        let mut storage = [MaybeUninit::uninit(); 8];
        let mut buf = ReadBuf::uninit(&mut storage);
        buf.put_slice(b"12");
        buf.initialize_unfilled_to(3);
        let mut sub = buf.take(4);
        assert_eq!(sub.capacity(), 4);
        assert_eq!(
            sub.initialized(),
            &[0, 0, 0],
            "initialised bytes stay so in the view"
        );
        sub.put_slice(b"3456");
        let n = sub.filled().len();
        // The view wrote into the parent's memory; the parent counts it once told.
        // SAFETY: `sub` initialised exactly those `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        assert_eq!(buf.filled(), b"123456");
        assert_eq!(
            buf.take(100).capacity(),
            2,
            "take is capped at what remains"
        );
    }

    #[test]
    fn assume_init_never_shrinks() {
        let mut storage = [0u8; 4];
        let mut buf = ReadBuf::new(&mut storage);
        // SAFETY: all four bytes are initialised (the buffer came from `new`).
        unsafe { buf.assume_init(1) };
        assert_eq!(buf.initialized().len(), 4);
    }
}
