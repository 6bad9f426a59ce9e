//! `Builder`: configures and starts a runtime.

use std::fmt;
use std::io;
use std::sync::Arc;

use super::{Handle, Runtime};
use crate::reactor;
use crate::scheduler::hooks::Hooks;
use crate::scheduler::{self, blocking, current_thread, multi_thread};

/// How threads are named.
#[derive(Clone)]
enum ThreadName {
    /// `rawrt-worker-N`, `rawrt-worker-N-blocking`, `rawrt-monitor`.
    Default,
    /// `P-N`, `P-N-blocking`, `rawrt-monitor` (so that the threads named `P-*` are the
    /// workers and their blocking threads: tools and tests count workers by that prefix).
    Prefix(String),
    /// Whatever the function returns, for every thread.
    Fn(Arc<dyn Fn() -> String + Send + Sync>),
}

impl ThreadName {
    fn worker(&self) -> Arc<dyn Fn(usize) -> String + Send + Sync> {
        match self {
            ThreadName::Default => Arc::new(|i| format!("rawrt-worker-{i}")),
            ThreadName::Prefix(p) => {
                let p = p.clone();
                Arc::new(move |i| format!("{p}-{i}"))
            }
            ThreadName::Fn(f) => {
                let f = f.clone();
                Arc::new(move |_| f())
            }
        }
    }

    fn blocking(&self) -> Arc<dyn Fn(usize) -> String + Send + Sync> {
        match self {
            ThreadName::Fn(f) => {
                let f = f.clone();
                Arc::new(move |_| f())
            }
            _ => {
                let worker = self.worker();
                Arc::new(move |i| format!("{}-blocking", worker(i)))
            }
        }
    }

    fn monitor(&self) -> String {
        match self {
            ThreadName::Default | ThreadName::Prefix(_) => "rawrt-monitor".into(),
            ThreadName::Fn(f) => f(),
        }
    }
}

/// The flavour of a runtime, from [`Handle::runtime_flavor`](crate::Handle::runtime_flavor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// From [`Builder::new_current_thread`]: every task on the `block_on` thread.
    CurrentThread,
    /// From [`Builder::new_multi_thread`]: worker threads with work stealing.
    MultiThread,
}

/// Configures a [`Runtime`].
///
/// ```
/// let rt = rawrt::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    thread_name: ThreadName,
    hooks: Hooks,
    thread_stack_size: Option<usize>,
    event_interval: u32,
    global_queue_interval: Option<u32>,
    max_io_events_per_tick: usize,
    lifo_enabled: bool,
    spread_threshold: std::time::Duration,
    max_blocking_threads: usize,
    thread_keep_alive: std::time::Duration,
    #[cfg(feature = "test-util")]
    start_paused: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    MultiThread,
    CurrentThread,
}

impl Builder {
    /// A builder for the current-thread runtime: no worker threads; every task runs on the
    /// thread inside [`Runtime::block_on`], which also drives I/O and timers. Spawned tasks
    /// make progress only while some thread is in `block_on`.
    ///
    /// ```
    /// let rt = rawrt::Builder::new_current_thread().build().unwrap();
    /// let here = std::thread::current().id();
    /// let there = rt.block_on(async {
    ///     rawrt::spawn(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(here, there);
    /// ```
    pub fn new_current_thread() -> Builder {
        Builder {
            kind: Kind::CurrentThread,
            ..Builder::new_multi_thread()
        }
    }

    /// A builder for the multi-thread runtime: N workers with work stealing (N defaults to
    /// the available parallelism, read when `build` runs, or `RAWRT_WORKER_THREADS`).
    pub fn new_multi_thread() -> Builder {
        Builder {
            kind: Kind::MultiThread,
            worker_threads: None,
            thread_name: ThreadName::Default,
            hooks: Hooks::default(),
            thread_stack_size: None,
            event_interval: 61,
            global_queue_interval: None,
            max_io_events_per_tick: 1024,
            lifo_enabled: true,
            spread_threshold: std::time::Duration::from_micros(200),
            max_blocking_threads: 512,
            thread_keep_alive: std::time::Duration::from_secs(10),
            #[cfg(feature = "test-util")]
            start_paused: false,
        }
    }

