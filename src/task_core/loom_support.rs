//! Helpers shared by the loom models (`--cfg loom` test builds only): a tiny scheduler that
//! implements [`Schedule`], drop counters, a counting waker, and an [`Event`] (a flag plus a
//! waker slot) for model tasks to wait on.
//!
//! The scheduler binds tasks through a real [`OwnedTasks`] list (so completion exercises
//! `release`) and queues `Notified`s in a loom `Mutex<VecDeque>` that model threads drain with
//! [`TestRuntime::run_queued`]. Each task holds its own [`Sched`] handle, and dropping a `Sched`
//! counts one *deallocation*: the handle lives in the task allocation and is dropped exactly
//! when the allocation is freed, so `deallocs() == tasks spawned` at the end of a model means
//! every task was freed exactly once (a double free would count twice).
//!
//! Everything here is created inside `loom::model` closures: loom objects must not outlive or
//! predate an execution.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use super::{Id, JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};

/// The state behind every [`Sched`] handle of one model execution.
struct Shared {
    owned: OwnedTasks<Sched>,
    queue: Mutex<VecDeque<Notified<Sched>>>,
    deallocs: AtomicUsize,
}

/// The scheduler handle stored in each task (one per task: see the module docs).
pub(crate) struct Sched(Arc<Shared>);

impl Drop for Sched {
    fn drop(&mut self) {
        self.0.deallocs.fetch_add(1, SeqCst);
    }
}

impl Schedule for Sched {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        crate::loom::lock(&self.0.queue).push_back(task);
    }
}

/// The model's handle on the test scheduler (cheap to clone into model threads).
#[derive(Clone)]
pub(crate) struct TestRuntime(Arc<Shared>);

impl TestRuntime {
    /// A scheduler with an empty queue and a one-shard owned list.
    pub(crate) fn new() -> TestRuntime {
        TestRuntime(Arc::new(Shared {
            owned: OwnedTasks::new(1),
            queue: Mutex::new(VecDeque::new()),
            deallocs: AtomicUsize::new(0),
        }))
    }

    /// Spawns `future`: binds it to the owned list and queues its first `Notified`.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.0.owned.bind(future, Sched(self.0.clone()));
        let notified = notified.expect("the model's owned list is open");
        crate::loom::lock(&self.0.queue).push_back(notified);
        join
    }

    /// A task that is in no owned list (as the blocking pool makes them), with its
    /// `JoinHandle` already dropped: the returned `Notified` holds the only reference, so
    /// dropping it frees the task (and counts one deallocation). For the queue and injector
    /// models, which only move `Notified`s around.
    pub(crate) fn unowned_task(&self, id: u64) -> Notified<Sched> {
        let (notified, join) = super::unowned(async {}, Sched(self.0.clone()), Id(id));
        drop(join);
        notified
    }

    /// Runs queued tasks (popping under the lock, running outside it) until the queue is
    /// empty; returns how many it ran.
    pub(crate) fn run_queued(&self) -> usize {
        let mut ran = 0;
        loop {
            let next = crate::loom::lock(&self.0.queue).pop_front();
            match next {
                Some(task) => {
                    task.run();
                    ran += 1;
                }
                None => return ran,
            }
        }
    }

    /// Tasks deallocated so far.
    pub(crate) fn deallocs(&self) -> usize {
        self.0.deallocs.load(SeqCst)
    }

    /// Tasks still in the owned list (not yet completed).
    pub(crate) fn live(&self) -> usize {
        self.0.owned.len()
    }

    /// Runtime shutdown: closes the owned list and cancels every task in it (queued
    /// `Notified`s stay queued; running them afterwards finds the tasks complete).
    pub(crate) fn shutdown(&self) {
        self.0.owned.close_and_shutdown_all();
    }
}

/// Counts how many values carrying it were dropped.
#[derive(Clone)]
pub(crate) struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    pub(crate) fn new() -> DropCount {
        DropCount(Arc::new(AtomicUsize::new(0)))
    }

    /// A value whose drop is counted here.
    pub(crate) fn tracked(&self) -> Tracked {
        Tracked(self.clone())
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// A value whose drops are counted by its [`DropCount`].
pub(crate) struct Tracked(DropCount);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0 .0.fetch_add(1, SeqCst);
    }
}

/// A waker that counts its wakes (a `std::sync::Arc` as `Waker::from` needs, around a loom
/// atomic so that loom sees the wake).
pub(crate) struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

impl CountingWaker {
    pub(crate) fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

/// A counting waker and the `Waker` over it.
pub(crate) fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let counter = std::sync::Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
    });
    (counter.clone(), Waker::from(counter))
}

/// Polls `fut` once with `waker`.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// Where a task's future leaves its waker for another model thread: the "I/O resource" of the
/// task models.
#[derive(Clone)]
pub(crate) struct Event {
    inner: Arc<EventInner>,
}

struct EventInner {
    ready: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Event {
    pub(crate) fn new() -> Event {
        Event {
            inner: Arc::new(EventInner {
                ready: AtomicBool::new(false),
                waker: Mutex::new(None),
            }),
        }
    }

    /// The waiting side: registers `cx`'s waker, *then* checks the flag (the order that
    /// makes a racing `set` either see the waker or be seen by the check).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        *crate::loom::lock(&self.inner.waker) = Some(cx.waker().clone());
        if self.inner.ready.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The signalling side: sets the flag, then wakes (by value) whatever waker is
    /// registered.
    pub(crate) fn set(&self) {
        self.inner.ready.store(true, SeqCst);
        let waker = crate::loom::lock(&self.inner.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// As [`set`](Self::set), but wakes by reference and then drops the waker, as the I/O
    /// driver does with the wakers it keeps.
    pub(crate) fn set_by_ref(&self) {
        self.inner.ready.store(true, SeqCst);
        let waker = crate::loom::lock(&self.inner.waker).take();
        if let Some(waker) = waker {
            waker.wake_by_ref();
            drop(waker);
        }
    }

    /// Wakes (by value) whatever waker is registered *without* setting the flag: a spurious
    /// wake, after which the task polls, re-registers and stays pending.
    pub(crate) fn wake_spuriously(&self) {
        let waker = crate::loom::lock(&self.inner.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the registered waker out (to drop it or wake it elsewhere).
    pub(crate) fn take_waker(&self) -> Option<Waker> {
        crate::loom::lock(&self.inner.waker).take()
    }
}

/// A future that waits for an [`Event`], counting its polls and carrying a drop-counted value
/// (the future's own state, dropped exactly once when the task completes or is cancelled).
pub(crate) struct WaitFor {
    pub(crate) event: Event,
    pub(crate) polls: Arc<AtomicUsize>,
    pub(crate) _state: Tracked,
}

impl Future for WaitFor {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, SeqCst);
        self.event.poll_ready(cx)
    }
}
