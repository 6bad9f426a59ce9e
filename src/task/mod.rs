//! Tasks: spawning, joining, yielding, and running blocking code off the workers.
//!
//! The task machinery itself (one allocation per task, the atomic state word, wakers) lives
//! in the crate's `task_core` layer; this module is its public face, plus what is built on
//! top of it: [`JoinSet`] (tasks awaited in completion order), [`LocalSet`] and
//! [`spawn_local`] (`!Send` tasks on one thread), and task-local values
//! ([`task_local!`](crate::task_local), [`LocalKey`]).
//!
//! Task ids ([`id`], [`try_id`]) come from one process-wide counter, so they are unique
//! across runtimes and `LocalSet`s; the scheduler records the id of the task it polls in
//! its thread context around each poll (two thread-local stores per poll).
//!
//! One difference from Tokio: when a task's `poll` panics, rawrt catches the panic first and
//! then drops the future (so `std::thread::panicking()` is false in the future's
//! destructors), where Tokio drops it during the unwinding. rawrt does so that a
//! destructor that panics in turn is caught like the first panic instead of aborting the
//! process; the `JoinError` carries the first panic's payload either way.

mod blocking;
pub mod coop;
mod join;
mod join_set;
mod local;
mod task_local;

pub use crate::runtime::{spawn, spawn_blocking};
pub use crate::task_core::{yield_now, AbortHandle, Id, JoinError, JoinHandle};
pub use blocking::block_in_place;
pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalEnterGuard, LocalSet, RunUntil};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};

/// The id of the task being polled.
///
/// # Panics
/// Outside a task (for instance in `block_on`'s own future, which is not a task); see
/// [`try_id`].
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let a = rawrt::spawn(async { rawrt::task::id() });
///     let b = rawrt::spawn(async { rawrt::task::id() });
///     let (ida, idb) = (a.id(), b.id());
///     assert_eq!(a.await.unwrap(), ida);
///     assert_eq!(b.await.unwrap(), idb);
///     assert_ne!(ida, idb);
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[track_caller]
pub fn id() -> Id {
    match try_id() {
        Some(id) => id,
        None => panic!(
            "rawrt::task::id called outside of a task (block_on's own future is not a task; \
             use try_id to check)"
        ),
    }
}

/// The id of the task being polled, or `None` outside a task.
///
/// ```
/// assert!(rawrt::task::try_id().is_none());
/// let rt = rawrt::Runtime::new()?;
/// let id = rt.block_on(async { rawrt::spawn(async { rawrt::task::try_id() }).await.unwrap() });
/// assert!(id.is_some());
/// # Ok::<_, std::io::Error>(())
/// ```
pub fn try_id() -> Option<Id> {
    crate::scheduler::context::current_task_id()
}
