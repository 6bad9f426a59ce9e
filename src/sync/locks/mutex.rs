//! `Mutex<T>`: an async mutex whose guard may be held across `.await`.
//!
//! It is a [`Semaphore`] with one permit next to the data, in a `std::cell::UnsafeCell`.
//! Holding a guard means holding that permit, so at most one guard exists at a time and it
//! alone may touch the data; the guard's drop gives the permit back, to the next waiter in
//! FIFO order. The semaphore's own mutex orders the accesses: a guard is built only after the
//! acquiring thread locked the semaphore state that the releasing thread unlocked after its
//! last access (a release/acquire pair), so the data is never raced.
//!
//! The `unsafe` here is the dereference of the cell (in `Deref`/`DerefMut`, justified by the
//! permit) and the `Send`/`Sync` impls (the same bounds as Tokio's). Mapped guards keep a raw
//! pointer to the part they give access to, not a reference, so that no reference into the data
//! outlives the permit. The unit tests run under Miri (`scripts/miri.sh`, the `sync::` filter).
//!
//! Waiting costs what a semaphore acquire costs: one slot in its waiter slab and a lock per
//! poll; an uncontended `lock` or unlock is one lock of the semaphore's state.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::semaphore::{Acquire, Semaphore};
use crate::sync::blocking::block_thread_on as block_on;

/// An async mutual-exclusion lock around a `T`.
///
/// [`lock`](Self::lock) waits (without blocking the thread) until the lock is free and returns
/// a [`MutexGuard`]; the lock is released when the guard is dropped. Unlike `std::sync::Mutex`,
/// the guard may be held across `.await` points and sent to another task (if `T: Send`).
/// Waiting tasks get the lock in the order they asked for it (FIFO). There is no poisoning: a
/// task that panics while holding the guard just releases the lock.
///
/// ```
/// use std::sync::Arc;
/// use rawrt::sync::Mutex;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let count = count.clone();
///             rawrt::spawn(async move {
///                 let mut n = count.lock().await;
///                 rawrt::task::yield_now().await; // held across an await
///                 *n += 1;
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    s: Semaphore,
    c: UnsafeCell<T>,
}

/// Gives access to a [`Mutex`]'s data; the lock is released when this is dropped.
///
/// Made by [`Mutex::lock`] and [`Mutex::try_lock`]. Turn it into a guard of a part of the data
/// with [`map`](Self::map).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex instead of borrowing it, made by
/// [`Mutex::lock_owned`]: it can move into a spawned task.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    held: OwnedHeld<T>,
}

/// A guard of a part of a [`Mutex`]'s data, made by [`MutexGuard::map`]. It holds the lock
/// as the original guard did.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    data: NonNull<T>,
    _borrow: PhantomData<&'a mut T>,
}

/// A guard of a part (`U`) of an owned [`Mutex<T>`]'s data, made by [`OwnedMutexGuard::map`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    held: OwnedHeld<T>,
    data: NonNull<U>,
    _borrow: PhantomData<U>,
}

/// The permit of an owned guard: its drop releases the lock. A separate type (the owned guards
/// themselves have no `Drop`) so that `map` can move it into the mapped guard.
struct OwnedHeld<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

impl<T: ?Sized> Drop for OwnedHeld<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

/// The error of [`Mutex::try_lock`] (the mutex is locked), [`RwLock::try_read`] (a writer
/// holds the lock or waits for it) and [`RwLock::try_write`] (the lock is held).
///
/// [`RwLock::try_read`]: super::RwLock::try_read
/// [`RwLock::try_write`]: super::RwLock::try_write
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block: the lock is held")
    }
}

impl std::error::Error for TryLockError {}

