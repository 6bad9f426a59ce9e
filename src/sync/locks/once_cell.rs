//! `OnceCell<T>`: a cell written at most once, with async initialization.
//!
//! The value lives in a `std::sync::OnceLock<T>` (which gives the lock-free `get` and its
//! memory ordering: a `get` that sees the value sees it fully written), and a
//! [`Semaphore`] with one permit decides who initializes it: a task must hold the permit to
//! run its initializer. When the value is set, the semaphore is closed — "closed" means
//! "initialized" — so every task waiting for the permit fails its acquire and returns the
//! value. If an initializer fails (`get_or_try_init`), panics or is cancelled, its permit is
//! dropped and goes to the next waiter in FIFO order, which runs its own initializer.
//!
//! No `unsafe`: `OnceLock` does the cell, the semaphore the waiting.

use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::OnceLock;
use std::task::Poll;

use super::semaphore::{SemaphorePermit, TryAcquireError};
use super::Semaphore;
use crate::scheduler::coop;

/// A thread-safe cell that is written at most once, whose initialization may be async.
///
/// [`get_or_init`](Self::get_or_init) runs the initializer of exactly one of the tasks that
/// call it concurrently; the others wait for it and return the value it stored. If that
/// initializer is cancelled (or fails, for [`get_or_try_init`](Self::get_or_try_init)), the
/// next waiting task runs its own.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use rawrt::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
/// static LOADS: AtomicUsize = AtomicUsize::new(0);
///
/// async fn config() -> &'static str {
///     CONFIG
///         .get_or_init(|| async {
///             LOADS.fetch_add(1, Ordering::SeqCst);
///             String::from("loaded")
///         })
///         .await
/// }
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..4).map(|_| rawrt::spawn(config())).collect();
///     for t in tasks {
///         assert_eq!(t.await.unwrap(), "loaded");
///     }
///     assert_eq!(LOADS.load(Ordering::SeqCst), 1);
/// });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    /// One permit: the right to initialize. Closed once the value is set.
    semaphore: Semaphore,
}

/// The error of [`OnceCell::set`]; both variants give the value back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another task is running an initializer right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True for [`SetError::AlreadyInitializedError`].
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True for [`SetError::InitializingError`].
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already initialized"),
            SetError::InitializingError(_) => f.write_str("the cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

/// Takes one unit of the cooperative budget (yielding if it is spent): the fast paths that
/// return a value at once still count as an operation, so that a loop over them cannot starve
/// the other tasks of its worker.
pub(super) async fn budget_point() {
    poll_fn(|cx| coop::poll_budgeted(cx, |_| Poll::Ready(()))).await
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            semaphore: Semaphore::new(1),
        }
    }

    /// As [`new`](Self::new), usable in a `const` or `static` initializer (not available in
    /// rawrt's loom build).
    #[cfg(not(loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            semaphore: Semaphore::const_new(1),
        }
    }

    /// A cell holding `value`, or an empty one for `None`.
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            cell.store(value);
        }
        cell
    }

    /// True if the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if set (never waits).
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, through a unique borrow of the cell.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Stores `value` in an empty cell. The caller holds the semaphore's permit (or the cell is
    /// not shared yet), so the `OnceLock` is empty.
    fn store(&self, value: T) -> &T {
        let stored = match self.value.set(value) {
            Ok(()) => self.value.get(),
            Err(_) => None,
        };
        // Waiters for the permit now fail their acquire, and read the value.
        self.semaphore.close();
        stored.expect("only the permit holder sets the value")
    }

    /// As `store`, giving up the permit for good.
    fn set_value(&self, value: T, permit: SemaphorePermit<'_>) -> &T {
        permit.forget();
        self.store(value)
    }

    /// Sets the value if the cell is empty and nobody is initializing it.
    ///
    /// Fails with [`SetError::AlreadyInitializedError`] if it holds a value, and with
    /// [`SetError::InitializingError`] while a `get_or_init` initializer runs; both give
    /// `value` back.
    ///
    /// ```
    /// use rawrt::sync::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert_eq!(cell.set(2).unwrap_err().is_already_init_err(), true);
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                self.set_value(value, permit);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// The value; if the cell is empty, runs `f` and stores what it returns.
    ///
    /// Among concurrent callers only one runs its `f` at a time; the others wait for it (in
    /// FIFO order) and return its value. If the running `f` is cancelled (the future of this
    /// call dropped) or panics, the next waiter runs its own `f`.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.get() {
            budget_point().await;
            return value;
        }
        match self.semaphore.acquire().await {
            // The permit is dropped (and passed on) if `f` is cancelled or panics.
            Ok(permit) => {
                let value = f().await;
                self.set_value(value, permit)
            }
            Err(_) => self
                .get()
                .expect("the semaphore is closed once the value is set"),
        }
    }

    /// As [`get_or_init`](Self::get_or_init) with a fallible initializer: if `f` fails, its
    /// error is returned, the cell stays empty and the next waiter (or caller) tries its own.
    ///
    /// ```
    /// use rawrt::sync::OnceCell;
    ///
    /// let rt = rawrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let cell = OnceCell::new();
    ///     let first = cell.get_or_try_init(|| async { Err::<u32, _>("offline") }).await;
    ///     assert_eq!(first, Err("offline"));
    ///     let second = cell.get_or_try_init(|| async { Ok::<_, &str>(7) }).await;
    ///     assert_eq!(second, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            budget_point().await;
            return Ok(value);
        }
        match self.semaphore.acquire().await {
            Ok(permit) => {
                let value = f().await?;
                Ok(self.set_value(value, permit))
            }
            Err(_) => Ok(self
                .get()
                .expect("the semaphore is closed once the value is set")),
        }
    }

    /// Takes the value out, leaving the cell empty (and ready to be initialized again).
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }

    /// Consumes the cell and returns its value, if any.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
