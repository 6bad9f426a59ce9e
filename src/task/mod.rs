//! Tasks: spawning, joining, yielding, and running blocking code off the workers.
//!
//! The task machinery itself (one allocation per task, the atomic state word, wakers) lives
//! in the crate's `task_core` layer; this module is its public face.

mod blocking;
pub mod coop;
mod join;

pub use crate::runtime::{spawn, spawn_blocking};
pub use crate::task_core::{yield_now, Id, JoinError, JoinHandle};
pub use blocking::block_in_place;
pub use coop::{consume_budget, unconstrained, Unconstrained};
