//! `AbortHandle`: a reference to a task that can cancel it, but not join it.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::raw::RawTask;
use super::Id;

/// Cancels a task without owning its output (see
/// [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle)). Dropping it does nothing
/// to the task; it may be cloned and sent to other threads freely.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let join = rawrt::spawn(std::future::pending::<()>());
///     let abort = join.abort_handle();
///     assert_eq!(abort.id(), join.id());
///     abort.abort();
///     assert!(join.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: an `AbortHandle` only touches the task's atomic state word and its immutable id
// (and schedules it through its thread-safe scheduler): never the future or the output.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl UnwindSafe for AbortHandle {}
impl RefUnwindSafe for AbortHandle {}

impl AbortHandle {
    /// Takes a new reference to `raw`'s task.
    pub(super) fn new(raw: RawTask) -> AbortHandle {
        raw.ref_inc();
        AbortHandle { raw }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort) does.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
