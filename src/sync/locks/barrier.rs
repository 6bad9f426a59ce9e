//! `Barrier`: `n` tasks wait until all `n` have arrived, then all go on; reusable.
//!
//! One `Mutex` (the `crate::loom` shim's) guards the arrival count of the current generation,
//! a generation number and a slab of the wakers of the tasks waiting in it. The `n`-th arrival
//! is the generation's leader: it resets the count, bumps the generation and takes every
//! waker, which it wakes after unlocking; the woken tasks see the generation moved on and
//! return. A waiting task whose future is dropped still counts as arrived (as in Tokio): the
//! barrier cannot tell a cancelled arrival from a slow one. No `unsafe`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::lock;
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use crate::sync::waiters::take_all;
use crate::util::slab::Slab;

/// Lets `n` tasks wait for each other: each [`wait`](Self::wait) returns once `n` calls have
/// arrived, and exactly one of them is told it is the leader. The barrier then starts over
/// (a new generation).
///
/// ```
/// use std::sync::Arc;
/// use rawrt::sync::Barrier;
///
/// let rt = rawrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             rawrt::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

struct State {
    /// Arrivals in the current generation (less than `n`).
    arrived: usize,
    generation: u64,
    /// Wakers of the current generation's waiting tasks (`None` once taken).
    waiters: Slab<Option<Waker>>,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one task of each generation: the one whose arrival released it.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks (`0` acts as `1`: every `wait` returns at once, as the leader).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                waiters: Slab::new(),
            }),
        }
    }

    /// Waits until `n` tasks have called `wait` in this generation.
    ///
    /// Cancel safety: the arrival is counted on the first poll; dropping the future after that
    /// does not take it back.
    pub async fn wait(&self) -> BarrierWaitResult {
        Wait {
            barrier: self,
            state: WaitState::Init,
        }
        .await
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &state.arrived)
            .field("generation", &state.generation)
            .finish()
    }
}

struct Wait<'a> {
    barrier: &'a Barrier,
    state: WaitState,
}

#[derive(Clone, Copy)]
enum WaitState {
    Init,
    /// Arrived in `generation`, waker in slot `key`.
    Waiting {
        generation: u64,
        key: usize,
    },
    Done,
}

impl Wait<'_> {
    fn poll_wait(&mut self, cx: &Context<'_>) -> Poll<BarrierWaitResult> {
        let barrier = self.barrier;
        let mut wakers = Vec::new();
        let mut stale = None;
        let poll = {
            let mut state = lock(&barrier.state);
            match self.state {
                WaitState::Init => {
                    state.arrived += 1;
                    if state.arrived == barrier.n {
                        state.arrived = 0;
                        state.generation = state.generation.wrapping_add(1);
                        wakers.extend(take_all(&mut state.waiters));
                        Poll::Ready(BarrierWaitResult(true))
                    } else {
                        let key = state.waiters.insert(Some(cx.waker().clone()));
                        self.state = WaitState::Waiting {
                            generation: state.generation,
                            key,
                        };
                        Poll::Pending
                    }
                }
                WaitState::Waiting { generation, key } => {
                    if state.generation != generation {
                        stale = state.waiters.remove(key);
                        Poll::Ready(BarrierWaitResult(false))
                    } else {
                        let slot = state.waiters.get_mut(key);
                        stale = match slot {
                            Some(w) if w.will_wake(cx.waker()) => None,
                            _ => slot.replace(cx.waker().clone()),
                        };
                        Poll::Pending
                    }
                }
                WaitState::Done => panic!("barrier future polled after completion"),
            }
        };
        if poll.is_ready() {
            self.state = WaitState::Done;
        }
        drop(stale);
        crate::util::wake_all(wakers);
        poll
    }
}

impl Future for Wait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_wait(cx))
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let WaitState::Waiting { key, .. } = self.state {
            let waker = lock(&self.barrier.state).waiters.remove(key);
            drop(waker);
        }
    }
}
