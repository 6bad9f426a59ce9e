//! The current-thread scheduler: every task runs on the thread that calls `block_on`, which
//! also drives the reactor and the timers.
//!
//! The `Core` (run queue and driver) is owned by whichever thread is inside `block_on`. Tasks
//! woken on that thread go straight into its queue; tasks woken elsewhere go to the injector,
//! and the driving thread is woken through the driver's eventfd — only if it is parked in
//! `epoll_wait` (`parked`, `SeqCst` on both sides: the waker pushes then reads `parked`, the
//! driver sets `parked` then re-reads the injector, so one of them sees the other).
//!
//! While no thread is in `block_on`, spawned tasks wait in the queues. If a second thread calls
//! `block_on` while the first drives, it polls only its own future and takes the core over
//! when the first returns it.
//!
//! Shutdown (dropping the runtime): the owned-tasks list is closed and every task cancelled,
//! the queues are drained, and the reactor is shut down.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use super::blocking;
use super::context;
use super::coop;
use super::counters::{CounterValues, WorkerCounters};
use super::inject::Inject;
use crate::reactor;
use crate::task_core::{JoinHandle, Notified, OwnedTasks, Schedule, Task};

/// Tuning knobs.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Tasks polled between two non-blocking polls of the reactor.
    pub(crate) event_interval: u32,
    /// Every this many polls, the injector is checked before the local queue.
    pub(crate) global_queue_interval: u32,
    /// The user's park and unpark callbacks, run around a blocking wait for work.
    pub(crate) hooks: super::hooks::Hooks,
}

/// The scheduler handle tasks hold.
pub(crate) struct Handle {
    inject: Inject<Arc<Handle>>,
    owned: OwnedTasks<Arc<Handle>>,
    core: Mutex<Option<Box<Core>>>,
    /// True while the driving thread blocks in the reactor.
    parked: AtomicBool,
    /// Threads in `block_on` waiting for the core.
    waiting: Mutex<Vec<Thread>>,
    pub(crate) driver: reactor::Handle,
    pub(crate) blocking: blocking::Spawner,
    config: Config,
    metrics: WorkerCounters,
}

/// The driving thread's state.
pub(crate) struct Core {
    tasks: VecDeque<Notified<Arc<Handle>>>,
    driver: Option<reactor::Driver>,
    tick: u32,
}

/// The driving thread's scheduler context (reached through the thread-local context while
/// `block_on` drives).
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

/// Wakes `block_on`'s own future: a flag plus a driver wake-up.
struct MainWaker {
    handle: Arc<Handle>,
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        // Whichever applies: the thread drives (parked in epoll) or waits for the core.
        if self.handle.parked.load(SeqCst) {
            self.handle.driver.unpark();
        }
        self.thread.unpark();
    }
}

impl Handle {
    pub(crate) fn new(
        driver: reactor::Driver,
        blocking: blocking::Spawner,
        config: Config,
    ) -> Arc<Handle> {
        let handle = driver.handle();
        Arc::new(Handle {
            inject: Inject::new(),
            owned: OwnedTasks::new(1),
            core: Mutex::new(Some(Box::new(Core {
                tasks: VecDeque::new(),
                driver: Some(driver),
                tick: 0,
            }))),
            parked: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
            driver: handle,
            blocking,
            config,
            metrics: WorkerCounters::default(),
        })
    }

