//! Async locks and once-cells: [`Semaphore`], [`Mutex`], [`RwLock`], [`OnceCell`],
//! [`SetOnce`] and [`Barrier`], with Tokio's names, signatures and semantics.
//!
//! Everything is built on `semaphore.rs`, a FIFO semaphore whose state (free permits, waiter
//! queue) sits under one `std` mutex: `Mutex` is a semaphore with one permit, `RwLock` one with
//! `max_readers` permits (a writer takes all of them), `OnceCell` uses one permit as the right
//! to initialize and closes the semaphore once the value is set, `SetOnce` waits on a
//! semaphore that is closed when the value is set. `Barrier` has its own small waiter list.
//!
//! No part is lock-free; `loom_semaphore.rs` still model-checks the semaphore's protocol
//! across its (loom) mutex. The `unsafe` is confined to the lock guards' dereferences of the
//! data cell and their `Send`/`Sync` impls, and the unit tests (`tests.rs`: hand-polled, no
//! runtime) run under Miri.

mod barrier;
mod mutex;
mod once_cell;
mod rwlock;
mod semaphore;
mod set_once;

#[cfg(all(test, loom))]
mod loom_semaphore;
#[cfg(all(test, not(loom)))]
mod tests;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};
