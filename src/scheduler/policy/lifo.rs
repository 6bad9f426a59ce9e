//! Which task a worker's LIFO slot takes: the task that runs right after the current one.
//!
//! Tokio puts every task pushed by a running task (a spawn or a wake) into the slot, so the
//! other end of a message runs while its data is still in cache. rawrt keeps that for
//! spawns, and for wakes when nothing else waits in the worker's queue (one task answering
//! another: a ping-pong, a request handed to a handler). A task *woken* while other tasks
//! are queued goes to the back of the queue instead, behind them:
//! - it waits its turn, as every other runnable task does;
//! - a task woken by several of the queued tasks runs once, after all of them, not once per
//!   wake. The case that decided it: hyper's HTTP/2 server spawns a task per request and
//!   each one wakes the connection task when its response is ready. With the slot, the
//!   connection ran after every response and wrote each in its own `sendmsg` (0.86 per
//!   request under `h2load -c10 -m10`); behind the queue it writes all ten streams' answers
//!   at once (0.11 per request), and serves 1.5× as many requests with a lower p99.
//!
//! Spawns keep the slot: a spawned task usually works on what its parent just produced, and
//! the slot is then worth a cache-warm start (the `ping_pong` benchmark, whose pairs are
//! spawned behind a thousand queued tasks, takes 17 % longer when spawns queue too).
//! Yields never take the slot (the task would run again at once).

/// Why a running worker queues a task on itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pushed {
    /// A new task (`spawn`).
    Spawned,
    /// A task whose waker was called (by the running task, or by the driver while the
    /// worker parks on it).
    Woken,
    /// A task that yielded (`yield_now`, an exhausted budget).
    Yielded,
}

/// Whether the task goes into the LIFO slot (else the back of the local queue), given why it
/// was pushed and whether the local queue holds tasks already.
pub(crate) fn takes_lifo_slot(why: Pushed, queue_has_tasks: bool) -> bool {
    match why {
        Pushed::Spawned => true,
        Pushed::Woken => !queue_has_tasks,
        Pushed::Yielded => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawns_take_the_slot_even_behind_a_queue() {
        assert!(takes_lifo_slot(Pushed::Spawned, false));
        assert!(takes_lifo_slot(Pushed::Spawned, true));
    }

    #[test]
    fn wakes_take_the_slot_only_when_nothing_waits() {
        assert!(takes_lifo_slot(Pushed::Woken, false));
        assert!(!takes_lifo_slot(Pushed::Woken, true));
    }

    #[test]
    fn yields_never_take_the_slot() {
        assert!(!takes_lifo_slot(Pushed::Yielded, false));
        assert!(!takes_lifo_slot(Pushed::Yielded, true));
    }
}
