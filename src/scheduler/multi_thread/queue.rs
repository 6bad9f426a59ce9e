//! The per-worker run queue: a bounded single-producer, multi-consumer ring buffer with work
//! stealing.
//!
//! `tail` is written only by the owner (push). `head` packs two `u32` cursors:
//! `real` (the next slot to pop) and `steal` (the oldest slot still being copied by a
//! stealer). When no steal is in progress they are equal. A stealer claims a batch by moving
//! `real` forward with a CAS while leaving `steal` behind; it copies the claimed slots, then
//! sets `steal = real`. While `steal != real` a second stealer backs off, and the owner must
//! not overwrite slots at or past `steal` (it checks `tail - steal` against the capacity).
//!
//! Orderings: the owner writes a slot, then publishes it with a `Release` store of `tail`;
//! stealers `Acquire`-load `tail` before reading slots. Slots handed out by a `head` CAS are
//! read after that `AcqRel` CAS, which orders them after the owner's writes.
//!
//! A full queue moves half of its tasks to the injector in one batch, so a worker that spawns
//! in a loop shares its work with the others. Those are its *oldest* tasks, which then wait
//! behind the injector's: an overflow reorders. The capacity is 1024 (Tokio's is 256) so that
//! a worker of a server at 1000 connections, which wakes that many tasks a round, serves them
//! in the order they woke: with 256 slots nearly every task went through the injector (1.8
//! injector pops per request under `wrk -c1000`, 2 workers) and the p99 was 54-70 ms;
//! with 1024, 20-34 ms at the same req/s. It costs 8 KiB per worker.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::loom::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use crate::loom::sync::Arc;
use crate::loom::UnsafeCell;
use crate::scheduler::inject::Inject;
use crate::task_core::Notified;

/// Capacity of a local queue (a power of two; why 1024: the module docs); small under loom
/// to reach "full" quickly.
#[cfg(not(loom))]
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 1024;
#[cfg(loom)]
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 4;

const MASK: usize = LOCAL_QUEUE_CAPACITY - 1;

/// The owner's end. Not `Sync`: only the owning worker pushes and pops.
pub(crate) struct Local<S: 'static> {
    inner: Arc<Inner<S>>,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

/// A stealer's end.
pub(crate) struct Steal<S: 'static>(Arc<Inner<S>>);

struct Inner<S: 'static> {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<Notified<S>>>]>,
}

// SAFETY: slots are handed between threads only through the head/tail protocol above, and
// `Notified` is `Send`.
unsafe impl<S: 'static> Send for Inner<S> where Notified<S>: Send {}
// SAFETY: as above; concurrent access to a slot never happens (the protocol gives each slot
// to exactly one reader or the writer at a time).
unsafe impl<S: 'static> Sync for Inner<S> where Notified<S>: Send {}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// A new queue: the owner's end and a stealer's end.
pub(crate) fn local<S: 'static>() -> (Steal<S>, Local<S>) {
    let buffer = (0..LOCAL_QUEUE_CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Steal(inner.clone()),
        Local {
            inner,
            _not_sync: PhantomData,
        },
    )
}

impl<S: 'static> Inner<S> {
    /// # Safety
    /// The slot at `pos` is owned by the caller per the protocol and is empty.
    unsafe fn write(&self, pos: u32, task: Notified<S>) {
        self.buffer[pos as usize & MASK].with_mut(|p| {
            // SAFETY: the caller owns the slot.
            unsafe { (*p).write(task) };
        });
    }

    /// # Safety
    /// The slot at `pos` is owned by the caller per the protocol and holds a task.
    unsafe fn read(&self, pos: u32) -> Notified<S> {
        // SAFETY: the caller owns the slot and it is initialized.
        self.buffer[pos as usize & MASK].with(|p| unsafe { (*p).assume_init_read() })
    }

    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real) as usize
    }
}

