//! The memory layout of a task: one heap allocation holding the header, the scheduler handle,
//! the join waker slot and the future (later its output).
//!
//! ```text
//! Cell<F, S> (repr C)
//! ├── Prefix<S> (repr C)
//! │   ├── Header      state word, vtable, owned-list links, id   <- every task pointer points here
//! │   ├── S           the scheduler handle (`Arc` of the runtime)
//! │   └── Trailer     the join waker slot
//! └── CoreStage<F>    Running(F) | Finished(Result<F::Output, JoinError>) | Consumed
//! ```
//!
//! Because both structs are `repr(C)` and the header comes first, a `NonNull<Header>` can be
//! cast to `Prefix<S>` by code that knows `S` but not `F` (the scheduler's `schedule`), and to
//! `Cell<F, S>` by the monomorphized functions in the vtable.

use std::future::Future;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, Waker};

use super::state::State;
use super::{Id, JoinError};
use crate::loom::UnsafeCell;

/// The type-erased front of every task allocation.
#[repr(C)]
pub(crate) struct Header {
    /// Flags and reference count; see `state.rs`.
    pub(crate) state: State,
    /// The monomorphized functions for this task's `F` and `S`.
    pub(crate) vtable: &'static Vtable,
    /// Links of the owned-tasks list; guarded by the mutex of the list shard for `id`.
    pub(crate) owned: UnsafeCell<Pointers>,
    /// The task's id, unique within its runtime.
    pub(crate) id: Id,
}

/// Intrusive doubly linked list links.
pub(crate) struct Pointers {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

/// The part of a task whose layout depends on the scheduler only.
#[repr(C)]
pub(crate) struct Prefix<S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    pub(crate) trailer: Trailer,
}

/// The whole allocation.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) prefix: Prefix<S>,
    pub(crate) stage: CoreStage<F>,
}

/// The join waker slot. Access is governed by `JOIN_WAKER` (see `state.rs`).
pub(crate) struct Trailer {
    waker: UnsafeCell<Option<Waker>>,
}

/// Type-erased operations on a task.
pub(crate) struct Vtable {
    /// Runs the task with a `Notified`'s reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` (one reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Writes `Poll<Result<F::Output, JoinError>>` into the pointer if the output is ready,
    /// otherwise stores the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drops the `JoinHandle`'s interest (and the output or waker it now owns).
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    /// Cancels the task at runtime shutdown, with the owned list's reference; the error, if
    /// any, says why (it ends up in the `JoinError`).
    pub(crate) shutdown: unsafe fn(NonNull<Header>, Option<std::io::Error>),
}

/// The future or its output.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The stage, accessed only by the thread that owns it per `state.rs`.
pub(crate) struct CoreStage<F: Future> {
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future, S> Cell<F, S> {
    /// A boxed new task.
    pub(crate) fn new(future: F, scheduler: S, id: Id, vtable: &'static Vtable) -> Box<Self> {
        Box::new(Cell {
            prefix: Prefix {
                header: Header {
                    state: State::new(),
                    vtable,
                    owned: UnsafeCell::new(Pointers {
                        prev: None,
                        next: None,
                    }),
                    id,
                },
                scheduler,
                trailer: Trailer {
                    waker: UnsafeCell::new(None),
                },
            },
            stage: CoreStage {
                stage: UnsafeCell::new(Stage::Running(future)),
            },
        })
    }
}

impl Trailer {
    /// Replaces the join waker.
    ///
    /// # Safety
    /// The caller has exclusive access to the slot per the `JOIN_WAKER` protocol.
    pub(crate) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: exclusive access is the caller's contract.
        let old = self
            .waker
            .with_mut(|ptr| unsafe { std::mem::replace(&mut *ptr, waker) });
        drop(old);
    }

