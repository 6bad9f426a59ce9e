//! The driver (the part that blocks in `epoll_wait`) and its handle (registration, wake-up,
//! shutdown). Only one thread drives at a time: the scheduler keeps the `Driver` behind a
//! try-lock and the worker that gets it parks on it.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::selector::{self, Poller, Registry as Selector, WAKE_TOKEN};
use super::timer::{Clock, TimerKey, Wheel, NEVER};
use super::ScheduledIo;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::Mutex;

/// Owns the event buffer; `park` waits for events and dispatches them.
pub(crate) struct Driver {
    poller: Poller,
    inner: Arc<Inner>,
    wake: Vec<Waker>,
}

/// What [`Driver::harvest`] left for [`Driver::dispatch`]: the number of events in the
/// poller's buffer, and whether the wait could block (then the recorded wait is cleared).
#[must_use = "harvested events must be dispatched"]
struct Harvest {
    events: usize,
    blocking: bool,
}

/// A cheap, cloneable handle to the reactor.
#[derive(Clone)]
pub(crate) struct Handle {
    inner: Arc<Inner>,
}

struct Inner {
    selector: Selector,
    registry: Mutex<Registry>,
    timers: Mutex<Wheel>,
    /// The wheel's next expiration in ms (`NEVER` if none), readable without the lock so a
    /// busy worker's non-blocking poll skips the wheel when nothing is due.
    next_timer: AtomicU64,
    /// Set by `shutdown`: a timer inserted afterwards, or one still pending, would never fire
    /// (`insert_timer` and `poll_timer` panic). An atomic, so that checking it costs
    /// `insert_timer` no lock; `poll_timer` reads it under the wheel lock, which `shutdown`
    /// takes after setting it, so a poll either sees it or registered its waker before
    /// `shutdown` woke them all.
    timers_shut_down: AtomicBool,
    start: Instant,
    /// What "now" is for the wheel (paused under `rawrt::time::pause`).
    clock: Clock,
}

/// The slab of live resources. A token is `generation << 32 | index`.
struct Registry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    is_shutdown: bool,
}

struct Slot {
    generation: u32,
    io: Option<Arc<ScheduledIo>>,
}

impl Registry {
    /// The live resource for `token`, if the slot still holds the generation it names.
    fn lookup(&self, token: u64) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(token as u32 as usize)?;
        if slot.generation != (token >> 32) as u32 {
            return None;
        }
        slot.io.as_ref()
    }
}

impl Driver {
    /// A new epoll instance with its wake-up eventfd registered.
    pub(crate) fn new(max_events: usize) -> io::Result<Driver> {
        let (selector, poller) = selector::new(max_events)?;
        let start = Instant::now();
        Ok(Driver {
            poller,
            inner: Arc::new(Inner {
                selector,
                registry: Mutex::new(Registry {
                    slots: Vec::new(),
                    free: Vec::new(),
                    live: 0,
                    is_shutdown: false,
                }),
                timers: Mutex::new(Wheel::new(start)),
                next_timer: AtomicU64::new(NEVER),
                timers_shut_down: AtomicBool::new(false),
                start,
                clock: Clock::new(start),
            }),
            wake: Vec::new(),
        })
    }

    /// A handle for registering resources and waking this driver.
    pub(crate) fn handle(&self) -> Handle {
        Handle {
            inner: self.inner.clone(),
        }
    }

