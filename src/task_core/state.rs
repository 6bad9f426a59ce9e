//! The task state word: six flag bits and a reference count, in one `AtomicUsize`.
//!
//! | bit            | meaning                                                                     |
//! |----------------|-----------------------------------------------------------------------------|
//! | `RUNNING`      | a thread owns the future and is polling (or cancelling) it; it alone may touch the stage |
//! | `COMPLETE`     | the future is gone; the stage holds the output (or is consumed). Never unset. |
//! | `NOTIFIED`     | a `Notified` for the task exists in a queue, or will be created when the current poll ends |
//! | `JOIN_INTEREST`| the `JoinHandle` is alive; it, not the runtime, will drop the output        |
//! | `JOIN_WAKER`   | the join waker slot is written and owned by the runtime side (see below)    |
//! | `CANCELLED`    | the task must be cancelled the next time a thread gets `RUNNING`             |
//!
//! `RUNNING` and `COMPLETE` are never both set. The reference count lives in the bits above
//! [`REF_SHIFT`]; each `Task`, `Notified`, `JoinHandle` and `Waker` holds one reference. A task
//! starts with three references: the owned-tasks list's, the first `Notified`'s and the
//! `JoinHandle`'s, and with `NOTIFIED | JOIN_INTEREST` set, because it is scheduled at once.
//!
//! Who may touch which field:
//! - the stage (future or output): the thread that set `RUNNING`; after `COMPLETE`, the
//!   `JoinHandle` while `JOIN_INTEREST` is set, otherwise the thread that completed the task;
//! - the join waker slot: the `JoinHandle` while `JOIN_WAKER` is unset; the completing thread
//!   (read only, to wake it) while `JOIN_WAKER` is set; the `JoinHandle` may read it while both
//!   `JOIN_WAKER` and `JOIN_INTEREST` are set and the task is not complete.
//!
//! Orderings: every transition that hands a field from one thread to another is an `AcqRel`
//! read-modify-write, so the writes before it are visible after it. Reference increments are
//! `Relaxed` (a new reference is always made from an existing one); decrements are `AcqRel`, so
//! the thread that deallocates sees every other thread's last use.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};

/// A thread owns the future.
const RUNNING: usize = 0b00_0001;
/// The future has completed (or been cancelled).
const COMPLETE: usize = 0b00_0010;
/// The task is scheduled, or will be when the current poll ends.
const NOTIFIED: usize = 0b00_0100;
/// The `JoinHandle` is alive.
const JOIN_INTEREST: usize = 0b00_1000;
/// The join waker is stored and owned by the runtime side.
const JOIN_WAKER: usize = 0b01_0000;
/// The task is to be cancelled.
const CANCELLED: usize = 0b10_0000;

/// All flag bits.
const STATE_MASK: usize = 0b11_1111;
/// Where the reference count starts.
const REF_SHIFT: u32 = STATE_MASK.count_ones();
/// One reference.
const REF_ONE: usize = 1 << REF_SHIFT;

/// Three references (owned list, first `Notified`, `JoinHandle`), scheduled, joinable.
const INITIAL_STATE: usize = (REF_ONE * 3) | NOTIFIED | JOIN_INTEREST;

/// The atomic state word of a task.
pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// Outcome of [`State::transition_to_running`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// The caller owns the future and must poll it.
    Success,
    /// The caller owns the future and must cancel it.
    Cancelled,
    /// The task is running elsewhere or complete; the caller's reference was released.
    Failed,
    /// As `Failed`, and that was the last reference: the caller must deallocate.
    Dealloc,
}

/// Outcome of [`State::transition_to_idle`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Idle; the running reference was released.
    Ok,
    /// Idle but woken during the poll: the running reference becomes a new `Notified` that the
    /// caller must schedule.
    OkNotified,
    /// Idle, and the running reference was the last: the caller must deallocate.
    OkDealloc,
    /// The task was cancelled during the poll; the caller still owns the future and must
    /// cancel it.
    Cancelled,
}

