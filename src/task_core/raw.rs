//! `RawTask`: a copyable, non-owning task pointer whose methods dispatch through the vtable.
//! Which methods consume a reference is stated on each.

use std::future::Future;
use std::ptr::NonNull;
use std::task::Waker;

use super::core::{Cell, Header};
use super::state::{State, TransitionToNotifiedByRef, TransitionToNotifiedByVal};
use super::{harness, Id, Schedule};

/// A task pointer. Copying it does not take a reference.
#[derive(Clone, Copy)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// Allocates a task with three references (see `state.rs`).
    pub(super) fn new<F, S>(future: F, scheduler: S, id: Id) -> RawTask
    where
        F: Future,
        S: Schedule,
    {
        let cell = Cell::new(future, scheduler, id, harness::vtable::<F, S>());
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    /// # Safety
    /// `ptr` points at a live task header.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(super) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(super) fn header(&self) -> &Header {
        // SAFETY: whoever holds this RawTask holds a reference, keeping the header alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(super) fn state(&self) -> &State {
        &self.header().state
    }

    /// Runs the task; consumes a `Notified`'s reference.
    pub(super) fn poll(self) {
        // SAFETY: the vtable matches the allocation; the caller hands over its reference.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Schedules the task; consumes a reference (it becomes the `Notified`'s).
    pub(super) fn schedule(self) {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    fn dealloc(self) {
        // SAFETY: called after the last reference was released.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` points at a `Poll<Result<T, JoinError>>` where `T` is the task's output type, and
    /// the caller is the task's `JoinHandle`.
    pub(super) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// Drops the `JoinHandle`'s interest; consumes its reference.
    pub(super) fn drop_join_handle_slow(self) {
        // SAFETY: called by the JoinHandle with its reference.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Runtime shutdown; consumes the owned list's reference. `cause` (if any) goes into the
    /// `JoinError` of a task cancelled here.
    pub(super) fn shutdown(self, cause: Option<std::io::Error>) {
        // SAFETY: called with the owned list's reference.
        unsafe { (self.header().vtable.shutdown)(self.ptr, cause) }
    }

    /// Takes one more reference.
    pub(super) fn ref_inc(self) {
        self.state().ref_inc();
    }

    /// Releases one reference, freeing the task if it was the last.
    pub(super) fn drop_reference(self) {
        if self.state().ref_dec() {
            self.dealloc();
        }
    }

    /// `Waker::wake`: consumes the waker's reference.
    pub(super) fn wake_by_val(self) {
        match self.state().transition_to_notified_by_val() {
            TransitionToNotifiedByVal::Submit => self.schedule(),
            TransitionToNotifiedByVal::Dealloc => self.dealloc(),
            TransitionToNotifiedByVal::DoNothing => {}
        }
    }

    /// `Waker::wake_by_ref`.
    pub(super) fn wake_by_ref(self) {
        match self.state().transition_to_notified_by_ref() {
            TransitionToNotifiedByRef::Submit => self.schedule(),
            TransitionToNotifiedByRef::DoNothing => {}
        }
    }

    /// `JoinHandle::abort`: marks the task cancelled and schedules it if it is idle.
    pub(super) fn remote_abort(self) {
        if self.state().transition_to_notified_and_cancel() {
            self.schedule();
        }
    }
}
