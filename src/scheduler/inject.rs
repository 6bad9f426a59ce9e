//! The global injector queue: tasks scheduled from outside a worker (other threads,
//! `block_on`, overflow from a full local queue). A mutex-protected FIFO with an atomic length
//! so that the common "is it empty?" check takes no lock.
//!
//! `len` is `SeqCst`: a pusher stores it and then reads the idle counters, while a parking
//! worker updates the idle counters and then reads `len` — if both could miss the other, the
//! task would sit in the queue with every worker asleep. (The `SeqCst` fences of `idle.rs`
//! order that store-buffering pattern on their own; see its module docs.)
//!
//! Closing the injector is how shutdown is announced: after `close`, pushes hand the task back to the
//! caller (who drops it outside the lock: dropping can free a task, whose destructor must not
//! run under this lock).

use std::collections::VecDeque;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;
use crate::task_core::Notified;

/// The injector.
pub(crate) struct Inject<S: 'static> {
    inner: Mutex<InjectInner<S>>,
    len: AtomicUsize,
}

struct InjectInner<S: 'static> {
    queue: VecDeque<Notified<S>>,
    is_closed: bool,
}

impl<S: 'static> Inject<S> {
    pub(crate) fn new() -> Inject<S> {
        Inject {
            inner: Mutex::new(InjectInner {
                queue: VecDeque::new(),
                is_closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Whether the queue looks empty (no lock).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate length (no lock).
    pub(crate) fn len(&self) -> usize {
        self.len.load(SeqCst)
    }

    /// Closes the queue; returns false if it was already closed.
    pub(crate) fn close(&self) -> bool {
        let mut inner = crate::loom::lock(&self.inner);
        !std::mem::replace(&mut inner.is_closed, true)
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        crate::loom::lock(&self.inner).is_closed
    }

    /// Pushes a task. After close the task is dropped (outside the lock).
    pub(crate) fn push(&self, task: Notified<S>) {
        let rejected = {
            let mut inner = crate::loom::lock(&self.inner);
            if inner.is_closed {
                Some(task)
            } else {
                inner.queue.push_back(task);
                self.len.store(inner.queue.len(), SeqCst);
                None
            }
        };
        drop(rejected);
    }

    /// Pushes a batch under one lock acquisition.
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Notified<S>>) {
        let mut rejected = Vec::new();
        {
            let mut inner = crate::loom::lock(&self.inner);
            if inner.is_closed {
                rejected.extend(tasks);
            } else {
                inner.queue.extend(tasks);
                self.len.store(inner.queue.len(), SeqCst);
            }
        }
        drop(rejected);
    }

    /// Pops one task.
    pub(crate) fn pop(&self) -> Option<Notified<S>> {
        if self.is_empty() {
            return None;
        }
        let mut inner = crate::loom::lock(&self.inner);
        let task = inner.queue.pop_front();
        self.len.store(inner.queue.len(), SeqCst);
        task
    }

    /// Pops up to `n` tasks under one lock: the first is returned, the rest are given to
    /// `rest` (which must not push back into this injector).
    pub(crate) fn pop_n(
        &self,
        n: usize,
        rest: impl FnOnce(&mut dyn Iterator<Item = Notified<S>>),
    ) -> Option<Notified<S>> {
        if self.is_empty() || n == 0 {
            return None;
        }
        let mut inner = crate::loom::lock(&self.inner);
        let first = inner.queue.pop_front()?;
        let take = (n - 1).min(inner.queue.len());
        let mut drain = inner.queue.drain(..take);
        rest(&mut drain);
        drop(drain);
        self.len.store(inner.queue.len(), SeqCst);
        Some(first)
    }

    /// Removes every task (shutdown), returning them to be dropped by the caller.
    pub(crate) fn drain(&self) -> Vec<Notified<S>> {
        let mut inner = crate::loom::lock(&self.inner);
        let v: Vec<_> = inner.queue.drain(..).collect();
        self.len.store(0, SeqCst);
        v
    }
}

#[cfg(all(test, loom))]
#[path = "loom_inject.rs"]
mod loom_tests;