    /// Waits up to `timeout` (`None`: until an event, a timer or a wake-up), fires the timers
    /// that are due and wakes the tasks whose resources became ready. Returns the number of
    /// I/O events and timers dispatched.
    ///
    /// An `epoll_wait` error (only `EINTR` is expected, and the sys layer turns it into zero
    /// events) is treated as "no events": the caller re-checks its state and parks again.
    ///
    /// It is [`harvest`](Self::harvest) then [`dispatch`](Self::dispatch). Between the two,
    /// other threads may deregister resources and register new ones in their slots: that
    /// window is why an event is looked up by token (slot and generation) only at dispatch.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> usize {
        let harvest = self.harvest(timeout);
        self.dispatch(harvest)
    }

    /// The first half of [`park`](Self::park): blocks in the poller (per `timeout`, bounded by
    /// the next timer) and leaves the events in its buffer. No resource is looked up yet.
    fn harvest(&mut self, timeout: Option<Duration>) -> Harvest {
        #[cfg(feature = "test-util")]
        if timeout.is_none() && self.inner.clock.is_paused() {
            if let Some(harvest) = self.auto_advance() {
                return harvest;
            }
        }
        let blocking = timeout != Some(Duration::ZERO);
        let wait = if blocking {
            self.begin_wait(timeout)
        } else {
            timeout
        };
        let events = self.poller.poll(&self.inner.selector, wait);
        Harvest { events, blocking }
    }

    /// The second half of [`park`](Self::park): fires the due timers, sets readiness for the
    /// harvested events whose token still names a live resource (an event for a resource
    /// deregistered since — its slot empty or reused under a new generation — is dropped),
    /// then wakes the tasks, outside every lock. Returns the number dispatched.
    fn dispatch(&mut self, harvest: Harvest) -> usize {
        let mut dispatched = self.fire_timers(harvest.blocking);
        dispatched += self.dispatch_io(harvest.events);
        // Wake outside every lock: waking schedules tasks, which may register I/O or timers.
        // A waker that panics is contained (`util::wake`): the rest of the batch is woken.
        crate::util::wake_all(self.wake.drain(..));
        dispatched
    }

    /// A paused clock with nothing else to do (the caller would block without a timeout)
    /// jumps to the next timer's deadline, after a non-blocking poll found no I/O event.
    /// `None` when it cannot (no timer, or a blocking closure in flight): then block as usual.
    #[cfg(feature = "test-util")]
    fn auto_advance(&mut self) -> Option<Harvest> {
        if !self.inner.clock.can_auto_advance() {
            return None;
        }
        let next = {
            let wheel = crate::loom::lock(&self.inner.timers);
            wheel.next_deadline().and_then(|ms| wheel.instant_of(ms))
        }?;
        let events = self.poller.poll(&self.inner.selector, Some(Duration::ZERO));
        if events == 0 {
            self.inner.clock.auto_advance_to(next);
        }
        // `blocking: true` makes the dispatch process the wheel unconditionally: the expiration
        // we jumped to may be a higher level's slot start, earlier than `next_timer` (the
        // earliest deadline), where the fast path would skip the wheel and never cascade.
        Some(Harvest {
            events,
            blocking: true,
        })
    }

    /// Computes how long to block (the caller's timeout or the next timer, whichever is
    /// first) and records it, under the wheel lock, for `insert_timer` to compare against.
    fn begin_wait(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        let mut wheel = crate::loom::lock(&self.inner.timers);
        let now = self.inner.clock.now();
        let now_ms = wheel.now_ms(now);
        let caller_ms = timeout.map_or(NEVER, |t| {
            now_ms.saturating_add(u64::try_from(t.as_millis()).unwrap_or(NEVER))
        });
        // A paused clock does not move while we wait: only a wake-up ends the wait.
        let timer_ms = match self.inner.clock.is_paused() {
            true => NEVER,
            false => wheel.next_deadline().unwrap_or(NEVER),
        };
        let until = caller_ms.min(timer_ms);
        wheel.set_wait_until(Some(until));
        if until == NEVER {
            return None;
        }
        if until == timer_ms {
            let at = wheel.instant_of(timer_ms);
            return Some(at.map_or(Duration::MAX, |at| at.saturating_duration_since(now)));
        }
        timeout
    }

    /// Fires due timers; after a blocking wait, also clears the recorded wait.
    fn fire_timers(&mut self, was_blocking: bool) -> usize {
        let inner = &*self.inner;
        let now_ms = u64::try_from(
            inner
                .clock
                .now()
                .saturating_duration_since(inner.start)
                .as_millis(),
        )
        .unwrap_or(NEVER - 1);
        if !was_blocking && inner.next_timer.load(Ordering::Acquire) > now_ms {
            return 0;
        }
        let mut wheel = crate::loom::lock(&inner.timers);
        if was_blocking {
            wheel.set_wait_until(None);
        }
        let fired = wheel.process(now_ms, &mut self.wake);
        inner
            .next_timer
            .store(wheel.next_deadline().unwrap_or(NEVER), Ordering::Release);
        fired
    }

    /// Sets readiness for the `n` harvested events and collects the wakers to wake.
    fn dispatch_io(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let mut dispatched = 0;
        {
            let registry = crate::loom::lock(&self.inner.registry);
            for (token, ready) in self.poller.events() {
                if token == WAKE_TOKEN {
                    // Edge-triggered: each write is a new edge, nothing to read.
                    continue;
                }
                // A stale token (slot freed, maybe reused since) finds nothing.
                if let Some(io) = registry.lookup(token) {
                    io.set_readiness(ready, &mut self.wake);
                    dispatched += 1;
                }
            }
        }
        dispatched
    }
}

