//! Heap per idle spawned task: in this process, for each runtime, spawn `--tasks` tasks that
//! are never ready ([`Idle`]) and read the counting allocator before and after (see the
//! memory module's docs for the procedure).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::alloc::{Growth, HeapSnapshot};
use crate::servers::Kind;

/// Polls of [`Idle`] futures so far.
static IDLE_POLLS: AtomicUsize = AtomicUsize::new(0);

/// A future that is never ready and counts its polls: `std::future::pending::<()>()` with a
/// counter. Zero-sized, so a task running it is exactly as large as one running `pending`.
struct Idle;

// The task allocations must be those of `std::future::pending::<()>()`.
const _: () = assert!(
    std::mem::size_of::<Idle>() == std::mem::size_of::<std::future::Pending<()>>()
        && std::mem::align_of::<Idle>() == std::mem::align_of::<std::future::Pending<()>>()
);

impl Future for Idle {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        IDLE_POLLS.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

/// The two runtimes compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rt {
    /// rawrt's multi-thread runtime.
    Rawrt,
    /// Tokio's multi-thread runtime.
    Tokio,
}

impl Rt {
    /// The name on the command line and in the JSON.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Rt::Rawrt => "rawrt",
            Rt::Tokio => "tokio",
        }
    }

    /// Looks a runtime up by [`Rt::id`].
    pub(crate) fn from_id(id: &str) -> Option<Rt> {
        [Rt::Rawrt, Rt::Tokio].into_iter().find(|r| r.id() == id)
    }

    /// The row of the HTTP benchmark's servers whose hyper server this runtime's is.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Rt::Rawrt => Kind::Rawrt,
            Rt::Tokio => Kind::Tokio,
        }
    }

    /// Round `round`'s order: rawrt first in even rounds, Tokio first in odd ones.
    pub(crate) fn order(round: usize) -> [Rt; 2] {
        if round % 2 == 0 {
            [Rt::Rawrt, Rt::Tokio]
        } else {
            [Rt::Tokio, Rt::Rawrt]
        }
    }
}

/// One runtime's idle-task measurement in one round.
#[derive(Clone, Debug)]
pub(crate) struct TaskSample {
    /// Live heap bytes added per task.
    pub(crate) bytes_per_task: f64,
    /// Live allocations added per task.
    pub(crate) allocs_per_task: f64,
    /// What was added per task, by size class.
    pub(crate) growth: Vec<Growth>,
    /// Live bytes left over once the handles and the runtime were dropped, compared with
    /// before the runtime was built (a leak check; a few bytes of lazily initialised
    /// globals are normal).
    pub(crate) left_after_drop: i64,
}

/// How long the tasks may take to be polled once.
const TASK_POLL_LIMIT: Duration = Duration::from_secs(60);

/// Measures `rt` with `workers` workers and `tasks` idle tasks (see the module docs).
pub(crate) fn measure_tasks(rt: Rt, workers: usize, tasks: usize) -> Result<TaskSample, String> {
    let start = HeapSnapshot::now();
    let sample = match rt {
        Rt::Rawrt => {
            let runtime = rawrt::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .map_err(|e| format!("building rawrt: {e}"))?;
            runtime
                .block_on(runtime.spawn(async {}))
                .map_err(|e| format!("rawrt warm-up task: {e:?}"))?;
            spawn_idle(tasks, || runtime.spawn(Idle))?
        }
        Rt::Tokio => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .map_err(|e| format!("building Tokio: {e}"))?;
            runtime
                .block_on(runtime.spawn(async {}))
                .map_err(|e| format!("Tokio warm-up task: {e}"))?;
            spawn_idle(tasks, || runtime.spawn(Idle))?
        }
    };
    let end = HeapSnapshot::now();
    Ok(TaskSample {
        left_after_drop: end.bytes as i64 - start.bytes as i64,
        ..sample
    })
}

/// Spawns `tasks` [`Idle`] tasks with `spawn`, waits until each has been polled, and returns
/// what they added to the heap. The handles are dropped before returning.
fn spawn_idle<H>(tasks: usize, mut spawn: impl FnMut() -> H) -> Result<TaskSample, String> {
    let mut handles: Vec<H> = Vec::with_capacity(tasks);
    let polls_before = IDLE_POLLS.load(Ordering::SeqCst);
    let before = HeapSnapshot::now();
    for _ in 0..tasks {
        handles.push(spawn());
    }
    let deadline = Instant::now() + TASK_POLL_LIMIT;
    loop {
        let polled = IDLE_POLLS.load(Ordering::SeqCst) - polls_before;
        if polled >= tasks {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {polled} of {tasks} tasks were polled within {TASK_POLL_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let after = HeapSnapshot::now();
    drop(handles);
    let n = tasks as f64;
    Ok(TaskSample {
        bytes_per_task: (after.bytes as f64 - before.bytes as f64) / n,
        allocs_per_task: (after.allocs as f64 - before.allocs as f64) / n,
        growth: after.heap().growth_since(&before.heap(), tasks),
        left_after_drop: 0,
    })
}
