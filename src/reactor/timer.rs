//! The timer wheel: hierarchical, millisecond resolution, one per runtime, driven by the same
//! thread that drives I/O.
//!
//! # Wheel
//! Six levels of 64 slots. A slot at level `l` spans `64^l` ms, so level 0 covers the next
//! 64 ms at 1 ms resolution and level 5 about 2.2 years. An entry lives at the lowest level at
//! which its deadline and the wheel's `elapsed` time differ, in the slot its deadline falls
//! in; when a slot comes due, each entry in it either fires (deadline reached) or is
//! re-inserted at a lower level (cascading). Deadlines past the top level's range are parked
//! in the top level and re-inserted each time their slot comes round; deadlines that cannot be
//! represented at all (`Instant + Duration::MAX`) never fire. An entry fires only when
//! `deadline <= now`, so nothing fires early.
//!
//! # Entries
//! Entries live in a slab (`Vec<Node>` plus a free list) and form doubly linked lists by
//! index, so registering and cancelling (dropping a `Sleep`) are O(1) and need no unsafe code.
//! A `TimerKey` (index + generation) names an entry; a stale key finds nothing.
//!
//! # Time
//! Time is counted in whole milliseconds since the runtime started. A deadline is rounded *up*
//! to the next millisecond and `now` is rounded *down*, so `deadline_ms <= now_ms` implies the
//! real deadline has passed.
//!
//! # Waking the driver
//! The parked driver waits until the wheel's next expiration. It records that instant in
//! `wait_until` *under the wheel lock*; a registration with an earlier deadline sees it under
//! the same lock and writes the driver's eventfd, so a wait already in progress is cut short.
//!
//! # Clock
//! The wheel reads time through the reactor's [`Clock`]. Without the `test-util` feature it is
//! `std::time::Instant::now()` and nothing else. With it, the clock can be *paused*
//! (`rawrt::time::pause`): it then stands still except when `advance` moves it, or when the
//! driver, about to block with nothing to run and a timer pending, jumps it to that timer's
//! deadline (auto-advance, in `Driver::harvest`). An unpaused clock costs one relaxed load.

use std::task::Waker;
use std::time::{Duration, Instant};

/// The reactor's source of "now": the OS's monotonic clock, or (feature `test-util`) a
/// paused, manually advanced one.
#[derive(Debug)]
pub(crate) struct Clock {
    /// The wheel's start: a paused clock stands on whole milliseconds after it, so that a
    /// timer `advance`d to exactly is due (the wheel rounds deadlines up and now down).
    #[cfg(feature = "test-util")]
    start: Instant,
    /// Whether `now` must consult `state` (set by the first `pause`, never cleared: after a
    /// `resume` the clock runs again but keeps the offset `advance` gave it).
    #[cfg(feature = "test-util")]
    virtual_time: std::sync::atomic::AtomicBool,
    #[cfg(feature = "test-util")]
    state: std::sync::Mutex<ClockState>,
}

#[cfg(feature = "test-util")]
#[derive(Debug)]
struct ClockState {
    /// The clock's reading when it was last paused (or moved by `advance`).
    base: Instant,
    /// `None` while paused; else when (OS time) it last resumed: now = base + elapsed since.
    unfrozen: Option<Instant>,
    /// Blocking-pool closures in flight: auto-advance waits for them (they may be what the
    /// runtime is waiting for).
    inhibit: usize,
}

impl Clock {
    pub(crate) fn new(start: Instant) -> Clock {
        #[cfg(not(feature = "test-util"))]
        let _ = start;
        Clock {
            #[cfg(feature = "test-util")]
            start,
            #[cfg(feature = "test-util")]
            virtual_time: std::sync::atomic::AtomicBool::new(false),
            #[cfg(feature = "test-util")]
            state: std::sync::Mutex::new(ClockState {
                base: Instant::now(),
                unfrozen: Some(Instant::now()),
                inhibit: 0,
            }),
        }
    }

    /// The current time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        #[cfg(feature = "test-util")]
        if self.virtual_time.load(std::sync::atomic::Ordering::Relaxed) {
            return self.lock().now();
        }
        Instant::now()
    }

    /// Whether the clock is paused (always false without `test-util`).
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        #[cfg(feature = "test-util")]
        if self.virtual_time.load(std::sync::atomic::Ordering::Relaxed) {
            return self.lock().unfrozen.is_none();
        }
        false
    }

    #[cfg(feature = "test-util")]
    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(feature = "test-util")]
