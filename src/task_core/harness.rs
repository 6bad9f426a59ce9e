//! The monomorphized task operations behind the vtable: poll, complete, cancel, join,
//! deallocate. Each one names the state transition that gives it the right to touch a field.

use std::future::Future;
use std::io;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::core::{Cell, CoreStage, Header, Prefix, Trailer, Vtable};
use super::state::{Snapshot, State, TransitionToIdle, TransitionToRunning};
use super::{waker, Id, JoinError, Notified, Schedule, Task};

/// The vtable for tasks of future `F` on scheduler `S`.
pub(super) fn vtable<F: Future, S: Schedule>() -> &'static Vtable {
    &Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle_slow: drop_join_handle_slow::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

/// Typed access to a task allocation.
struct Harness<F: Future, S: 'static> {
    cell: NonNull<Cell<F, S>>,
}

impl<F: Future, S: Schedule> Harness<F, S> {
    /// # Safety
    /// `ptr` points at a live `Cell<F, S>` and the caller holds a reference.
    unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Harness { cell: ptr.cast() }
    }

    fn cell(&self) -> &Cell<F, S> {
        // SAFETY: `from_raw`'s contract: the allocation outlives the reference we hold.
        unsafe { self.cell.as_ref() }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.cell.cast()
    }

    fn header(&self) -> &Header {
        &self.cell().prefix.header
    }

    fn state(&self) -> &State {
        &self.header().state
    }

    fn id(&self) -> Id {
        self.header().id
    }

    fn scheduler(&self) -> &S {
        &self.cell().prefix.scheduler
    }

    fn trailer(&self) -> &Trailer {
        &self.cell().prefix.trailer
    }

    fn stage(&self) -> &CoreStage<F> {
        &self.cell().stage
    }

    /// Runs the task with a `Notified`'s reference.
    fn poll(self) {
        match self.state().transition_to_running() {
            TransitionToRunning::Success => {
                let header = self.header_ptr();
                let waker = waker::waker_ref::<S>(&header);
                let mut cx = Context::from_waker(&waker);
                // SAFETY: we set RUNNING, so we own the stage.
                if unsafe { poll_future(self.stage(), self.id(), &mut cx) }.is_ready() {
                    return self.complete();
                }
                match self.state().transition_to_idle() {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkNotified => {
                        // SAFETY: the running reference became this Notified's reference.
                        let notified = unsafe { Notified::<S>::from_raw(header) };
                        // Nothing in `self` is touched after this call: the task may already
                        // be running (and be freed) on another worker.
                        self.scheduler().yield_now(notified);
                    }
                    TransitionToIdle::OkDealloc => self.dealloc(),
                    TransitionToIdle::Cancelled => {
                        // SAFETY: still RUNNING: we own the stage.
                        unsafe { cancel_task(self.stage(), self.id(), None) };
                        self.complete();
                    }
                }
            }
            TransitionToRunning::Cancelled => {
                // SAFETY: RUNNING is ours.
                unsafe { cancel_task(self.stage(), self.id(), None) };
                self.complete();
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Publishes the output stored in the stage, wakes the joiner, leaves the owned list and
    /// releases the running reference (and the list's).
    fn complete(self) {
        let snapshot = self.state().transition_to_complete();
        // A panic while dropping the output or in a user waker must not escape into the worker.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // SAFETY: COMPLETE without JOIN_INTEREST: the completing thread owns the output.
                unsafe { self.stage().drop_future_or_output() };
            } else if snapshot.is_join_waker_set() {
                // SAFETY: JOIN_WAKER is set: we may read the slot to wake it.
                unsafe { self.trailer().wake_join() };
                let snapshot = self.state().unset_waker_after_complete();
                if !snapshot.is_join_interested() {
                    // SAFETY: the JoinHandle is gone and JOIN_WAKER is now unset by us: the
                    // slot is ours to clear.
                    unsafe { self.trailer().set_waker(None) };
                }
            }
        }));
        // SAFETY: a temporary, non-owning view of our own reference.
        let me = ManuallyDrop::new(unsafe { Task::<S>::from_raw(self.header_ptr()) });
        let released = match self.scheduler().release(&me) {
            Some(task) => {
                std::mem::forget(task);
                2
            }
            None => 1,
        };
        if self.state().transition_to_terminal(released) {
            self.dealloc();
        }
    }

    fn dealloc(self) {
        // SAFETY: the last reference is gone; the allocation came from `Box<Cell<F, S>>`.
        drop(unsafe { Box::from_raw(self.cell.as_ptr()) });
    }
}

