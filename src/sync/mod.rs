//! Synchronization primitives for async tasks: [`oneshot`] and bounded [`mpsc`] channels, and
//! [`Notify`].
//!
//! They work across tasks, across runtimes, and with threads that are not in any runtime (a
//! `oneshot::Sender::send` or a `Notify::notify_one` is a plain function call; only the waiting
//! side is a future). None of them needs the runtime to be current: waiting is done with the
//! `Waker` of whatever polls the future.
//!
//! | primitive | shared state | waiting tasks |
//! |-----------|--------------|---------------|
//! | [`oneshot`] | one `Arc`: an atomic state word, the value cell, two waker cells | at most two (the receiver and `Sender::closed`) |
//! | [`mpsc`] | one `Arc`: a `Mutex` around the buffer, the free capacity (permits) and the waiter lists | FIFO queue of senders and permit reservations, one receiver |
//! | [`watch`] | one `Arc`: a `RwLock` around the value; a `Mutex` around the version, the counts and the waiter lists | every `changed()` / `wait_for` future (all woken by a send), `Sender::closed` futures |
//! | [`broadcast`] | one `Arc`: a `Mutex` around a ring of `Arc`'d values with per-value "receivers still to come" counts, the counts and the waiter list | every `recv()` future (all woken by a send), `Sender::closed` futures |
//! | [`Notify`] | the `Notify` itself: a `Mutex` around the permit and the waiter list | FIFO queue of `Notified` futures |
//!
//! Each file's module docs describe its protocol: which flag or lock guards which field, and
//! what a future owes the others when it is dropped half-way (cancellation is never allowed to
//! lose a value, a permit or a notification).

pub mod broadcast;
mod locks;
pub mod mpsc;
mod notify;
pub mod oneshot;
pub mod watch;

#[allow(unused_imports)] // filled in by the locks work
pub use locks::*;
pub use notify::{Notified, Notify};
