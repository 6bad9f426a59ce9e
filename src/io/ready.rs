//! `Interest` and `Ready`.

use std::fmt;
use std::ops;

use crate::reactor;

/// What to wait for: reading, writing, or either.
///
/// ```
/// use rawrt::io::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// assert_eq!(Interest::READABLE.add(Interest::WRITABLE), both);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

const R: u8 = 0b01;
const W: u8 = 0b10;

impl Interest {
    /// Readable (or the peer closed its writing half).
    pub const READABLE: Interest = Interest(R);
    /// Writable (or the writing half is closed).
    pub const WRITABLE: Interest = Interest(W);

    /// Whether this includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & R != 0
    }

    /// Whether this includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & W != 0
    }

    /// This and `other`.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The reactor's readiness bits that satisfy this interest.
    pub(crate) fn mask(self) -> reactor::Ready {
        let mut mask = reactor::Ready::EMPTY;
        if self.is_readable() {
            mask |= reactor::Direction::Read.mask();
        }
        if self.is_writable() {
            mask |= reactor::Direction::Write.mask();
        }
        mask
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// What a resource was found ready for.
///
/// ```
/// use rawrt::io::Ready;
///
/// let r = Ready::READABLE | Ready::WRITE_CLOSED;
/// assert!(r.is_readable());
/// assert!(r.is_writable(), "a closed writing half counts as writable: the write fails at once");
/// assert!(r.is_write_closed() && !r.is_read_closed());
/// assert!(Ready::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

const READABLE: u8 = 0b0001;
const WRITABLE: u8 = 0b0010;
const READ_CLOSED: u8 = 0b0100;
const WRITE_CLOSED: u8 = 0b1000;

impl Ready {
    /// Nothing.
    pub const EMPTY: Ready = Ready(0);
    /// Data to read.
    pub const READABLE: Ready = Ready(READABLE);
    /// Room to write.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// The peer closed its writing half: reads return end of stream.
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// The writing half is closed: writes fail.
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// Every readiness.
    pub const ALL: Ready = Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED);

    /// Nothing at all.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A read would not wait: data, or end of stream.
    pub const fn is_readable(self) -> bool {
        self.0 & (READABLE | READ_CLOSED) != 0
    }

    /// A write would not wait: room, or a closed writing half.
    pub const fn is_writable(self) -> bool {
        self.0 & (WRITABLE | WRITE_CLOSED) != 0
    }

    /// The peer closed its writing half.
    pub const fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// The writing half is closed.
    pub const fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    pub(crate) fn to_reactor(self) -> reactor::Ready {
        let mut out = reactor::Ready::EMPTY;
        for (bit, ours) in [
            (reactor::Ready::READABLE, READABLE),
            (reactor::Ready::WRITABLE, WRITABLE),
            (reactor::Ready::READ_CLOSED, READ_CLOSED),
            (reactor::Ready::WRITE_CLOSED, WRITE_CLOSED),
        ] {
            if self.0 & ours != 0 {
                out |= bit;
            }
        }
        out
    }

    pub(crate) fn from_reactor(r: reactor::Ready) -> Ready {
        let mut out = 0;
        for (bit, ours) in [
            (reactor::Ready::READABLE, READABLE),
            (reactor::Ready::WRITABLE, WRITABLE),
            (reactor::Ready::READ_CLOSED, READ_CLOSED),
            (reactor::Ready::WRITE_CLOSED, WRITE_CLOSED),
        ] {
            if r.intersects(bit) {
                out |= ours;
            }
        }
        Ready(out)
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &(self.0 & READABLE != 0))
            .field("is_writable", &(self.0 & WRITABLE != 0))
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .finish()
    }
}
