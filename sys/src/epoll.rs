//! A safe wrapper over one epoll instance.
//!
//! [`Epoll`] owns the epoll fd, [`Interest`] says what to watch a registered
//! fd for, and [`Epoll::wait`] fills an [`Events`] buffer with the
//! [`Event`]s that are ready. Each registration carries a caller-chosen
//! `u64` token, which comes back unchanged in every event for that fd.
//!
//! # Gotchas
//!
//! * **Timeouts round up.** `epoll_wait` takes whole milliseconds. A
//!   timeout of `Some(d)` is rounded *up* to the next millisecond, so a
//!   non-zero `d` never becomes `0`: truncating 10µs to 0ms would make a
//!   timer loop spin, polling without sleeping until the deadline passes.
//!   `Some(Duration::ZERO)` stays `0` (poll without blocking); very long
//!   timeouts are clamped to `i32::MAX` ms (about 24.8 days); `None`
//!   blocks with no timeout. So the caller may wake up to 1ms (plus the
//!   kernel's timer slack) after its deadline, but never before it.
//! * **EINTR is `Ok(0)`.** A signal delivered to the thread blocked in
//!   [`Epoll::wait`] makes `epoll_wait` fail with `EINTR`, even when the
//!   handler was installed with `SA_RESTART` (see `signal(7)`). `wait` does
//!   *not* retry because a retry with the same timeout could overshoot the
//!   caller's deadline. It returns `Ok(0)` with no events instead, and the
//!   caller re-checks its deadlines and waits again, as after any timeout.
//! * **Edge- vs level-triggered.** Without [`Interest::EDGE`] an fd that
//!   stays readable is reported by every `wait` until it is drained. With
//!   `EDGE`, it is reported once per state change (new data arriving, a
//!   write making room, and so on), so an edge-triggered consumer must
//!   read or write until `WouldBlock` before waiting again, or it may never
//!   hear about that fd again.
//! * **`READ_CLOSED` has to be requested.** Without [`Interest::READ_CLOSED`]
//!   (`EPOLLRDHUP`) the kernel reports a half-close by the peer only as
//!   readable (a later read returns 0); [`Event::is_read_closed`] can see it
//!   early only when that flag was requested. `EPOLLHUP` and `EPOLLERR` are
//!   always reported, whatever the interest.
//! * **`libc::epoll_event` is packed on x86-64** (it is
//!   `#[repr(C, packed)]`, 12 bytes, so that the layout matches the
//!   kernel's). Its `u64` field is unaligned, so this module copies fields
//!   out by value and never takes a reference to one, which would be
//!   undefined behaviour.
//! * **Registrations belong to the open file description**, not the fd
//!   number: closing an fd that was `dup`ed elsewhere does not remove it
//!   from the interest list. Call [`Epoll::delete`] before dropping an fd
//!   that other handles might keep alive.
//!
//! The epoll fd itself is created with `EPOLL_CLOEXEC`. `Epoll` is `Send`
//! and `Sync`: `epoll_ctl` and `epoll_wait` may run concurrently from
//! several threads.

use std::fmt;
use std::io;
use std::ops::{BitOr, BitOrAssign};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::slice;
use std::time::Duration;

