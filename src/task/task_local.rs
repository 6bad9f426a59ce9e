//! Task-local values: `task_local!` and [`LocalKey`].
//!
//! A value is put in scope by [`LocalKey::scope`] (for every poll of one future) or
//! [`LocalKey::sync_scope`] (for one closure call). While in scope it sits in a frame on the
//! stack of the code that polls (or calls), linked into a per-thread list kept by the
//! scheduler's thread context (rawrt's one thread-local; no key gets a thread-local of its
//! own). The list is unlinked when that poll or call returns, and also when it unwinds, so a
//! panic inside a scope restores the value that was in scope before. Finding a value walks
//! the list from the innermost scope outwards: one step per scope entered around the access,
//! usually one or two. Entering a scope costs two thread-local stores and no allocation.
//!
//! The value is therefore visible exactly while the scoped future is being polled (on
//! whichever thread polls it), and not in tasks it spawns: they are polled by the scheduler,
//! outside that poll.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::scheduler::context;

/// Declares task-local keys: `static`s of type [`LocalKey<T>`](crate::task::LocalKey), whose
/// value is set for the duration of a future's polls with
/// [`scope`](crate::task::LocalKey::scope).
///
/// ```
/// rawrt::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let seen = REQUEST_ID
///         .scope(7, async {
///             rawrt::task::yield_now().await; // still in scope after a suspension
///             REQUEST_ID.get()
///         })
///         .await;
///     assert_eq!(seen, 7);
///     assert!(REQUEST_ID.try_with(|_| ()).is_err()); // out of scope again
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::__new();
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::__new();
    };
}

/// A key for task-local values of type `T`, declared with [`task_local!`](crate::task_local).
///
/// The key is identified by its address (that of its `static`), so each `task_local!`
/// declaration is a distinct key.
pub struct LocalKey<T: 'static> {
    // Not zero-sized: distinct statics then have distinct addresses.
    _addr: u8,
    _p: PhantomData<fn() -> T>,
}

/// The error of [`LocalKey::try_with`] and [`LocalKey::try_get`]: no value in scope.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _p: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set: not inside a scope of this key")
    }
}

impl Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new() -> LocalKey<T> {
        LocalKey {
            _addr: 0,
            _p: PhantomData,
        }
    }

    fn key(&'static self) -> usize {
        self as *const LocalKey<T> as usize
    }

    /// Wraps `future` so that this key has `value` while it is polled (and while it is
    /// dropped). Nested scopes of the same key shadow the outer value.
    ///
    /// ```
    /// rawrt::task_local! { static DEPTH: u32; }
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(DEPTH.scope(1, async {
    ///     assert_eq!(DEPTH.get(), 1);
    ///     DEPTH.scope(2, async { assert_eq!(DEPTH.get(), 2) }).await;
    ///     assert_eq!(DEPTH.get(), 1);
    /// }));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value,
            future: Some(future),
        }
    }

    /// Runs `f` with this key set to `value`, then returns what `f` returned. The value is
    /// dropped after the scope ends (also when `f` panics).
    ///
    /// ```
    /// rawrt::task_local! { static NAME: &'static str; }
    /// let len = NAME.sync_scope("rawrt", || NAME.with(|n| n.len()));
    /// assert_eq!(len, 5);
    /// ```
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        context::with_task_local(self.key(), &value as &dyn Any, f)
    }

    /// Runs `f` with a reference to the value in scope.
    ///
    /// # Panics
    /// Outside a scope of this key (see [`try_with`](Self::try_with)).
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "rawrt task-local value accessed outside its scope: `with` or `get` called \
                 where no `LocalKey::scope` or `sync_scope` of this key is active (note that \
                 spawned tasks do not inherit task-locals)"
            ),
        }
    }

    /// Runs `f` with a reference to the value in scope, or returns [`AccessError`] outside a
    /// scope of this key.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        context::find_task_local(self.key(), |v| {
            match v.and_then(|v| v.downcast_ref::<T>()) {
                Some(v) => Ok(f(v)),
                None => Err(AccessError { _p: () }),
            }
        })
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the value in scope.
    ///
    /// # Panics
    /// Outside a scope of this key.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A clone of the value in scope, or [`AccessError`].
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// The future of [`LocalKey::scope`]: polls the inner future with the value in scope.
#[must_use = "futures do nothing unless polled"]
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    value: T,
    future: Option<F>,
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` (the `Drop`
        // impl drops it in place), and `TaskLocalFuture` is `Unpin` only when `F` is. `key`
        // and `value` are not pinned and only read here.
        let this = unsafe { self.get_unchecked_mut() };
        let key = this.key.key();
        let value = &this.value as &dyn Any;
        // SAFETY: as above: the pinned field is never moved.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        context::with_task_local(key, value, || match future.as_pin_mut() {
            Some(f) => f.poll(cx),
            None => panic!("`TaskLocalFuture` polled after it completed"),
        })
        .map(|out| {
            // Done: the inner future is dropped at once, inside the scope.
            drop_in_scope(this);
            out
        })
    }
}

/// Drops the inner future in place with the value in scope.
fn drop_in_scope<T: 'static, F>(this: &mut TaskLocalFuture<T, F>) {
    if this.future.is_none() {
        return;
    }
    let key = this.key.key();
    let value = &this.value as &dyn Any;
    let slot = &mut this.future;
    // Dropping in place (writing `None` over it) is allowed for a pinned value.
    context::with_task_local(key, value, || *slot = None);
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        drop_in_scope(self);
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    //! Runtime-free (polled by hand), so they also run under Miri (`scripts/miri.sh`), which
    //! checks the frame list's pointers.

    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    crate::task_local! {
        static A: u32;
        static B: String;
    }

    fn poll<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn scopes_nest_shadow_and_unwind() {
        assert!(A.try_get().is_err());
        A.sync_scope(1, || {
            B.sync_scope("b".into(), || {
                A.sync_scope(2, || {
                    assert_eq!(A.get(), 2);
                    // A nested `with` of the same key, and of another one, inside `with`.
                    A.with(|a| A.with(|a2| assert_eq!((*a, *a2), (2, 2))));
                    B.with(|b| assert_eq!(b, "b"));
                });
                assert_eq!(A.get(), 1);
                let caught = std::panic::catch_unwind(|| A.sync_scope(3, || panic!("x")));
                assert!(caught.is_err());
                assert_eq!(A.get(), 1);
            });
            assert!(B.try_get().is_err());
        });
        assert!(A.try_get().is_err());
    }

    #[test]
    fn a_scoped_future_sees_its_value_only_while_polled() {
        let mut polls = 0;
        let fut = A.scope(
            7,
            std::future::poll_fn(|cx| {
                assert_eq!(A.get(), 7);
                polls += 1;
                if polls < 3 {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(A.get() * 6)
                }
            }),
        );
        let mut fut = pin!(fut);
        assert!(poll(fut.as_mut()).is_pending());
        assert!(A.try_get().is_err(), "not in scope between polls");
        // Polled inside another scope of the same key: its own value wins.
        A.sync_scope(1, || assert!(poll(fut.as_mut()).is_pending()));
        assert_eq!(poll(fut.as_mut()), Poll::Ready(42));
    }
}
