//! `block_in_place`.

/// Runs `f`, which may block (a synchronous call, heavy computation), on the current thread
/// without stalling the runtime: on a multi-thread runtime's worker, the worker's other
/// tasks — and its job of running them — move to a new thread first, so they go on running
/// while `f` blocks this one. The task that called it continues on this thread when `f`
/// returns, until it next yields; from then on this thread is no longer a worker.
///
/// Prefer [`spawn_blocking`](crate::task::spawn_blocking) when the work can move to another
/// thread; `block_in_place` is for code that must run *here*, such as a synchronous API that
/// borrows from the task. Inside `f` the thread no longer drives the runtime, so
/// `Handle::current().block_on(..)` works there; `f` is not subject to the cooperative
/// budget.
///
/// Called on a multi-thread runtime's `block_on` thread, a blocking-pool thread or outside
/// any runtime, it just runs `f`.
///
/// # Panics
/// On a current-thread runtime (its one thread has nobody to hand its tasks to), as Tokio
/// does; use [`spawn_blocking`](crate::task::spawn_blocking) there.
///
/// ```
/// let rt = rawrt::Builder::new_multi_thread().worker_threads(1).build()?;
/// rt.block_on(async {
///     let other = rawrt::spawn(async { 7 }); // runs while the block below blocks
///     let n = rawrt::spawn(async {
///         rawrt::task::block_in_place(|| {
///             std::thread::sleep(std::time::Duration::from_millis(20)); // blocking
///             35
///         })
///     });
///     assert_eq!(n.await.unwrap() + other.await.unwrap(), 42);
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::scheduler::block_in_place(f)
}