    /// Spawns a task; `cx` is the calling thread's scheduler context.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        cx: Option<&super::Context>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.owned.bind(future, self.clone());
        if let Some(n) = notified {
            self.schedule_task(n, cx);
        }
        join
    }

    /// Queues `task`: locally if `cx` is this runtime's driving thread holding its core,
    /// else in the injector (waking the driving thread if it sleeps in `epoll_wait`).
    fn schedule_task(self: &Arc<Self>, task: Notified<Arc<Handle>>, cx: Option<&super::Context>) {
        let task = match cx {
            Some(super::Context::CurrentThread(cx)) if Arc::ptr_eq(&cx.handle, self) => {
                match cx.core.borrow_mut().as_mut() {
                    Some(core) => {
                        core.tasks.push_back(task);
                        return;
                    }
                    None => task,
                }
            }
            _ => task,
        };
        // Keep the scheduler alive on our stack: `self` lives in the task, which may be freed
        // as soon as it is pushed.
        let this = self.clone();
        this.inject.push(task);
        if this.parked.load(SeqCst) {
            this.driver.unpark();
        }
    }

    /// Runs `future` to completion on this thread, driving the runtime meanwhile.
    pub(crate) fn block_on<F: Future>(self: &Arc<Self>, future: F) -> F::Output {
        let main = Arc::new(MainWaker {
            handle: self.clone(),
            woken: AtomicBool::new(true),
            thread: std::thread::current(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = TaskContext::from_waker(&waker);
        let mut future = pin!(future);
        let mut registered = false;
        loop {
            let core = crate::loom::lock(&self.core).take();
            if let Some(core) = core {
                if registered {
                    let me = std::thread::current().id();
                    crate::loom::lock(&self.waiting).retain(|t| t.id() != me);
                }
                return self.drive(core, future.as_mut(), &main, &mut cx);
            }
            // Another thread drives: poll our future alone until it completes or the core is
            // handed back.
            if !registered {
                crate::loom::lock(&self.waiting).push(std::thread::current());
                registered = true;
            }
            if main.woken.swap(false, SeqCst) {
                if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                    return v;
                }
            }
            if crate::loom::lock(&self.core).is_none() {
                std::thread::park();
            }
        }
    }

    /// Drives the runtime with `core` until `future` completes, then hands the core back
    /// (also when the future panics, so that the next `block_on` finds it).
    fn drive<F: Future>(
        self: &Arc<Self>,
        core: Box<Core>,
        future: std::pin::Pin<&mut F>,
        main: &MainWaker,
        cx: &mut TaskContext<'_>,
    ) -> F::Output {
        let scheduler_cx = super::Context::CurrentThread(Context {
            handle: self.clone(),
            core: RefCell::new(Some(core)),
        });
        let super::Context::CurrentThread(context) = &scheduler_cx else {
            unreachable!("built as the current-thread variant just above")
        };
        let _return_core = ReturnCore {
            handle: self,
            context,
        };
        context::set_scheduler(&scheduler_cx, || self.run(context, future, main, cx))
    }

    fn run<F: Future>(
        &self,
        context: &Context,
        mut future: std::pin::Pin<&mut F>,
        main: &MainWaker,
        cx: &mut TaskContext<'_>,
    ) -> F::Output {
        let interval = self.config.event_interval.max(1);
        loop {
            if main.woken.swap(false, SeqCst) {
                if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(cx)) {
                    return v;
                }
            }
            let mut ran = 0;
            while ran < interval {
                let Some(task) = self.next_task(context) else {
                    break;
                };
                self.metrics.poll();
                coop::start_task_poll();
                context::run_task(task);
                ran += 1;
                if main.woken.load(SeqCst) {
                    break;
                }
            }
            let idle = ran == 0 && !main.woken.load(SeqCst);
            self.park(context, idle, &main.woken);
        }
    }

    fn next_task(&self, cx: &Context) -> Option<Notified<Arc<Handle>>> {
        let mut slot = cx.core.borrow_mut();
        let core = slot.as_mut().expect("core present");
        core.tick = core.tick.wrapping_add(1);
        if core.tick % self.config.global_queue_interval.max(1) == 0 {
            self.inject.pop().or_else(|| core.tasks.pop_front())
        } else {
            core.tasks.pop_front().or_else(|| self.inject.pop())
        }
    }

    /// Polls the reactor: blocking when `idle` (and nothing became runnable meanwhile),
    /// otherwise just collecting ready events.
    fn park(&self, cx: &Context, idle: bool, main_woken: &AtomicBool) {
        let mut driver = {
            let mut slot = cx.core.borrow_mut();
            slot.as_mut()
                .and_then(|c| c.driver.take())
                .expect("driver present")
        };
        let mut timeout = Some(Duration::ZERO);
        if idle {
            self.parked.store(true, SeqCst);
            let has_work = main_woken.load(SeqCst)
                || !self.inject.is_empty()
                || cx
                    .core
                    .borrow()
                    .as_ref()
                    .is_some_and(|c| !c.tasks.is_empty());
            if !has_work {
                timeout = None;
            }
        }
        // Wakes from the driver land in our local queue (the core is in the context).
        if timeout.is_none() {
            self.metrics.park();
        }
        if timeout.is_none() {
            self.config.hooks.park();
        }
        let events = driver.park(timeout);
        if timeout.is_none() {
            self.config.hooks.unpark();
        }
        self.metrics.epoll_wait(events);
        self.parked.store(false, SeqCst);
        if let Some(core) = cx.core.borrow_mut().as_mut() {
            core.driver = Some(driver);
        }
    }

    /// Cancels every task and shuts the reactor down.
    pub(crate) fn shutdown(&self) {
        self.inject.close();
        self.owned.close_and_shutdown_all();
        drop(self.inject.drain());
        let core = crate::loom::lock(&self.core).take();
        if let Some(mut core) = core {
            core.tasks.clear();
            // The driver (epoll fd) drops with the core.
        }
        self.driver.shutdown();
    }

    /// The driving thread's counters.
    pub(crate) fn counters(&self) -> CounterValues {
        self.metrics.read()
    }

    /// Tasks waiting in the injector.
    pub(crate) fn injector_depth(&self) -> usize {
        self.inject.len()
    }

    /// Number of live tasks.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.owned.len()
    }
}

/// Puts the core back into the handle when `drive` ends (returning or unwinding) and wakes
/// the threads waiting in `block_on` for it.
struct ReturnCore<'a> {
    handle: &'a Handle,
    context: &'a Context,
}

impl Drop for ReturnCore<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.context.core.borrow_mut().take() {
            *crate::loom::lock(&self.handle.core) = Some(core);
        }
        for t in crate::loom::lock(&self.handle.waiting).drain(..) {
            t.unpark();
        }
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        context::with_scheduler(|cx| self.schedule_task(task, cx));
    }
}
