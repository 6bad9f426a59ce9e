//! The multi-thread scheduler: N workers, per-worker run queues with work stealing, a global
//! injector, and parking on the I/O driver. See `worker.rs` for the loop and shutdown,
//! `queue.rs` for the stealing protocol, `idle.rs` and `park.rs` for sleeping and waking,
//! `monitor.rs` for the thread that rescues work queued behind a blocked worker; the
//! heuristics the loop consults are in `scheduler/policy/`.

mod idle;
mod monitor;
mod park;
pub(crate) mod queue;
mod worker;

pub(crate) use monitor::run as run_monitor;
pub(crate) use worker::{create, hand_off_core, run, Config, Context, Handle};
