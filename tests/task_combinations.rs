//! Every combination of how a task can end, in the style of Tokio's `task_combinations` test.
//!
//! A cell of the matrix picks one value on each axis:
//!
//! | axis | values |
//! |---|---|
//! | the future | completes normally / panics in `poll` / never completes |
//! | the future's `Drop` | quiet / panics |
//! | the output | `()` / a `Drop` that panics / a `Drop` that counts |
//! | the `JoinHandle` | dropped before completion / dropped after completion / awaited / kept until the runtime is dropped |
//! | abort | none / from outside / from inside the task (its own `JoinHandle`, passed to it through a channel) / after completion |
//! | shutdown | none / the runtime is dropped mid-flight |
//! | flavour | multi-thread 1 worker / multi-thread 2 workers / current-thread |
//!
//! 3 × 2 × 3 × 4 × 4 × 2 = 576 cells per flavour, one `#[test]` per flavour: 1,728 in all.
//! Every cell runs; none is skipped (Tokio skips the double-panic cells; rawrt must survive
//! them).
//!
//! # One cell's timeline
//! 1. Spawn the task. Its first poll parks it at a *gate* (the task is mid-flight).
//! 2. *Before completion*: abort from outside; then drop the `JoinHandle`; then drop the
//!    runtime (shutdown mid-flight). Steps 3–4 are skipped after a shutdown.
//! 3. Open the gate. The second poll aborts the task from inside (through its own
//!    `JoinHandle`, if the test still holds it, then yields so that the abort takes effect),
//!    or completes, panics, or parks forever (waking nothing), as the cell says.
//! 4. Wait until the future is dropped (or, for a future that never completes, parked).
//! 5. *After completion*: abort; drop the `JoinHandle`, or await it (a task still pending is
//!    polled once instead and read after the runtime drop).
//! 6. The runtime still serves: a trivial task is spawned and awaited (unless it was shut
//!    down), then the runtime is dropped and a kept `JoinHandle` is read.
//!
//! # What every cell asserts
//! - The future is dropped exactly once, and never before the task's end; it is polled
//!   exactly as often as the cell predicts (nothing wakes the task but the gate and its own
//!   yield, so there is no spurious poll to allow for, and no poll after a cancellation).
//! - The output is dropped exactly once if the future produced it, never otherwise, and not
//!   while a `JoinHandle` still owns it.
//! - The `JoinHandle`, where it is read, gives the predicted result: the output,
//!   `JoinError::is_cancelled`, or `JoinError::is_panic` with the payload of the *first*
//!   panic (the one in `poll`, else the one in the future's `Drop`).
//! - No panic escapes `JoinHandle::drop`, `Runtime::drop` or `abort`; the runtime is alive
//!   afterwards; no task is left alive after the runtime is dropped.
//!
//! The expected panics carry a marker and are silenced by a panic hook (installed once);
//! every other panic goes to the default hook. Waits are bounded (20 s each, no sleeps), and
//! a watchdog fails the test naming the cell if one hangs. `RAWRT_COMBI_TRACE=1` prints each
//! cell before it runs (to find the cell of a crash that kills the process).

mod common;

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{panic_message, poll_once};
use rawrt::task::{JoinError, JoinHandle};

/// Every expected panic's message contains this; the panic hook silences those.
const MARKER: &str = "rawrt-combi-marker";
const POLL_PANIC: &str = "rawrt-combi-marker: panic in poll";
const FUTURE_DROP_PANIC: &str = "rawrt-combi-marker: panic in the future's drop";
const OUTPUT_DROP_PANIC: &str = "rawrt-combi-marker: panic in the output's drop";

