//! The I/O reactor: one epoll instance per runtime, driven by whichever worker parks on it.
//!
//! # Registration and tokens
//! Every I/O resource is registered once, edge-triggered, for readable, writable and
//! read-closed events (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`), and deregistered when it
//! is dropped, before its fd is closed. Its state lives in a [`ScheduledIo`] held in a slab;
//! the epoll token is the slab index plus a 32-bit *generation* that changes each time the
//! slot is reused. An event whose token names an empty slot or an older generation is stale
//! (the fd was closed, perhaps reused by a new resource) and is ignored, so a reused fd or
//! slot can never wake the wrong task.
//!
//! # Readiness and ticks
//! `ScheduledIo` keeps the readiness bits and a *tick*, bumped by every event. A task that
//! sees readiness attempts the syscall; when the syscall reports `WouldBlock` — or, on a
//! stream socket, a short read or write — it clears the readiness *only if the tick is
//! unchanged*. An event that arrived in between bumped the tick, so its readiness survives:
//! no lost wakeup, and no extra `EAGAIN` syscall after a short read.
//!
//! # Backends
//! The OS calls live behind `selector`: `selector_epoll.rs` (default, on `rawrt-sys`) or
//! `selector_mio.rs` (feature `mio`, on `mio::Poll`). Everything above — tokens, readiness,
//! ticks, timers — is shared.
//!
//! # Waking the driver
//! The driver owns an `EventFd`, registered `EPOLLIN | EPOLLET` under a reserved token. The
//! scheduler writes it only when a worker is actually blocked in `epoll_wait` (see the
//! scheduler's parker); every write is a new edge, so the eventfd is never read per wake.

mod driver;
mod poll_evented;
mod ready;
mod scheduled_io;
#[cfg(not(feature = "mio"))]
#[path = "selector_epoll.rs"]
mod selector;
#[cfg(feature = "mio")]
#[path = "selector_mio.rs"]
mod selector;
pub(crate) mod timer;

pub(crate) use driver::{Driver, Handle};
pub(crate) use poll_evented::PollEvented;
pub(crate) use ready::{Direction, Ready};
pub(crate) use scheduled_io::{ReadyEvent, ScheduledIo};
