//! `read_dir`, `ReadDir` and `DirEntry`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::asyncify;
use super::blocking_io::{join_error, spawn};
use crate::task::JoinHandle;

/// How many entries one pool trip reads.
const BATCH: usize = 32;

/// Opens the directory `path` for listing its entries (not `.` and `..`), as
/// [`std::fs::read_dir`]. The entries come in no particular order.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let dir = std::env::temp_dir().join(format!("rawrt-doc-readdir-{}", std::process::id()));
///     rawrt::fs::create_dir(&dir).await?;
///     rawrt::fs::write(dir.join("a"), b"").await?;
///     let mut entries = rawrt::fs::read_dir(&dir).await?;
///     let entry = entries.next_entry().await?.expect("one entry");
///     assert_eq!(entry.file_name(), "a");
///     assert!(entry.file_type().await?.is_file());
///     assert!(entries.next_entry().await?.is_none());
///     rawrt::fs::remove_dir_all(&dir).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: State::Idle(Some(Box::new(Batch {
            std,
            entries: VecDeque::new(),
            done: false,
        }))),
    })
}

/// The entries of a directory, from [`read_dir`]; read 32 at a time on the
/// blocking pool, so most [`next_entry`](Self::next_entry) calls take no pool trip.
pub struct ReadDir {
    state: State,
}

struct Batch {
    std: std::fs::ReadDir,
    entries: VecDeque<io::Result<DirEntry>>,
    done: bool,
}

enum State {
    /// `None` only if a pool trip failed and took the directory with it.
    Idle(Option<Box<Batch>>),
    Busy(JoinHandle<Box<Batch>>),
}

impl ReadDir {
    /// The next entry, or `None` at the end. An entry that could not be read is an
    /// `Err` in its place; listing may go on after it. If the blocking pool fails to run a
    /// batch (it could not start a thread, or the runtime is shutting down), that error is
    /// returned once and the listing ends.
    ///
    /// Cancel safe: an entry read while the future was pending is kept for the next call.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry: `Ready(Ok(None))` at the end; `Pending` while a batch is
    /// being read (the task is woken when it is there).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let Some(mut b) = batch.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    if let Some(entry) = b.entries.pop_front() {
                        *batch = Some(b);
                        return Poll::Ready(entry.map(Some));
                    }
                    if b.done {
                        *batch = Some(b);
                        return Poll::Ready(Ok(None));
                    }
                    match spawn(move || {
                        b.fill();
                        b
                    }) {
                        Ok(handle) => self.state = State::Busy(handle),
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                State::Busy(handle) => {
                    let res = ready!(Pin::new(handle).poll(cx));
                    match res {
                        Ok(b) => self.state = State::Idle(Some(b)),
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(join_error(e)));
                        }
                    }
                }
            }
        }
    }
}

impl Batch {
    /// Reads up to a batch of entries (on the pool), with their file types, which on Linux
    /// usually come with the entry and cost nothing more.
    fn fill(&mut self) {
        for _ in 0..BATCH {
            match self.std.next() {
                Some(entry) => self.entries.push_back(entry.map(DirEntry::new)),
                None => {
                    self.done = true;
                    return;
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`].
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read with the entry, when the OS gave it for free.
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(std: std::fs::DirEntry) -> DirEntry {
        let file_type = std.file_type().ok();
        DirEntry {
            std: Arc::new(std),
            file_type,
        }
    }

    /// The full path: the directory given to [`read_dir`] joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number, as read from the directory.
    pub fn ino(&self) -> u64 {
        self.std.ino()
    }

    /// The entry's metadata, not following a symlink (`lstat` relative to the directory),
    /// on the blocking pool.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's file type, not following a symlink. Usually known from the directory
    /// listing itself (no pool trip); otherwise read on the blocking pool.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(t) = self.file_type {
            return Ok(t);
        }
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
