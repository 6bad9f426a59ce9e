//! The [`Rt`] trait: what the benchmarks need from a runtime, implemented for rawrt and for
//! Tokio, so that each benchmark body is written once and instantiated for both.
//!
//! Everything is static dispatch (generic functions, associated types), so the abstraction
//! costs nothing at run time: `R::spawn(f)` compiles to `rawrt::spawn(f)` or
//! `tokio::spawn(f)`.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// A multi-thread runtime under benchmark.
pub trait Rt: Sized + 'static {
    /// The name used as the criterion function id (`rawrt`, `tokio`).
    const NAME: &'static str;

    /// A cloneable handle for spawning from any thread.
    type Handle: Clone + Send + Sync + 'static;

    /// The error a join handle resolves to when its task panicked or was cancelled.
    type JoinError: Debug + Send + 'static;

    /// A spawned task's join handle.
    type Join<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>> + Send + 'static;

    /// A multi-thread runtime with `workers` worker threads, I/O and timers enabled.
    fn build(workers: usize) -> Self;

    /// A handle to this runtime.
    fn handle(&self) -> Self::Handle;

    /// Runs `future` to completion on the calling thread (not a worker); spawned tasks run on
    /// the workers.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns through a handle, from any thread.
    fn spawn_on<F>(handle: &Self::Handle, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns on the current runtime (from a task or inside `block_on`).
    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// [`spawn_on`](Self::spawn_on), dropping the join handle (the task runs on, detached).
    fn spawn_on_detached<F>(handle: &Self::Handle, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(Self::spawn_on(handle, future));
    }

    /// [`spawn`](Self::spawn), dropping the join handle (the task runs on, detached).
    fn spawn_detached<F>(future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(Self::spawn(future));
    }

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// The runtime's `sleep`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

/// rawrt's multi-thread runtime.
pub struct Rawrt(rawrt::Runtime);

impl Rt for Rawrt {
    const NAME: &'static str = "rawrt";
    type Handle = rawrt::Handle;
    type JoinError = rawrt::task::JoinError;
    type Join<T: Send + 'static> = rawrt::JoinHandle<T>;

    fn build(workers: usize) -> Self {
        Rawrt(
            rawrt::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .expect("build the rawrt runtime"),
        )
    }

    fn handle(&self) -> Self::Handle {
        self.0.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_on<F>(handle: &Self::Handle, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rawrt::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        rawrt::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        rawrt::time::sleep(duration)
    }
}

/// Tokio's multi-thread runtime, with I/O and time enabled (as rawrt always has them).
pub struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Handle = tokio::runtime::Handle;
    type JoinError = tokio::task::JoinError;
    type Join<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn build(workers: usize) -> Self {
        Tokio(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("build the Tokio runtime"),
        )
    }

    fn handle(&self) -> Self::Handle {
        self.0.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_on<F>(handle: &Self::Handle, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