    /// Switches the syscall trace on (or off) for the whole process, now: every call rawrt
    /// makes is recorded with its thread, task, result and duration
    /// ([`rawrt::stats::trace`](crate::stats::trace),
    /// [`syscall_times`](crate::stats::syscall_times)). The environment variable
    /// `RAWRT_TRACE=syscalls` does the same when a runtime is built. Off, the trace costs one
    /// relaxed load per syscall; on, about two clock reads and a record per call.
    ///
    /// ```
    /// let rt = rawrt::Builder::new_current_thread().trace_syscalls(true).build()?;
    /// rt.block_on(async { rawrt::net::UdpSocket::bind("127.0.0.1:0").await })?;
    /// let trace = rawrt::stats::trace();
    /// rawrt::stats::trace_disable();
    /// assert!(trace.records.iter().any(|r| r.name == "bind"));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn trace_syscalls(&mut self, on: bool) -> &mut Builder {
        if on {
            rawrt_sys::trace::enable();
        } else {
            rawrt_sys::trace::disable();
        }
        self
    }

    /// Kept for code written for Tokio: rawrt's runtimes always have their I/O driver and
    /// timers, so this changes nothing.
    ///
    /// ```
    /// let rt = rawrt::runtime::Builder::new_multi_thread().enable_all().build()?;
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// As [`enable_all`](Self::enable_all): the I/O driver is always on.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// As [`enable_all`](Self::enable_all): timers are always on.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Starts the runtime with its clock paused, as if it called [`crate::time::pause`]
    /// first (feature `test-util`). Only for the current-thread flavour: `build` fails with
    /// `InvalidInput` on a multi-thread builder.
    ///
    /// ```
    /// use rawrt::time::{sleep, Duration, Instant};
    ///
    /// let rt = rawrt::Builder::new_current_thread().start_paused(true).build()?;
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_secs(86_400)).await; // a simulated day, at once
    ///     assert_eq!(start.elapsed(), Duration::from_secs(86_400));
    /// });
    /// # Ok::<_, std::io::Error>(())
    /// ```
    #[cfg(feature = "test-util")]
    pub fn start_paused(&mut self, paused: bool) -> &mut Builder {
        self.start_paused = paused;
        self
    }

    /// Number of worker threads. `build` fails with `InvalidInput` for 0.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Name of the worker threads (each gets `-N` appended; blocking-pool threads are
    /// named `NAME-N-blocking`; the monitor thread, which multi-thread runtimes of two or
    /// more workers have, keeps the name `rawrt-monitor`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = ThreadName::Prefix(name.into());
        self
    }

    /// Names every thread the runtime starts (workers, blocking-pool threads, the monitor)
    /// with what `f` returns, called once per thread, as it is started.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let rt = rawrt::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .thread_name_fn(|| {
    ///         static N: AtomicUsize = AtomicUsize::new(0);
    ///         format!("app-{}", N.fetch_add(1, Ordering::Relaxed))
    ///     })
    ///     .build()?;
    /// let name = rt.block_on(async {
    ///     rawrt::spawn(async { std::thread::current().name().unwrap().to_string() }).await
    /// });
    /// assert!(name.unwrap().starts_with("app-"));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.thread_name = ThreadName::Fn(Arc::new(f));
        self
    }

    /// Runs `f` first thing on every thread the runtime starts: its workers (those that
    /// `block_in_place` starts included) and its blocking-pool threads. A panic in `f` is
    /// caught and discarded (after the panic hook prints it): the thread goes on. The runtime
    /// is current while `f` runs (`Handle::current` works), on workers and blocking-pool
    /// threads alike, as in Tokio.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = rawrt::Builder::new_multi_thread()
    ///     .worker_threads(3)
    ///     .on_thread_start(move || {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// rt.block_on(async { rawrt::spawn(async {}).await.unwrap() });
    /// drop(rt); // joins the workers
    /// assert_eq!(started.load(Ordering::SeqCst), 3);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.hooks.on_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` last thing on every thread the runtime started (see
    /// [`on_thread_start`](Self::on_thread_start)), as it exits. Panics are caught.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.hooks.on_stop = Some(Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread (or a current-thread runtime's `block_on` thread) just
    /// before it goes to sleep waiting for work. Panics are caught.
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.hooks.on_park = Some(Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread (or a current-thread runtime's `block_on` thread) just
    /// after it wakes from the sleep that [`on_thread_park`](Self::on_thread_park) announced.
    /// Panics are caught.
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.hooks.on_unpark = Some(Arc::new(f));
        self
    }

    /// Stack size of the worker threads, in bytes.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// A busy worker polls I/O (without blocking) every `ticks` task polls. Default 61.
    pub fn event_interval(&mut self, ticks: u32) -> &mut Builder {
        self.event_interval = ticks;
        self
    }

    /// A worker checks the global injector first every `ticks` task polls. By default the
    /// interval adapts to the measured poll time, aiming at about every 200 µs of polling
    /// (between 2 and 127 polls; the current-thread flavour uses 31).
    pub fn global_queue_interval(&mut self, ticks: u32) -> &mut Builder {
        self.global_queue_interval = Some(ticks);
        self
    }

    /// Size of the `epoll_wait` event buffer. Default 1024.
    pub fn max_io_events_per_tick(&mut self, n: usize) -> &mut Builder {
        self.max_io_events_per_tick = n;
        self
    }

    /// Whether the multi-thread scheduler uses its LIFO slot: a task spawned by a running
    /// task, or woken by one while nothing else waits in that worker's queue, runs next
    /// rather than at the back of the queue. A task woken while others are queued always
    /// goes to the back (unlike Tokio, whose slot takes every wake): a task woken by several
    /// queued tasks, such as an HTTP/2 connection woken by each stream's response, then runs
    /// once after all of them. Default true; `false` makes every push FIFO.
    pub fn lifo_slot(&mut self, enabled: bool) -> &mut Builder {
        self.lifo_enabled = enabled;
        self
    }

    /// How much queued work a worker keeps to itself before it wakes a sleeping worker to
    /// share it, when it comes back from polling I/O: the queued tasks times its measured
    /// mean poll time. Default 200 µs. A backlog smaller than this is finished before a
    /// woken thread would start; a backlog that grows past it (a saturated worker) is
    /// shared — provided the runtime's CPUs have had at least three quarters of a CPU
    /// idle lately (read from `/proc/stat`, at most every 50 ms), since a thread woken
    /// onto busy CPUs only time-slices with whatever runs there. `Duration::ZERO` wakes a
    /// sibling whenever more than one task is queued, as Tokio does, and never reads
    /// `/proc/stat`. Multi-thread runtime only. The rule is described in
    /// `src/scheduler/policy/spread.rs`.
    ///
    /// ```
    /// let rt = rawrt::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .spread_threshold(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { rawrt::spawn(async { 7 }).await.unwrap() }), 7);
    /// ```
    pub fn spread_threshold(&mut self, threshold: std::time::Duration) -> &mut Builder {
        self.spread_threshold = threshold;
        self
    }

    /// Maximum number of blocking-pool threads (`spawn_blocking`). Default 512. `build`
    /// fails with `InvalidInput` for 0.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits. Default 10 s.
    pub fn thread_keep_alive(&mut self, keep_alive: std::time::Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    fn blocking_pool(&self) -> io::Result<blocking::Spawner> {
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_blocking_threads must be at least 1",
            ));
        }
        let hooks = Hooks {
            on_start: self.hooks.on_start.clone(),
            on_stop: self.hooks.on_stop.clone(),
            on_park: None,
            on_unpark: None,
        };
        Ok(blocking::Spawner::new(blocking::Config {
            max_threads: self.max_blocking_threads,
            keep_alive: self.thread_keep_alive,
            thread_name: self.thread_name.blocking(),
            stack_size: self.thread_stack_size,
            hooks,
        }))
    }

    fn resolve_workers(&self) -> io::Result<usize> {
        let n = match self.worker_threads {
            Some(n) => n,
            None => match std::env::var("RAWRT_WORKER_THREADS") {
                Ok(v) => v.trim().parse::<usize>().map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("RAWRT_WORKER_THREADS={v:?} is not a number of threads: {e}"),
                    )
                })?,
                Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a runtime needs at least one worker thread (worker_threads was 0)",
            ));
        }
        if n > 4096 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("worker_threads({n}) is more than the supported 4096"),
            ));
        }
        Ok(n)
    }

    /// Creates the runtime and starts its worker threads.
    ///
    /// Fails if the worker count is invalid, or the epoll instance, eventfd or a thread cannot
    /// be created (the workers already started are stopped again).
    pub fn build(&mut self) -> io::Result<Runtime> {
        // `RAWRT_TRACE=syscalls` switches the syscall trace on (see `trace_syscalls`).
        rawrt_sys::trace::enable_from_env();
        if self.kind == Kind::CurrentThread {
            return self.build_current_thread();
        }
        #[cfg(feature = "test-util")]
        if self.start_paused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rawrt: start_paused requires a current-thread runtime",
            ));
        }
        let num_workers = self.resolve_workers()?;
        let blocking = self.blocking_pool()?;
        let driver = reactor::Driver::new(self.max_io_events_per_tick)?;
        let config = multi_thread::Config {
            global_queue_interval: self.global_queue_interval,
            event_interval: self.event_interval,
            lifo_enabled: self.lifo_enabled,
            spread_threshold: self.spread_threshold,
            thread_name: self.thread_name.worker(),
            stack_size: self.thread_stack_size,
            hooks: self.hooks.clone(),
        };
        let (handle, cores) = multi_thread::create(num_workers, driver, blocking, config);
        let mut threads = Vec::with_capacity(num_workers + 1);
        // Stops the threads started so far and cleans up, when one cannot be started.
        let abandon = |threads: Vec<std::thread::JoinHandle<()>>, what: String, e: io::Error| {
            handle.shutdown();
            for t in threads {
                let _ = t.join();
            }
            handle.shutdown_after_failed_start();
            io::Error::new(e.kind(), format!("rawrt: failed to spawn {what}: {e}"))
        };
        let worker_name = self.thread_name.worker();
        for (i, core) in cores.into_iter().enumerate() {
            let mut tb = std::thread::Builder::new().name(worker_name(i));
            if let Some(size) = self.thread_stack_size {
                tb = tb.stack_size(size);
            }
            let h = handle.clone();
            match tb.spawn(move || multi_thread::run(core, h)) {
                Ok(t) => threads.push(t),
                // The core moved into the failed closure is gone.
                Err(e) => return Err(abandon(threads, format!("worker thread {i}"), e)),
            }
        }
        if num_workers > 1 {
            // With siblings to hand work to, a monitor watches for a worker blocked in a
            // poll (scheduler/multi_thread/monitor.rs).
            let h = handle.clone();
            let spawned = std::thread::Builder::new()
                .name(self.thread_name.monitor())
                .spawn(move || multi_thread::run_monitor(h));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => return Err(abandon(threads, "the monitor thread".into(), e)),
            }
        }
        let public = Handle {
            inner: scheduler::Handle::MultiThread(handle),
        };
        Ok(Runtime::from_parts(public, threads))
    }
}

impl Builder {
    fn build_current_thread(&mut self) -> io::Result<Runtime> {
        let blocking = self.blocking_pool()?;
        let driver = reactor::Driver::new(self.max_io_events_per_tick)?;
        #[cfg(feature = "test-util")]
        if self.start_paused {
            // A new clock is never paused yet: this cannot fail.
            let _ = driver.handle().clock().pause();
        }
        let handle = current_thread::Handle::new(
            driver,
            blocking,
            current_thread::Config {
                event_interval: self.event_interval,
                global_queue_interval: self.global_queue_interval.unwrap_or(31),
                hooks: Hooks {
                    on_park: self.hooks.on_park.clone(),
                    on_unpark: self.hooks.on_unpark.clone(),
                    ..Hooks::default()
                },
            },
        );
        Ok(Runtime::from_parts(
            Handle {
                inner: scheduler::Handle::CurrentThread(handle),
            },
            Vec::new(),
        ))
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new_multi_thread()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("event_interval", &self.event_interval)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("max_io_events_per_tick", &self.max_io_events_per_tick)
            .field("lifo_enabled", &self.lifo_enabled)
            .field("spread_threshold", &self.spread_threshold)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("hooks", &self.hooks)
            .finish()
    }
}
