//! Asynchronous filesystem operations: Tokio's `tokio::fs`, run on rawrt's blocking pool.
//!
//! Linux offers no readiness notification for regular files (epoll refuses them), so every
//! operation here is a call of `std::fs` made on a thread of the runtime's blocking pool
//! ([`spawn_blocking`](crate::task::spawn_blocking)) while the calling task waits without
//! blocking its worker. The free functions ([`read`], [`write()`], [`metadata`], ...) are one
//! pool trip each. [`File`] keeps one operation in flight at a time and buffers around it
//! (writes return at once; reads read ahead, at least 64 KiB per trip); [`ReadDir`] reads 32
//! entries per trip.
//!
//! # What it costs
//! Each pool trip is a thread hand-off each way: the closure is queued to a pool thread
//! (waking or starting one), and its result wakes the task back on a worker. That is
//! microseconds, not nanoseconds: `fs::metadata` measured 10–15 µs per call on a busy
//! 2-core machine (debug build), against 0.3 µs for `std::fs::metadata` called directly.
//! The file system calls themselves are made by `std` on the pool thread, not through
//! `rawrt-sys`, so they are **not** counted in rawrt's syscall counters
//! ([`stats::syscalls`](crate::stats::syscalls)). Batch work into fewer calls where it
//! matters: one [`read`] or [`write()`] of a whole file, or large reads and writes on a
//! [`File`] (up to its max buffer size, 2 MiB by default), rather than many small ones
//! (small reads are served from the read-ahead, but each small write is its own trip).
//!
//! # Errors
//! The OS error is kept: a missing file is `NotFound` with `raw_os_error() ==
//! Some(libc::ENOENT)`. If the pool cannot run the operation (it could not start a thread,
//! or the runtime is shutting down) the error says so (keeping the OS error of a failed
//! thread start). Called outside a rawrt runtime, an operation returns an error rather
//! than panicking.
//!
//! # Dropping and cancelling
//! A future dropped while its operation runs does not stop it: it finishes on the pool. In
//! particular, dropping a [`File`] does not wait for a write in flight, and the write's
//! error is then lost; flush (or `sync_all`) before dropping to know that it succeeded.
//! Runtime shutdown waits (up to its timeout) for operations already running and cancels
//! those still queued.

mod blocking_io;
mod dir_builder;
mod file;
mod open_options;
mod read_dir;

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

pub(crate) use blocking_io::{Blocking, BlockingTarget};
pub use dir_builder::DirBuilder;
pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

use blocking_io::asyncify;

/// Runs `f(path)` on the blocking pool.
async fn with_path<R, F>(path: &Path, f: F) -> io::Result<R>
where
    F: FnOnce(PathBuf) -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let path = path.to_owned();
    asyncify(move || f(path)).await
}

/// Runs `f(from, to)` on the blocking pool.
async fn with_paths<R, F>(from: &Path, to: &Path, f: F) -> io::Result<R>
where
    F: FnOnce(PathBuf, PathBuf) -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let (from, to) = (from.to_owned(), to.to_owned());
    asyncify(move || f(from, to)).await
}

/// Reads a whole file into a `Vec`, as [`std::fs::read`]: one pool trip.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let path = std::env::temp_dir().join(format!("rawrt-doc-read-{}", std::process::id()));
///     rawrt::fs::write(&path, b"hello").await?;
///     assert_eq!(rawrt::fs::read(&path).await?, b"hello");
///     rawrt::fs::remove_file(&path).await?;
///     let err = rawrt::fs::read(&path).await.unwrap_err();
///     assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    with_path(path.as_ref(), std::fs::read).await
}

/// Reads a whole file into a `String`, as [`std::fs::read_to_string`]; bytes that are not
/// UTF-8 are an `InvalidData` error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    with_path(path.as_ref(), std::fs::read_to_string).await
}

/// Creates or truncates a file and writes `contents` to it, as [`std::fs::write`]. The bytes
/// are copied first, since the write happens on the pool.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    with_path(path.as_ref(), move |p| std::fs::write(p, contents)).await
}

/// The metadata of `path`, following symlinks, as [`std::fs::metadata`].
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    with_path(path.as_ref(), std::fs::metadata).await
}

/// The metadata of `path` itself, not following a symlink, as
/// [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    with_path(path.as_ref(), std::fs::symlink_metadata).await
}

/// Creates one directory, as [`std::fs::create_dir`]: an existing path is `EEXIST`, a
/// missing parent `ENOENT`.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir).await
}

/// Creates a directory and any missing parents, as [`std::fs::create_dir_all`]; a directory
/// that already exists is fine.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir_all).await
}

/// Removes a file (or symlink), as [`std::fs::remove_file`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_file).await
}

/// Removes an empty directory, as [`std::fs::remove_dir`]; a non-empty one is `ENOTEMPTY`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir).await
}

/// Removes a directory and everything in it, as [`std::fs::remove_dir_all`] (one pool trip
/// for the whole tree; symlinks are removed, not followed).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir_all).await
}

/// Renames `from` to `to`, replacing `to` if it exists, as [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    with_paths(from.as_ref(), to.as_ref(), std::fs::rename).await
}

/// Copies the contents and permissions of file `from` to `to` (created or truncated),
/// returning the number of bytes copied, as [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    with_paths(from.as_ref(), to.as_ref(), std::fs::copy).await
}

/// Makes `link` a new name (hard link) for the file `original`, as [`std::fs::hard_link`].
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    with_paths(original.as_ref(), link.as_ref(), std::fs::hard_link).await
}

/// Creates a symlink at `link` pointing to `original` (which need not exist), as
/// [`std::os::unix::fs::symlink`].
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let link = std::env::temp_dir().join(format!("rawrt-doc-symlink-{}", std::process::id()));
///     rawrt::fs::symlink("/nowhere", &link).await?;
///     assert_eq!(rawrt::fs::read_link(&link).await?, std::path::Path::new("/nowhere"));
///     assert!(!rawrt::fs::try_exists(&link).await?); // the target is missing
///     rawrt::fs::remove_file(&link).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    with_paths(original.as_ref(), link.as_ref(), |o, l| {
        std::os::unix::fs::symlink(o, l)
    })
    .await
}

/// The target of the symlink `path`, as [`std::fs::read_link`]; not a symlink is
/// `EINVAL`.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    with_path(path.as_ref(), std::fs::read_link).await
}

/// The absolute path of `path` with every symlink, `.` and `..` resolved, as
/// [`std::fs::canonicalize`]; `path` must exist.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    with_path(path.as_ref(), std::fs::canonicalize).await
}

/// Whether `path` exists (following symlinks): `Ok(false)` when it does not, an error when
/// that cannot be told (for instance, no permission to look), as
/// [`Path::try_exists`].
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    with_path(path.as_ref(), |p| p.try_exists()).await
}

/// Sets the permissions of `path` (following symlinks), as [`std::fs::set_permissions`].
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    with_path(path.as_ref(), move |p| std::fs::set_permissions(p, perm)).await
}