impl<S: 'static> Local<S> {
    /// Number of queued tasks.
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether tasks are queued.
    pub(crate) fn has_tasks(&self) -> bool {
        self.len() != 0
    }

    /// How many more tasks fit without overflowing.
    pub(crate) fn remaining_slots(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        let tail = self.inner.tail.load(Relaxed);
        LOCAL_QUEUE_CAPACITY - tail.wrapping_sub(steal) as usize
    }

    /// Pushes a task; when full, moves half the queue plus the task to the injector.
    pub(crate) fn push_back(&self, mut task: Notified<S>, inject: &Inject<S>) {
        loop {
            let head = self.inner.head.load(Acquire);
            let (steal, real) = unpack(head);
            // Only this thread stores `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if (tail.wrapping_sub(steal) as usize) < LOCAL_QUEUE_CAPACITY {
                // SAFETY: slots in [tail, steal + CAP) are free and only the owner writes them.
                unsafe { self.inner.write(tail, task) };
                self.inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // A stealer is draining us right now; it will free space. Don't wait for it.
                inject.push(task);
                return;
            }
            match self.push_overflow(task, real, tail, inject) {
                Ok(()) => return,
                Err(t) => task = t, // a stealer moved head; retry
            }
        }
    }

    /// Pushes a batch (used when pulling from the injector); the caller checked that it fits.
    pub(crate) fn push_back_batch(
        &self,
        tasks: impl Iterator<Item = Notified<S>>,
        inject: &Inject<S>,
    ) {
        for task in tasks {
            self.push_back(task, inject);
        }
    }

    fn push_overflow(
        &self,
        task: Notified<S>,
        head: u32,
        tail: u32,
        inject: &Inject<S>,
    ) -> Result<(), Notified<S>> {
        const HALF: u32 = (LOCAL_QUEUE_CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, LOCAL_QUEUE_CAPACITY);
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(HALF), head.wrapping_add(HALF));
        if self
            .inner
            .head
            .compare_exchange(prev, next, Release, Relaxed)
            .is_err()
        {
            return Err(task);
        }
        // SAFETY: the CAS claimed [head, head + HALF) for us: no stealer can touch them now.
        let moved = (0..HALF).map(|i| unsafe { self.inner.read(head.wrapping_add(i)) });
        inject.push_batch(moved.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops the oldest task.
    pub(crate) fn pop(&self) -> Option<Notified<S>> {
        let mut head = self.inner.head.load(Acquire);
        let pos = loop {
            let (steal, real) = unpack(head);
            let tail = self.inner.tail.load(Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                debug_assert_ne!(steal, next_real);
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS gave slot `pos` to us.
        Some(unsafe { self.inner.read(pos) })
    }
}

impl<S: 'static> Drop for Local<S> {
    fn drop(&mut self) {
        // Release the references of tasks still queued (shutdown drains first; this is the
        // safety net that makes a dropped queue leak nothing).
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

impl<S: 'static> Steal<S> {
    /// Whether the queue looks empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Steals half of this queue into `dst` (whose owner is the caller) and returns one of
    /// the stolen tasks to run.
    pub(crate) fn steal_into(&self, dst: &Local<S>) -> Option<Notified<S>> {
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) as usize > LOCAL_QUEUE_CAPACITY / 2 {
            // Not enough room for half of a full queue; the caller has work anyway.
            return None;
        }
        let mut n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        n -= 1;
        // SAFETY: we wrote [dst_tail, dst_tail + n] ourselves and have not published them.
        let ret = unsafe { dst.inner.read(dst_tail.wrapping_add(n)) };
        if n > 0 {
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(ret)
    }

    /// Moves half of the tasks (rounded up) into `dst` starting at `dst_tail`; returns how
    /// many.
    fn steal_into2(&self, dst: &Local<S>, dst_tail: u32) -> u32 {
        let mut prev = self.0.head.load(Acquire);
        let (n, claimed) = loop {
            let (steal, real) = unpack(prev);
            let tail = self.0.tail.load(Acquire);
            if steal != real {
                return 0; // another stealer is at work
            }
            let avail = tail.wrapping_sub(real);
            let n = avail - avail / 2;
            if n == 0 {
                return 0;
            }
            let next = pack(steal, real.wrapping_add(n));
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (n, next),
                Err(actual) => prev = actual,
            }
        };
        let (first, _) = unpack(claimed);
        for i in 0..n {
            // SAFETY: the CAS claimed [first, first + n) in the source; the destination slots
            // past `dst_tail` are free (checked by the caller) and unpublished.
            unsafe {
                let task = self.0.read(first.wrapping_add(i));
                dst.inner.write(dst_tail.wrapping_add(i), task);
            }
        }
        // Release the claim: steal = real.
        let mut prev = claimed;
        loop {
            let (_, real) = unpack(prev);
            match self
                .0
                .head
                .compare_exchange(prev, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return n,
                Err(actual) => prev = actual, // the owner popped meanwhile
            }
        }
    }
}

#[cfg(all(test, loom))]
#[path = "loom_queue.rs"]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task_core::{OwnedTasks, Schedule, Task};

    /// A scheduler that never runs anything: tasks only travel through queues here.
    struct Parked {
        owned: OwnedTasks<std::sync::Arc<Parked>>,
    }

    impl Schedule for std::sync::Arc<Parked> {
        fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
            self.owned.remove(task)
        }
        fn schedule(&self, task: Notified<Self>) {
            drop(task);
        }
    }

    fn tasks(
        n: usize,
    ) -> (
        std::sync::Arc<Parked>,
        Vec<Notified<std::sync::Arc<Parked>>>,
    ) {
        let s = std::sync::Arc::new(Parked {
            owned: OwnedTasks::new(1),
        });
        let v = (0..n)
            .map(|_| s.owned.bind(async {}, s.clone()).1.unwrap())
            .collect();
        (s, v)
    }

    fn ids<S>(v: &[Notified<S>]) -> Vec<u64> {
        v.iter().map(|t| t.id().0).collect()
    }

    #[test]
    fn pack_roundtrip() {
        assert_eq!(unpack(pack(7, 9)), (7, 9));
        assert_eq!(unpack(pack(u32::MAX, 0)), (u32::MAX, 0));
    }

    #[test]
    fn push_pop_is_fifo() {
        let inject = Inject::new();
        let (_steal, local) = local();
        let (sched, ts) = tasks(10);
        let expect = ids(&ts);
        for t in ts {
            local.push_back(t, &inject);
        }
        assert_eq!(local.len(), 10);
        let got: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(ids(&got), expect);
        assert!(inject.is_empty());
        drop(got);
        sched.owned.close_and_shutdown_all();
    }

    #[test]
    fn overflow_moves_half_plus_one_to_the_injector() {
        let inject = Inject::new();
        let (_steal, local) = local();
        let (sched, ts) = tasks(LOCAL_QUEUE_CAPACITY + 1);
        let expect = ids(&ts);
        for t in ts {
            local.push_back(t, &inject);
        }
        assert_eq!(local.len(), LOCAL_QUEUE_CAPACITY / 2);
        assert_eq!(inject.len(), LOCAL_QUEUE_CAPACITY / 2 + 1);
        // The oldest half went to the injector, in order, then the new task.
        let injected: Vec<_> = std::iter::from_fn(|| inject.pop()).collect();
        let mut want: Vec<u64> = expect[..LOCAL_QUEUE_CAPACITY / 2].to_vec();
        want.push(expect[LOCAL_QUEUE_CAPACITY]);
        assert_eq!(ids(&injected), want);
        let local_rest: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(
            ids(&local_rest),
            expect[LOCAL_QUEUE_CAPACITY / 2..LOCAL_QUEUE_CAPACITY].to_vec()
        );
        drop((injected, local_rest));
        sched.owned.close_and_shutdown_all();
    }

    #[test]
    fn steal_takes_half_rounded_up_oldest_first() {
        let inject = Inject::new();
        let (steal, victim) = local();
        let (_s2, thief) = local();
        let (sched, ts) = tasks(7);
        let expect = ids(&ts);
        for t in ts {
            victim.push_back(t, &inject);
        }
        let first = steal.steal_into(&thief).expect("stole");
        // 4 stolen: 3 queued in the thief, the newest of them returned to run.
        assert_eq!(first.id().0, expect[3]);
        assert_eq!(thief.len(), 3);
        assert_eq!(victim.len(), 3);
        let thief_rest: Vec<_> = std::iter::from_fn(|| thief.pop()).collect();
        assert_eq!(ids(&thief_rest), expect[..3].to_vec());
        let victim_rest: Vec<_> = std::iter::from_fn(|| victim.pop()).collect();
        assert_eq!(ids(&victim_rest), expect[4..].to_vec());
        assert!(steal.steal_into(&thief).is_none(), "nothing left to steal");
        drop((first, thief_rest, victim_rest));
        sched.owned.close_and_shutdown_all();
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::collections::HashSet;
        let inject = Inject::new();
        let (steal, victim) = local();
        // Miri runs this (scripts/miri.sh) thousands of times slower: fewer tasks there.
        let (sched, ts) = tasks(if cfg!(miri) { 200 } else { 20_000 });
        let expect: HashSet<u64> = ids(&ts).into_iter().collect();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done2 = done.clone();
        let stealer = std::thread::spawn(move || {
            let (_s, mine) = local();
            let mut got = Vec::new();
            loop {
                let finished = done2.load(std::sync::atomic::Ordering::Acquire);
                match steal.steal_into(&mine) {
                    Some(t) => {
                        got.push(t);
                        got.extend(std::iter::from_fn(|| mine.pop()));
                    }
                    None if finished => return got,
                    None => std::thread::yield_now(),
                }
            }
        });
        let mut mine = Vec::new();
        for (i, t) in ts.into_iter().enumerate() {
            victim.push_back(t, &inject);
            if i % 3 == 0 {
                mine.extend(victim.pop());
            }
        }
        mine.extend(std::iter::from_fn(|| victim.pop()));
        done.store(true, std::sync::atomic::Ordering::Release);
        let stolen = stealer.join().unwrap();
        mine.extend(std::iter::from_fn(|| inject.pop()));
        let mut seen = HashSet::new();
        for t in mine.iter().chain(stolen.iter()) {
            assert!(seen.insert(t.id().0), "task {} seen twice", t.id());
        }
        assert_eq!(seen, expect, "every task accounted for exactly once");
        drop((mine, stolen));
        sched.owned.close_and_shutdown_all();
    }
}
