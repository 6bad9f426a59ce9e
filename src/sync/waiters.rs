//! Waiter slots shared by the channels: a pending future (`closed()`, watch's `changed()`,
//! broadcast's `recv()`, mpsc's `Sender::closed()`) owns one entry of a [`Wakers`] slab, taken
//! on its first pending poll, refreshed on later ones and freed when it completes or is dropped.
//!
//! Every call runs under the channel's mutex, which the caller holds and which guards the
//! slab. A waker that is replaced or freed is handed back rather than dropped: dropping a waker
//! may run arbitrary code (it may even panic), so callers drop it after unlocking.

use std::task::{Context, Poll, Waker};

use crate::loom::lock;
use crate::loom::sync::Mutex;
use crate::util::slab::Slab;

/// The wakers of the futures waiting on one condition, addressed by [`WaiterKey`].
pub(crate) type Wakers = Slab<Option<Waker>>;

/// Replaces the waker in `slot` unless it would wake the same task; returns the old one, to be
/// dropped after unlocking.
pub(crate) fn update_waker(slot: &mut Option<Waker>, cx: &Context<'_>) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => None,
        _ => slot.replace(cx.waker().clone()),
    }
}

/// Takes every registered waker, to be woken after unlocking; the slots stay, for their
/// futures to free.
pub(crate) fn take_all(wakers: &mut Wakers) -> Vec<Waker> {
    wakers.iter_mut().filter_map(Option::take).collect()
}

/// One handle of a kind (`count`: the senders, or the receivers) is gone. When it was the last,
/// the waiters in `wakers` must see the channel closed: their wakers, to be woken after
/// unlocking.
pub(crate) fn last_one_gone(count: &mut usize, wakers: &mut Wakers) -> Vec<Waker> {
    *count -= 1;
    if *count == 0 {
        take_all(wakers)
    } else {
        Vec::new()
    }
}

/// A future's slot in a [`Wakers`] slab, if it has one.
#[derive(Debug, Default)]
pub(crate) struct WaiterKey(Option<usize>);

impl WaiterKey {
    pub(crate) const fn new() -> WaiterKey {
        WaiterKey(None)
    }

    /// Registers `cx`'s waker (first call) or refreshes it; returns a replaced waker.
    pub(crate) fn wait(&mut self, wakers: &mut Wakers, cx: &Context<'_>) -> Option<Waker> {
        match self.0 {
            Some(k) => update_waker(wakers.get_mut(k), cx),
            None => {
                self.0 = Some(wakers.insert(Some(cx.waker().clone())));
                None
            }
        }
    }

    /// Frees the slot, if taken; returns its waker.
    pub(crate) fn release(&mut self, wakers: &mut Wakers) -> Option<Waker> {
        self.0.take().and_then(|k| wakers.remove(k))
    }

    /// Whether the future holds a slot (a `Drop` that finds none need not lock).
    pub(crate) fn is_registered(&self) -> bool {
        self.0.is_some()
    }
}

/// A channel state that a sender's `closed()` waits on.
pub(crate) trait ClosedState {
    /// No receiver is left.
    fn is_closed(&self) -> bool;
    /// The `closed()` futures' wakers.
    fn closed_waiters(&mut self) -> &mut Wakers;
}

/// A `Sender::closed()` future's slot, freed when it completes or is dropped.
pub(crate) struct ClosedWaiter<'a, S: ClosedState> {
    state: &'a Mutex<S>,
    key: WaiterKey,
}

