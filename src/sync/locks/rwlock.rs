//! `RwLock<T>`: an async reader-writer lock, fair between readers and writers.
//!
//! It is a [`Semaphore`] with `max_readers` permits next to the data (in a
//! `std::cell::UnsafeCell`): a reader takes one permit, a writer all of them. Because the
//! semaphore is FIFO, a writer that waits at the head of its queue collects the permits readers
//! give back and holds back every reader (and writer) that came after it: writers cannot starve,
//! and neither can readers. [`RwLockWriteGuard::downgrade`] gives back all permits but one,
//! which lets the waiting readers in (behind any writer queued first).
//!
//! Guards keep a raw pointer to (the part of) the data they give access to and a reference
//! to, or an `Arc` of, the lock; what they may do with it is what their permits allow (shared
//! access for one permit, exclusive for all). The `unsafe` is those dereferences and the
//! `Send`/`Sync` impls (Tokio's bounds); the unit tests run under Miri.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::mutex::{fmt_guard, TryLockError};
use super::semaphore::{Acquire, Semaphore};
use crate::sync::blocking::block_thread_on as block_on;

/// The most concurrent readers an `RwLock` allows (`u32::MAX >> 3`), the default of
/// [`RwLock::new`].
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock around a `T`: many readers or one writer at a time.
///
/// [`read`](Self::read) and [`write`](Self::write) wait (without blocking the thread) and
/// return guards that may be held across `.await`. The lock is fair: requests are served in
/// arrival order, so a waiting writer keeps later readers out until it has had its turn.
///
/// ```
/// use rawrt::sync::RwLock;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // many readers at once
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// Permits a writer takes: all of them.
    mr: u32,
    s: Semaphore,
    c: UnsafeCell<T>,
}

/// Shared access to (a part of) an [`RwLock`]'s data; one read permit, released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    data: NonNull<T>,
    _borrow: PhantomData<&'a T>,
}

/// Exclusive access to an [`RwLock`]'s data; every permit, released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    permits: u32,
    data: NonNull<T>,
    _borrow: PhantomData<&'a mut T>,
}

/// Exclusive access to a part of an [`RwLock`]'s data, made by [`RwLockWriteGuard::map`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    permits: u32,
    data: NonNull<T>,
    _borrow: PhantomData<&'a mut T>,
}

/// An [`RwLockReadGuard`] that owns an `Arc` of its lock, made by [`RwLock::read_owned`];
/// `U` is the part of the `T` it gives access to.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    held: OwnedHeld<T>,
    data: NonNull<U>,
    _borrow: PhantomData<U>,
}

/// An [`RwLockWriteGuard`] that owns an `Arc` of its lock, made by [`RwLock::write_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    held: OwnedHeld<T>,
    data: NonNull<T>,
}

/// An [`RwLockMappedWriteGuard`] that owns an `Arc` of its lock, made by
/// [`OwnedRwLockWriteGuard::map`]; `U` is the part of the `T` it gives access to.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    held: OwnedHeld<T>,
    data: NonNull<U>,
    _borrow: PhantomData<U>,
}

/// The permits of an owned guard, released on drop (the guards have no `Drop` of their own,
/// so that `map` and `downgrade` can move this into the new guard).
struct OwnedHeld<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    permits: u32,
}

impl<T: ?Sized> Drop for OwnedHeld<T> {
    fn drop(&mut self) {
        self.lock.s.release(self.permits as usize);
    }
}

