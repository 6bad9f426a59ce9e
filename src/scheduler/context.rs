//! The one thread-local of rawrt: which runtime this thread works for, and how.
//!
//! | field | set by | read by |
//! |---|---|---|
//! | `handle`: the current runtime | a worker (for its life), `block_on`, `Handle::enter`, a blocking-pool closure | `rawrt::spawn` and friends, the I/O and timer constructors (borrowed), `Handle::current` (cloned) |
//! | `scheduler`: the running scheduler loop's per-thread state (a worker's core slot) | a worker's loop, the current-thread `block_on` loop, for their whole run | every wake and spawn on this thread, to queue locally without a lock |
//! | `entered`: this thread drives a runtime | a worker, `block_on` | `block_on`, which refuses to nest |
//! | `budget`: the running task poll's cooperative budget (`coop.rs`) | each task poll, `block_on`'s polls, `unconstrained` | every resource operation (`coop::poll_proceed`) |
//! | `task_id`: the id of the task being polled | [`run_task`] around each task poll (workers, current-thread loop, blocking pool, `LocalSet`) | `rawrt::task::id` / `try_id` |
//! | `local_set`: the `LocalSet` entered on this thread (type-erased) | `LocalSet::enter`, its `run_until` polls | `rawrt::task::spawn_local` |
//! | `task_locals`: the stack of `task_local!` values in scope | a `task_local!` scope, for one poll or one closure call | `LocalKey::with` and friends |
//!
//! Everything is reached through [`with_current`] and [`with_scheduler`], which borrow;
//! nothing on the spawn path clones a handle. `scheduler` is a pointer to a value on the
//! stack frame of [`set_scheduler`]'s caller, set for the duration of a closure and reset by
//! a guard when that closure returns or unwinds, so it never outlives its target.
//!
//! The context has no destructor (the handle sits in a `ManuallyDrop`): a thread-local
//! without one needs no lazy registration, so each access is a plain load from the thread's
//! TLS block — there is one on every spawn, wake, task poll and budgeted operation. The
//! guards that set the handle restore what they replaced, and that is what drops it; only a
//! thread that leaks an `EnterGuard` and then exits leaks that one reference.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::Arc;

use super::coop::Budget;
use super::{Context, Handle};
use crate::task_core::{Id, Notified};

struct ThreadContext {
    handle: ManuallyDrop<RefCell<Option<Handle>>>,
    scheduler: Cell<*const Context>,
    entered: Cell<bool>,
    budget: Cell<Budget>,
    task_id: Cell<Option<Id>>,
    local_set: ManuallyDrop<RefCell<Option<Arc<dyn Any + Send + Sync>>>>,
    task_locals: Cell<*const TaskLocalFrame<'static>>,
}

thread_local! {
    static CONTEXT: ThreadContext = const {
        ThreadContext {
            handle: ManuallyDrop::new(RefCell::new(None)),
            scheduler: Cell::new(ptr::null()),
            entered: Cell::new(false),
            budget: Cell::new(Budget::unconstrained()),
            task_id: Cell::new(None),
            local_set: ManuallyDrop::new(RefCell::new(None)),
            task_locals: Cell::new(ptr::null()),
        }
    };
}

/// The running task poll's budget (unconstrained outside one, and while the thread exits).
#[inline]
pub(crate) fn budget() -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.get())
        .unwrap_or(Budget::unconstrained())
}

/// Sets the budget, returning the previous one.
#[inline]
pub(crate) fn replace_budget(budget: Budget) -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.replace(budget))
        .unwrap_or(Budget::unconstrained())
}

/// Sets the budget.
#[inline]
pub(crate) fn set_budget(budget: Budget) {
    let _ = CONTEXT.try_with(|cx| cx.budget.set(budget));
}

/// Runs `f` with the current runtime's handle, borrowed, and this thread's scheduler
/// context; `None` (without running `f`) outside a runtime.
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle, Option<&Context>) -> R) -> Option<R> {
    CONTEXT
        .try_with(|cx| {
            let handle = cx.handle.borrow();
            let handle = handle.as_ref()?;
            // SAFETY: `scheduler` is null or points at the `Context` of a `set_scheduler` call
            // that is still running on this thread (see the module docs).
            let scheduler = unsafe { cx.scheduler.get().as_ref() };
            Some(f(handle, scheduler))
        })
        .ok()
        .flatten()
}

/// A clone of the current runtime's handle, if any.
pub(crate) fn try_current() -> Option<Handle> {
    with_current(|h, _| h.clone())
}

/// Makes `handle` current until the guard drops (restoring the previous one).
pub(crate) fn set_current(handle: Handle) -> SetCurrentGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.handle.replace(Some(handle)))
        .ok()
        .flatten();
    SetCurrentGuard { prev }
}

/// Restores the previously current runtime when dropped.
pub(crate) struct SetCurrentGuard {
    prev: Option<Handle>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| *cx.handle.borrow_mut() = prev);
    }
}

/// Runs `f` with `scheduler` as this thread's scheduler context.
pub(crate) fn set_scheduler<R>(scheduler: &Context, f: impl FnOnce() -> R) -> R {
    struct Reset(*const Context);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.scheduler.set(self.0));
        }
    }
    let prev = CONTEXT
        .try_with(|cx| cx.scheduler.replace(scheduler))
        .unwrap_or(ptr::null());
    let _reset = Reset(prev);
    f()
}