/// An epoll instance (`epoll_create1(EPOLL_CLOEXEC)`), closed on drop.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// Creates a new epoll instance, close-on-exec.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers, and on success it returns a new fd that nothing else owns, so OwnedFd may take it.
        let fd = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))
            .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })?;
        Ok(Epoll { fd })
    }

    /// Registers `fd` with `interest`; its events will carry `token`.
    ///
    /// Fails with `EEXIST` if `fd` is already registered (use
    /// [`modify`](Epoll::modify)), `EPERM` if the fd does not support
    /// polling (a regular file, for example).
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest)
    }

    /// Replaces the token and interest of an already registered `fd`.
    ///
    /// This also re-arms an fd registered with [`Interest::ONESHOT`] after
    /// its event was delivered. Fails with `ENOENT` if `fd` is not
    /// registered.
    pub fn modify(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest)
    }

    /// Removes `fd` from the interest list.
    ///
    /// No events for `fd` are reported by a `wait` that starts after this
    /// returns. Fails with `ENOENT` if `fd` is not registered.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: both fds are open for the duration of the call (self owns one, `fd` is borrowed); EPOLL_CTL_DEL ignores the event pointer, and null is allowed since Linux 2.6.9.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            ptr::null_mut()
        ))?;
        Ok(())
    }

    fn ctl(
        &self,
        op: libc::c_int,
        fd: BorrowedFd<'_>,
        token: u64,
        interest: Interest,
    ) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: interest.bits(),
            u64: token,
        };
        // SAFETY: both fds are open for the duration of the call, and `event` is a valid epoll_event the kernel only reads.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            op,
            fd.as_raw_fd(),
            &mut event
        ))?;
        Ok(())
    }

    /// Waits for events and stores them in `events`, returning how many.
    ///
    /// `events` is cleared first; at most `events.capacity()` events are
    /// returned per call (the rest stay queued for the next one).
    ///
    /// `timeout`: `None` blocks until an event arrives; `Some(d)` waits at
    /// most `d` **rounded up** to a whole millisecond, clamped to `i32::MAX`
    /// ms; `Some(Duration::ZERO)` only polls. Returns `Ok(0)` when the
    /// timeout expires.
    ///
    /// # EINTR
    ///
    /// If a signal interrupts the wait, this returns `Ok(0)` with `events`
    /// empty rather than an error or a retry: the caller should re-check
    /// its deadlines and wait again, exactly as after a timeout.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let timeout_ms = timeout.map_or(-1, timeout_to_ms);
        let max_events = events.list.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
        // SAFETY: the pointer is to the Vec's spare capacity, which holds at least `max_events` epoll_event slots (it is empty after clear()), and the kernel writes only whole events into it.
        let res = syscall!(epoll_wait(
            self.fd.as_raw_fd(),
            events.list.as_mut_ptr(),
            max_events,
            timeout_ms
        ));
        match res {
            Ok(n) => {
                let n = n as usize;
                debug_assert!(n <= events.list.capacity());
                // SAFETY: epoll_wait initialised the first `n` slots, and `n <= max_events <= capacity`.
                unsafe { events.list.set_len(n) };
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(err) => Err(err),
        }
    }
}

