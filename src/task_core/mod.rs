//! Tasks: one heap allocation per spawned future, an atomic state word, wakers over the task
//! pointer, and the `JoinHandle`.
//!
//! The protocol — which bit of the state word guards which field, and how references are
//! counted — is documented in `state.rs`; the memory layout in `core.rs`. In short:
//!
//! - A task is created with three references: the owned-tasks list's (`Task`), the first
//!   `Notified`'s (the scheduler's queue) and the `JoinHandle`'s.
//! - A `Notified` is a task in a run queue. Running it turns its reference into the *running*
//!   reference; when the poll returns `Pending` that reference is released, or — if the task
//!   was woken meanwhile — becomes the next `Notified` (`yield_now` on the scheduler).
//! - Wakers each hold a reference. `wake` on an idle task turns the waker's reference into a
//!   `Notified`; on a running task it sets `NOTIFIED` so the worker reschedules after the poll.
//! - On completion the output is stored, the join waker is woken, and the task leaves the
//!   owned list (the scheduler's `release`), dropping the list's and the running reference.
//! - The last reference frees the allocation. The future and the output are each dropped
//!   exactly once, in place, and a panic in poll or in a destructor becomes a `JoinError`.

mod abort;
mod core;
mod error;
mod harness;
mod join;
mod list;
mod raw;
mod state;
mod waker;
mod yield_now;

#[cfg(all(test, loom))]
pub(crate) mod loom_support;
#[cfg(all(test, loom))]
mod loom_tests;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

pub use abort::AbortHandle;
pub use error::JoinError;
pub use join::JoinHandle;
pub(crate) use list::OwnedTasks;
pub use yield_now::yield_now;

use self::core::Header;
use raw::RawTask;

/// A task's id: unique among all tasks of the process, for as long as it runs (ids are not
/// reused). It is what [`task::id`](crate::task::id) returns inside the task and what
/// [`JoinHandle::id`], [`AbortHandle::id`] and [`JoinError::id`] return outside it.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let join = rawrt::spawn(async { rawrt::task::id() });
///     let id = join.id();
///     assert_eq!(join.await.unwrap(), id);
///     println!("task {id} done");
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub(crate) u64);

impl Id {
    /// A fresh id (process-wide counter; `Relaxed`: only uniqueness matters).
    pub(crate) fn next() -> Id {
        // A plain std atomic even under loom: the counter is not part of any modelled
        // protocol, and a loom atomic cannot be a `static`.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Id(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// What a task needs from its scheduler.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// The task completed: remove it from the owned list and return the list's reference.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queue the task to be polled. Implementations must not touch `self` after publishing
    /// the task to another thread: the task (which holds `self`) may complete and be freed.
    fn schedule(&self, task: Notified<Self>);

    /// The task woke itself while running: queue it behind the others.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// An owned reference to a task (the one the owned-tasks list holds).
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

// SAFETY: tasks are only created from `Send` futures (`OwnedTasks::bind` requires it) with a
// `Send + Sync` scheduler; the header is thread-safe.
unsafe impl<S: Schedule> Send for Task<S> {}
// SAFETY: as above; `&Task` exposes no access to the future.
unsafe impl<S: Schedule> Sync for Task<S> {}

/// A task that is scheduled: the reference a run queue holds.
#[repr(transparent)]
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: as for `Task`.
unsafe impl<S: Schedule> Send for Notified<S> {}
// SAFETY: as for `Task`.
unsafe impl<S: Schedule> Sync for Notified<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// `ptr` is a task header and the caller hands over one reference.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            // SAFETY: forwarded contract.
            raw: unsafe { RawTask::from_raw(ptr) },
            _p: PhantomData,
        }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.raw.header_ptr()
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.raw.header().id
    }

    /// Runtime shutdown: cancel the task (if idle) and release this reference.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        std::mem::forget(self);
        raw.shutdown(None);
    }
}

impl<S: 'static> Notified<S> {
    /// # Safety
    /// As for [`Task::from_raw`].
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded contract.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    /// Polls the task (or cancels it, if it was aborted). Consumes this reference.
    ///
    /// While the syscall trace is on, the calls made during the poll are recorded under this
    /// task's id (one relaxed load when it is off).
    pub(crate) fn run(self) {
        let raw = self.0.raw;
        let traced = rawrt_sys::trace::is_enabled();
        if traced {
            rawrt_sys::trace::set_task(self.id().0);
        }
        std::mem::forget(self);
        raw.poll();
        if traced {
            rawrt_sys::trace::set_task(0);
        }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.0.id()
    }

    /// Cancels a task that never ran (an unowned task rejected by a closed pool), with this
    /// reference.
    pub(crate) fn shutdown(self) {
        self.0.shutdown();
    }

    /// Cancels a task that never ran because of `cause` (an unowned task that no thread could
    /// be started for): its `JoinError` is cancelled and carries `cause`.
    pub(crate) fn cancel_because(self, cause: std::io::Error) {
        let raw = self.0.raw;
        std::mem::forget(self);
        raw.shutdown(Some(cause));
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl<S: 'static> fmt::Debug for Notified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notified({})", self.id())
    }
}

/// Allocates a task: (the list's `Task`, the first `Notified`, the `JoinHandle`).
fn new_task<F, S>(future: F, scheduler: S, id: Id) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: Future + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, id);
    let task = Task {
        raw,
        _p: PhantomData,
    };
    let notified = Notified(Task {
        raw,
        _p: PhantomData,
    });
    (task, notified, JoinHandle::new(raw))
}

/// Creates a task that is not in any owned-tasks list (blocking-pool tasks: they are run once
/// by a pool thread and are not cancelled by runtime shutdown once started). Returns the
/// `Notified` to run and the `JoinHandle`.
pub(crate) fn unowned<F, S>(future: F, scheduler: S, id: Id) -> (Notified<S>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let (task, notified, join) = new_task(future, scheduler, id);
    // No list holds the task: release that reference now. The Notified and the JoinHandle
    // keep it alive.
    drop(task);
    (notified, join)
}
