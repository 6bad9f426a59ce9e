//! The multi-thread scheduler: N workers, per-worker run queues with work stealing, a global
//! injector, and parking on the I/O driver. See `worker.rs` for the loop and shutdown,
//! `queue.rs` for the stealing protocol, `idle.rs` and `park.rs` for sleeping and waking,
//! `signals.rs` for the signals every worker blocks (for `rawrt::signal`).

mod idle;
mod park;
pub(crate) mod queue;
mod signals;
mod worker;

pub(crate) use signals::SignalBits;
pub(crate) use worker::{create, run, Config, Handle};