/// The bound of each wait inside a cell.
const WAIT: Duration = Duration::from_secs(20);
/// The watchdog's bound for one cell.
const STALL: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// The axes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fut {
    Completes,
    PanicsInPoll,
    NeverCompletes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FutDrop {
    Quiet,
    Panics,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Unit,
    PanicsOnDrop,
    CountsDrop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    DropBeforeCompletion,
    DropAfterCompletion,
    Await,
    KeepUntilRuntimeDrop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abort {
    No,
    Outside,
    Inside,
    AfterCompletion,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shutdown {
    No,
    MidFlight,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    MultiThread1,
    MultiThread2,
    CurrentThread,
}

const FUTS: [Fut; 3] = [Fut::Completes, Fut::PanicsInPoll, Fut::NeverCompletes];
const FUT_DROPS: [FutDrop; 2] = [FutDrop::Quiet, FutDrop::Panics];
const OUTPUTS: [Output; 3] = [Output::Unit, Output::PanicsOnDrop, Output::CountsDrop];
const JOINS: [Join; 4] = [
    Join::DropBeforeCompletion,
    Join::DropAfterCompletion,
    Join::Await,
    Join::KeepUntilRuntimeDrop,
];
const ABORTS: [Abort; 4] = [
    Abort::No,
    Abort::Outside,
    Abort::Inside,
    Abort::AfterCompletion,
];
const SHUTDOWNS: [Shutdown; 2] = [Shutdown::No, Shutdown::MidFlight];

/// One combination.
#[derive(Clone, Copy, Debug)]
struct Cell {
    flavour: Flavour,
    fut: Fut,
    fut_drop: FutDrop,
    output: Output,
    join: Join,
    abort: Abort,
    shutdown: Shutdown,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:?} fut={:?} fut_drop={:?} output={:?} join={:?} abort={:?} shutdown={:?}]",
            self.flavour,
            self.fut,
            self.fut_drop,
            self.output,
            self.join,
            self.abort,
            self.shutdown
        )
    }
}

/// How a task ended, as its `JoinHandle` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Output,
    Cancelled,
    PanicInPoll,
    PanicInFutureDrop,
    /// A panic with an unexpected payload (never predicted).
    OtherPanic(String),
}

/// What a cell must observe.
#[derive(Debug)]
struct Prediction {
    outcome: Outcome,
    /// The future returned `Ready` (the output value was created).
    output_created: bool,
    /// How many times the future is polled.
    polls: usize,
    /// The task ends before the "after completion" step (otherwise it is still parked).
    ends_early: bool,
}

impl Cell {
    fn predict(&self) -> Prediction {
        let cancelled = match self.fut_drop {
            // Cancelling drops the future; a panic there is the task's result.
            FutDrop::Panics => Outcome::PanicInFutureDrop,
            FutDrop::Quiet => Outcome::Cancelled,
        };
        // Cancelled while parked at the gate: the only poll was the first.
        if self.shutdown == Shutdown::MidFlight || self.abort == Abort::Outside {
            return Prediction {
                outcome: cancelled,
                output_created: false,
                polls: 1,
                ends_early: true,
            };
        }
        // The gate opens. An abort from inside needs the JoinHandle, which the test dropped
        // before completion in the `DropBeforeCompletion` cells.
        if self.abort == Abort::Inside && self.join != Join::DropBeforeCompletion {
            return Prediction {
                outcome: cancelled,
                output_created: false,
                polls: 2,
                ends_early: true,
            };
        }
        match self.fut {
            Fut::Completes => Prediction {
                // The future is dropped right after it returns `Ready`: a panic there makes
                // the task a panic, and the output (created) is dropped by the runtime.
                outcome: match self.fut_drop {
                    FutDrop::Panics => Outcome::PanicInFutureDrop,
                    FutDrop::Quiet => Outcome::Output,
                },
                output_created: true,
                polls: 2,
                ends_early: true,
            },
            // The poll's panic is reported, not a second one from the future's drop.
            Fut::PanicsInPoll => Prediction {
                outcome: Outcome::PanicInPoll,
                output_created: false,
                polls: 2,
                ends_early: true,
            },
            // Parked for good: cancelled by the late abort or by the runtime drop.
            Fut::NeverCompletes => Prediction {
                outcome: cancelled,
                output_created: false,
                polls: 2,
                ends_early: false,
            },
        }
    }