/// Outcome of a wake that consumes the waker's reference.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotifiedByVal {
    /// Nothing to do; the reference was released (or kept by a running poll's notification).
    DoNothing,
    /// The waker's reference became a `Notified`: schedule it.
    Submit,
    /// The reference was the last one: deallocate.
    Dealloc,
}

/// Outcome of a wake that keeps the waker's reference.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotifiedByRef {
    /// Nothing to do.
    DoNothing,
    /// A new reference was taken for a `Notified`: schedule it.
    Submit,
}

impl State {
    /// A new task's state: see [`INITIAL_STATE`].
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL_STATE),
        }
    }

    /// Loads the current state.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Applies `f` in a CAS loop until it stores or declines (returns `None` for the new state).
    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (output, next) = f(curr);
            let Some(next) = next else { return output };
            match self.val.compare_exchange(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return output,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Applies `f` in a CAS loop; `Err` leaves the state untouched.
    fn fetch_update(
        &self,
        mut f: impl FnMut(Snapshot) -> Option<Snapshot>,
    ) -> Result<Snapshot, Snapshot> {
        let mut curr = self.load();
        loop {
            let Some(next) = f(curr) else {
                return Err(curr);
            };
            match self.val.compare_exchange(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return Ok(next),
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called with a `Notified`'s reference to start a poll. On success `RUNNING` is set and
    /// `NOTIFIED` cleared, and the reference becomes the running reference.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|mut next| {
            if !next.is_idle() {
                // Running elsewhere or complete (shut down while queued): drop our reference.
                next.ref_dec();
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            next.set_running();
            next.unset_notified();
            let action = if next.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// Called after a poll returned `Pending`: clears `RUNNING` unless the task was cancelled.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = curr;
            next.unset_running();
            let action = if next.is_notified() {
                // The running reference is handed to the new `Notified`.
                TransitionToIdle::OkNotified
            } else {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(next))
        })
    }

    /// Flips `RUNNING` off and `COMPLETE` on, returning the new state. The stage already holds
    /// the output; the `AcqRel` publishes it to the `JoinHandle`.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        const DELTA: usize = RUNNING | COMPLETE;
        let prev = Snapshot(self.val.fetch_xor(DELTA, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ DELTA)
    }

    /// Releases `count` references after completion; returns true when the caller must
    /// deallocate.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count, "task reference count underflow");
        prev.ref_count() == count
    }

    /// A wake that consumes the waker's reference.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotifiedByVal {
        self.fetch_update_action(|mut next| {
            let action = if next.is_running() {
                // The poll in progress will see NOTIFIED and reschedule; the running thread
                // holds a reference, so ours cannot be the last.
                next.set_notified();
                next.ref_dec();
                debug_assert!(next.ref_count() > 0);
                TransitionToNotifiedByVal::DoNothing
            } else if next.is_complete() || next.is_notified() {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToNotifiedByVal::Dealloc
                } else {
                    TransitionToNotifiedByVal::DoNothing
                }
            } else {
                // Idle: our reference becomes the `Notified`.
                next.set_notified();
                TransitionToNotifiedByVal::Submit
            };
            (action, Some(next))
        })
    }

    /// A wake that keeps the waker's reference.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotifiedByRef {
        self.fetch_update_action(|mut next| {
            if next.is_complete() || next.is_notified() {
                (TransitionToNotifiedByRef::DoNothing, None)
            } else if next.is_running() {
                next.set_notified();
                (TransitionToNotifiedByRef::DoNothing, Some(next))
            } else {
                next.set_notified();
                next.ref_inc();
                (TransitionToNotifiedByRef::Submit, Some(next))
            }
        })
    }

    /// `JoinHandle::abort`: marks the task cancelled; returns true when the caller took a new
    /// reference for a `Notified` that it must schedule so that a worker cancels the task.
    #[must_use]
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update_action(|mut next| {
            if next.is_cancelled() || next.is_complete() {
                (false, None)
            } else if next.is_running() || next.is_notified() {
                // The poll in progress (or the queued `Notified`) will see CANCELLED.
                next.set_cancelled();
                (false, Some(next))
            } else {
                next.set_cancelled();
                next.set_notified();
                next.ref_inc();
                (true, Some(next))
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled and, if it is idle, takes `RUNNING`; returns
    /// true when the caller now owns the future and must cancel it.
    #[must_use]
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        let mut prev = Snapshot(0);
        let _ = self.fetch_update(|mut next| {
            prev = next;
            if next.is_idle() {
                next.set_running();
            }
            next.set_cancelled();
            Some(next)
        });
        prev.is_idle()
    }

    /// Fast path for dropping a `JoinHandle` of a task that has not run yet. A strong CAS:
    /// on x86 it is the same instruction as a weak one, and it never fails spuriously, so the
    /// outcome depends on the state alone.
    pub(crate) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        self.val
            .compare_exchange(
                INITIAL_STATE,
                (INITIAL_STATE - REF_ONE) & !JOIN_INTEREST,
                Release,
                Relaxed,
            )
            .map(|_| ())
            .map_err(|_| ())
    }

    /// Clears `JOIN_INTEREST` (and, if the task is not complete, `JOIN_WAKER`, handing the
    /// waker slot to the `JoinHandle`). Returns `(drop_output, drop_waker)`: what the
    /// `JoinHandle` now owns and must drop.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> (bool, bool) {
        let mut prev = Snapshot(0);
        let next = self
            .fetch_update(|curr| {
                debug_assert!(curr.is_join_interested());
                prev = curr;
                let mut next = curr;
                next.unset_join_interested();
                if !curr.is_complete() {
                    next.unset_join_waker();
                }
                Some(next)
            })
            .unwrap_or_else(|s| s);
        (prev.is_complete(), !next.is_join_waker_set())
    }

    /// Sets `JOIN_WAKER` after the `JoinHandle` wrote the waker slot; fails if the task
    /// completed meanwhile.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return None;
            }
            let mut next = curr;
            next.set_join_waker();
            Some(next)
        })
    }

    /// Takes the waker slot back from the runtime side so the `JoinHandle` can replace it;
    /// fails if the task completed meanwhile.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            if curr.is_complete() {
                return None;
            }
            // Checked only now: a task that completed since the `JoinHandle` looked may have
            // handed the slot back already (`unset_waker_after_complete`).
            debug_assert!(curr.is_join_waker_set());
            let mut next = curr;
            next.unset_join_waker();
            Some(next)
        })
    }

    /// After waking the join waker on completion, hands the slot back; returns the new state
    /// (if `JOIN_INTEREST` is gone, the completing thread drops the waker).
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// Takes one more reference. Aborts the process on overflow (as `Arc` does): a count past
    /// `isize::MAX` can only come from leaked wakers, and continuing would risk a use after free.
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Releases one reference; returns true when it was the last and the caller must
    /// deallocate.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    /// Neither running nor complete.
    pub(crate) fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    fn set_running(&mut self) {
        self.0 |= RUNNING;
    }
    fn unset_running(&mut self) {
        self.0 &= !RUNNING;
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    fn set_notified(&mut self) {
        self.0 |= NOTIFIED;
    }
    fn unset_notified(&mut self) {
        self.0 &= !NOTIFIED;
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    fn set_cancelled(&mut self) {
        self.0 |= CANCELLED;
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    fn unset_join_interested(&mut self) {
        self.0 &= !JOIN_INTEREST;
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    fn set_join_waker(&mut self) {
        self.0 |= JOIN_WAKER;
    }
    fn unset_join_waker(&mut self) {
        self.0 &= !JOIN_WAKER;
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        self.0 -= REF_ONE;
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn refs(s: &State) -> usize {
        s.load().ref_count()
    }

    #[test]
    fn initial_state_is_notified_joinable_with_three_refs() {
        let s = State::new();
        let snap = s.load();
        assert!(snap.is_notified() && snap.is_join_interested() && snap.is_idle());
        assert!(!snap.is_cancelled() && !snap.is_join_waker_set());
        assert_eq!(snap.ref_count(), 3);
    }

    #[test]
    fn run_then_idle_releases_running_ref() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.load();
        assert!(snap.is_running() && !snap.is_notified());
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert!(s.load().is_idle());
        assert_eq!(refs(&s), 2);
    }

    #[test]
    fn wake_during_poll_hands_running_ref_to_notified() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(refs(&s), 3);
        assert!(s.load().is_notified());
    }

    #[test]
    fn wake_by_val_while_idle_submits_without_new_ref() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        s.ref_inc(); // a waker
        assert_eq!(refs(&s), 3);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::Submit
        );
        assert_eq!(refs(&s), 3);
        // a second wake while notified just drops its reference
        s.ref_inc();
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::DoNothing
        );
        assert_eq!(refs(&s), 3);
    }

    #[test]
    fn wake_by_ref_while_idle_takes_a_ref() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::Submit
        );
        assert_eq!(refs(&s), 3);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        assert_eq!(refs(&s), 3);
    }

    #[test]
    fn wake_by_val_after_complete_can_dealloc() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_complete() && !snap.is_running());
        // release the running ref and the owned ref
        assert!(!s.transition_to_terminal(2));
        // the join handle goes away
        assert_eq!(s.transition_to_join_handle_dropped(), (true, true));
        s.ref_inc(); // a waker that outlived everything else
        assert!(!s.ref_dec());
        assert_eq!(refs(&s), 1);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotifiedByVal::Dealloc
        );
    }

    #[test]
    fn running_a_complete_task_fails_and_releases() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let _ = s.transition_to_complete();
        s.ref_inc(); // a stale Notified
        assert_eq!(s.transition_to_running(), TransitionToRunning::Failed);
        assert_eq!(refs(&s), 3);
    }

    #[test]
    fn abort_idle_task_submits_and_run_sees_cancel() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert!(s.transition_to_notified_and_cancel());
        assert!(
            !s.transition_to_notified_and_cancel(),
            "second abort is a no-op"
        );
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
    }

    #[test]
    fn abort_running_task_is_seen_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        assert!(s.load().is_running(), "cancelled poll keeps ownership");
    }

    #[test]
    fn abort_queued_task_marks_cancelled_only() {
        let s = State::new();
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(refs(&s), 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
    }

    #[test]
    fn shutdown_takes_idle_task_but_not_running_one() {
        let s = State::new();
        assert!(s.transition_to_shutdown());
        assert!(s.load().is_running() && s.load().is_cancelled());
        let r = State::new();
        assert_eq!(r.transition_to_running(), TransitionToRunning::Success);
        assert!(!r.transition_to_shutdown());
        assert_eq!(r.transition_to_idle(), TransitionToIdle::Cancelled);
    }

    #[test]
    fn join_waker_protocol() {
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        assert!(s.load().is_join_waker_set());
        assert!(s.unset_join_waker().is_ok());
        assert!(s.set_join_waker().is_ok());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_join_waker_set());
        assert!(s.unset_join_waker().is_err(), "complete wins");
        let after = s.unset_waker_after_complete();
        assert!(!after.is_join_waker_set() && after.is_join_interested());
        // A JoinHandle that saw the waker set before completion may get here only now.
        assert!(
            s.unset_join_waker().is_err(),
            "complete wins after the slot went back too"
        );
        assert_eq!(s.transition_to_join_handle_dropped(), (true, true));
    }

    #[test]
    fn join_handle_drop_before_completion_takes_the_waker_slot() {
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        assert_eq!(s.transition_to_join_handle_dropped(), (false, true));
        assert!(!s.load().is_join_interested());
    }

    #[test]
    fn join_handle_drop_fast_path_only_from_initial_state() {
        let s = State::new();
        assert!(s.drop_join_handle_fast().is_ok());
        assert_eq!(refs(&s), 2);
        assert!(!s.load().is_join_interested());
        let t = State::new();
        assert_eq!(t.transition_to_running(), TransitionToRunning::Success);
        assert!(t.drop_join_handle_fast().is_err());
    }
}