// SAFETY: the data is only reached through a guard, and at most one guard exists at a time (it
// holds the only permit); moving the mutex moves the `T`, so `T: Send` suffices for both.
// Sharing the mutex lets any thread get a `&mut T` (one at a time) — what `T: Send` allows —
// but never a `&T` on two threads at once, so `T: Sync` is not needed.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: a shared guard gives `&T` to every thread that shares it, so `T: Sync`; the guard
// can be used to reach `&mut T` after moving, so `T: Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}
// SAFETY: a mapped guard is a `&mut T` that also holds the permit: `Sync` iff `&mut T` is.
unsafe impl<'a, T: ?Sized + Sync + 'a> Sync for MappedMutexGuard<'a, T> {}
// SAFETY: a mapped guard is a `&mut T` that also holds the permit: `Send` iff `&mut T` is (the
// permit is released from whichever thread drops it, which the semaphore allows).
unsafe impl<'a, T: ?Sized + Send + 'a> Send for MappedMutexGuard<'a, T> {}
// SAFETY: shares `&U` and owns an `Arc<Mutex<T>>` (which may drop the `T` on the guard's
// thread), so both must be `Send + Sync`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}
// SAFETY: moving the guard moves a `&mut U` and an `Arc<Mutex<T>>` (a `Mutex<T>` is
// `Send + Sync` for `T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized> Mutex<T> {
    /// An unlocked mutex holding `t`.
    pub fn new(t: T) -> Mutex<T>
    where
        T: Sized,
    {
        Mutex {
            s: Semaphore::new(1),
            c: UnsafeCell::new(t),
        }
    }

    /// As [`new`](Self::new), usable in a `const` or `static` initializer (not available in
    /// rawrt's loom build).
    ///
    /// ```
    /// use rawrt::sync::Mutex;
    ///
    /// static LOG: Mutex<Vec<&str>> = Mutex::const_new(Vec::new());
    /// LOG.blocking_lock().push("started");
    /// assert_eq!(LOG.try_lock().unwrap().len(), 1);
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(t: T) -> Mutex<T>
    where
        T: Sized,
    {
        Mutex {
            s: Semaphore::const_new(1),
            c: UnsafeCell::new(t),
        }
    }

    /// Waits for the lock and returns a guard; the lock is released when it is dropped.
    ///
    /// Cancel safety: tasks get the lock in the order they called `lock`; dropping the future
    /// gives up its place in the queue (and, if the lock was just handed to it, passes the lock
    /// to the next waiter).
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard { lock: self }
    }

    /// Waits for the one permit; the caller wraps it in a guard.
    async fn acquire(&self) {
        if Acquire::new(&self.s, 1).await.is_err() {
            unreachable!("a mutex's semaphore is never closed");
        }
    }

    /// As [`lock`](Self::lock), blocking the current thread until the lock is free.
    ///
    /// For synchronous code (a plain thread, a `spawn_blocking` closure) that shares the mutex
    /// with async code.
    ///
    /// # Panics
    /// When called on a thread that drives a runtime: a worker thread (inside a task) or inside
    /// `block_on`, where blocking would stall the tasks (Tokio panics there too).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use rawrt::sync::Mutex;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// let mutex = Arc::new(Mutex::new(1));
    /// let task = {
    ///     let mutex = mutex.clone();
    ///     rt.spawn(async move { *mutex.lock().await += 1 })
    /// };
    /// rt.block_on(task).unwrap();
    /// let mut n = mutex.blocking_lock(); // a plain thread: fine
    /// *n += 1;
    /// assert_eq!(*n, 3);
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        block_on("Mutex::blocking_lock", self.lock())
    }

    /// As [`lock_owned`](Self::lock_owned), blocking the current thread.
    ///
    /// # Panics
    /// As [`blocking_lock`](Self::blocking_lock).
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        block_on("Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// As [`lock`](Self::lock), for an `Arc<Mutex<T>>`: the guard owns a reference to the mutex
    /// and borrows nothing, so it is `'static` (if `T` is).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use rawrt::sync::Mutex;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mutex = Arc::new(Mutex::new(String::new()));
    ///     let mut guard = mutex.clone().lock_owned().await;
    ///     let task = rawrt::spawn(async move { guard.push_str("from a task") });
    ///     task.await.unwrap();
    ///     assert_eq!(*mutex.lock().await, "from a task");
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard {
            held: OwnedHeld { lock: self },
        }
    }

    /// Takes the lock if it is free right now (and nobody waits for it).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_take(1) {
            true => Ok(MutexGuard { lock: self }),
            false => Err(TryLockError(())),
        }
    }

    /// As [`try_lock`](Self::try_lock), for an `Arc<Mutex<T>>`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_take(1) {
            true => Ok(OwnedMutexGuard {
                held: OwnedHeld { lock: self },
            }),
            false => Err(TryLockError(())),
        }
    }

    /// The data, through a unique borrow of the mutex: no locking is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }

    /// Consumes the mutex and returns the data.
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Mutex<T> {
        Mutex::new(t)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Turns the guard into one for a part of the data, chosen by `f`. The lock stays held.
    ///
    /// An associated function (`MutexGuard::map(guard, ..)`), so that it does not hide a
    /// method of `T`.
    ///
    /// ```
    /// use rawrt::sync::{Mutex, MutexGuard};
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let pair = Mutex::new((1, String::from("a")));
    ///     let mut name = MutexGuard::map(pair.lock().await, |p| &mut p.1);
    ///     name.push('b');
    ///     assert!(pair.try_lock().is_err(), "still locked");
    ///     drop(name);
    ///     assert_eq!(pair.lock().await.1, "ab");
    /// });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        // If `f` panics, `this` is dropped and releases the lock.
        let data = NonNull::from(f(&mut *this));
        let s = &this.lock.s;
        // The mapped guard takes over the permit.
        std::mem::forget(this);
        MappedMutexGuard {
            s,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](Self::map), if `f` returns `Some`; otherwise gives the original guard back.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let s = &this.lock.s;
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            _borrow: PhantomData,
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit, so no other guard exists; the
        // returned borrow of `self` keeps `deref_mut` from being called while it lives.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the unique borrow of `self` makes this the only reference.
        unsafe { &mut *self.lock.c.get() }
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// As [`MutexGuard::map`], for an owned guard.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        OwnedMappedMutexGuard {
            held: this.held,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`MutexGuard::try_map`], for an owned guard.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => Ok(OwnedMappedMutexGuard {
                held: this.held,
                data,
                _borrow: PhantomData,
            }),
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (see `MutexGuard::deref`).
        unsafe { &*self.held.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the mutex's only permit; `self` is borrowed uniquely.
        unsafe { &mut *self.held.lock.c.get() }
    }
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further; see [`MutexGuard::map`].
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = NonNull::from(f(&mut *this));
        let s = this.s;
        std::mem::forget(this);
        MappedMutexGuard {
            s,
            data,
            _borrow: PhantomData,
        }
    }

    /// Narrows the guard further if `f` returns `Some`; see [`MutexGuard::try_map`].
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let s = this.s;
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            _borrow: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `data` points into the data of a mutex borrowed for `'a`, whose only permit
        // this guard holds; it was derived from a `&mut` obtained under that permit.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Narrows the guard further; see [`MutexGuard::map`].
    pub fn map<S: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        let data = NonNull::from(f(&mut *this));
        OwnedMappedMutexGuard {
            held: this.held,
            data,
            _borrow: PhantomData,
        }
    }

    /// Narrows the guard further if `f` returns `Some`; see [`MutexGuard::try_map`].
    pub fn try_map<S: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        match f(&mut *this).map(NonNull::from) {
            Some(data) => Ok(OwnedMappedMutexGuard {
                held: this.held,
                data,
                _borrow: PhantomData,
            }),
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: `data` points into the data of the mutex that `held` keeps alive (an `Arc`)
        // and whose only permit it holds.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `self` is borrowed uniquely.
        unsafe { self.data.as_mut() }
    }
}

macro_rules! fmt_guard {
    ($([$($g:tt)*] $ty:ty => $target:ident;)*) => {$(
        impl<$($g)*> fmt::Debug for $ty where $target: fmt::Debug {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
        impl<$($g)*> fmt::Display for $ty where $target: fmt::Display {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}
pub(super) use fmt_guard;

fmt_guard! {
    ['a, T: ?Sized] MutexGuard<'a, T> => T;
    [T: ?Sized] OwnedMutexGuard<T> => T;
    ['a, T: ?Sized] MappedMutexGuard<'a, T> => T;
    [T: ?Sized, U: ?Sized] OwnedMappedMutexGuard<T, U> => U;
}
