//! Scheduling policy: the heuristics the worker loop consults, apart from the loop itself.
//!
//! The mechanism (`multi_thread/worker.rs`) asks these questions and acts on the answers:
//! - *how often to look at the global injector first* — [`PollTimer`] measures a worker's
//!   mean poll time over its busy periods and turns it into an injector interval;
//! - *whether to wake a sleeping sibling for the work queued here* — [`SpreadRule`], which
//!   weighs the backlog (queued tasks × mean poll time) and, through [`cpu_idle`], how idle
//!   the runtime's CPUs have been lately;
//! - *whether a task pushed by a running worker runs next (the LIFO slot) or waits its turn*
//!   — [`takes_lifo_slot`], in `lifo.rs`;
//! - *whether a worker is stuck in one poll with work waiting on it* — [`stall`], which the
//!   runtime's monitor applies every millisecond while the runtime is busy.
//!
//! Each part is a small type with pure decision functions and its own unit tests; the
//! numbers (200 µs, three quarters of a CPU, 50 ms between `/proc/stat` samples, 1 ms to
//! count as stuck) live here and nowhere else.

mod cpu_idle;
mod lifo;
mod poll_time;
mod spread;
pub(crate) mod stall;

pub(crate) use lifo::{takes_lifo_slot, Pushed};
pub(crate) use poll_time::PollTimer;
pub(crate) use spread::SpreadRule;