impl<'a, S: ClosedState> ClosedWaiter<'a, S> {
    pub(crate) fn new(state: &'a Mutex<S>) -> ClosedWaiter<'a, S> {
        ClosedWaiter {
            state,
            key: WaiterKey::new(),
        }
    }

    /// Ready once every receiver is gone; registers the task until then.
    pub(crate) fn poll_closed(&mut self, cx: &Context<'_>) -> Poll<()> {
        let (poll, stale) = {
            let mut state = lock(self.state);
            if state.is_closed() {
                (Poll::Ready(()), self.key.release(state.closed_waiters()))
            } else {
                (Poll::Pending, self.key.wait(state.closed_waiters(), cx))
            }
        };
        drop(stale);
        poll
    }
}

impl<S: ClosedState> Drop for ClosedWaiter<'_, S> {
    fn drop(&mut self) {
        if self.key.is_registered() {
            let waker = self.key.release(lock(self.state).closed_waiters());
            drop(waker);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counting(AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    struct State {
        receivers: usize,
        waiters: Wakers,
    }
    impl ClosedState for State {
        fn is_closed(&self) -> bool {
            self.receivers == 0
        }
        fn closed_waiters(&mut self) -> &mut Wakers {
            &mut self.waiters
        }
    }

    #[test]
    fn a_slot_is_taken_once_refreshed_and_freed() {
        let mut wakers = Wakers::new();
        let a = Arc::new(Counting(AtomicUsize::new(0)));
        let b = Arc::new(Counting(AtomicUsize::new(0)));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut key = WaiterKey::new();
        assert!(!key.is_registered());
        assert!(key.wait(&mut wakers, &Context::from_waker(&wa)).is_none());
        assert!(key.is_registered());
        // The same task again: its slot is refreshed, not duplicated (whether the old waker
        // comes back depends on `will_wake`, which is best effort: under miri it is not).
        if let Some(old) = key.wait(&mut wakers, &Context::from_waker(&wa)) {
            old.wake();
        }
        let a_before = a.0.load(SeqCst);
        // Another task: the old waker comes back, and it wakes the first task.
        key.wait(&mut wakers, &Context::from_waker(&wb))
            .expect("a different task's waker replaces the old one")
            .wake();
        assert_eq!(a.0.load(SeqCst), a_before + 1);
        assert_eq!(wakers.iter_mut().count(), 1, "still one slot");
        // Freed: the slot's waker (the second task's) comes back once.
        key.release(&mut wakers).expect("the slot's waker").wake();
        assert_eq!(b.0.load(SeqCst), 1);
        assert!(!key.is_registered());
        assert!(key.release(&mut wakers).is_none());
        assert_eq!(wakers.iter_mut().count(), 0);
    }

    #[test]
    fn only_the_last_handle_gone_takes_the_wakers() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = Waker::from(counting);
        let mut wakers = Wakers::new();
        let mut key = WaiterKey::new();
        assert!(key
            .wait(&mut wakers, &Context::from_waker(&waker))
            .is_none());
        let mut handles = 2;
        assert!(last_one_gone(&mut handles, &mut wakers).is_empty());
        assert_eq!(last_one_gone(&mut handles, &mut wakers).len(), 1);
        assert_eq!(handles, 0);
        // The slot stays for its future to free; its waker is gone.
        assert_eq!(wakers.iter_mut().count(), 1);
        assert!(take_all(&mut wakers).is_empty());
        assert!(key.release(&mut wakers).is_none());
    }

    #[test]
    fn closed_waiter_waits_for_no_receivers_and_frees_its_slot_on_drop() {
        let state = Mutex::new(State {
            receivers: 1,
            waiters: Wakers::new(),
        });
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = Waker::from(counting);
        let cx = Context::from_waker(&waker);
        let mut waiter = ClosedWaiter::new(&state);
        assert!(waiter.poll_closed(&cx).is_pending());
        assert_eq!(lock(&state).waiters.iter_mut().count(), 1);
        drop(waiter);
        assert_eq!(lock(&state).waiters.iter_mut().count(), 0, "freed on drop");

        let mut waiter = ClosedWaiter::new(&state);
        assert!(waiter.poll_closed(&cx).is_pending());
        lock(&state).receivers = 0;
        assert!(waiter.poll_closed(&cx).is_ready());
        assert_eq!(
            lock(&state).waiters.iter_mut().count(),
            0,
            "freed on completion"
        );
    }
}
