//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Mutex;

use super::Id;

/// The error a [`JoinHandle`](super::JoinHandle) returns when its task did not complete
/// normally: it panicked, or it was cancelled (by [`abort`](super::JoinHandle::abort) or
/// by runtime shutdown).
pub struct JoinError {
    repr: Repr,
    id: Id,
}

enum Repr {
    /// With the reason, when there is one more specific than "aborted or shut down" (the
    /// blocking pool could not start a thread for the task).
    /// Boxed: a `JoinError` sits in every task's output slot, and the slot's drop code is
    /// inlined into the poll path; a boxed cause keeps that code as small as without one.
    Cancelled(Option<Box<io::Error>>),
    // A Mutex makes the error `Sync` without requiring the payload to be.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            repr: Repr::Cancelled(None),
            id,
        }
    }

    pub(crate) fn cancelled_because(id: Id, cause: io::Error) -> JoinError {
        JoinError {
            repr: Repr::Cancelled(Some(Box::new(cause))),
            id,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
            id,
        }
    }

    /// True when the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The panic payload.
    ///
    /// # Panics
    /// When the task was cancelled rather than panicking; use
    /// [`try_into_panic`](Self::try_into_panic) to avoid that.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic payload, or the error itself when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled(_) => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else {
            return None;
        };
        let payload = p.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = payload.downcast_ref::<&'static str>() {
            Some((*s).to_string())
        } else {
            payload.downcast_ref::<String>().cloned()
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(None) => write!(f, "task {} was cancelled", self.id),
            Repr::Cancelled(Some(cause)) => {
                write!(f, "task {} was cancelled: {cause}", self.id)
            }
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "task {} panicked with message {:?}", self.id, msg),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(None) => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Cancelled(Some(cause)) => {
                write!(f, "JoinError::Cancelled({:?}, {cause:?})", self.id)
            }
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "JoinError::Panic({:?}, {:?}, ...)", self.id, msg),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

/// `source` is the cause of a cancellation that has one (an `io::Error`).
impl std::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.repr {
            Repr::Cancelled(Some(cause)) => Some(&**cause),
            _ => None,
        }
    }
}

/// A cancellation with a cause becomes that cause (its `raw_os_error` kept); any other
/// cancellation `Interrupted`, a panic `Other`, with the error's message.
impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        match err {
            JoinError {
                repr: Repr::Cancelled(Some(cause)),
                ..
            } => *cause,
            err => {
                let kind = if err.is_cancelled() {
                    io::ErrorKind::Interrupted
                } else {
                    io::ErrorKind::Other
                };
                io::Error::new(kind, err.to_string())
            }
        }
    }
}
