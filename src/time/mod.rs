//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`], and the runtime's own
//! [`Instant`].
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
//!
//! # Pausing the clock (feature `test-util`)
//! `pause` stops the current-thread runtime's clock: [`Instant::now`] (inside the runtime)
//! and every timer then follow a simulated time that moves only by `advance`, or by
//! *auto-advance*: when the runtime has nothing to run and would block with a timer pending
//! (and no `spawn_blocking` closure in flight), the clock jumps straight to that timer's
//! deadline. A test that sleeps for a simulated day thus finishes at once. The check sits in
//! the reactor's park; with the clock never paused, it costs one relaxed load.

mod instant;
mod interval;
mod sleep;
mod timeout;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
/// `std::time::Duration`, here too so that `rawrt::time::Duration` works as Tokio's does.
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Elapsed};

#[cfg(feature = "test-util")]
mod pause;
#[cfg(feature = "test-util")]
pub use pause::{advance, pause, resume};
