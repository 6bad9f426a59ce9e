//! Synchronization primitives for async tasks: [`oneshot`] and bounded [`mpsc`] channels,
//! [`Notify`], and the locks and once-cells: [`Semaphore`], [`Mutex`], [`RwLock`],
//! [`OnceCell`], [`SetOnce`] and [`Barrier`].
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
//! | [`Semaphore`] | the `Semaphore` itself: a `Mutex` around the free permits and the waiter list | FIFO queue of acquires; the head collects returned permits until it has all it asked for |
//! | [`Mutex`] | a one-permit `Semaphore` and the data (`UnsafeCell`) | the semaphore's queue |
//! | [`RwLock`] | a `max_readers`-permit `Semaphore` (a reader takes 1, a writer all) and the data | the semaphore's queue: a waiting writer holds back later readers |
//! | [`OnceCell`] | a `std::sync::OnceLock` for the value, a one-permit `Semaphore` (the right to initialize; closed once set) | the semaphore's queue |
//! | [`SetOnce`] | a `std::sync::OnceLock`, a zero-permit `Semaphore` closed when the value is set | the semaphore's queue (all woken by the close) |
//! | [`Barrier`] | the `Barrier` itself: a `Mutex` around the arrival count, the generation and the wakers | the current generation's arrivals |
//!
//! Each file's module docs describe its protocol: which flag or lock guards which field, and
//! what a future owes the others when it is dropped half-way (cancellation is never allowed to
//! lose a value, a permit or a notification).

mod blocking;
pub mod broadcast;
mod locks;
pub mod mpsc;
mod notify;
pub mod oneshot;
mod waiters;
pub mod watch;

pub use locks::*;
pub use notify::{Notified, Notify};
