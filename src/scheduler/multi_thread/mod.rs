//! The multi-thread scheduler: N workers, per-worker run queues with work stealing, a global
//! injector, and parking on the I/O driver. See `worker.rs` for the loop and shutdown,
//! `queue.rs` for the stealing protocol, `idle.rs` and `park.rs` for sleeping and waking, `cpu_idle.rs` for
//! the idle-CPU estimate that gates waking a sibling,
//! `signals.rs` for the signals every worker blocks (for `rawrt::signal`).

mod cpu_idle;
mod idle;
mod park;
pub(crate) mod queue;
mod signals;
mod worker;

pub(crate) use signals::SignalBits;
pub(crate) use worker::{create, run, Config, Handle};