    /// Drops of the output over the whole cell.
    fn expected_output_drops(&self, p: &Prediction) -> usize {
        usize::from(p.output_created && self.output != Output::Unit)
    }

    /// Drops of the output by the runtime itself, before any `JoinHandle` could take it
    /// (the future's drop panicked after `Ready`).
    fn expected_output_discarded(&self, p: &Prediction) -> usize {
        usize::from(p.output_created && p.outcome != Outcome::Output && self.output != Output::Unit)
    }
}

// ---------------------------------------------------------------------------------------
// Instrumentation: what the task reports, and the gate it waits at.

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    polls: usize,
    /// Parked at the gate (first poll).
    started: bool,
    /// Parked forever (a `NeverCompletes` future's second poll).
    parked_forever: bool,
    fut_drops: usize,
    out_drops: usize,
    /// Whether the abort from inside found the JoinHandle.
    self_abort: Option<bool>,
}

/// The task's reports, and the waker of whoever waits for one.
#[derive(Default)]
struct Probe {
    state: Mutex<(Counts, Option<Waker>)>,
}

impl Probe {
    fn update(&self, f: impl FnOnce(&mut Counts)) {
        let waker = {
            let mut st = self.state.lock().unwrap();
            f(&mut st.0);
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn get(&self) -> Counts {
        self.state.lock().unwrap().0
    }

    /// Completes once `pred` holds.
    async fn until(&self, pred: impl Fn(&Counts) -> bool) {
        std::future::poll_fn(|cx| {
            let mut st = self.state.lock().unwrap();
            if pred(&st.0) {
                Poll::Ready(())
            } else {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A one-shot gate: the task parks at it until the test opens it.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Gate {
    fn open(&self) {
        let waker = {
            let mut st = self.state.lock().unwrap();
            st.0 = true;
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll_open(&self, cx: &mut Context<'_>) -> bool {
        let mut st = self.state.lock().unwrap();
        if !st.0 {
            st.1 = Some(cx.waker().clone());
        }
        st.0
    }
}

/// The task's `JoinHandle`, shared between the test and (in the `Inside` cells) the task.
///
/// If it is dropped while the thread unwinds from a failed assertion, the handle is leaked
/// rather than dropped: dropping it could drop an output whose `Drop` panics, and a panic
/// during unwinding aborts the process.
struct JoinSlot<T>(Mutex<Option<JoinHandle<T>>>);

impl<T> JoinSlot<T> {
    fn new(jh: JoinHandle<T>) -> Self {
        JoinSlot(Mutex::new(Some(jh)))
    }

    fn take(&self) -> Option<JoinHandle<T>> {
        self.0.lock().unwrap().take()
    }

    /// Aborts through the handle, if it is still here.
    fn abort(&self) -> bool {
        match self.0.lock().unwrap().as_ref() {
            Some(jh) => {
                jh.abort();
                true
            }
            None => false,
        }
    }

    fn is_finished(&self) -> Option<bool> {
        self.0.lock().unwrap().as_ref().map(|jh| jh.is_finished())
    }
}

impl<T> Drop for JoinSlot<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(jh) = self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
                std::mem::forget(jh);
            }
        }
    }
}

/// The three output types.
trait MakeOutput: Send + Sized + 'static {
    fn make(probe: &Arc<Probe>) -> Self;
}

impl MakeOutput for () {
    fn make(_: &Arc<Probe>) -> Self {}
}

/// An output whose `Drop` counts, then panics.
struct PanickingOutput(Arc<Probe>);

impl Drop for PanickingOutput {
    fn drop(&mut self) {
        self.0.update(|c| c.out_drops += 1);
        std::panic::panic_any(OUTPUT_DROP_PANIC);
    }
}

impl MakeOutput for PanickingOutput {
    fn make(probe: &Arc<Probe>) -> Self {
        PanickingOutput(probe.clone())
    }
}

/// An output whose `Drop` counts.
struct CountingOutput(Arc<Probe>);

impl Drop for CountingOutput {
    fn drop(&mut self) {
        self.0.update(|c| c.out_drops += 1);
    }
}

impl MakeOutput for CountingOutput {
    fn make(probe: &Arc<Probe>) -> Self {
        CountingOutput(probe.clone())
    }
}

/// The spawned future.
struct Subject<T: MakeOutput> {
    probe: Arc<Probe>,
    gate: Arc<Gate>,
    fut: Fut,
    panic_on_drop: bool,
    /// `Inside` cells: where the task receives its own JoinHandle.
    own_handle: Option<mpsc::Receiver<Arc<JoinSlot<T>>>>,
}

impl<T: MakeOutput> Future for Subject<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        this.probe.update(|c| c.polls += 1);
        if !this.gate.poll_open(cx) {
            this.probe.update(|c| c.started = true);
            return Poll::Pending;
        }
        if let Some(rx) = this.own_handle.take() {
            let slot = rx
                .try_recv()
                .expect("the JoinHandle was sent before the gate opened");
            let aborted = slot.abort();
            drop(slot);
            this.probe.update(|c| c.self_abort = Some(aborted));
            if aborted {
                // Yield: the abort takes effect when this poll returns.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        match this.fut {
            Fut::Completes => Poll::Ready(T::make(&this.probe)),
            Fut::PanicsInPoll => std::panic::panic_any(POLL_PANIC),
            Fut::NeverCompletes => {
                // Nothing will wake it again.
                this.probe.update(|c| c.parked_forever = true);
                Poll::Pending
            }
        }
    }
}

impl<T: MakeOutput> Drop for Subject<T> {
    fn drop(&mut self) {
        self.probe.update(|c| c.fut_drops += 1);
        if self.panic_on_drop {
            std::panic::panic_any(FUTURE_DROP_PANIC);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The runtime under test.

/// The runtime of one cell. If the thread unwinds from a failed assertion the runtime is
/// leaked rather than dropped: its tasks' destructors may panic, which would abort.
struct Rt {
    rt: Option<rawrt::Runtime>,
    flavour: Flavour,
}

impl Rt {
    fn new(flavour: Flavour) -> Rt {
        let rt = match flavour {
            Flavour::MultiThread1 => rawrt::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("combi1")
                .build(),
            Flavour::MultiThread2 => rawrt::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("combi2")
                .build(),
            Flavour::CurrentThread => rawrt::Builder::new_current_thread().build(),
        };
        Rt {
            rt: Some(rt.expect("build runtime")),
            flavour,
        }
    }

    fn get(&self) -> &rawrt::Runtime {
        self.rt.as_ref().expect("runtime already dropped")
    }

    fn is_alive(&self) -> bool {
        self.rt.is_some()
    }

    /// Runs `fut` in `block_on`, bounded by `WAIT`.
    fn block_on<F: Future>(&self, cell: &Cell, what: &str, fut: F) -> F::Output {
        match self.get().block_on(rawrt::time::timeout(WAIT, fut)) {
            Ok(v) => v,
            Err(_) => panic!("{cell}: timed out after {WAIT:?} waiting for {what}"),
        }
    }

    /// Waits until the task's reports satisfy `pred`.
    fn wait(&self, cell: &Cell, probe: &Probe, what: &str, pred: impl Fn(&Counts) -> bool) {
        if self
            .get()
            .block_on(rawrt::time::timeout(WAIT, probe.until(pred)))
            .is_err()
        {
            panic!(
                "{cell}: timed out after {WAIT:?} waiting for {what}; counts {:?}",
                probe.get()
            );
        }
    }

    /// Drops the runtime; no panic may escape.
    fn drop_runtime(&mut self, cell: &Cell) {
        let rt = self.rt.take().expect("runtime dropped twice");
        let res = catch_unwind(AssertUnwindSafe(move || drop(rt)));
        assert!(
            res.is_ok(),
            "{cell}: a panic escaped Runtime::drop: {}",
            res.err().map(|p| panic_message(&*p)).unwrap_or_default()
        );
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if std::thread::panicking() {
                std::mem::forget(rt);
            }
        }
    }
}

/// Reads a `JoinHandle` result, dropping an output at once (catching its `Drop` panic, which
/// must happen exactly when the output type panics on drop).
fn classify<T: MakeOutput>(cell: &Cell, res: Result<T, JoinError>) -> Outcome {
    match res {
        Ok(out) => {
            let dropped = catch_unwind(AssertUnwindSafe(move || drop(out)));
            assert_eq!(
                dropped.is_err(),
                cell.output == Output::PanicsOnDrop,
                "{cell}: dropping the output panicked (or did not) unexpectedly"
            );
            Outcome::Output
        }
        Err(e) if e.is_cancelled() => {
            assert!(!e.is_panic(), "{cell}: {e:?} is both cancelled and panic");
            Outcome::Cancelled
        }
        Err(e) if e.is_panic() => match panic_message(&*e.into_panic()).as_str() {
            POLL_PANIC => Outcome::PanicInPoll,
            FUTURE_DROP_PANIC => Outcome::PanicInFutureDrop,
            other => Outcome::OtherPanic(other.to_string()),
        },
        Err(e) => panic!("{cell}: a JoinError neither cancelled nor panic: {e:?}"),
    }
}

/// Drops a `JoinHandle`; no panic may escape (an output's panicking `Drop` included).
fn drop_join_handle<T>(cell: &Cell, jh: JoinHandle<T>) {
    let res = catch_unwind(AssertUnwindSafe(move || drop(jh)));
    assert!(
        res.is_ok(),
        "{cell}: a panic escaped JoinHandle::drop: {}",
        res.err().map(|p| panic_message(&*p)).unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------------------
// One cell.

fn run_cell(cell: Cell) {
    match cell.output {
        Output::Unit => run_typed_cell::<()>(cell),
        Output::PanicsOnDrop => run_typed_cell::<PanickingOutput>(cell),
        Output::CountsDrop => run_typed_cell::<CountingOutput>(cell),
    }
}

fn run_typed_cell<T: MakeOutput>(cell: Cell) {
    let p = cell.predict();
    let mut rt = Rt::new(cell.flavour);
    let handle = rt.get().handle().clone();
    let probe = Arc::new(Probe::default());
    let gate = Arc::new(Gate::default());
    let (handle_tx, handle_rx) = mpsc::channel();

    // 1. Spawn; the first poll parks at the gate.
    let jh = rt.get().spawn(Subject::<T> {
        probe: probe.clone(),
        gate: gate.clone(),
        fut: cell.fut,
        panic_on_drop: cell.fut_drop == FutDrop::Panics,
        own_handle: (cell.abort == Abort::Inside).then_some(handle_rx),
    });
    let id = jh.id();
    let slot = Arc::new(JoinSlot::new(jh));
    if cell.abort == Abort::Inside {
        handle_tx.send(slot.clone()).unwrap();
    }
    rt.wait(&cell, &probe, "the first poll", |c| c.started);
    let c = probe.get();
    assert_eq!(
        (c.polls, c.fut_drops, c.out_drops),
        (1, 0, 0),
        "{cell}: (polls, future drops, output drops) after the first poll"
    );

    // 2. Before completion.
    if cell.abort == Abort::Outside {
        assert!(slot.abort());
    }
    if cell.join == Join::DropBeforeCompletion {
        drop_join_handle(&cell, slot.take().unwrap());
    }
    if cell.shutdown == Shutdown::MidFlight {
        rt.drop_runtime(&cell);
        assert_eq!(
            probe.get().fut_drops,
            1,
            "{cell}: the runtime drop must have dropped the future"
        );
    } else {
        // 3. The gate opens: the second poll.
        gate.open();
        // 4. The task ends (or parks for good).
        if p.ends_early {
            rt.wait(&cell, &probe, "the future's drop", |c| c.fut_drops >= 1);
        } else {
            rt.wait(&cell, &probe, "the task to park forever", |c| {
                c.parked_forever
            });
        }
    }
    if p.ends_early && slot.is_finished().is_some() {
        // The future is gone; the task publishes its completion right after.
        let deadline = Instant::now() + WAIT;
        while slot.is_finished() == Some(false) {
            assert!(
                Instant::now() < deadline,
                "{cell}: JoinHandle::is_finished still false {WAIT:?} after the future's drop"
            );
            if rt.is_alive() && rt.flavour == Flavour::CurrentThread {
                rt.block_on(&cell, "a yield", rawrt::task::yield_now());
            } else {
                std::thread::yield_now();
            }
        }
        let c = probe.get();
        assert_eq!(
            c.out_drops,
            cell.expected_output_discarded(&p),
            "{cell}: output dropped while its JoinHandle still owns it"
        );
    }
    if cell.abort == Abort::Inside && cell.shutdown == Shutdown::No {
        assert_eq!(
            probe.get().self_abort,
            Some(cell.join != Join::DropBeforeCompletion),
            "{cell}: the abort from inside"
        );
    }

    // 5. After completion.
    if cell.abort == Abort::AfterCompletion {
        let aborted = slot.abort();
        if aborted && !p.ends_early && rt.is_alive() {
            // A task parked forever is cancelled by it.
            rt.wait(&cell, &probe, "the future's drop after the abort", |c| {
                c.fut_drops >= 1
            });
        }
    }
    let ends_before_runtime_drop = p.ends_early
        || (cell.abort == Abort::AfterCompletion && cell.join != Join::DropBeforeCompletion);
    let mut observed = None;
    let mut kept = None;
    match cell.join {
        Join::DropBeforeCompletion => {}
        Join::DropAfterCompletion => {
            drop_join_handle(&cell, slot.take().unwrap());
            if ends_before_runtime_drop {
                assert_eq!(
                    probe.get().out_drops,
                    cell.expected_output_drops(&p),
                    "{cell}: output drops right after dropping the JoinHandle of a finished task"
                );
            }
        }
        Join::Await => {
            let mut jh = slot.take().unwrap();
            if !rt.is_alive() {
                // Shut down: the result is there already.
                match poll_once(&mut jh) {
                    Poll::Ready(res) => observed = Some(classify(&cell, res)),
                    Poll::Pending => panic!("{cell}: JoinHandle pending after the runtime drop"),
                }
            } else if ends_before_runtime_drop {
                let res = rt.block_on(&cell, "the JoinHandle", &mut jh);
                assert_eq!(
                    probe.get().out_drops,
                    cell.expected_output_discarded(&p),
                    "{cell}: output dropped before the awaiting JoinHandle took it"
                );
                observed = Some(classify(&cell, res));
            } else {
                assert!(
                    poll_once(&mut jh).is_pending(),
                    "{cell}: a task parked forever is ready"
                );
                kept = Some(jh);
            }
        }
        Join::KeepUntilRuntimeDrop => kept = slot.take(),
    }

    // 6. The runtime still serves; then it is dropped.
    if rt.is_alive() {
        let v = rt.block_on(&cell, "a trivial task", rt.get().spawn(async { 7u8 }));
        assert_eq!(v.ok(), Some(7), "{cell}: the runtime no longer serves");
        rt.drop_runtime(&cell);
    }
    if let Some(mut jh) = kept {
        assert!(
            jh.is_finished(),
            "{cell}: JoinHandle not finished after the runtime drop"
        );
        match poll_once(&mut jh) {
            Poll::Ready(res) => {
                if let Err(e) = &res {
                    assert_eq!(e.id(), id, "{cell}: JoinError id");
                }
                observed = Some(classify(&cell, res));
            }
            Poll::Pending => panic!("{cell}: JoinHandle pending after the runtime drop"),
        }
        drop_join_handle(&cell, jh);
    }

    // The verdict.
    let c = probe.get();
    assert_eq!(c.fut_drops, 1, "{cell}: future drops; counts {c:?}");
    assert_eq!(
        c.out_drops,
        cell.expected_output_drops(&p),
        "{cell}: output drops; counts {c:?}; prediction {p:?}"
    );
    assert_eq!(c.polls, p.polls, "{cell}: polls; counts {c:?}");
    if let Some(o) = observed {
        assert_eq!(o, p.outcome, "{cell}: JoinHandle result");
    }
    assert_eq!(
        handle.num_alive_tasks(),
        0,
        "{cell}: tasks alive after the runtime drop"
    );
    drop(slot);
}

// ---------------------------------------------------------------------------------------
// The matrix.

/// Silences the panics that carry [`MARKER`]; forwards every other one to the default hook.
fn silence_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.contains(MARKER)) {
                default(info);
            }
        }));
    });
}

