//! The thread-local "current runtime": set on worker threads and inside `block_on` /
//! `Handle::enter`, read by `rawrt::spawn` and by I/O types to find their reactor.

use std::cell::{Cell, RefCell};

use super::Handle;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// Set while this thread is driving a runtime (worker or `block_on`): a nested `block_on`
    /// would deadlock, so it is refused.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// The current runtime's handle, if any.
pub(crate) fn try_current() -> Option<Handle> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Makes `handle` current until the guard drops (restoring the previous one).
pub(crate) fn set_current(handle: Handle) -> SetCurrentGuard {
    let prev = CURRENT.with(|c| c.replace(Some(handle)));
    SetCurrentGuard { prev }
}

/// Restores the previously current runtime.
pub(crate) struct SetCurrentGuard {
    prev: Option<Handle>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Marks this thread as driving a runtime; `None` if it already does.
pub(crate) fn enter_runtime() -> Option<EnterRuntimeGuard> {
    if IN_RUNTIME.with(|c| c.replace(true)) {
        return None;
    }
    Some(EnterRuntimeGuard(()))
}

/// Clears the in-runtime mark.
pub(crate) struct EnterRuntimeGuard(());

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        IN_RUNTIME.with(|c| c.set(false));
    }
}
