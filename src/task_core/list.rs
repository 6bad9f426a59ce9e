//! The owned-tasks list: every live task of a runtime, so that shutdown can find and cancel
//! the ones that sit idle (waiting on I/O, not in any queue).
//!
//! It is an intrusive doubly linked list through `Header::owned`, split into shards by task id
//! so that spawns on different workers rarely contend. Each shard's mutex guards the links of
//! the tasks in it. The list holds one reference per task; `remove` (on completion) hands it
//! back. Closing happens under each shard's lock, so a `bind` racing with shutdown either
//! lands before the shard is drained (and is cancelled with the rest) or sees `closed` and
//! cancels its task at once: no task outlives shutdown.

use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::core::Header;
use super::{new_task, Id, JoinHandle, Notified, Schedule, Task};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::Mutex;

/// The live tasks of one runtime.
pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
    closed: AtomicBool,
    _p: PhantomData<S>,
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
}

// SAFETY: the raw pointers are task headers, which are thread-safe; the links are only
// touched under the shard's mutex.
unsafe impl Send for Shard {}

impl<S: Schedule> OwnedTasks<S> {
    /// A list with at least `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| Mutex::new(Shard { head: None, len: 0 }))
                .collect(),
            mask: n as u64 - 1,
            closed: AtomicBool::new(false),
            _p: PhantomData,
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Shard> {
        &self.shards[(id.0 & self.mask) as usize]
    }

    /// Creates a task and inserts it. Returns the `Notified` to schedule, or `None` when the
    /// runtime is shutting down (the task was cancelled at once; the handle reports that).
    pub(crate) fn bind<F>(
        &self,
        future: F,
        scheduler: S,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.bind_inner(future, scheduler)
    }

    /// As [`bind`](Self::bind), for a future that need not be `Send` (a `LocalSet`'s task).
    ///
    /// # Safety
    /// The caller (the `LocalSet`) guarantees that the task's future is only ever polled or
    /// dropped on one thread: it runs every `Notified` of this list, and shuts the list down,
    /// only on the thread that owns it, and a `Notified` that reaches another thread (a wake
    /// from there) is only moved into its queue or dropped as a reference, never run. The
    /// output may be `!Send`: the `JoinHandle` is then `!Send` too, so it is read on the
    /// owning thread; a detached task's output is dropped by the completing (owning) thread.
    pub(crate) unsafe fn bind_local<F>(
        &self,
        future: F,
        scheduler: S,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.bind_inner(future, scheduler)
    }

    fn bind_inner<F>(&self, future: F, scheduler: S) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + 'static,
    {
        let id = Id::next();
        let (task, notified, join) = new_task(future, scheduler, id);
        let mut shard = crate::loom::lock(self.shard(id));
        if self.closed.load(Ordering::Acquire) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return (join, None);
        }
        let ptr = task.header_ptr();
        std::mem::forget(task); // the list keeps the reference
                                // SAFETY: we hold the shard lock, which guards the links of every task in it.
        unsafe {
            (*ptr.as_ref().owned.with_mut(|p| p)).prev = None;
            (*ptr.as_ref().owned.with_mut(|p| p)).next = shard.head;
            if let Some(head) = shard.head {
                (*head.as_ref().owned.with_mut(|p| p)).prev = Some(ptr);
            }
        }
        shard.head = Some(ptr);
        shard.len += 1;
        (join, Some(notified))
    }

    /// Removes a completed task, returning the list's reference; `None` when it is not in the
    /// list (shutdown already took it out).
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let ptr = task.header_ptr();
        // SAFETY: `task` holds a reference, so the header is alive.
        let id = unsafe { ptr.as_ref() }.id;
        let mut shard = crate::loom::lock(self.shard(id));
        // SAFETY: links are read and written under the shard lock.
        unsafe {
            let links = ptr.as_ref().owned.with_mut(|p| p);
            let (prev, next) = ((*links).prev, (*links).next);
            if prev.is_none() && shard.head != Some(ptr) {
                return None;
            }
            match prev {
                Some(p) => (*p.as_ref().owned.with_mut(|l| l)).next = next,
                None => shard.head = next,
            }
            if let Some(n) = next {
                (*n.as_ref().owned.with_mut(|l| l)).prev = prev;
            }
            (*links).prev = None;
            (*links).next = None;
        }
        shard.len -= 1;
        // SAFETY: the list held a reference, which we now hand back.
        Some(unsafe { Task::from_raw(ptr) })
    }

    /// Closes the list to new tasks and cancels every task in it. Tasks being polled on a
    /// worker are marked cancelled and finish cancelling when their poll returns.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            loop {
                let mut batch = Vec::new();
                {
                    let mut shard = crate::loom::lock(shard);
                    while let Some(ptr) = shard.head {
                        // SAFETY: under the shard lock.
                        unsafe {
                            let links = ptr.as_ref().owned.with_mut(|p| p);
                            shard.head = (*links).next;
                            if let Some(n) = shard.head {
                                (*n.as_ref().owned.with_mut(|l| l)).prev = None;
                            }
                            (*links).next = None;
                            (*links).prev = None;
                        }
                        shard.len -= 1;
                        // SAFETY: the list's reference moves to the batch.
                        batch.push(unsafe { Task::<S>::from_raw(ptr) });
                    }
                }
                if batch.is_empty() {
                    break;
                }
                // Cancel outside the lock: dropping futures runs user code, which may spawn
                // (and find the list closed) or complete other tasks.
                for task in batch {
                    task.shutdown();
                }
            }
        }
    }

    /// Number of live tasks (a racy sum of the shards).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| crate::loom::lock(s).len).sum()
    }
}
