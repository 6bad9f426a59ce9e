//! `SetOnce<T>`: a value set once, that tasks can wait for.
//!
//! The value lives in a `std::sync::OnceLock<T>`; waiting is an acquire on a [`Semaphore`]
//! that has no permits and is closed right after the value is stored. So `wait` either sees the
//! value at once, or queues on the semaphore and fails its acquire (woken by the close) once
//! the value is there — a close that comes between the check and the acquire makes the acquire
//! fail at once, so no wakeup is lost. No `unsafe`.

use std::fmt;
use std::sync::OnceLock;

use super::once_cell::budget_point;
use super::Semaphore;

/// A value that is set at most once, by any task or thread, and that tasks can
/// [`wait`](Self::wait) for.
///
/// ```
/// use std::sync::Arc;
/// use rawrt::sync::SetOnce;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let ready = Arc::new(SetOnce::new());
///     let waiter = {
///         let ready = ready.clone();
///         rawrt::spawn(async move { *ready.wait().await * 2 })
///     };
///     ready.set(21).unwrap();
///     assert!(ready.set(0).is_err(), "set only once");
///     assert_eq!(waiter.await.unwrap(), 42);
/// });
/// ```
pub struct SetOnce<T> {
    value: OnceLock<T>,
    /// No permits; closed once the value is set.
    set: Semaphore,
}

/// The error of [`SetOnce::set`]: the value was already set. It gives the new value back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value is already set")
    }
}

impl<T: fmt::Debug> std::error::Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// An unset `SetOnce`.
    pub fn new() -> SetOnce<T> {
        SetOnce {
            value: OnceLock::new(),
            set: Semaphore::new(0),
        }
    }

    /// As [`new`](Self::new), usable in a `const` or `static` initializer (not available in
    /// rawrt's loom build).
    #[cfg(not(loom))]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce {
            value: OnceLock::new(),
            set: Semaphore::const_new(0),
        }
    }

    /// A `SetOnce` holding `value`, or an unset one for `None`.
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        let once = SetOnce::new();
        if let Some(value) = value {
            let _ = once.set(value);
        }
        once
    }

    /// True once the value is set.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if set (never waits).
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Sets the value and wakes every task in [`wait`](Self::wait); fails with
    /// [`SetOnceError`] (giving `value` back) if it was already set.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.value.set(value).map_err(SetOnceError)?;
        self.set.close();
        Ok(())
    }

    /// Consumes the `SetOnce` and returns its value, if set.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Waits until the value is set and returns it.
    ///
    /// Cancel safety: dropping the future loses nothing (it only waits).
    pub async fn wait(&self) -> &T {
        if let Some(value) = self.get() {
            budget_point().await;
            return value;
        }
        loop {
            // Nobody adds permits: the acquire can only end by the close in `set`.
            if let Err(_closed) = self.set.acquire().await {
                if let Some(value) = self.get() {
                    return value;
                }
            }
        }
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> SetOnce<T> {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> SetOnce<T> {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> SetOnce<T> {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &SetOnce<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}