impl ClockState {
    fn now(&self) -> Instant {
        match self.unfrozen {
            Some(since) => self.base + since.elapsed(),
            None => self.base,
        }
    }
}

#[cfg(feature = "test-util")]
impl Clock {
    /// Stops the clock. Errs (with the panic message) when it is already paused.
    pub(crate) fn pause(&self) -> Result<(), &'static str> {
        let mut st = self.lock();
        if st.unfrozen.is_none() {
            return Err("time is already frozen");
        }
        // Onto the wheel's millisecond grid (rounding up: never backwards).
        let since = st.now().saturating_duration_since(self.start);
        let ms = u64::try_from(since.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        st.base = self.start + Duration::from_millis(ms);
        st.unfrozen = None;
        self.virtual_time
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Lets the clock run again from its current reading. Errs when it is not paused.
    pub(crate) fn resume(&self) -> Result<(), &'static str> {
        let mut st = self.lock();
        if st.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        st.unfrozen = Some(Instant::now());
        Ok(())
    }

    /// Moves a paused clock forward by `d`. Errs when it is not paused.
    pub(crate) fn advance(&self, d: Duration) -> Result<(), &'static str> {
        let mut st = self.lock();
        if st.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        st.base = st
            .base
            .checked_add(d)
            .ok_or("overflow when advancing the paused clock")?;
        Ok(())
    }

    /// Moves a paused clock forward to `to` (never back), unless blocking closures are in
    /// flight; returns whether it moved.
    pub(crate) fn auto_advance_to(&self, to: Instant) -> bool {
        let mut st = self.lock();
        if st.unfrozen.is_some() || st.inhibit > 0 {
            return false;
        }
        if to > st.base {
            st.base = to;
        }
        true
    }

    /// Whether a paused clock may auto-advance now (no blocking closure in flight).
    pub(crate) fn can_auto_advance(&self) -> bool {
        let st = self.lock();
        st.unfrozen.is_none() && st.inhibit == 0
    }

    /// Holds off auto-advance while a blocking closure runs (`allow_auto_advance` ends it).
    pub(crate) fn inhibit_auto_advance(&self) {
        self.lock().inhibit += 1;
    }

    /// Ends one [`inhibit_auto_advance`](Self::inhibit_auto_advance).
    pub(crate) fn allow_auto_advance(&self) {
        let mut st = self.lock();
        st.inhibit = st.inhibit.saturating_sub(1);
    }
}

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Deadlines at or past this many ms after `elapsed` are parked in the top level.
const MAX_RANGE: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// "Never": the deadline cannot be represented.
pub(crate) const NEVER: u64 = u64::MAX;

/// Names a registered timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: usize,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Place {
    /// In `levels[level].slots[slot]`.
    Linked { level: usize, slot: usize },
    /// Deadline passed; waiting for its `Sleep` to observe it.
    Fired,
    /// Never fires (no list).
    Never,
    /// Slot on the free list.
    Free,
}

struct Node {
    deadline: u64,
    place: Place,
    prev: Option<usize>,
    next: Option<usize>,
    waker: Option<Waker>,
    generation: u32,
}

struct Level {
    occupied: u64,
    heads: [Option<usize>; SLOTS],
}

impl Default for Level {
    fn default() -> Level {
        Level {
            occupied: 0,
            heads: [None; SLOTS],
        }
    }
}

/// The wheel. Guarded by a mutex in the reactor.
pub(crate) struct Wheel {
    start: Instant,
    elapsed: u64,
    levels: [Level; LEVELS],
    nodes: Vec<Node>,
    free: Vec<usize>,
    live: usize,
    /// The ms tick at which the parked driver's wait ends (`NEVER`: no timeout), or `None`
    /// when no thread waits in the driver.
    wait_until: Option<u64>,
}

impl Wheel {
    pub(crate) fn new(start: Instant) -> Wheel {
        Wheel {
            start,
            elapsed: 0,
            levels: Default::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            live: 0,
            wait_until: None,
        }
    }

