//! Wakers are `RawWaker`s over the task header pointer: clone takes a reference, drop releases
//! one (the last frees the task), wake schedules the task or marks it notified.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::core::Header;
use super::raw::RawTask;
use super::Schedule;

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// A waker borrowed from the running task's reference: no reference count change to make it,
/// none to drop it. `clone()` makes an owning waker.
pub(super) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _p: PhantomData<&'a Header>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// A borrowed waker for the task at `header`.
pub(super) fn waker_ref<S: Schedule>(header: &NonNull<Header>) -> WakerRef<'_> {
    let raw = RawWaker::new(header.as_ptr() as *const (), &WAKER_VTABLE);
    WakerRef {
        // SAFETY: the vtable functions uphold the RawWaker contract over a task reference, and
        // ManuallyDrop keeps this borrowed waker from releasing a reference it never took.
        waker: ManuallyDrop::new(unsafe { Waker::from_raw(raw) }),
        _p: PhantomData,
    }
}

fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: every RawWaker with WAKER_VTABLE was made from a non-null task header pointer.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone_waker(ptr: *const ()) -> RawWaker {
    raw(ptr).ref_inc();
    RawWaker::new(ptr, &WAKER_VTABLE)
}

unsafe fn drop_waker(ptr: *const ()) {
    raw(ptr).drop_reference();
}

unsafe fn wake_by_val(ptr: *const ()) {
    raw(ptr).wake_by_val();
}

unsafe fn wake_by_ref(ptr: *const ()) {
    raw(ptr).wake_by_ref();
}