/// Every cell of one flavour, in nested loops over the axes.
fn cells(flavour: Flavour) -> Vec<Cell> {
    let mut cells = Vec::new();
    for fut in FUTS {
        for fut_drop in FUT_DROPS {
            for output in OUTPUTS {
                for join in JOINS {
                    for abort in ABORTS {
                        for shutdown in SHUTDOWNS {
                            cells.push(Cell {
                                flavour,
                                fut,
                                fut_drop,
                                output,
                                join,
                                abort,
                                shutdown,
                            });
                        }
                    }
                }
            }
        }
    }
    cells
}

/// Runs every cell of `flavour` (a failing cell does not stop the others), under a watchdog
/// that names a cell that hangs; prints the number of cells run and fails listing the
/// failed ones.
fn run_matrix(flavour: Flavour) {
    silence_expected_panics();
    let trace = std::env::var_os("RAWRT_COMBI_TRACE").is_some_and(|v| v == "1");
    let cells = cells(flavour);
    let total = cells.len();
    let current: Arc<Mutex<(String, Instant)>> =
        Arc::new(Mutex::new((String::new(), Instant::now())));
    let (done_tx, done_rx) = mpsc::channel();
    let progress = current.clone();
    let body = std::thread::Builder::new()
        .name(format!("combi:{flavour:?}"))
        .spawn(move || {
            let mut failures = Vec::new();
            let mut ran = 0usize;
            for cell in cells {
                *progress.lock().unwrap() = (cell.to_string(), Instant::now());
                if trace {
                    let _ = writeln!(std::io::stderr(), "cell {cell}");
                }
                if let Err(payload) = catch_unwind(move || run_cell(cell)) {
                    failures.push(panic_message(&*payload));
                }
                ran += 1;
            }
            let _ = done_tx.send((ran, failures));
        })
        .expect("spawn the matrix thread");
    let (ran, failures) = loop {
        match done_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(v) => break v,
            Err(RecvTimeoutError::Timeout) => {
                let (cell, since) = current.lock().unwrap().clone();
                assert!(
                    since.elapsed() < STALL,
                    "cell {cell} has not finished in {STALL:?} (hang)"
                );
            }
            Err(RecvTimeoutError::Disconnected) => match body.join() {
                Err(p) => std::panic::resume_unwind(p),
                Ok(()) => unreachable!("the matrix thread ended without a result"),
            },
        }
    };
    let _ = body.join();
    // Written to stderr directly, so that it shows without `--nocapture`.
    let _ = writeln!(
        std::io::stderr(),
        "task_combinations {flavour:?}: {ran} of {total} cells run, {} failed",
        failures.len()
    );
    assert_eq!(ran, total);
    assert!(
        failures.is_empty(),
        "{} of {ran} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn combinations_multi_thread_1_worker() {
    run_matrix(Flavour::MultiThread1);
}

#[test]
fn combinations_multi_thread_2_workers() {
    run_matrix(Flavour::MultiThread2);
}

#[test]
fn combinations_current_thread() {
    run_matrix(Flavour::CurrentThread);
}
