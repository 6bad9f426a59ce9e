//! The `blocking_*` methods' wait: the calling thread polls the future and parks between
//! polls (the scheduler's `park_thread`, as `block_on` does). Refused, with a panic as Tokio's,
//! on a thread that drives a runtime (a worker, or inside `block_on`), where blocking would
//! stall that thread's tasks — possibly the one that would complete the wait. A plain thread,
//! a `spawn_blocking` closure and `block_in_place` are fine: the runtime may be current there,
//! but the thread runs no tasks.

use std::future::Future;

/// Runs `future` to completion on this thread; `what` names the method in the panic.
#[track_caller]
pub(crate) fn block_thread_on<F: Future>(what: &str, future: F) -> F::Output {
    if crate::scheduler::context::is_entered() {
        panic!(
            "rawrt: {what} called on a thread that drives a runtime (a worker, or inside \
             block_on): blocking it would stall the runtime's tasks; .await the async method \
             instead, or call it from a plain thread or a spawn_blocking closure"
        );
    }
    crate::scheduler::park_thread_block_on(future)
}
