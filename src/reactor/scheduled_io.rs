//! Per-resource readiness: the readiness bits, the tick and the two waker slots.
//!
//! The `readiness` word packs: bits 0..4 readiness, bit 4 `SHUTDOWN`, bits 16..32 the tick.
//! The driver sets readiness with one read-modify-write that also bumps the tick, *then* takes
//! the wakers under the `waiters` lock. A task stores its waker under the same lock and
//! re-reads readiness before returning `Pending`. Either the driver's lock section comes
//! first — then the task's re-read sees the new readiness — or the task's does — then the
//! driver finds and wakes the waker. No wakeup is lost.

use std::io;
use std::task::{Context, Poll, Waker};

use super::{Direction, Ready};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::Mutex;

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
    }

    /// Marks the resource dead (the runtime shut down) and wakes both directions.
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        let mut waiters = crate::loom::lock(&self.waiters);
        wake.extend(waiters.reader.take());
        wake.extend(waiters.writer.take());
    }

    fn observe(&self, dir: Direction) -> Option<io::Result<ReadyEvent>> {
        let curr = self.readiness.load(Acquire);
        let ready = Ready::from_usize(curr) & dir.mask();
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
    #[cfg(test)]
    pub(crate) fn readiness(&self) -> Ready {
        Ready::from_usize(self.readiness.load(Acquire))
    }
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the rawrt runtime that owned this I/O resource has shut down")
}
