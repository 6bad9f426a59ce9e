//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! Timers live in the runtime's hierarchical timing wheel (millisecond resolution), which the
//! worker parked in `epoll_wait` drives: it sleeps until the next deadline, and a new, earlier
//! deadline registered from any thread interrupts that wait. Busy workers fire due timers
//! during their regular I/O polls, so timers keep firing while every worker is busy. A timer
//! never fires before its deadline; on an idle runtime it fires within about a millisecond
//! after it. Dropping a [`Sleep`] removes its entry in O(1).
//!
//! The futures find the runtime when first polled (so they can be created anywhere, but must
//! be polled inside a rawrt runtime).

mod interval;
mod sleep;
mod timeout;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Instant;
pub use timeout::{timeout, timeout_at, Elapsed};