/// Converts a timeout to whole milliseconds for `epoll_wait`, rounding up
/// so that a non-zero timeout never becomes 0 (which would busy-poll), and
/// clamping to `c_int::MAX`.
fn timeout_to_ms(timeout: Duration) -> libc::c_int {
    // as_nanos() of Duration::MAX is about 1.8e28, far below u128::MAX, so
    // div_ceil cannot overflow.
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    ms.min(libc::c_int::MAX as u128) as libc::c_int
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for Epoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Epoll")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// What to watch a registered fd for: a set of `EPOLL*` request flags.
///
/// Combine with `|` or [`add`](Interest::add):
/// `Interest::READABLE | Interest::WRITABLE | Interest::EDGE`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u32);

impl Interest {
    /// `EPOLLIN`: data (or a pending connection, or end of stream) to read.
    pub const READABLE: Interest = Interest(libc::EPOLLIN as u32);
    /// `EPOLLOUT`: room in the send buffer, or a nonblocking connect done.
    pub const WRITABLE: Interest = Interest(libc::EPOLLOUT as u32);
    /// `EPOLLET`: edge-triggered; report changes rather than states.
    pub const EDGE: Interest = Interest(libc::EPOLLET as u32);
    /// `EPOLLRDHUP`: report that the peer shut down its writing half.
    pub const READ_CLOSED: Interest = Interest(libc::EPOLLRDHUP as u32);
    /// `EPOLLONESHOT`: disarm the fd after one event; re-arm with
    /// [`Epoll::modify`].
    pub const ONESHOT: Interest = Interest(libc::EPOLLONESHOT as u32);

    const NAMES: [(Interest, &'static str); 5] = [
        (Interest::READABLE, "READABLE"),
        (Interest::WRITABLE, "WRITABLE"),
        (Interest::EDGE, "EDGE"),
        (Interest::READ_CLOSED, "READ_CLOSED"),
        (Interest::ONESHOT, "ONESHOT"),
    ];

    /// Returns the union of `self` and `other` (a `const` form of `|`).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Returns `true` if every flag in `other` is also in `self`.
    pub const fn contains(self, other: Interest) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns `true` if `READABLE` is set.
    pub const fn is_readable(self) -> bool {
        self.contains(Interest::READABLE)
    }

    /// Returns `true` if `WRITABLE` is set.
    pub const fn is_writable(self) -> bool {
        self.contains(Interest::WRITABLE)
    }

    /// Returns `true` if `EDGE` is set.
    pub const fn is_edge(self) -> bool {
        self.contains(Interest::EDGE)
    }

    /// Returns the raw `EPOLL*` bits passed to `epoll_ctl`.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    /// Prints the flag names, e.g. `READABLE | EDGE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Interest::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// A reusable buffer that [`Epoll::wait`] fills with ready events.
///
/// The capacity fixed at construction is the most events one `wait` call
/// can return.
pub struct Events {
    list: Vec<libc::epoll_event>,
}

impl Events {
    /// Creates a buffer for up to `capacity` events per wait. A capacity of
    /// 0 is raised to 1, because `epoll_wait` rejects an empty buffer.
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            list: Vec::with_capacity(capacity.max(1)),
        }
    }

    /// Returns the number of events stored by the last wait.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Returns `true` if the last wait stored no events.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Returns the most events one wait can store.
    pub fn capacity(&self) -> usize {
        self.list.capacity()
    }

    /// Removes all events, keeping the capacity.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Returns the stored events as a slice.
    pub fn as_slice(&self) -> &[Event] {
        // SAFETY: Event is #[repr(transparent)] over libc::epoll_event, so a slice of one is a valid slice of the other with the same length and lifetime.
        unsafe { slice::from_raw_parts(self.list.as_ptr().cast::<Event>(), self.list.len()) }
    }

    /// Iterates over the stored events.
    pub fn iter(&self) -> slice::Iter<'_, Event> {
        self.as_slice().iter()
    }

    /// Returns the `i`-th stored event, if any.
    pub fn get(&self, i: usize) -> Option<&Event> {
        self.as_slice().get(i)
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One ready event: the registration's token and the `EPOLL*` result flags.
///
/// The `is_*` methods interpret the flags the way a runtime needs them;
/// several may be true at once (a reset connection is readable, writable,
/// read-closed, write-closed and in error together).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Event(libc::epoll_event);

impl Event {
    const FLAG_NAMES: [(libc::c_int, &'static str); 7] = [
        (libc::EPOLLIN, "EPOLLIN"),
        (libc::EPOLLPRI, "EPOLLPRI"),
        (libc::EPOLLOUT, "EPOLLOUT"),
        (libc::EPOLLERR, "EPOLLERR"),
        (libc::EPOLLHUP, "EPOLLHUP"),
        (libc::EPOLLRDHUP, "EPOLLRDHUP"),
        (libc::EPOLLMSG, "EPOLLMSG"),
    ];

    /// Returns the token given when the fd was registered.
    pub fn token(&self) -> u64 {
        // A by-value read copies the field out of the packed struct; taking
        // a reference instead (`&self.0.u64`) could be unaligned.
        self.0.u64
    }

    /// Returns the raw `EPOLL*` result flags.
    pub fn raw_flags(&self) -> u32 {
        self.0.events
    }

    fn has(&self, flag: libc::c_int) -> bool {
        self.raw_flags() & flag as u32 != 0
    }

    /// Readable: `EPOLLIN` or `EPOLLPRI` (a read will not block, though it
    /// may return 0 at end of stream or an error).
    pub fn is_readable(&self) -> bool {
        self.has(libc::EPOLLIN) || self.has(libc::EPOLLPRI)
    }

    /// Writable: `EPOLLOUT`.
    pub fn is_writable(&self) -> bool {
        self.has(libc::EPOLLOUT)
    }

    /// The read half is closed: `EPOLLHUP`, or `EPOLLIN` together with
    /// `EPOLLRDHUP` (the peer shut down writing; needs
    /// [`Interest::READ_CLOSED`]). Reads will return the remaining data and
    /// then 0.
    pub fn is_read_closed(&self) -> bool {
        self.has(libc::EPOLLHUP) || (self.has(libc::EPOLLIN) && self.has(libc::EPOLLRDHUP))
    }

    /// The write half is closed: `EPOLLHUP`, or `EPOLLERR` (alone or with
    /// `EPOLLOUT`). Writes will fail.
    pub fn is_write_closed(&self) -> bool {
        // EPOLLERR covers both "EPOLLOUT with EPOLLERR" and "EPOLLERR alone".
        self.has(libc::EPOLLHUP) || self.has(libc::EPOLLERR)
    }

    /// `EPOLLERR`: the socket has a pending error (fetch it with
    /// [`socket::take_error`](crate::socket::take_error) or see it on the
    /// next read/write).
    pub fn is_error(&self) -> bool {
        self.has(libc::EPOLLERR)
    }

    /// `EPOLLPRI`: urgent (out-of-band) data or another exceptional
    /// condition.
    pub fn is_priority(&self) -> bool {
        self.has(libc::EPOLLPRI)
    }
}

struct Flags(u32);

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in Event::FLAG_NAMES {
            let flag = flag as u32;
            if rest & flag != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                rest &= !flag;
                first = false;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token())
            .field("flags", &Flags(self.raw_flags()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_rounds_up_and_clamps() {
        assert_eq!(timeout_to_ms(Duration::ZERO), 0);
        assert_eq!(timeout_to_ms(Duration::from_nanos(1)), 1);
        assert_eq!(timeout_to_ms(Duration::from_micros(10)), 1);
        assert_eq!(timeout_to_ms(Duration::from_millis(1)), 1);
        assert_eq!(
            timeout_to_ms(Duration::from_millis(1) + Duration::from_nanos(1)),
            2
        );
        assert_eq!(timeout_to_ms(Duration::from_millis(1500)), 1500);
        let max_ms = Duration::from_millis(libc::c_int::MAX as u64);
        assert_eq!(timeout_to_ms(max_ms), libc::c_int::MAX);
        assert_eq!(
            timeout_to_ms(max_ms + Duration::from_nanos(1)),
            libc::c_int::MAX
        );
        assert_eq!(timeout_to_ms(Duration::MAX), libc::c_int::MAX);
    }

    #[test]
    fn interest_ops_and_debug() {
        let mut i = Interest::READABLE | Interest::EDGE;
        assert!(i.is_readable() && i.is_edge() && !i.is_writable());
        assert!(i.contains(Interest::READABLE));
        assert!(!i.contains(Interest::READABLE | Interest::WRITABLE));
        i |= Interest::WRITABLE;
        assert!(i.is_writable());
        assert_eq!(
            i,
            Interest::READABLE
                .add(Interest::WRITABLE)
                .add(Interest::EDGE)
        );
        assert_eq!(
            i.bits(),
            (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32
        );
        assert_eq!(format!("{i:?}"), "READABLE | WRITABLE | EDGE");
        let all = i | Interest::READ_CLOSED | Interest::ONESHOT;
        assert_eq!(
            format!("{all:?}"),
            "READABLE | WRITABLE | EDGE | READ_CLOSED | ONESHOT"
        );
    }

    fn event(flags: libc::c_int, token: u64) -> Event {
        Event(libc::epoll_event {
            events: flags as u32,
            u64: token,
        })
    }

    #[test]
    fn event_flag_interpretation() {
        let e = event(libc::EPOLLIN | libc::EPOLLRDHUP, 7);
        assert_eq!(e.token(), 7);
        assert!(e.is_readable() && e.is_read_closed());
        assert!(!e.is_write_closed() && !e.is_error() && !e.is_writable());

        // EPOLLRDHUP without EPOLLIN is not treated as read-closed.
        assert!(!event(libc::EPOLLRDHUP, 0).is_read_closed());

        let hup = event(libc::EPOLLHUP, 0);
        assert!(hup.is_read_closed() && hup.is_write_closed() && !hup.is_readable());

        let err_out = event(libc::EPOLLOUT | libc::EPOLLERR, 0);
        assert!(err_out.is_write_closed() && err_out.is_error() && !err_out.is_read_closed());
        assert!(event(libc::EPOLLERR, 0).is_write_closed());

        let pri = event(libc::EPOLLPRI, u64::MAX);
        assert!(pri.is_priority() && pri.is_readable());
        assert_eq!(pri.token(), u64::MAX);

        let dbg = format!(
            "{:?}",
            event(libc::EPOLLIN | libc::EPOLLHUP | 0x4000_0000, 3)
        );
        assert_eq!(
            dbg,
            "Event { token: 3, flags: EPOLLIN | EPOLLHUP | 0x40000000 }"
        );
        assert_eq!(
            format!("{:?}", event(0, 1)),
            "Event { token: 1, flags: 0x0 }"
        );
    }

    #[test]
    fn events_capacity_is_at_least_one() {
        let events = Events::with_capacity(0);
        assert!(events.capacity() >= 1);
        assert!(events.is_empty());
        assert_eq!(events.len(), 0);
        assert!(events.get(0).is_none());
    }
}
