//! `pause`, `resume`, `advance` (feature `test-util`).

use std::time::Duration;

use crate::reactor;
use crate::scheduler::{context, Handle};

/// The current runtime's reactor, for `what`; panics outside a runtime.
#[track_caller]
fn current(what: &str) -> (reactor::Handle, bool) {
    match context::with_current(|h, _| (h.reactor().clone(), matches!(h, Handle::CurrentThread(_))))
    {
        Some(v) => v,
        None => panic!("rawrt::time::{what} called outside of a rawrt runtime"),
    }
}

/// Pauses the current runtime's clock: from now on [`Instant::now`](super::Instant::now) and
/// every timer of this runtime see a simulated time that moves only by [`advance`] or by
/// auto-advance (the module docs say when). [`resume`] lets it run again.
///
/// Typically set from the start with `#[rawrt::test(start_paused = true)]` or
/// `Builder::start_paused(true)`.
///
/// ```
/// use rawrt::time::{sleep, Duration, Instant};
///
/// let rt = rawrt::runtime::Builder::new_current_thread().build()?;
/// rt.block_on(async {
///     rawrt::time::pause();
///     let start = Instant::now();
///     let real = std::time::Instant::now();
///     sleep(Duration::from_secs(3600)).await; // auto-advances: returns at once
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
///     assert!(real.elapsed() < Duration::from_secs(60));
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
///
/// # Panics
/// Outside a runtime, on a multi-thread runtime (whose workers could not agree on a simulated
/// time), or when the clock is already paused.
#[track_caller]
pub fn pause() {
    let (reactor, current_thread) = current("pause");
    if !current_thread {
        panic!("rawrt::time::pause() requires a current-thread runtime");
    }
    if let Err(msg) = reactor.clock().pause() {
        panic!("{msg}");
    }
}

/// Lets a paused clock run again, from the reading it has now (time it was advanced by is
/// kept).
///
/// # Panics
/// Outside a runtime, or when the clock is not paused.
#[track_caller]
pub fn resume() {
    let (reactor, _) = current("resume");
    if let Err(msg) = reactor.clock().resume() {
        panic!("{msg}");
    }
}

/// Moves the paused clock forward by `duration`, fires the timers that are then due (their
/// tasks become runnable, in no particular order), and yields once so they may run.
///
/// ```
/// use rawrt::time::{advance, Duration, Instant};
///
/// let rt = rawrt::runtime::Builder::new_current_thread().start_paused(true).build()?;
/// rt.block_on(async {
///     let start = Instant::now();
///     advance(Duration::from_millis(1500)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(1500));
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
///
/// # Panics
/// Outside a runtime, or when the clock is not paused.
pub async fn advance(duration: Duration) {
    let (reactor, _) = current("advance");
    if let Err(msg) = reactor.clock().advance(duration) {
        panic!("{msg}");
    }
    reactor.fire_due_timers();
    crate::task::yield_now().await
}