impl Handle {
    /// Interrupts a `park` in progress (or makes the next one return at once).
    pub(crate) fn unpark(&self) {
        self.inner.selector.wake();
    }

    /// Registers `fd` edge-triggered for both directions; returns its state and token.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>) -> io::Result<(Arc<ScheduledIo>, u64)> {
        let io = Arc::new(ScheduledIo::default());
        let token = {
            let mut reg = crate::loom::lock(&self.inner.registry);
            if reg.is_shutdown {
                return Err(super::scheduled_io::shutdown_error());
            }
            let index = match reg.free.pop() {
                Some(i) => i,
                None => {
                    let i = u32::try_from(reg.slots.len()).map_err(|_| {
                        io::Error::other("rawrt reactor: more than 2^32 registered resources")
                    })?;
                    reg.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    i
                }
            };
            let slot = &mut reg.slots[index as usize];
            slot.io = Some(io.clone());
            let token = (u64::from(slot.generation) << 32) | u64::from(index);
            reg.live += 1;
            token
        };
        if let Err(e) = self.inner.selector.register(fd, token) {
            self.release(token);
            return Err(e);
        }
        Ok((io, token))
    }

    /// Removes `fd` from epoll and frees its slot. Events already harvested for it are
    /// ignored (the generation no longer matches).
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let res = self.inner.selector.deregister(fd);
        self.release(token);
        res
    }

    fn release(&self, token: u64) {
        let index = token as u32;
        let generation = (token >> 32) as u32;
        let mut reg = crate::loom::lock(&self.inner.registry);
        if let Some(slot) = reg.slots.get_mut(index as usize) {
            if slot.generation == generation && slot.io.is_some() {
                slot.io = None;
                slot.generation = slot.generation.wrapping_add(1);
                reg.free.push(index);
                reg.live -= 1;
            }
        }
    }

    /// Registers a timer for `deadline` (`None`: never). Wakes the parked driver when the
    /// deadline is earlier than its current wait.
    ///
    /// # Panics
    /// After the runtime shut down (nothing drives its timers any more: the timer would
    /// never fire, and whoever awaits it would hang), as Tokio's timers do.
    #[track_caller]
    pub(crate) fn insert_timer(&self, deadline: Option<Instant>, waker: Waker) -> TimerKey {
        if self.inner.timers_shut_down.load(Ordering::Acquire) {
            panic!(
                "rawrt: a timer was started on a runtime that has been shut down: nothing \
                 drives its timers any more, so it would never fire"
            );
        }
        let (key, wake_driver) = {
            let mut wheel = crate::loom::lock(&self.inner.timers);
            let ms = wheel.deadline_ms(deadline);
            let (key, wake_driver) = wheel.insert(ms, waker);
            if ms < self.inner.next_timer.load(Ordering::Acquire) {
                self.inner.next_timer.store(ms, Ordering::Release);
            }
            (key, wake_driver)
        };
        if wake_driver {
            self.unpark();
        }
        key
    }

    /// The reactor's clock (paused, resumed and advanced by `rawrt::time`, feature
    /// `test-util`).
    #[cfg(feature = "test-util")]
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The current time by the reactor's clock.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// Fires the timers due by the clock now (after `advance` moved it), waking their tasks.
    #[cfg(feature = "test-util")]
    pub(crate) fn fire_due_timers(&self) {
        let mut wake = Vec::new();
        {
            let mut wheel = crate::loom::lock(&self.inner.timers);
            let now_ms = wheel.now_ms(self.inner.clock.now());
            wheel.process(now_ms, &mut wake);
            self.inner
                .next_timer
                .store(wheel.next_deadline().unwrap_or(NEVER), Ordering::Release);
        }
        crate::util::wake_all(wake);
    }

    /// Whether the timer fired; if not, refreshes its waker.
    ///
    /// # Panics
    /// If it has not fired and the runtime has shut down (its timers are never driven
    /// again, so whoever awaits it would hang), as Tokio's timers do.
    #[track_caller]
    pub(crate) fn poll_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        let fired = crate::loom::lock(&self.inner.timers).poll(key, waker);
        if !fired && self.inner.timers_shut_down.load(Ordering::Acquire) {
            panic!(
                "rawrt: a timer of a runtime that has been shut down was polled: nothing \
                 drives its timers any more, so it would never fire"
            );
        }
        fired
    }

    /// Cancels or releases a timer.
    pub(crate) fn remove_timer(&self, key: TimerKey) {
        crate::loom::lock(&self.inner.timers).remove(key);
    }

    /// Number of registered timers.
    pub(crate) fn num_timers(&self) -> usize {
        crate::loom::lock(&self.inner.timers).len()
    }

    /// Marks every live resource and timer shut down and wakes their tasks; later
    /// registrations fail, later timers panic.
    pub(crate) fn shutdown(&self) {
        let mut wake = Vec::new();
        {
            let mut reg = crate::loom::lock(&self.inner.registry);
            reg.is_shutdown = true;
            self.inner.timers_shut_down.store(true, Ordering::Release);
            for slot in &reg.slots {
                if let Some(io) = &slot.io {
                    io.shutdown(&mut wake);
                }
            }
        }
        // Pending timers: their futures, polled again, panic (`poll_timer`) instead of
        // waiting for ever. Those on this runtime's own tasks are dropped with the tasks.
        crate::loom::lock(&self.inner.timers).take_pending_wakers(&mut wake);
        crate::util::wake_all(wake);
        self.unpark();
    }

    /// Number of registered resources.
    pub(crate) fn num_registered(&self) -> usize {
        crate::loom::lock(&self.inner.registry).live
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::reactor::{Direction, Ready};
    use rawrt_sys::socket;
    use std::os::fd::{AsFd, AsRawFd};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake};

    struct CountWaker(AtomicUsize);
    impl Wake for CountWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn reused_slot_gets_a_new_generation_and_old_token_is_stale() {
        let driver = Driver::new(8).unwrap();
        let handle = driver.handle();
        let (a, _pa) = socket::socketpair_stream().unwrap();
        let (b, _pb) = socket::socketpair_stream().unwrap();
        let (_io_a, token_a) = handle.register(a.as_fd()).unwrap();
        handle.deregister(a.as_fd(), token_a).unwrap();
        let (io_b, token_b) = handle.register(b.as_fd()).unwrap();
        assert_eq!(token_a as u32, token_b as u32, "slot reused");
        assert_ne!(token_a, token_b, "generation changed");
        let reg = crate::loom::lock(&handle.inner.registry);
        assert!(
            reg.lookup(token_a).is_none(),
            "stale token must not resolve"
        );
        assert!(Arc::ptr_eq(reg.lookup(token_b).unwrap(), &io_b));
    }

    /// The window between `epoll_wait` and dispatch: an event harvested for A, then A is
    /// deregistered and closed and B is registered in A's slot (and, usually, gets A's fd
    /// number), then the event is dispatched. It must reach neither B's readiness nor B's
    /// wakers — least of all its "read closed", which never clears and would make every read
    /// of B spin on `EAGAIN`.
    #[test]
    fn event_harvested_before_its_fd_is_closed_and_reused_does_not_reach_the_new_owner() {
        let mut driver = Driver::new(8).unwrap();
        let handle = driver.handle();
        let (a, a_peer) = socket::socketpair_stream().unwrap();
        let (io_a, token_a) = handle.register(a.as_fd()).unwrap();
        // A's peer writes and hangs up: A is readable and read-closed.
        socket::write(a_peer.as_fd(), b"stale").unwrap();
        drop(a_peer);
        let harvest = driver.harvest(Some(Duration::from_secs(5)));
        let harvested: Vec<(u64, Ready)> = driver.poller.events().collect();
        assert_eq!(harvest.events, 1, "harvested: {harvested:?}");
        let (token, ready) = harvested[0];
        assert_eq!(token, token_a);
        assert!(
            ready.intersects(Ready::READABLE) && ready.intersects(Ready::READ_CLOSED),
            "A's event: {ready:?}"
        );

        // Before dispatch: A goes away the way `PollEvented::drop` does it, and B takes its
        // slot.
        let a_fd = a.as_raw_fd();
        handle.deregister(a.as_fd(), token_a).unwrap();
        drop(a);
        let (b, b_peer) = socket::socketpair_stream().unwrap();
        let (io_b, token_b) = handle.register(b.as_fd()).unwrap();
        // (B usually gets A's fd number too; not asserted: other tests open fds in parallel.)
        let fd_reused = b.as_raw_fd() == a_fd;
        assert_eq!(token_b as u32, token_a as u32, "B reuses A's slot");
        assert_ne!(token_b, token_a, "under a new generation");
        let reader = Arc::new(CountWaker(AtomicUsize::new(0)));
        let writer = Arc::new(CountWaker(AtomicUsize::new(0)));
        let (reader_waker, writer_waker) =
            (Waker::from(reader.clone()), Waker::from(writer.clone()));
        let mut read_cx = Context::from_waker(&reader_waker);
        let mut write_cx = Context::from_waker(&writer_waker);
        assert!(io_b.poll_ready(&mut read_cx, Direction::Read).is_pending());
        assert!(io_b
            .poll_ready(&mut write_cx, Direction::Write)
            .is_pending());

        assert_eq!(
            driver.dispatch(harvest),
            0,
            "a stale event was dispatched (fd reused: {fd_reused})"
        );
        assert_eq!(io_b.readiness_bits(), Ready::EMPTY, "B got A's readiness");
        assert_eq!(reader.0.load(Ordering::SeqCst), 0, "B's reader woken");
        assert_eq!(writer.0.load(Ordering::SeqCst), 0, "B's writer woken");
        assert_eq!(io_a.readiness_bits(), Ready::EMPTY, "A was deregistered");

        // Control: B's own events do reach B. First its initial writability...
        assert_eq!(driver.park(Some(Duration::from_secs(5))), 1);
        assert_eq!(writer.0.load(Ordering::SeqCst), 1);
        assert_eq!(reader.0.load(Ordering::SeqCst), 0);
        // ...then data from its own peer, with no "read closed" from A's hang-up.
        socket::write(b_peer.as_fd(), b"fresh").unwrap();
        assert_eq!(driver.park(Some(Duration::from_secs(5))), 1);
        assert_eq!(reader.0.load(Ordering::SeqCst), 1);
        assert!(io_b.readiness_bits().intersects(Ready::READABLE));
        assert!(!io_b.readiness_bits().intersects(Ready::READ_CLOSED));
        let mut buf = [0u8; 16];
        assert_eq!(socket::read(b.as_fd(), &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"fresh");
    }

    #[test]
    fn event_sets_readiness_wakes_reader_and_tick_guards_clearing() {
        let mut driver = Driver::new(8).unwrap();
        let handle = driver.handle();
        let (a, peer) = socket::socketpair_stream().unwrap();
        let (io, _token) = handle.register(a.as_fd()).unwrap();
        // A fresh socket is writable: the first turn reports it.
        assert_eq!(driver.park(Some(Duration::from_secs(5))), 1);

        let counter = Arc::new(CountWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());

        socket::write(peer.as_fd(), b"x").unwrap();
        assert_eq!(driver.park(Some(Duration::from_secs(5))), 1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "reader woken once");
        let Poll::Ready(Ok(ev)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable after the event");
        };

        // Another event arrives before the task clears: the old tick must not clear it.
        socket::write(peer.as_fd(), b"y").unwrap();
        assert_eq!(driver.park(Some(Duration::from_secs(5))), 1);
        io.clear_readiness(ev);
        assert!(
            io.poll_ready(&mut cx, Direction::Read).is_ready(),
            "newer event survives"
        );

        // Clearing under the current tick works.
        let Poll::Ready(Ok(ev2)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("still readable");
        };
        io.clear_readiness(ev2);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
    }

    #[test]
    fn shutdown_fails_waiters_and_new_registrations() {
        let driver = Driver::new(8).unwrap();
        let handle = driver.handle();
        let (a, _peer) = socket::socketpair_stream().unwrap();
        let (io, _token) = handle.register(a.as_fd()).unwrap();
        let counter = Arc::new(CountWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        handle.shutdown();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Read),
            Poll::Ready(Err(_))
        ));
        let (b, _pb) = socket::socketpair_stream().unwrap();
        assert!(handle.register(b.as_fd()).is_err());
    }
}
