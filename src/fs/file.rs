//! `File`.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::poll_fn;
use std::io::{self, IoSlice, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::blocking_io::Blocking;
use super::{asyncify, OpenOptions};
use crate::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// An open file, read and written on the blocking pool.
///
/// `File` implements [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`] with one operation in
/// flight at a time (see the [module docs](super) for what each costs):
///
/// - **Writes are buffered**: `poll_write` copies the bytes (up to the
///   [max buffer size](Self::set_max_buf_size), 2 MiB by default) and returns `Ok(n)` at once;
///   the write happens on the pool. A failed write is reported by the next read, write, seek
///   or flush. Call `flush` (or `shutdown`) to wait for the last write and see its error.
/// - **Reads read ahead**: a read asks the OS for 64 KiB, or the caller's room if that is
///   larger (never more than the max buffer size), in one pool trip, and serves later reads
///   from what came back. A seek, a write or [`set_len`](Self::set_len) accounts for the
///   bytes read ahead and not yet consumed, so positions are as if there were no buffer.
/// - **Dropping a `File` does not wait** for a write in flight: the write still runs to the
///   end on the pool (unless the runtime shuts down before a pool thread picks it up), but
///   its error is lost. Flush before dropping.
/// - **Cancellation**: dropping a read, write, seek or other future leaves the `File` usable;
///   the operation finishes on the pool and the next call collects it (read bytes stay
///   buffered, a write error is kept for the next operation).
///
/// The `&self` methods ([`sync_all`](Self::sync_all), [`metadata`](Self::metadata), ...)
/// first wait for the operation in flight, then run theirs in the same slot, so everything
/// started on one `File` happens in order. Concurrent `&self` calls from several tasks take
/// turns.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let path = std::env::temp_dir().join(format!("rawrt-doc-file-{}", std::process::id()));
///     let file = rawrt::fs::File::create(&path).await?;
///     file.set_len(3).await?;
///     assert_eq!(file.metadata().await?.len(), 3);
///     file.sync_all().await?;
///     drop(file);
///     assert_eq!(rawrt::fs::read(&path).await?, [0, 0, 0]);
///     rawrt::fs::remove_file(&path).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    inner: Mutex<Inner>,
}

struct Inner {
    io: Blocking<std::fs::File>,
    /// Held by the `&self` method running (see `Gate`).
    gate: bool,
    /// Tasks waiting for the gate; all are woken when it opens.
    gate_waiters: Vec<Waker>,
}