    /// Milliseconds since start, rounded down.
    pub(crate) fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(NEVER - 1)
    }

    /// `deadline` in ms since start, rounded up; `NEVER` if it is not representable.
    pub(crate) fn deadline_ms(&self, deadline: Option<Instant>) -> u64 {
        let Some(deadline) = deadline else {
            return NEVER;
        };
        let d = deadline.saturating_duration_since(self.start);
        let ms = d.as_nanos().div_ceil(1_000_000);
        u64::try_from(ms).map_or(NEVER - 1, |v| v.min(NEVER - 1))
    }

    /// The instant of a ms tick.
    pub(crate) fn instant_of(&self, ms: u64) -> Option<Instant> {
        self.start.checked_add(Duration::from_millis(ms))
    }

    /// Registers a timer. Returns its key and whether the caller must wake the driver (the
    /// deadline is earlier than the driver's current wait).
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> (TimerKey, bool) {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.nodes.push(Node {
                    deadline: 0,
                    place: Place::Free,
                    prev: None,
                    next: None,
                    waker: None,
                    generation: 0,
                });
                self.nodes.len() - 1
            }
        };
        let node = &mut self.nodes[index];
        node.deadline = deadline;
        node.waker = Some(waker);
        node.prev = None;
        node.next = None;
        let key = TimerKey {
            index,
            generation: node.generation,
        };
        self.live += 1;
        if deadline == NEVER {
            self.nodes[index].place = Place::Never;
            return (key, false);
        }
        if deadline <= self.elapsed {
            // Already due (the caller raced with the clock): fire on the next turn.
            self.link(index, 0, (self.elapsed & SLOT_MASK) as usize);
        } else {
            self.place(index);
        }
        let wake_driver = matches!(self.wait_until, Some(w) if deadline < w);
        (key, wake_driver)
    }

    /// Whether the timer fired; if not, refreshes its waker.
    pub(crate) fn poll(&mut self, key: TimerKey, waker: &Waker) -> bool {
        let Some(node) = self.node_mut(key) else {
            return true;
        };
        if node.place == Place::Fired {
            return true;
        }
        match &node.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => node.waker = Some(waker.clone()),
        }
        false
    }

    /// Cancels (or releases a fired) timer: O(1).
    pub(crate) fn remove(&mut self, key: TimerKey) {
        let Some(node) = self.node_mut(key) else {
            return;
        };
        let place = node.place;
        if let Place::Linked { level, slot } = place {
            self.unlink(key.index, level, slot);
        }
        let node = &mut self.nodes[key.index];
        node.place = Place::Free;
        node.waker = None;
        node.generation = node.generation.wrapping_add(1);
        self.free.push(key.index);
        self.live -= 1;
    }

    fn node_mut(&mut self, key: TimerKey) -> Option<&mut Node> {
        let node = self.nodes.get_mut(key.index)?;
        (node.generation == key.generation && node.place != Place::Free).then_some(node)
    }

    /// Places a linked-out node by its deadline relative to `elapsed`.
    fn place(&mut self, index: usize) {
        let deadline = self.nodes[index].deadline;
        let (level, slot) = if deadline - self.elapsed >= MAX_RANGE {
            // Too far for the wheel: park it in the top-level slot just before the current one
            // (a full rotation away, never the current slot, which would be due at once); it
            // is re-inserted when that slot comes due.
            let top_slot = 1u64 << (SLOT_BITS as usize * (LEVELS - 1));
            let parked = self.elapsed + MAX_RANGE - top_slot;
            (LEVELS - 1, Self::slot_for(parked, LEVELS - 1))
        } else {
            let level = Self::level_for(self.elapsed, deadline);
            (level, Self::slot_for(deadline, level))
        };
        self.link(index, level, slot);
    }

    fn level_for(elapsed: u64, deadline: u64) -> usize {
        let masked = (elapsed ^ deadline) | SLOT_MASK;
        let significant = 63 - masked.leading_zeros() as usize;
        (significant / SLOT_BITS as usize).min(LEVELS - 1)
    }

    fn slot_for(deadline: u64, level: usize) -> usize {
        ((deadline >> (SLOT_BITS as usize * level)) & SLOT_MASK) as usize
    }

    fn link(&mut self, index: usize, level: usize, slot: usize) {
        let head = self.levels[level].heads[slot];
        {
            let node = &mut self.nodes[index];
            node.place = Place::Linked { level, slot };
            node.prev = None;
            node.next = head;
        }
        if let Some(h) = head {
            self.nodes[h].prev = Some(index);
        }
        self.levels[level].heads[slot] = Some(index);
        self.levels[level].occupied |= 1 << slot;
    }

    fn unlink(&mut self, index: usize, level: usize, slot: usize) {
        let (prev, next) = (self.nodes[index].prev, self.nodes[index].next);
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.levels[level].heads[slot] = next,
        }
        if let Some(n) = next {
            self.nodes[n].prev = prev;
        }
        if self.levels[level].heads[slot].is_none() {
            self.levels[level].occupied &= !(1 << slot);
        }
        self.nodes[index].prev = None;
        self.nodes[index].next = None;
    }

    /// The next slot to process: (level, slot, ms at which it is due).
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.levels[level].occupied;
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS as usize * level;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = ((self.elapsed >> shift) & SLOT_MASK) as u32;
            // The first occupied slot at or after the current one, wrapping.
            let rotated = occupied.rotate_right(now_slot);
            let offset = rotated.trailing_zeros();
            let slot = ((now_slot + offset) % SLOTS as u32) as usize;
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + slot as u64 * slot_range;
            if deadline <= self.elapsed && slot as u32 != now_slot {
                deadline += level_range;
            }
            // A slot of the current window at a higher level is due as soon as its window
            // starts, which may already have passed.
            return Some((level, slot, deadline.max(self.elapsed)));
        }
        None
    }

    /// The ms tick of the next expiration, if any.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_expiration().map(|(_, _, d)| d)
    }

    /// Fires every timer due at `now_ms`, pushing their wakers to `wake`; returns how many
    /// fired.
    pub(crate) fn process(&mut self, now_ms: u64, wake: &mut Vec<Waker>) -> usize {
        let mut fired = 0;
        while let Some((level, slot, due)) = self.next_expiration() {
            if due > now_ms {
                break;
            }
            // Take the whole list out of the slot.
            let mut cursor = self.levels[level].heads[slot].take();
            self.levels[level].occupied &= !(1 << slot);
            self.elapsed = self.elapsed.max(due);
            while let Some(index) = cursor {
                cursor = self.nodes[index].next;
                self.nodes[index].prev = None;
                self.nodes[index].next = None;
                if self.nodes[index].deadline <= now_ms {
                    let node = &mut self.nodes[index];
                    node.place = Place::Fired;
                    wake.extend(node.waker.take());
                    fired += 1;
                } else {
                    self.place(index);
                }
            }
        }
        self.elapsed = self.elapsed.max(now_ms);
        fired
    }

    /// Takes the waker of every timer still pending (not fired, not released), pushing it to
    /// `wake`, for the reactor's shutdown: their futures are polled once more and find that
    /// nothing will fire them. The timers stay registered until their `Sleep` releases them.
    pub(crate) fn take_pending_wakers(&mut self, wake: &mut Vec<Waker>) {
        for node in &mut self.nodes {
            if matches!(node.place, Place::Linked { .. } | Place::Never) {
                wake.extend(node.waker.take());
            }
        }
    }

    /// Records the driver's wait: `Some(tick)` until `tick`, `Some(NEVER)` without timeout,
    /// `None` when it stops waiting.
    pub(crate) fn set_wait_until(&mut self, until: Option<u64>) {
        self.wait_until = until;
    }

    /// Number of registered timers (pending or fired and not yet released).
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn take_pending_wakers_takes_only_the_pending_ones() {
        let mut w = Wheel::new(Instant::now());
        let (fired, wk) = waker();
        let fired_key = w.insert(1, wk).0;
        let (pending, wk) = waker();
        let pending_key = w.insert(500, wk).0;
        let (never, wk) = waker();
        let never_key = w.insert(NEVER, wk).0;
        let (released, wk) = waker();
        let released_key = w.insert(700, wk).0;
        w.remove(released_key);
        let mut wake = Vec::new();
        w.process(10, &mut wake);
        assert_eq!(wake.len(), 1, "the 1 ms timer fired");
        wake.drain(..).for_each(Waker::wake);
        w.take_pending_wakers(&mut wake);
        assert_eq!(wake.len(), 2, "the 500 ms and the never-firing timer");
        wake.drain(..).for_each(Waker::wake);
        for (count, want) in [(&fired, 1), (&pending, 1), (&never, 1), (&released, 0)] {
            assert_eq!(count.0.load(Ordering::SeqCst), want);
        }
        // Nothing was marked fired, nothing was released.
        let (_, probe) = waker();
        assert!(w.poll(fired_key, &probe));
        assert!(!w.poll(pending_key, &probe));
        assert!(!w.poll(never_key, &probe));
        assert_eq!(w.len(), 3);
        // A second shutdown pass finds the wakers `poll` just stored, and only those.
        w.take_pending_wakers(&mut wake);
        assert_eq!(wake.len(), 2);
    }

    #[test]
    fn fires_exactly_at_deadline_never_early_across_levels() {
        let mut w = Wheel::new(Instant::now());
        let deadlines = [
            1u64, 2, 63, 64, 65, 100, 4095, 4096, 4097, 300_000, 5_000_000,
        ];
        let mut keys = Vec::new();
        for &d in &deadlines {
            let (_, wk) = waker();
            keys.push((d, w.insert(d, wk).0));
        }
        let mut wake = Vec::new();
        let mut now = 0;
        // Step through time; at each step exactly the timers with deadline <= now have fired.
        let mut checkpoints: Vec<u64> = deadlines.iter().flat_map(|&d| [d - 1, d]).collect();
        checkpoints.sort_unstable();
        for t in checkpoints {
            while now < t {
                // Jump to the next expiration or t, like a driver would.
                let next = w.next_deadline().unwrap_or(t).min(t).max(now + 1);
                now = next;
                w.process(now, &mut wake);
            }
            for &(d, key) in &keys {
                let (_, probe) = waker();
                assert_eq!(w.poll(key, &probe), d <= now, "deadline {d} at now {now}");
            }
        }
        assert_eq!(wake.len(), deadlines.len());
    }

    #[test]
    fn remove_is_immediate_and_keys_do_not_alias() {
        let mut w = Wheel::new(Instant::now());
        let (c, wk) = waker();
        let (k1, _) = w.insert(10, wk);
        w.remove(k1);
        let (_c2, wk2) = waker();
        let (k2, _) = w.insert(10, wk2);
        assert_eq!(k1.index, k2.index);
        assert_ne!(k1, k2);
        let mut wake = Vec::new();
        assert_eq!(w.process(10, &mut wake), 1);
        for wk in wake {
            wk.wake();
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 0, "cancelled timer never wakes");
        let (_, probe) = waker();
        assert!(
            w.poll(k1, &probe),
            "a stale key reads as done, never as someone else's"
        );
        assert_eq!(w.len(), 1);
        w.remove(k2);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn far_and_never_deadlines_do_not_fire_early() {
        let start = Instant::now();
        let mut w = Wheel::new(start);
        let far = MAX_RANGE * 3 + 17;
        let (_, wk) = waker();
        let (kf, _) = w.insert(far, wk);
        let (_, wk) = waker();
        let (kn, _) = w.insert(w.deadline_ms(start.checked_add(Duration::MAX)), wk);
        let mut wake = Vec::new();
        let (_, probe) = waker();
        let mut now = 0;
        while now < far - 1 {
            now = w
                .next_deadline()
                .unwrap_or(far - 1)
                .min(far - 1)
                .max(now + 1);
            w.process(now, &mut wake);
            assert!(!w.poll(kf, &probe), "far timer fired early at {now}");
        }
        w.process(far, &mut wake);
        assert!(w.poll(kf, &probe));
        assert!(!w.poll(kn, &probe), "NEVER never fires");
        assert_eq!(w.deadline_ms(None), NEVER);
    }

    #[test]
    fn far_deadline_inserted_at_an_odd_time_terminates_and_waits() {
        let mut w = Wheel::new(Instant::now());
        let mut wake = Vec::new();
        w.process(123_457, &mut wake);
        let (_, wk) = waker();
        let (k, _) = w.insert(123_457 + MAX_RANGE * 2 + 5, wk);
        // Processing "now" must not spin on the parked entry.
        w.process(123_458, &mut wake);
        let next = w.next_deadline().unwrap();
        assert!(
            next > 123_458 + MAX_RANGE / 2,
            "parked about a rotation away, got {next}"
        );
        let (_, probe) = waker();
        assert!(!w.poll(k, &probe));
    }

    #[test]
    fn earlier_deadline_than_the_drivers_wait_asks_for_a_wake_up() {
        let mut w = Wheel::new(Instant::now());
        w.set_wait_until(Some(1000));
        let (_, wk) = waker();
        assert!(w.insert(500, wk).1);
        let (_, wk) = waker();
        assert!(!w.insert(2000, wk).1);
        w.set_wait_until(None);
        let (_, wk) = waker();
        assert!(
            !w.insert(1, wk).1,
            "no driver waiting: nothing to interrupt"
        );
    }

    #[test]
    fn rounding_is_up_for_deadlines_and_down_for_now() {
        let start = Instant::now();
        let w = Wheel::new(start);
        assert_eq!(w.deadline_ms(Some(start + Duration::from_micros(1))), 1);
        assert_eq!(w.deadline_ms(Some(start + Duration::from_millis(3))), 3);
        assert_eq!(w.now_ms(start + Duration::from_micros(2999)), 2);
    }
}
