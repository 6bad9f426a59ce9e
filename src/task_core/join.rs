//! `JoinHandle`: the awaitable owner of a task's output.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use super::raw::RawTask;
use super::{AbortHandle, Id, JoinError};

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] when the task panicked or was
/// cancelled. Dropping it *detaches* the task: the task keeps running and its output is
/// dropped when it finishes. [`abort`](Self::abort) cancels the task.
///
/// ```
/// let rt = rawrt::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let handle = rawrt::spawn(async { 1 + 2 });
///     handle.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _p: PhantomData<T>,
}

// SAFETY: the handle only moves the output `T` across threads (it is produced on a worker and
// taken by the awaiting thread); the task header it points to is thread-safe.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, which touch atomics only.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

// Like Tokio's: a `JoinHandle` exposes no shared state that a panic could leave half-updated
// (its operations are single atomic transitions), so catching a panic around it is safe.
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Takes over the reference the new task reserved for its `JoinHandle`.
    pub(super) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _p: PhantomData,
        }
    }

    /// Cancels the task. If it is idle it is cancelled at once by a worker; if it is being
    /// polled, it is cancelled when that poll returns. Awaiting the handle afterwards gives
    /// a [`JoinError`] with [`is_cancelled`](JoinError::is_cancelled) — unless the task
    /// completed first, in which case its output is returned. Aborting twice, or aborting a
    /// finished task, does nothing.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id (the value [`task::id`](crate::task::id) returns inside it).
    pub fn id(&self) -> Id {
        self.raw.header().id
    }

    /// A handle that can cancel the task (and ask whether it finished) without owning its
    /// output; it does not keep the output alive, and dropping it does nothing to the task.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl<T> JoinHandle<T> {
    /// Reads the output if the task has finished, else stores `cx`'s waker. The `Future`
    /// impl (with the cooperative budget, which this layer knows nothing of) is in
    /// `src/task/join.rs`.
    #[inline]
    pub(crate) fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut ret: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `T` is the task's output type (fixed at spawn) and we are its JoinHandle.
        unsafe {
            self.raw.try_read_output(
                &mut ret as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.raw.state().drop_join_handle_fast().is_ok() {
            return;
        }
        self.raw.drop_join_handle_slow();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