/// Releases the gate (waking every waiter, so that a waiter whose future was dropped cannot
/// swallow the wake-up) when the `&self` method finishes or is cancelled.
struct Gate<'a>(&'a File);

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let waiters = {
            let mut inner = self.0.lock();
            inner.gate = false;
            std::mem::take(&mut inner.gate_waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

impl File {
    /// Opens a file for reading, as [`std::fs::File::open`].
    ///
    /// A missing file is an error of kind `NotFound` with `raw_os_error() == Some(ENOENT)`.
    ///
    /// ```
    /// let rt = rawrt::Runtime::new()?;
    /// rt.block_on(async {
    ///     let err = rawrt::fs::File::open("/no/such/file").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it, as
    /// [`std::fs::File::create`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for reading and writing; an existing file (or symlink) at `path`
    /// is an error (`AlreadyExists`, `EEXIST`), as [`std::fs::File::create_new`].
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A new [`OpenOptions`], for opening with other settings.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Its position is used as it is.
    pub fn from_std(std: std::fs::File) -> File {
        let std = Arc::new(std);
        File {
            inner: Mutex::new(Inner {
                io: Blocking::new(std.clone()),
                gate: false,
                gate_waiters: Vec::new(),
            }),
            std,
        }
    }

    /// Waits for the operation in flight, moves the position back over any read-ahead, and
    /// returns the `std::fs::File`. A pending write error is dropped: flush first to see it.
    pub async fn into_std(mut self) -> std::fs::File {
        let io = &mut self.inner_mut().io;
        poll_fn(|cx| io.poll_idle(cx)).await;
        if io.unread() > 0 && io.start_other(true, |_| Ok(())).is_ok() {
            let _ = poll_fn(|cx| io.poll_other::<()>(cx)).await;
        }
        self.unwrap_std()
    }

    /// The `std::fs::File`, if no operation is in flight; otherwise `Err(self)`. Read-ahead
    /// is dropped without moving the position back (so the std file's position is past what
    /// was read), and a pending write error is dropped.
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        if self.inner_mut().io.is_busy() {
            return Err(self);
        }
        Ok(self.unwrap_std())
    }

    fn unwrap_std(self) -> std::fs::File {
        let File { std, inner } = self;
        drop(
            inner
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .io
                .into_target(),
        );
        // Nothing else holds the file once the operation in flight is done: each operation's
        // closure drops its reference before its result is delivered.
        Arc::try_unwrap(std).unwrap_or_else(|std| {
            // Not expected; a duplicate of the descriptor is the same open file.
            std.try_clone()
                .expect("rawrt: File::into_std could not duplicate a file still shared")
        })
    }

    /// Flushes data and metadata to the device (`fsync`), after the operation in flight. A
    /// pending write error is reported instead.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.run(false, true, |f| f.sync_all()).await
    }

    /// Flushes data to the device (`fdatasync`), after the operation in flight. A pending
    /// write error is reported instead.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.run(false, true, |f| f.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes, after the operation in flight. The
    /// position is not changed (beyond dropping read-ahead).
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.run(true, false, move |f| f.set_len(size)).await
    }

    /// The file's metadata, after the operation in flight (so it reflects earlier writes).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.run(false, false, |f| f.metadata()).await
    }

    /// A new `File` for the same open file (`dup`): it shares the position and the
    /// status flags. Runs after the operation in flight.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.run(false, false, |f| f.try_clone()).await?;
        Ok(File::from_std(std))
    }

    /// Changes the file's permissions, after the operation in flight.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.run(false, false, move |f| f.set_permissions(perm))
            .await
    }

    /// Sets the largest number of bytes one pool trip reads or writes (2 MiB by default; 0
    /// is taken as 1). Writes larger than this return a short count.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.inner_mut().io.set_max_buf_size(max_buf_size);
    }

    /// Runs `f` in the operation slot, once the gate is ours and the slot is free.
    async fn run<R, F>(&self, seek_back: bool, report_write_err: bool, f: F) -> io::Result<R>
    where
        F: FnOnce(&std::fs::File) -> io::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let _gate = self.gate().await;
        poll_fn(|cx| self.lock().io.poll_idle(cx)).await;
        {
            let mut inner = self.lock();
            if report_write_err {
                if let Some(e) = inner.io.take_write_error() {
                    return Err(e);
                }
            }
            inner.io.start_other(seek_back, f)?;
        }
        poll_fn(|cx| self.lock().io.poll_other::<R>(cx)).await
    }

    async fn gate(&self) -> Gate<'_> {
        poll_fn(|cx| {
            let mut inner = self.lock();
            if !inner.gate {
                inner.gate = true;
                return Poll::Ready(());
            }
            if !inner.gate_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                inner.gate_waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
        Gate(self)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn io(self: Pin<&mut Self>) -> &mut Blocking<std::fs::File> {
        &mut self.get_mut().inner_mut().io
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).finish()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

/// Reads read ahead: see [`File`].
impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

/// Writes are buffered and finish on the pool: see [`File`]. `poll_flush` waits for the
/// write in flight (it does not `fsync`: use [`File::sync_all`]); `poll_shutdown` is
/// `poll_flush`.
impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }
}

/// `start_seek` moves relative to the logical position (read-ahead accounted for) and fails
/// while another operation is in flight; `poll_complete` with no seek started asks the OS
/// for the current position (one pool trip).
impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.io().start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        self.io().poll_complete(cx)
    }
}

impl File {
    /// Opens `path` with `opts` (used by [`OpenOptions::open`]).
    pub(super) async fn open_with(opts: std::fs::OpenOptions, path: &Path) -> io::Result<File> {
        let path = path.to_owned();
        let std = asyncify(move || opts.open(path)).await?;
        Ok(File::from_std(std))
    }
}