    /// Whether the stored waker would wake the same task as `waker`.
    ///
    /// # Safety
    /// The caller may read the slot per the `JOIN_WAKER` protocol.
    pub(crate) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        self.waker.with(|ptr| {
            // SAFETY: shared read access is the caller's contract.
            let slot = unsafe { &*ptr };
            slot.as_ref().is_some_and(|w| w.will_wake(waker))
        })
    }

    /// Wakes the stored join waker, if any, without consuming it.
    ///
    /// # Safety
    /// The caller may read the slot per the `JOIN_WAKER` protocol.
    pub(crate) unsafe fn wake_join(&self) {
        // SAFETY: shared read access is the caller's contract.
        self.waker.with(|ptr| {
            // SAFETY: shared read access is the caller's contract.
            if let Some(w) = unsafe { &*ptr }.as_ref() {
                w.wake_by_ref();
            }
        });
    }
}

impl<F: Future> CoreStage<F> {
    /// Polls the future. On `Ready` the finished future is still in the stage: the caller
    /// drops it (`drop_future_or_output`) before storing the output, and must not poll again.
    /// (Dropping it here would put the output on the stack of a destructor that may unwind;
    /// see `harness::poll_future`.)
    ///
    /// # Safety
    /// The caller set `RUNNING`, and the stage is `Running`.
    pub(crate) unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.stage.with_mut(|ptr| {
            // SAFETY: the caller owns the stage (RUNNING); the future is never moved out of the
            // allocation while in `Running`, so pinning it here is sound.
            match unsafe { &mut *ptr } {
                // SAFETY: see above: the future stays at this address until dropped in place.
                Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(cx),
                _ => unreachable!("task polled in a stage other than Running"),
            }
        })
    }

    /// Drops the future or the output in place, leaving `Consumed`.
    ///
    /// # Safety
    /// The caller owns the stage per `state.rs`.
    pub(crate) unsafe fn drop_future_or_output(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.set_stage(Stage::Consumed) }
    }

    /// Stores the task's result.
    ///
    /// # Safety
    /// The caller owns the stage per `state.rs`.
    pub(crate) unsafe fn store_output(&self, output: Result<F::Output, JoinError>) {
        // SAFETY: forwarded contract.
        unsafe { self.set_stage(Stage::Finished(output)) }
    }

    /// Takes the output, leaving `Consumed`.
    ///
    /// # Safety
    /// The caller is the `JoinHandle` and has observed `COMPLETE`.
    pub(crate) unsafe fn take_output(&self) -> Result<F::Output, JoinError> {
        // SAFETY: exclusive access is the caller's contract; the output is not pinned.
        let stage = self
            .stage
            .with_mut(|ptr| unsafe { std::mem::replace(&mut *ptr, Stage::Consumed) });
        match stage {
            Stage::Finished(output) => output,
            _ => panic!("JoinHandle polled after it returned Ready"),
        }
    }

    /// Drops the current stage *in place* (the future is pinned: it must not be moved before
    /// its destructor runs), then writes `new`, even when the destructor panics, so nothing is
    /// ever dropped twice.
    ///
    /// # Safety
    /// The caller owns the stage.
    unsafe fn set_stage(&self, new: Stage<F>) {
        struct Restore<F: Future> {
            ptr: *mut Stage<F>,
            new: Option<Stage<F>>,
        }
        impl<F: Future> Drop for Restore<F> {
            fn drop(&mut self) {
                if let Some(new) = self.new.take() {
                    // SAFETY: `ptr` points at a stage whose old value was just dropped (or whose
                    // destructor unwound); writing without dropping is exactly right.
                    unsafe { ptr::write(self.ptr, new) };
                }
            }
        }
        self.stage.with_mut(|ptr| {
            let _restore = Restore {
                ptr,
                new: Some(new),
            };
            // SAFETY: the caller owns the stage; it holds a valid value that is dropped once
            // here and immediately overwritten by `_restore`.
            unsafe { ptr::drop_in_place(ptr) };
        });
    }
}