// SAFETY: moving the lock moves the `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: a shared lock hands out `&T` to several threads at once (`T: Sync`) and `&mut T` to
// any thread, one at a time (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: a read guard is a `&T` plus a permit (which any thread may release).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: sharing a read guard shares the `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: an owned read guard shares `&U`, and may drop the last `Arc` and so the `T`, on
// the thread it moved to.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as for `Send`; sharing it shares the `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: write guards give `&mut T` (`T: Send` to move it) and can be downgraded into read
// guards that share it (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`, for both the whole `T` (owned through the `Arc`) and `U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T: ?Sized> RwLock<T> {
    /// An unlocked lock holding `value`, allowing up to `u32::MAX >> 3` concurrent readers.
    pub fn new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked lock allowing at most `max_reads` concurrent readers (a further reader
    /// waits until one leaves).
    ///
    /// # Panics
    /// If `max_reads` is 0 or greater than `u32::MAX >> 3`.
    ///
    /// ```
    /// use rawrt::sync::RwLock;
    ///
    /// let lock = RwLock::with_max_readers(0, 2);
    /// let _a = lock.try_read().unwrap();
    /// let _b = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_err(), "only two readers at once");
    /// ```
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        assert_ne!(max_reads, 0, "an RwLock needs at least one reader");
        assert!(
            max_reads <= MAX_READS,
            "an RwLock may not allow more than {MAX_READS} readers"
        );
        RwLock {
            mr: max_reads,
            s: Semaphore::new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// As [`new`](Self::new), usable in a `const` or `static` initializer (not available in
    /// rawrt's loom build).
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// As [`with_max_readers`](Self::with_max_readers), usable in a `const` initializer (not
    /// available in rawrt's loom build).
    ///
    /// # Panics
    /// As [`with_max_readers`](Self::with_max_readers).
    #[cfg(not(loom))]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        assert!(
            max_reads != 0 && max_reads <= MAX_READS,
            "an RwLock needs between 1 and u32::MAX >> 3 readers"
        );
        RwLock {
            mr: max_reads,
            s: Semaphore::const_new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    fn data(&self) -> NonNull<T> {
        NonNull::new(self.c.get()).expect("UnsafeCell::get is never null")
    }

    async fn acquire(&self, n: u32) {
        if Acquire::new(&self.s, n).await.is_err() {
            unreachable!("an RwLock's semaphore is never closed");
        }
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            s: &self.s,
            data: self.data(),
            _borrow: PhantomData,
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            s: &self.s,
            permits: self.mr,
            data: self.data(),
            _borrow: PhantomData,
        }
    }

    /// Waits for shared access and returns a guard.
    ///
    /// Waits while a writer holds the lock or waits for it (requests are served in order).
    ///
    /// Cancel safety: dropping the future gives up its place in the queue; nothing is lost.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        self.read_guard()
    }

    /// As [`read`](Self::read), blocking the current thread.
    ///
    /// # Panics
    /// On a thread that drives a runtime (a worker, inside `block_on`).
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        block_on("RwLock::blocking_read", self.read())
    }

    /// As [`read`](Self::read), for an `Arc<RwLock<T>>`: the guard owns a reference to the
    /// lock.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        let data = self.data();
        OwnedRwLockReadGuard {
            held: OwnedHeld {
                lock: self,
                permits: 1,
            },
            data,
            _borrow: PhantomData,
        }
    }

    /// Takes shared access if it is free right now (no writer holds or waits for the lock, and
    /// fewer than `max_reads` readers hold it).
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.s.try_take(1) {
            true => Ok(self.read_guard()),
            false => Err(TryLockError(())),
        }
    }

    /// As [`try_read`](Self::try_read), for an `Arc<RwLock<T>>`.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_take(1) {
            true => {
                let data = self.data();
                Ok(OwnedRwLockReadGuard {
                    held: OwnedHeld {
                        lock: self,
                        permits: 1,
                    },
                    data,
                    _borrow: PhantomData,
                })
            }
            false => Err(TryLockError(())),
        }
    }

    /// Waits for exclusive access and returns a guard.
    ///
    /// Requests are served in order: while this waits, readers and writers that come later
    /// wait behind it.
    ///
    /// Cancel safety: dropping the future gives up its place in the queue, and the read permits
    /// it had already collected go to the requests behind it.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.mr).await;
        self.write_guard()
    }

    /// As [`write`](Self::write), blocking the current thread.
    ///
    /// # Panics
    /// On a thread that drives a runtime (a worker, inside `block_on`).
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        block_on("RwLock::blocking_write", self.write())
    }

    /// As [`write`](Self::write), for an `Arc<RwLock<T>>`.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.mr).await;
        let (data, permits) = (self.data(), self.mr);
        OwnedRwLockWriteGuard {
            held: OwnedHeld {
                lock: self,
                permits,
            },
            data,
        }
    }

    /// Takes exclusive access if the lock is free right now (nobody holds or waits for it).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.s.try_take(self.mr) {
            true => Ok(self.write_guard()),
            false => Err(TryLockError(())),
        }
    }

    /// As [`try_write`](Self::try_write), for an `Arc<RwLock<T>>`.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_take(self.mr) {
            true => {
                let (data, permits) = (self.data(), self.mr);
                Ok(OwnedRwLockWriteGuard {
                    held: OwnedHeld {
                        lock: self,
                        permits,
                    },
                    data,
                })
            }
            false => Err(TryLockError(())),
        }
    }

    /// The data, through a unique borrow of the lock: no locking is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }

    /// Consumes the lock and returns the data.
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Turns the guard into one for a part of the data, chosen by `f`; the read lock stays
    /// held. (An associated function, so that it does not hide a method of `T`.)
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = NonNull::from(f(&*this));
        let s = this.s;
        std::mem::forget(this);
        RwLockReadGuard {
            s,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](Self::map), if `f` returns `Some`; otherwise gives the guard back.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        let s = this.s;
        std::mem::forget(this);
        Ok(RwLockReadGuard {
            s,
            data,
            _borrow: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `data` points into the data of a lock borrowed for `'a`; this guard holds a
        // read permit, so no writer (which needs every permit) exists while it lives.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the guard into one for a part of the data, chosen by `f`; the write lock stays
    /// held.
    ///
    /// ```
    /// use rawrt::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = RwLock::new((0, 0));
    ///     let mut second = RwLockWriteGuard::map(lock.write().await, |p| &mut p.1);
    ///     *second = 2;
    ///     drop(second);
    ///     assert_eq!(*lock.read().await, (0, 2));
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let (s, permits) = (this.s, this.permits);
        std::mem::forget(this);
        RwLockMappedWriteGuard {
            s,
            permits,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](Self::map), if `f` returns `Some`; otherwise gives the guard back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let (s, permits) = (this.s, this.permits);
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            s,
            permits,
            data,
            _borrow: PhantomData,
        })
    }

    /// Turns the guard into a mapped one for the whole data (a type that `map` also returns).
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |t| t)
    }

    /// Downgrades to a read guard of a part of the data, chosen by `f`; see
    /// [`downgrade`](Self::downgrade).
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = NonNull::from(f(&*this));
        this.downgrade_to(data)
    }

    /// As [`downgrade_map`](Self::downgrade_map), if `f` returns `Some`; otherwise gives the
    /// write guard back, still exclusive.
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        match f(&*this).map(NonNull::from) {
            Some(data) => Ok(this.downgrade_to(data)),
            None => Err(this),
        }
    }

    /// Keeps one permit for a read guard of `data` (which points into this guard's data) and
    /// gives the others back.
    fn downgrade_to<U: ?Sized>(self, data: NonNull<U>) -> RwLockReadGuard<'a, U> {
        let (s, permits) = (self.s, self.permits);
        std::mem::forget(self);
        // Built first, so that it owns its permit even if waking the others unwinds.
        let guard = RwLockReadGuard {
            s,
            data,
            _borrow: PhantomData,
        };
        s.release(permits as usize - 1);
        guard
    }

    /// Turns exclusive access into shared access without letting a writer in between: all
    /// permits but one are given back, so readers waiting in the queue (up to the first
    /// waiting writer) get in at once.
    ///
    /// ```
    /// use rawrt::sync::RwLock;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = RwLock::new(1);
    ///     let mut w = lock.write().await;
    ///     *w = 2;
    ///     let r = w.downgrade();
    ///     assert_eq!(*lock.try_read().unwrap(), 2, "readers may join");
    ///     assert!(lock.try_write().is_err());
    ///     assert_eq!(*r, 2);
    /// });
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let data = self.data;
        self.downgrade_to(data)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds every permit of the lock borrowed for `'a`: it alone may
        // access the data; the borrow of `self` keeps `deref_mut` out.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further; see [`RwLockWriteGuard::map`].
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let (s, permits) = (this.s, this.permits);
        std::mem::forget(this);
        RwLockMappedWriteGuard {
            s,
            permits,
            data,
            _borrow: PhantomData,
        }
    }

    /// Narrows the guard further if `f` returns `Some`; otherwise gives it back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let (s, permits) = (this.s, this.permits);
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            s,
            permits,
            data,
            _borrow: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `data` points into the data of a lock borrowed for `'a`, derived from a
        // `&mut` under the write lock, whose permits this guard holds.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// Narrows the guard to a part of the data; see [`RwLockReadGuard::map`].
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let data = NonNull::from(f(&*this));
        OwnedRwLockReadGuard {
            held: this.held,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](Self::map), if `f` returns `Some`; otherwise gives the guard back.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        match f(&*this).map(NonNull::from) {
            Some(data) => Ok(OwnedRwLockReadGuard {
                held: this.held,
                data,
                _borrow: PhantomData,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: `data` points into the data of the lock `held` keeps alive, of which it holds
        // a read permit.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Narrows the guard to a part of the data; see [`RwLockWriteGuard::map`].
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        OwnedRwLockMappedWriteGuard {
            held: this.held,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](Self::map), if `f` returns `Some`; otherwise gives the guard back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => Ok(OwnedRwLockMappedWriteGuard {
                held: this.held,
                data,
                _borrow: PhantomData,
            }),
            None => Err(this),
        }
    }

    /// Turns the guard into a mapped one for the whole data.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockWriteGuard::map(this, |t| t)
    }

    /// Downgrades to a read guard of a part of the data; see [`downgrade`](Self::downgrade).
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = NonNull::from(f(&*this));
        OwnedRwLockReadGuard {
            held: this.downgrade().held,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`downgrade_map`](Self::downgrade_map), if `f` returns `Some`; otherwise gives the
    /// write guard back.
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        Ok(OwnedRwLockReadGuard {
            held: this.downgrade().held,
            data,
            _borrow: PhantomData,
        })
    }

    /// Turns exclusive access into shared access; see [`RwLockWriteGuard::downgrade`].
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let OwnedRwLockWriteGuard { mut held, data } = self;
        let extra = held.permits - 1;
        held.permits = 1;
        held.lock.s.release(extra as usize);
        OwnedRwLockReadGuard {
            held,
            data,
            _borrow: PhantomData,
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `held` keeps the lock alive and holds all its permits.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// Narrows the guard further; see [`RwLockWriteGuard::map`].
    pub fn map<F, V: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data = NonNull::from(f(&mut *this));
        OwnedRwLockMappedWriteGuard {
            held: this.held,
            data,
            _borrow: PhantomData,
        }
    }

    /// Narrows the guard further if `f` returns `Some`; otherwise gives it back.
    pub fn try_map<F, V: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => Ok(OwnedRwLockMappedWriteGuard {
                held: this.held,
                data,
                _borrow: PhantomData,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: `data` points into the data of the lock `held` keeps alive and holds all the
        // permits of, derived from a `&mut` under them.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

fmt_guard! {
    ['a, T: ?Sized] RwLockReadGuard<'a, T> => T;
    ['a, T: ?Sized] RwLockWriteGuard<'a, T> => T;
    ['a, T: ?Sized] RwLockMappedWriteGuard<'a, T> => T;
    [T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U> => U;
    [T: ?Sized] OwnedRwLockWriteGuard<T> => T;
    [T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U> => U;
}