/// Polls the future, catching a panic; stores the output (or the panic) when it finishes.
///
/// On `Ready` the finished future is dropped here, in its own `catch_unwind`, while the output
/// is held *outside* it: if the future's destructor panics, the output must not be dropped
/// by that unwinding — its own destructor may panic too, and a panic during unwinding aborts
/// the process. The destructor's panic then becomes the task's result (as a panic in `poll`
/// does) and the output is dropped afterwards, catching its panic.
///
/// # Safety
/// The caller owns the stage (RUNNING).
unsafe fn poll_future<F: Future>(stage: &CoreStage<F>, id: Id, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: the caller owns the stage.
    let res = panic::catch_unwind(AssertUnwindSafe(|| unsafe { stage.poll(cx) }));
    let output = match res {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => {
            // SAFETY: still the owner.
            let dropped = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                stage.drop_future_or_output()
            }));
            match dropped {
                Ok(()) => Ok(output),
                Err(payload) => {
                    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(output)));
                    Err(JoinError::panic(id, payload))
                }
            }
        }
        Err(payload) => {
            // The future panicked in poll: drop it, catching a second panic, and report the
            // first.
            // SAFETY: still the owner.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                stage.drop_future_or_output()
            }));
            Err(JoinError::panic(id, payload))
        }
    };
    // SAFETY: still the owner. Storing over `Consumed` runs no user code.
    unsafe { stage.store_output(output) };
    Poll::Ready(())
}

/// Drops the future (catching a panic from its destructor) and stores the cancellation,
/// with its cause if there is one.
///
/// # Safety
/// The caller owns the stage (RUNNING).
unsafe fn cancel_task<F: Future>(stage: &CoreStage<F>, id: Id, cause: Option<io::Error>) {
    // SAFETY: the caller owns the stage.
    let res = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        stage.drop_future_or_output()
    }));
    let err = match res {
        Ok(()) => match cause {
            Some(cause) => JoinError::cancelled_because(id, cause),
            None => JoinError::cancelled(id),
        },
        Err(payload) => JoinError::panic(id, payload),
    };
    // SAFETY: the caller owns the stage.
    unsafe { stage.store_output(Err(err)) };
}

/// Checks whether the `JoinHandle` may read the output; if not, stores its waker.
fn can_read_output(state: &State, trailer: &Trailer, waker: &Waker) -> bool {
    let snapshot = state.load();
    debug_assert!(snapshot.is_join_interested());
    if !snapshot.is_complete() {
        let res = if !snapshot.is_join_waker_set() {
            set_join_waker(state, trailer, waker.clone())
        } else {
            // SAFETY: JOIN_WAKER and JOIN_INTEREST are set and the task is not complete: the
            // JoinHandle may read the slot.
            if unsafe { trailer.will_wake(waker) } {
                return false;
            }
            state
                .unset_join_waker()
                .and_then(|_| set_join_waker(state, trailer, waker.clone()))
        };
        match res {
            Ok(_) => return false,
            Err(snapshot) => debug_assert!(snapshot.is_complete()),
        }
    }
    true
}

fn set_join_waker(state: &State, trailer: &Trailer, waker: Waker) -> Result<Snapshot, Snapshot> {
    // SAFETY: JOIN_WAKER is unset: the JoinHandle owns the slot.
    unsafe { trailer.set_waker(Some(waker)) };
    let res = state.set_join_waker();
    if res.is_err() {
        // Completed meanwhile; the slot is still ours.
        // SAFETY: JOIN_WAKER is still unset.
        unsafe { trailer.set_waker(None) };
    }
    res
}

unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller passes a Notified's reference to a `Cell<F, S>`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.poll()
}

unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: every task allocation starts with a `Prefix<S>` (repr C), and the caller holds a
    // reference that it hands to the Notified.
    let prefix = unsafe { ptr.cast::<Prefix<S>>().as_ref() };
    // SAFETY: the caller's reference becomes the Notified's.
    let notified = unsafe { Notified::<S>::from_raw(ptr) };
    prefix.scheduler.schedule(notified);
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller released the last reference.
    unsafe { Harness::<F, S>::from_raw(ptr) }.dealloc()
}

unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: called by the JoinHandle, which holds a reference.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    if can_read_output(harness.state(), harness.trailer(), waker) {
        // SAFETY: `dst` is the JoinHandle's `Poll<Result<F::Output, JoinError>>`.
        let dst = unsafe { &mut *(dst as *mut Poll<Result<F::Output, JoinError>>) };
        // SAFETY: COMPLETE with JOIN_INTEREST: the JoinHandle owns the output.
        *dst = Poll::Ready(unsafe { harness.stage().take_output() });
    }
}

unsafe fn drop_join_handle_slow<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: called by the JoinHandle with its reference.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    let (drop_output, drop_waker) = harness.state().transition_to_join_handle_dropped();
    if drop_output {
        // SAFETY: the task completed while the JoinHandle was interested: it owns the output.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
            harness.stage().drop_future_or_output()
        }));
    }
    if drop_waker {
        // SAFETY: JOIN_WAKER is unset after the transition: the slot is the JoinHandle's.
        unsafe { harness.trailer().set_waker(None) };
    }
    if harness.state().ref_dec() {
        harness.dealloc();
    }
}

unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>, cause: Option<io::Error>) {
    // SAFETY: called with the owned list's reference.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    if !harness.state().transition_to_shutdown() {
        // Running elsewhere (it will see CANCELLED when its poll ends) or already complete.
        if harness.state().ref_dec() {
            harness.dealloc();
        }
        return;
    }
    // SAFETY: we took RUNNING.
    unsafe { cancel_task(harness.stage(), harness.id(), cause) };
    harness.complete();
}
