//! Syscall counters: every call this crate makes, counted by kind.
//!
//! Counting is always on. Each thread increments its own counters with a plain load and
//! store (only the owning thread writes them, so no read-modify-write and no shared cache line
//! is touched per call); [`snapshot`] sums every live thread's counters plus those of threads
//! that have exited. The cost per syscall is a thread-local lookup and one store — noise next
//! to the syscall itself.
//!
//! A snapshot is a point-in-time sum: take one before and one after a piece of work and
//! subtract (`after - before`) to get the calls made in between, by every thread of the
//! process.
//!
//! ```
//! let before = rawrt_sys::stats::snapshot();
//! let fd = rawrt_sys::EventFd::new()?;
//! fd.notify()?;
//! let made = rawrt_sys::stats::snapshot() - before;
//! assert!(made.get(rawrt_sys::stats::Syscall::EventfdWrite) >= 1);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::ops::Sub;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// The kinds of syscall that are counted separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Syscall {
    /// `epoll_wait`.
    EpollWait,
    /// `epoll_ctl` (add, modify, delete).
    EpollCtl,
    /// `read` on an eventfd (draining it).
    EventfdRead,
    /// `write` on an eventfd (waking a thread in `epoll_wait`).
    EventfdWrite,
    /// `accept4`.
    Accept,
    /// `read`, `recv`, `recvfrom`, `recvmsg`.
    Read,
    /// `write`, `send`, `sendto`, `sendmsg`, `writev`.
    Write,
    /// `connect`.
    Connect,
    /// `close`.
    Close,
    /// Everything else (socket set-up, options, addresses, `epoll_create1`, `eventfd`, ...).
    Other,
}

const KINDS: usize = 10;

impl Syscall {
    /// Every kind, in display order.
    pub const ALL: [Syscall; KINDS] = [
        Syscall::EpollWait,
        Syscall::EpollCtl,
        Syscall::EventfdRead,
        Syscall::EventfdWrite,
        Syscall::Accept,
        Syscall::Read,
        Syscall::Write,
        Syscall::Connect,
        Syscall::Close,
        Syscall::Other,
    ];

    /// The kind of the libc function `name` (used at compile time by the `syscall!` macro).
    pub const fn of(name: &str) -> Syscall {
        const fn eq(a: &str, b: &str) -> bool {
            let (a, b) = (a.as_bytes(), b.as_bytes());
            if a.len() != b.len() {
                return false;
            }
            let mut i = 0;
            while i < a.len() {
                if a[i] != b[i] {
                    return false;
                }
                i += 1;
            }
            true
        }
        if eq(name, "epoll_wait") || eq(name, "epoll_pwait") {
            Syscall::EpollWait
        } else if eq(name, "epoll_ctl") {
            Syscall::EpollCtl
        } else if eq(name, "accept4") || eq(name, "accept") {
            Syscall::Accept
        } else if eq(name, "read")
            || eq(name, "recv")
            || eq(name, "recvfrom")
            || eq(name, "recvmsg")
        {
            Syscall::Read
        } else if eq(name, "write")
            || eq(name, "send")
            || eq(name, "sendto")
            || eq(name, "sendmsg")
            || eq(name, "writev")
        {
            Syscall::Write
        } else if eq(name, "connect") {
            Syscall::Connect
        } else if eq(name, "close") {
            Syscall::Close
        } else {
            Syscall::Other
        }
    }

    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Syscall::EpollWait => "epoll_wait",
            Syscall::EpollCtl => "epoll_ctl",
            Syscall::EventfdRead => "eventfd_read",
            Syscall::EventfdWrite => "eventfd_write",
            Syscall::Accept => "accept4",
            Syscall::Read => "read",
            Syscall::Write => "write",
            Syscall::Connect => "connect",
            Syscall::Close => "close",
            Syscall::Other => "other",
        }
    }
}

/// Counts per kind at one instant (or, after a subtraction, between two instants).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct SyscallCounts {
    counts: [u64; KINDS],
}

impl SyscallCounts {
    /// The count of one kind.
    pub fn get(&self, kind: Syscall) -> u64 {
        self.counts[kind as usize]
    }

    /// The sum over every kind.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(kind, count)` pairs in display order.
    pub fn iter(&self) -> impl Iterator<Item = (Syscall, u64)> + '_ {
        Syscall::ALL.iter().map(|&k| (k, self.get(k)))
    }
}

