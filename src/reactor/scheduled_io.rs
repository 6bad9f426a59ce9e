//! Per-resource readiness: the readiness bits, the tick and the waiters.
//!
//! The `readiness` word packs: bits 0..4 readiness, bit 4 `SHUTDOWN`, bits 16..32 the tick.
//! The driver sets readiness with one read-modify-write that also bumps the tick, *then* takes
//! the wakers under the `waiters` lock. A task stores its waker under the same lock and
//! re-reads readiness before returning `Pending`. Either the driver's lock section comes
//! first — then the task's re-read sees the new readiness — or the task's does — then the
//! driver finds and wakes the waker. No wakeup is lost.
//!
//! Waiters: one slot per direction for the `poll_*` API (`poll_ready`: the latest poller of
//! a direction is woken, as `poll_read`-style contracts say), and a list of any number of
//! [`Readiness`] futures, each with its own interest, for the async fns (`accept`, `recv`,
//! `readable`, ...): an event wakes the slot of its direction and every listed waiter whose
//! interest it meets. A woken entry stays listed (its waker taken) until its future drops,
//! so its key stays valid between polls.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{Direction, Ready};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::Mutex;
use crate::util::slab::Slab;

const SHUTDOWN: usize = 1 << 4;
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;

/// A readiness observation: which bits, under which tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) tick: u16,
    pub(crate) ready: Ready,
}

/// The reactor's state for one registered resource.
#[derive(Default)]
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// The [`Readiness`] futures waiting, keyed by the slab key each one holds.
    list: Slab<Waiter>,
}

struct Waiter {
    /// The readiness that wakes it.
    interest: Ready,
    /// `None` once woken (until its future registers again).
    waker: Option<Waker>,
}

impl ScheduledIo {
    /// Driver side: records an event and returns the wakers to wake (after every lock is
    /// released).
    pub(crate) fn set_readiness(&self, ready: Ready, wake: &mut Vec<Waker>) {
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |curr| {
            let tick = ((curr & TICK_MASK) >> TICK_SHIFT).wrapping_add(1) & 0xffff;
            Some((tick << TICK_SHIFT) | (curr & !TICK_MASK) | ready.as_usize())
        });
        let mut waiters = crate::loom::lock(&self.waiters);
        if ready.intersects(Direction::Read.mask()) {
            wake.extend(waiters.reader.take());
        }
        if ready.intersects(Direction::Write.mask()) {
            wake.extend(waiters.writer.take());
        }
        for waiter in waiters.list.iter_mut() {
            if ready.intersects(waiter.interest) {
                wake.extend(waiter.waker.take());
            }
        }
    }

    /// Marks the resource dead (the runtime shut down) and wakes both directions.
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        let mut waiters = crate::loom::lock(&self.waiters);
        wake.extend(waiters.reader.take());
        wake.extend(waiters.writer.take());
        for waiter in waiters.list.iter_mut() {
            wake.extend(waiter.waker.take());
        }
    }

    fn observe(&self, dir: Direction) -> Option<io::Result<ReadyEvent>> {
        self.observe_interest(dir.mask())
    }

    /// Ready for some of `interest` now (or shut down); `None` otherwise.
    pub(crate) fn observe_interest(&self, interest: Ready) -> Option<io::Result<ReadyEvent>> {
        let curr = self.readiness.load(Acquire);
        let ready = Ready::from_usize(curr) & interest;
        if !ready.is_empty() {
            return Some(Ok(ReadyEvent {
                tick: ((curr & TICK_MASK) >> TICK_SHIFT) as u16,
                ready,
            }));
        }
        if curr & SHUTDOWN != 0 {
            return Some(Err(shutdown_error()));
        }
        None
    }

    /// Task side: ready now, or store the waker and return `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(res) = self.observe(dir) {
            return Poll::Ready(res);
        }
        let mut waiters = crate::loom::lock(&self.waiters);
        let slot = match dir {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        match self.observe(dir) {
            Some(res) => Poll::Ready(res),
            None => Poll::Pending,
        }
    }

    /// A future that completes when the resource is ready for some of `interest` (or shut
    /// down); any number may wait at once. See the module docs.
    pub(crate) fn readiness(&self, interest: Ready) -> Readiness<'_> {
        Readiness {
            io: self,
            interest,
            key: None,
        }
    }

    /// Clears the observed readiness unless an event arrived since (the tick moved). Closed
    /// bits are never cleared: end of stream stays end of stream.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let clear = event.ready - (Ready::READ_CLOSED | Ready::WRITE_CLOSED);
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |curr| {
            if ((curr & TICK_MASK) >> TICK_SHIFT) as u16 != event.tick {
                return None;
            }
            Some(curr & !clear.as_usize())
        });
    }

    /// Current readiness bits (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn readiness_bits(&self) -> Ready {
        Ready::from_usize(self.readiness.load(Acquire))
    }
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the rawrt runtime that owned this I/O resource has shut down")
}

/// The future of [`ScheduledIo::readiness`]: its own entry in the waiters' list while it
/// waits.
pub(crate) struct Readiness<'a> {
    io: &'a ScheduledIo,
    interest: Ready,
    key: Option<usize>,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(res) = this.io.observe_interest(this.interest) {
            this.unlist();
            return Poll::Ready(res);
        }
        {
            let mut waiters = crate::loom::lock(&this.io.waiters);
            match this.key {
                Some(key) => {
                    let slot = &mut waiters.list.get_mut(key).waker;
                    match slot {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *slot = Some(cx.waker().clone()),
                    }
                }
                None => {
                    this.key = Some(waiters.list.insert(Waiter {
                        interest: this.interest,
                        waker: Some(cx.waker().clone()),
                    }))
                }
            }
        }
        // Re-read after registering: an event set before our entry existed is seen here.
        match this.io.observe_interest(this.interest) {
            Some(res) => {
                this.unlist();
                Poll::Ready(res)
            }
            None => Poll::Pending,
        }
    }
}

impl Readiness<'_> {
    fn unlist(&mut self) {
        if let Some(key) = self.key.take() {
            let waiter = crate::loom::lock(&self.io.waiters).list.remove(key);
            // Dropped outside the lock: a waker's drop is foreign code.
            drop(waiter);
        }
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        self.unlist();
    }
}

#[cfg(all(test, loom))]
#[path = "loom_scheduled_io.rs"]
mod loom_tests;
