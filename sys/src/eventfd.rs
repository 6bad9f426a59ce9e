//! An eventfd used to wake a thread blocked in [`Epoll::wait`](crate::Epoll::wait).
//!
//! An eventfd is a kernel `u64` counter behind an fd: `write` adds to it,
//! `read` returns it and resets it to 0, and the fd is readable while the
//! counter is non-zero.
//!
//! # Use as a waker
//!
//! Register the [`EventFd`] with `Interest::READABLE | Interest::EDGE`
//! (`EPOLLIN | EPOLLET`). Every successful write to an eventfd wakes its
//! waiters, and with `EPOLLET` each of those wake-ups is queued as a new
//! edge **even when the counter was already non-zero**. So the runtime
//! never has to read the counter after a wake: [`EventFd::notify`] alone
//! produces the next event. Several notifies that land before one `wait`
//! merge into a single event. (Registered level-triggered instead, the fd
//! would stay readable, and every `wait` would return at once, until
//! [`EventFd::drain`] is called.)
//!
//! # Saturation
//!
//! The counter saturates at `u64::MAX - 1`; a write that would pass that
//! fails with `EAGAIN` on a nonblocking eventfd. `notify` treats that as
//! "reset and retry": it reads the counter to zero and writes again, so a
//! full counter never turns into an error or a lost wake-up. The count
//! itself is lost then, which does not matter to a waker.
//!
//! # EINTR
//!
//! `notify` and `drain` retry internally when interrupted by a signal.
//!
//! The fd is created with `EFD_CLOEXEC | EFD_NONBLOCK`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A nonblocking, close-on-exec eventfd, closed on drop.
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// Creates an eventfd with a counter of 0 (`EFD_CLOEXEC | EFD_NONBLOCK`).
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers, and on success it returns a new fd that nothing else owns, so OwnedFd may take it.
        let fd = syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))
            .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })?;
        Ok(EventFd { fd })
    }

    /// Adds 1 to the counter, waking any waiter (a new edge for an
    /// `EPOLLET` registration).
    ///
    /// A saturated counter is drained and the write retried, so this fails
    /// only on an unexpected error from the kernel.
    pub fn notify(&self) -> io::Result<()> {
        let one: u64 = 1;
        loop {
            // SAFETY: `one` is a live, readable 8-byte buffer for the whole call, and the fd is owned by self.
            let res = syscall!(as EventfdWrite, write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8));
            match res {
                Ok(n) => {
                    debug_assert_eq!(n, 8, "eventfd writes are all or nothing");
                    return Ok(());
                }
                Err(err) => match err.kind() {
                    io::ErrorKind::Interrupted => {}
                    // The counter is at its maximum: reset it, then retry.
                    io::ErrorKind::WouldBlock => {
                        self.drain()?;
                    }
                    _ => return Err(err),
                },
            }
        }
    }

    /// Reads the counter and resets it to 0, returning its value: the sum of
    /// the notifies since the last drain, or 0 if there were none.
    pub fn drain(&self) -> io::Result<u64> {
        let mut value: u64 = 0;
        loop {
            // SAFETY: `value` is a live, writable 8-byte buffer for the whole call, and the fd is owned by self.
            let res = syscall!(as EventfdRead, read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                8
            ));
            match res {
                Ok(n) => {
                    debug_assert_eq!(n, 8, "eventfd reads are all or nothing");
                    return Ok(value);
                }
                Err(err) => match err.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => return Ok(0),
                    _ => return Err(err),
                },
            }
        }
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<EventFd> for OwnedFd {
    /// The eventfd's descriptor (to close it through [`crate::close`], counted, or to keep
    /// it open for good).
    fn from(fd: EventFd) -> OwnedFd {
        fd.fd
    }
}

impl fmt::Debug for EventFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventFd")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_sums_notifies() {
        let efd = EventFd::new().unwrap();
        assert_eq!(efd.drain().unwrap(), 0);
        efd.notify().unwrap();
        efd.notify().unwrap();
        efd.notify().unwrap();
        assert_eq!(efd.drain().unwrap(), 3);
        assert_eq!(efd.drain().unwrap(), 0);
    }

    #[test]
    fn notify_on_saturated_counter_resets_it() {
        let efd = EventFd::new().unwrap();
        // Bring the counter to its maximum, u64::MAX - 1.
        let max: u64 = u64::MAX - 1;
        // SAFETY: `max` is a live, readable 8-byte buffer, and the fd is owned by `efd`.
        let n = unsafe { libc::write(efd.as_raw_fd(), (&max as *const u64).cast(), 8) };
        assert_eq!(n, 8);
        // A further write of 1 would block, so notify must reset and retry.
        efd.notify().unwrap();
        assert_eq!(efd.drain().unwrap(), 1);
    }
}