impl Sub for SyscallCounts {
    type Output = SyscallCounts;
    /// The calls made between two snapshots (`later - earlier`), saturating at zero.
    fn sub(self, earlier: SyscallCounts) -> SyscallCounts {
        let mut out = SyscallCounts::default();
        for i in 0..KINDS {
            out.counts[i] = self.counts[i].saturating_sub(earlier.counts[i]);
        }
        out
    }
}

impl fmt::Debug for SyscallCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&k.name(), &v);
        }
        m.finish()
    }
}

impl fmt::Display for SyscallCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in self.iter().filter(|&(_, v)| v > 0) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{} {}", k.name(), v)?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// One thread's counters. Written only by that thread.
struct ThreadCounters {
    counts: [AtomicU64; KINDS],
}

struct Registry {
    live: Vec<Arc<ThreadCounters>>,
    /// Sums of threads that have exited.
    retired: [u64; KINDS],
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    retired: [0; KINDS],
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// This thread's counters; registered on first use, retired when the thread exits.
struct Local(Arc<ThreadCounters>);

impl Local {
    fn new() -> Local {
        let counters = Arc::new(ThreadCounters {
            counts: Default::default(),
        });
        registry().live.push(counters.clone());
        Local(counters)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let mut reg = registry();
        for (i, c) in self.0.counts.iter().enumerate() {
            reg.retired[i] += c.load(Relaxed);
        }
        reg.live.retain(|c| !Arc::ptr_eq(c, &self.0));
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// Counts one call of `kind` made through another crate on rawrt's behalf (the reactor of
/// rawrt's `mio` build calls the kernel through mio; it counts those calls here, so both
/// builds report the same way).
#[inline]
pub fn count(kind: Syscall) {
    record(kind);
}

/// Counts one call of `kind` on this thread.
#[inline]
pub(crate) fn record(kind: Syscall) {
    let counted = LOCAL.try_with(|local| {
        let c = &local.0.counts[kind as usize];
        // Only this thread writes `c`: a load and a store, no atomic read-modify-write.
        c.store(c.load(Relaxed) + 1, Relaxed);
    });
    if counted.is_err() {
        // The thread is exiting and its counters are gone: count it as retired.
        registry().retired[kind as usize] += 1;
    }
}

/// Calls made from signal handlers (`signal::install_handler`'s eventfd write), which cannot
/// use the per-thread counters: a thread's first count allocates them, and a handler must not
/// allocate. A static atomic add is async-signal-safe.
static FROM_SIGNAL_HANDLERS: [AtomicU64; KINDS] = [const { AtomicU64::new(0) }; KINDS];

/// Counts one call of `kind` made inside a signal handler.
#[inline]
pub(crate) fn record_from_signal_handler(kind: Syscall) {
    FROM_SIGNAL_HANDLERS[kind as usize].fetch_add(1, Relaxed);
}

/// The calls made so far by every thread of the process, by kind (signal handlers included).
pub fn snapshot() -> SyscallCounts {
    let reg = registry();
    let mut out = SyscallCounts {
        counts: reg.retired,
    };
    for (i, c) in FROM_SIGNAL_HANDLERS.iter().enumerate() {
        out.counts[i] += c.load(Relaxed);
    }
    for t in &reg.live {
        for (i, c) in t.counts.iter().enumerate() {
            out.counts[i] += c.load(Relaxed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kinds_at_compile_time() {
        const A: Syscall = Syscall::of("epoll_wait");
        assert_eq!(A, Syscall::EpollWait);
        assert_eq!(Syscall::of("sendmsg"), Syscall::Write);
        assert_eq!(Syscall::of("recv"), Syscall::Read);
        assert_eq!(Syscall::of("accept4"), Syscall::Accept);
        assert_eq!(Syscall::of("setsockopt"), Syscall::Other);
    }

    #[test]
    fn counts_from_exited_threads_are_kept() {
        let before = snapshot();
        std::thread::spawn(|| {
            for _ in 0..5 {
                record(Syscall::Connect);
            }
        })
        .join()
        .unwrap();
        let diff = snapshot() - before;
        assert!(diff.get(Syscall::Connect) >= 5);
    }
}
