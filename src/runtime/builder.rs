//! `Builder`: configures and starts a runtime.

use std::fmt;
use std::io;
use std::sync::Arc;

use super::{Handle, Runtime};
use crate::reactor;
use crate::scheduler::{self, blocking, current_thread, multi_thread};

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
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
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
            thread_name: Arc::new(|i| format!("rawrt-worker-{i}")),
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

    /// Name of the worker threads (each gets `-N` appended).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name: String = name.into();
        self.thread_name = Arc::new(move |i| format!("{name}-{i}"));
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

    /// Whether a woken task goes into the LIFO slot (run next) rather than the back of the
    /// queue. Default true.
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
        let name = self.thread_name.clone();
        Ok(blocking::Spawner::new(blocking::Config {
            max_threads: self.max_blocking_threads,
            keep_alive: self.thread_keep_alive,
            thread_name: Arc::new(move |i| format!("{}-blocking", name(i))),
            stack_size: self.thread_stack_size,
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
            thread_name: self.thread_name.clone(),
            stack_size: self.thread_stack_size,
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
        for (i, core) in cores.into_iter().enumerate() {
            let mut tb = std::thread::Builder::new().name((self.thread_name)(i));
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
                .name("rawrt-monitor".into())
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
            .finish()
    }
}