/// Runs `f` with this thread's scheduler context, if a scheduler loop runs on it.
pub(crate) fn with_scheduler<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ptr = CONTEXT
        .try_with(|cx| cx.scheduler.get())
        .unwrap_or(ptr::null());
    // SAFETY: null, or the `Context` of a `set_scheduler` call still running on this thread.
    f(unsafe { ptr.as_ref() })
}

/// Marks this thread as driving a runtime; `None` if it already does.
pub(crate) fn enter_runtime() -> Option<EnterRuntimeGuard> {
    match CONTEXT.try_with(|cx| cx.entered.replace(true)) {
        Ok(false) => Some(EnterRuntimeGuard(())),
        // Already driving one, or the thread is exiting: refuse.
        _ => None,
    }
}

/// Whether this thread drives a runtime (a worker, or inside `block_on`).
pub(crate) fn is_entered() -> bool {
    CONTEXT.try_with(|cx| cx.entered.get()).unwrap_or(false)
}

/// Runs `f` with the driving mark cleared (restored after, also on unwinding): inside
/// `block_in_place`, where the thread no longer drives the runtime and may `block_on`.
pub(crate) fn exit_runtime<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.entered.set(self.0));
        }
    }
    let was = CONTEXT
        .try_with(|cx| cx.entered.replace(false))
        .unwrap_or(false);
    let _restore = Restore(was);
    f()
}

/// Clears the driving mark when dropped.
pub(crate) struct EnterRuntimeGuard(());

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| cx.entered.set(false));
    }
}

/// Runs `task` (one poll, or its cancellation) with its id as the current task id
/// (restored afterwards, also on unwinding).
#[inline]
pub(crate) fn run_task<S: 'static>(task: Notified<S>) {
    struct Restore(Option<Id>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.task_id.set(self.0));
        }
    }
    let id = task.id();
    let prev = CONTEXT
        .try_with(|cx| cx.task_id.replace(Some(id)))
        .unwrap_or(None);
    let _restore = Restore(prev);
    task.run();
}

/// The id of the task being polled on this thread, if any.
pub(crate) fn current_task_id() -> Option<Id> {
    CONTEXT.try_with(|cx| cx.task_id.get()).unwrap_or(None)
}

/// Makes `set` (a `LocalSet`'s shared state, type-erased: it lives in a layer above) this
/// thread's current local set until the guard drops.
pub(crate) fn enter_local_set(set: Arc<dyn Any + Send + Sync>) -> LocalSetGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.local_set.replace(Some(set)))
        .ok()
        .flatten();
    LocalSetGuard { prev }
}

/// Restores the previously entered local set when dropped.
pub(crate) struct LocalSetGuard {
    prev: Option<Arc<dyn Any + Send + Sync>>,
}

impl Drop for LocalSetGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| *cx.local_set.borrow_mut() = prev);
    }
}

/// A clone of the local set entered on this thread, if any.
pub(crate) fn current_local_set() -> Option<Arc<dyn Any + Send + Sync>> {
    CONTEXT
        .try_with(|cx| cx.local_set.borrow().clone())
        .ok()
        .flatten()
}

/// One `task_local!` value in scope: a frame on the stack of [`with_task_local`]'s caller,
/// linked to the frame that was the innermost before it.
pub(crate) struct TaskLocalFrame<'a> {
    key: usize,
    value: &'a dyn Any,
    prev: *const TaskLocalFrame<'static>,
}

/// Runs `f` with `value` in scope for the task-local key `key` (the address of its static),
/// shadowing an outer value of the same key; the previous stack is restored when `f`
/// returns or unwinds.
pub(crate) fn with_task_local<R>(key: usize, value: &dyn Any, f: impl FnOnce() -> R) -> R {
    struct Pop(*const TaskLocalFrame<'static>);
    impl Drop for Pop {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.task_locals.set(self.0));
        }
    }
    let prev = CONTEXT
        .try_with(|cx| cx.task_locals.get())
        .unwrap_or(ptr::null());
    let frame = TaskLocalFrame { key, value, prev };
    // The frame outlives every use of the pointer: `Pop` unlinks it before this function's
    // stack frame (and `value`'s borrow) ends; readers only follow the pointer while a call
    // of this function further up their own stack is running (see `find_task_local`).
    let ptr: *const TaskLocalFrame<'static> = ptr::from_ref(&frame).cast();
    let _pop = Pop(prev);
    if CONTEXT.try_with(|cx| cx.task_locals.set(ptr)).is_err() {
        // The thread is exiting: nothing can be put in scope.
        return f();
    }
    f()
}

/// Runs `f` with the innermost value in scope for `key`, or `None`.
pub(crate) fn find_task_local<R>(key: usize, f: impl FnOnce(Option<&dyn Any>) -> R) -> R {
    let mut ptr = CONTEXT
        .try_with(|cx| cx.task_locals.get())
        .unwrap_or(ptr::null());
    // SAFETY: every non-null pointer in the list is a frame of a `with_task_local` call that is
    // still running on this thread, below us on the stack: frames are unlinked (by `Pop`)
    // before their call returns, and a frame pushed later (by `f`) is popped before `f`
    // returns, so the frames walked here and the values they borrow outlive this call.
    let found = unsafe {
        let mut found = None;
        while let Some(frame) = ptr.as_ref() {
            if frame.key == key {
                found = Some(frame.value);
                break;
            }
            ptr = frame.prev;
        }
        found
    };
    f(found)
}
