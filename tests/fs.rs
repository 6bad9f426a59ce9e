//! Tests of `rawrt::fs` (every function, `OpenOptions`, `DirBuilder`, `ReadDir`, `File` and
//! its buffering) and of `rawrt::io::{stdin, stdout, stderr}` (through a child process: this
//! test binary re-run with `RAWRT_STDIO_CHILD` set).
//!
//! Each test works in its own directory under `std::env::temp_dir()`, removed at the end.
//! The small `io` helpers below stand in for the `AsyncReadExt`/`AsyncWriteExt` methods.

mod common;

use std::collections::BTreeSet;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rawrt::fs::{self, DirBuilder, File, OpenOptions};
use rawrt::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

// ---- helpers: stand-ins for the io extension traits ----

async fn read_some<R: AsyncRead + Unpin>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; n];
    let mut buf = ReadBuf::new(&mut bytes);
    poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
    let k = buf.filled().len();
    bytes.truncate(k);
    Ok(bytes)
}

async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let chunk = read_some(r, 4096).await?;
        if chunk.is_empty() {
            return Ok(out);
        }
        out.extend_from_slice(&chunk);
    }
}

async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, data)).await?;
        assert!(n > 0, "poll_write wrote nothing");
        data = &data[n..];
    }
    Ok(())
}

async fn flush<W: AsyncWrite + Unpin>(w: &mut W) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx)).await
}

/// As Tokio's `AsyncSeekExt::seek`: wait for what is in flight, start, wait.
async fn seek<S: AsyncSeek + Unpin>(s: &mut S, pos: SeekFrom) -> io::Result<u64> {
    poll_fn(|cx| Pin::new(&mut *s).poll_complete(cx)).await?;
    Pin::new(&mut *s).start_seek(pos)?;
    poll_fn(|cx| Pin::new(&mut *s).poll_complete(cx)).await
}

// ---- helpers: temp dirs and running a test body ----

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("rawrt-fs-{}-{}-{}", std::process::id(), name, n));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `body(dir)` on a fresh runtime, under a watchdog, with a temp dir of its own.
fn run<F, Fut>(name: &'static str, body: F)
where
    F: FnOnce(Arc<TempDir>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    common::with_timeout(name, common::LIMIT, move || {
        let dir = Arc::new(TempDir::new(name));
        let rt = rawrt::Runtime::new().unwrap();
        rt.block_on(body(dir.clone()));
        drop(rt);
        drop(dir);
    })
}

fn os_error(e: &io::Error) -> Option<i32> {
    e.raw_os_error()
}

/// Bytes 0, 1, ..., 255, 0, 1, ... (`n` of them).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}

// ---- free functions ----

#[test]
fn read_write_and_read_to_string_round_trip() {
    run("roundtrip", |dir| async move {
        let p = dir.join("f");
        fs::write(&p, b"hello world").await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"hello world");
        assert_eq!(fs::read_to_string(&p).await.unwrap(), "hello world");
        // write truncates.
        fs::write(&p, "hi").await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"hi");
        // A larger file, more than one internal read of std.
        let big = pattern(3 * 1024 * 1024 + 17);
        fs::write(&p, &big).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), big);
        // Not UTF-8.
        fs::write(&p, [0xff, 0xfe]).await.unwrap();
        let err = fs::read_to_string(&p).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // An empty file.
        fs::write(&p, b"").await.unwrap();
        assert!(fs::read(&p).await.unwrap().is_empty());
    });
}

#[test]
fn missing_paths_report_enoent() {
    run("enoent", |dir| async move {
        let p = dir.join("missing");
        let q = dir.join("other");
        let enoent = Some(libc::ENOENT);
        assert_eq!(os_error(&fs::read(&p).await.unwrap_err()), enoent);
        let err = fs::read(&p).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(os_error(&fs::read_to_string(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::metadata(&p).await.unwrap_err()), enoent);
        assert_eq!(
            os_error(&fs::symlink_metadata(&p).await.unwrap_err()),
            enoent
        );
        assert_eq!(os_error(&fs::remove_file(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::remove_dir(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::remove_dir_all(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::rename(&p, &q).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::copy(&p, &q).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::hard_link(&p, &q).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::read_link(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::canonicalize(&p).await.unwrap_err()), enoent);
        assert_eq!(os_error(&fs::read_dir(&p).await.unwrap_err()), enoent);
        let perm = std::fs::Permissions::from_mode(0o600);
        assert_eq!(
            os_error(&fs::set_permissions(&p, perm).await.unwrap_err()),
            enoent
        );
        assert_eq!(os_error(&File::open(&p).await.unwrap_err()), enoent);
        assert_eq!(
            os_error(&fs::create_dir(p.join("a")).await.unwrap_err()),
            enoent
        );
        assert_eq!(
            os_error(&fs::write(p.join("a"), b"x").await.unwrap_err()),
            enoent
        );
        assert!(!fs::try_exists(&p).await.unwrap());
    });
}

#[test]
fn create_new_and_create_dir_report_eexist() {
    run("eexist", |dir| async move {
        let p = dir.join("f");
        let f = File::create_new(&p).await.unwrap();
        drop(f);
        let eexist = Some(libc::EEXIST);
        let err = File::create_new(&p).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(os_error(&err), eexist);
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .await
            .unwrap_err();
        assert_eq!(os_error(&err), eexist);
        let d = dir.join("d");
        fs::create_dir(&d).await.unwrap();
        assert_eq!(os_error(&fs::create_dir(&d).await.unwrap_err()), eexist);
        assert_eq!(
            os_error(&DirBuilder::new().create(&d).await.unwrap_err()),
            eexist
        );
        // Recursive creation accepts an existing directory.
        fs::create_dir_all(&d).await.unwrap();
        DirBuilder::new().recursive(true).create(&d).await.unwrap();
        assert_eq!(os_error(&fs::hard_link(&p, &p).await.unwrap_err()), eexist);
        assert_eq!(os_error(&fs::symlink(&p, &p).await.unwrap_err()), eexist);
    });
}

#[test]
fn directories_are_created_and_removed() {
    run("dirs", |dir| async move {
        let deep = dir.join("a/b/c");
        assert_eq!(
            os_error(&fs::create_dir(&deep).await.unwrap_err()),
            Some(libc::ENOENT)
        );
        fs::create_dir_all(&deep).await.unwrap();
        assert!(fs::metadata(&deep).await.unwrap().is_dir());
        fs::write(deep.join("f"), b"x").await.unwrap();
        assert_eq!(
            os_error(&fs::remove_dir(&deep).await.unwrap_err()),
            Some(libc::ENOTEMPTY)
        );
        fs::remove_file(deep.join("f")).await.unwrap();
        fs::remove_dir(&deep).await.unwrap();
        assert!(!fs::try_exists(&deep).await.unwrap());
        fs::write(dir.join("a/b/g"), b"x").await.unwrap();
        fs::remove_dir_all(dir.join("a")).await.unwrap();
        assert!(!fs::try_exists(dir.join("a")).await.unwrap());

        // DirBuilder: recursive and mode.
        let built = dir.join("x/y");
        assert_eq!(
            os_error(&DirBuilder::new().create(&built).await.unwrap_err()),
            Some(libc::ENOENT)
        );
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&built)
            .await
            .unwrap();
        let md = fs::metadata(&built).await.unwrap();
        assert!(md.is_dir());
        assert_eq!(md.permissions().mode() & 0o777, 0o700);
        // remove_file on a directory.
        assert_eq!(
            os_error(&fs::remove_file(&built).await.unwrap_err()),
            Some(libc::EISDIR)
        );
    });
}

#[test]
fn read_dir_lists_every_entry_in_batches() {
    run("readdir", |dir| async move {
        // More entries than one batch (32), plus a directory and a symlink.
        let mut expected = BTreeSet::new();
        for i in 0..100 {
            let name = format!("file-{i:03}");
            fs::write(dir.join(&name), i.to_string()).await.unwrap();
            expected.insert(name);
        }
        fs::create_dir(dir.join("sub")).await.unwrap();
        expected.insert("sub".to_string());
        fs::symlink("file-000", dir.join("link")).await.unwrap();
        expected.insert("link".to_string());

        let mut entries = fs::read_dir(&dir.0).await.unwrap();
        let mut seen = BTreeSet::new();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), dir.join(&name));
            let ft = entry.file_type().await.unwrap();
            let md = entry.metadata().await.unwrap();
            // Neither follows the symlink.
            assert_eq!(ft.is_symlink(), name == "link", "{name}");
            assert_eq!(md.file_type().is_symlink(), name == "link", "{name}");
            assert_eq!(ft.is_dir(), name == "sub", "{name}");
            assert_eq!(entry.ino(), md.ino(), "{name}");
            if let Some(i) = name.strip_prefix("file-") {
                let i: usize = i.parse().unwrap();
                assert_eq!(md.len(), i.to_string().len() as u64);
            }
            assert!(seen.insert(name), "an entry came twice");
        }
        assert_eq!(seen, expected);
        // The end stays the end.
        assert!(entries.next_entry().await.unwrap().is_none());

        // An empty directory, and a file that is not one.
        let mut empty = fs::read_dir(dir.join("sub")).await.unwrap();
        assert!(empty.next_entry().await.unwrap().is_none());
        let err = fs::read_dir(dir.join("file-001")).await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::ENOTDIR));
    });
}

#[test]
fn read_dir_next_entry_is_cancel_safe() {
    run("readdir-cancel", |dir| async move {
        for i in 0..5 {
            fs::write(dir.join(format!("{i}")), b"").await.unwrap();
        }
        let mut entries = fs::read_dir(&dir.0).await.unwrap();
        // Poll once (starting a batch on the pool) and drop the future.
        let first = common::poll_once(entries.next_entry());
        let mut names = BTreeSet::new();
        if let std::task::Poll::Ready(r) = first {
            names.insert(r.unwrap().unwrap().file_name());
        }
        while let Some(e) = entries.next_entry().await.unwrap() {
            assert!(names.insert(e.file_name()));
        }
        assert_eq!(names.len(), 5, "an entry was lost or repeated: {names:?}");
    });
}

#[test]
fn rename_copy_links_canonicalize_and_permissions() {
    run("paths", |dir| async move {
        let a = dir.join("a");
        let b = dir.join("b");
        fs::write(&a, b"contents").await.unwrap();

        // copy returns the byte count and keeps the permissions.
        fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640))
            .await
            .unwrap();
        assert_eq!(fs::copy(&a, &b).await.unwrap(), 8);
        assert_eq!(fs::read(&b).await.unwrap(), b"contents");
        assert_eq!(
            fs::metadata(&b).await.unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::metadata(&a).await.unwrap().permissions().mode() & 0o777,
            0o640
        );

        // rename replaces the target.
        fs::write(&b, b"old").await.unwrap();
        fs::rename(&a, &b).await.unwrap();
        assert!(!fs::try_exists(&a).await.unwrap());
        assert_eq!(fs::read(&b).await.unwrap(), b"contents");

        // hard_link: the same inode, two links.
        let h = dir.join("h");
        fs::hard_link(&b, &h).await.unwrap();
        let (mb, mh) = (
            fs::metadata(&b).await.unwrap(),
            fs::metadata(&h).await.unwrap(),
        );
        assert_eq!(mb.ino(), mh.ino());
        assert_eq!(mh.nlink(), 2);

        // symlink, read_link, symlink_metadata, canonicalize, try_exists.
        let l = dir.join("l");
        fs::symlink("b", &l).await.unwrap();
        assert_eq!(fs::read_link(&l).await.unwrap(), Path::new("b"));
        assert!(fs::symlink_metadata(&l)
            .await
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::metadata(&l).await.unwrap().is_file());
        assert_eq!(fs::read(&l).await.unwrap(), b"contents");
        let canon = fs::canonicalize(&l).await.unwrap();
        assert_eq!(canon, std::fs::canonicalize(&b).unwrap());
        assert_eq!(
            fs::canonicalize(dir.join("./l/../l"))
                .await
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENOTDIR)
        );
        assert!(fs::try_exists(&l).await.unwrap());
        let dangling = dir.join("dangling");
        fs::symlink("nowhere", &dangling).await.unwrap();
        assert!(!fs::try_exists(&dangling).await.unwrap());
        assert_eq!(
            os_error(&fs::read_link(&b).await.unwrap_err()),
            Some(libc::EINVAL)
        );
    });
}

// ---- OpenOptions ----

#[test]
fn open_options_modes() {
    run("openopts", |dir| async move {
        let p = dir.join("f");
        // create needs write.
        let err = OpenOptions::new().create(true).open(&p).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // create + mode.
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o600)
            .open(&p)
            .await
            .unwrap();
        write_all(&mut f, b"0123456789").await.unwrap();
        flush(&mut f).await.unwrap();
        assert_eq!(
            f.metadata().await.unwrap().permissions().mode() & 0o777,
            0o600
        );
        drop(f);
        // append.
        let mut f = OpenOptions::new().append(true).open(&p).await.unwrap();
        write_all(&mut f, b"ab").await.unwrap();
        flush(&mut f).await.unwrap();
        drop(f);
        assert_eq!(fs::read(&p).await.unwrap(), b"0123456789ab");
        // write without truncate overwrites in place.
        let mut f = OpenOptions::new().write(true).open(&p).await.unwrap();
        write_all(&mut f, b"XY").await.unwrap();
        flush(&mut f).await.unwrap();
        drop(f);
        assert_eq!(fs::read(&p).await.unwrap(), b"XY23456789ab");
        // truncate.
        let f = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .await
            .unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 0);
        drop(f);
        // custom_flags: O_NOFOLLOW refuses a symlink (ELOOP).
        let l = dir.join("l");
        fs::symlink(&p, &l).await.unwrap();
        let err = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&l)
            .await
            .unwrap_err();
        assert_eq!(os_error(&err), Some(libc::ELOOP));
        // From std's options; File::options.
        let mut std_opts = std::fs::OpenOptions::new();
        std_opts.read(true);
        let f = OpenOptions::from(std_opts).open(&p).await.unwrap();
        drop(f);
        let f = File::options().read(true).open(&p).await.unwrap();
        drop(f);
    });
}

// ---- File ----

#[test]
fn many_small_writes_then_read_back() {
    run("smallwrites", |dir| async move {
        let p = dir.join("f");
        let mut f = File::create(&p).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..2000u32 {
            let line = format!("line {i}\n");
            // Each write returns at once with all of it.
            let n = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, line.as_bytes()))
                .await
                .unwrap();
            assert_eq!(n, line.len());
            expected.extend_from_slice(line.as_bytes());
        }
        flush(&mut f).await.unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), expected);
        drop(f);

        // Read it back in small reads (served from the read-ahead buffer) and large ones.
        let mut f = File::open(&p).await.unwrap();
        let mut got = Vec::new();
        loop {
            let chunk = read_some(&mut f, 7).await.unwrap();
            if chunk.is_empty() {
                break;
            }
            assert!(chunk.len() <= 7);
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, expected);
        // At the end: end of file again.
        assert!(read_some(&mut f, 10).await.unwrap().is_empty());
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        assert_eq!(read_to_end(&mut f).await.unwrap(), expected);
    });
}

#[test]
fn vectored_writes_gather() {
    run("vectored", |dir| async move {
        let p = dir.join("f");
        let mut f = File::create(&p).await.unwrap();
        assert!(f.is_write_vectored());
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
        let n = poll_fn(|cx| Pin::new(&mut f).poll_write_vectored(cx, &bufs))
            .await
            .unwrap();
        assert_eq!(n, 5);
        flush(&mut f).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"abcde");
    });
}

#[test]
fn a_failed_write_is_reported_by_flush_and_by_the_next_write() {
    run("writeerr", |dir| async move {
        let p = dir.join("f");
        fs::write(&p, b"data").await.unwrap();
        // Read-only: the write itself fails on the pool with EBADF.
        let mut f = File::open(&p).await.unwrap();
        let n = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"xyz"))
            .await
            .unwrap();
        assert_eq!(n, 3, "the write is accepted at once");
        let err = flush(&mut f).await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EBADF));
        // Reported once.
        flush(&mut f).await.unwrap();

        // Without a flush, the next write reports it.
        poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"1"))
            .await
            .unwrap();
        let err = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"2"))
            .await
            .unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EBADF));

        // ... and so does the next read, or sync_all.
        poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"3"))
            .await
            .unwrap();
        let err = read_some(&mut f, 10).await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EBADF));
        poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"4"))
            .await
            .unwrap();
        let err = f.sync_all().await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EBADF));

        // The file is still usable and unchanged.
        assert_eq!(read_to_end(&mut f).await.unwrap(), b"data");
        assert_eq!(fs::read(&p).await.unwrap(), b"data");

        // Reading a write-only file is EBADF at once.
        let mut w = OpenOptions::new().write(true).open(&p).await.unwrap();
        let err = read_some(&mut w, 4).await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EBADF));
    });
}

#[test]
fn seek_after_a_partial_buffered_read() {
    run("seek", |dir| async move {
        let p = dir.join("f");
        let data = pattern(100);
        fs::write(&p, &data).await.unwrap();
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .await
            .unwrap();
        // One pool read fetches everything; 10 bytes are consumed.
        assert_eq!(read_some(&mut f, 10).await.unwrap(), &data[..10]);
        assert_eq!(seek(&mut f, SeekFrom::Current(0)).await.unwrap(), 10);
        assert_eq!(read_some(&mut f, 5).await.unwrap(), &data[10..15]);
        assert_eq!(seek(&mut f, SeekFrom::Current(5)).await.unwrap(), 20);
        assert_eq!(read_some(&mut f, 1).await.unwrap(), [20]);
        assert_eq!(seek(&mut f, SeekFrom::Current(-11)).await.unwrap(), 10);
        assert_eq!(read_some(&mut f, 1).await.unwrap(), [10]);
        assert_eq!(seek(&mut f, SeekFrom::Start(50)).await.unwrap(), 50);
        assert_eq!(read_some(&mut f, 2).await.unwrap(), [50, 51]);
        assert_eq!(seek(&mut f, SeekFrom::End(-1)).await.unwrap(), 99);
        assert_eq!(read_some(&mut f, 10).await.unwrap(), [99]);
        // poll_complete with no seek started: the current position.
        assert_eq!(
            poll_fn(|cx| Pin::new(&mut f).poll_complete(cx))
                .await
                .unwrap(),
            100
        );
        // Seeking before the start is EINVAL; the file stays usable.
        let err = seek(&mut f, SeekFrom::Current(-1000)).await.unwrap_err();
        assert_eq!(os_error(&err), Some(libc::EINVAL));
        // start_seek while a write is in flight is refused.
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"!"))
            .await
            .unwrap();
        assert!(Pin::new(&mut f).start_seek(SeekFrom::Start(0)).is_err());
        flush(&mut f).await.unwrap();

        // A write after a partial read goes where the reader is, not past the read-ahead.
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        assert_eq!(read_some(&mut f, 10).await.unwrap()[1..], data[1..10]);
        // (An empty write is no operation and keeps the read-ahead.)
        let n = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b""))
            .await
            .unwrap();
        assert_eq!(n, 0);
        write_all(&mut f, b"XY").await.unwrap();
        flush(&mut f).await.unwrap();
        assert_eq!(read_some(&mut f, 2).await.unwrap(), &data[12..14]);
        let on_disk = fs::read(&p).await.unwrap();
        assert_eq!(on_disk[0], b'!');
        assert_eq!(&on_disk[10..12], b"XY");
        assert_eq!(on_disk[12..], data[12..]);
    });
}

#[test]
fn set_len_metadata_sync_and_permissions() {
    run("setlen", |dir| async move {
        let p = dir.join("f");
        let mut f = File::create(&p).await.unwrap();
        write_all(&mut f, b"0123456789").await.unwrap();
        // metadata waits for the write in flight.
        assert_eq!(f.metadata().await.unwrap().len(), 10);
        f.set_len(4).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 4);
        f.set_len(100).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 100);
        f.sync_all().await.unwrap();
        f.sync_data().await.unwrap();
        let on_disk = fs::read(&p).await.unwrap();
        assert_eq!(&on_disk[..4], b"0123");
        assert!(on_disk[4..].iter().all(|&b| b == 0));
        f.set_permissions(std::fs::Permissions::from_mode(0o400))
            .await
            .unwrap();
        assert_eq!(
            fs::metadata(&p).await.unwrap().permissions().mode() & 0o777,
            0o400
        );
        assert!(f.metadata().await.unwrap().permissions().readonly());

        // set_len after a partial read keeps the logical position.
        let mut r = OpenOptions::new().read(true).write(true).open(&p).await;
        if let Err(e) = &r {
            // Root ignores the mode; anyone else cannot open 0o400 for writing.
            assert_eq!(os_error(e), Some(libc::EACCES));
            fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .await
                .unwrap();
            r = OpenOptions::new().read(true).write(true).open(&p).await;
        }
        let mut r = r.unwrap();
        assert_eq!(read_some(&mut r, 2).await.unwrap(), b"01");
        r.set_len(50).await.unwrap();
        assert_eq!(read_some(&mut r, 2).await.unwrap(), b"23");
        assert_eq!(r.metadata().await.unwrap().len(), 50);
    });
}

#[test]
fn concurrent_shared_calls_take_turns() {
    run("shared", |dir| async move {
        let p = dir.join("f");
        let f = Arc::new(File::create(&p).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..16u64 {
            let f = f.clone();
            tasks.push(rawrt::spawn(async move {
                f.set_len(i).await.unwrap();
                let len = f.metadata().await.unwrap().len();
                assert!(len < 16);
                f.sync_data().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn try_clone_shares_the_open_file() {
    run("clone", |dir| async move {
        let p = dir.join("f");
        let mut a = File::create(&p).await.unwrap();
        write_all(&mut a, b"ab").await.unwrap();
        flush(&mut a).await.unwrap();
        let mut b = a.try_clone().await.unwrap();
        // The same position: b writes after a's bytes.
        write_all(&mut b, b"cd").await.unwrap();
        flush(&mut b).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"abcd");
        let (ma, mb) = (a.metadata().await.unwrap(), b.metadata().await.unwrap());
        assert_eq!(ma.ino(), mb.ino());
        use std::os::fd::AsRawFd;
        assert_ne!(a.as_raw_fd(), b.as_raw_fd());
        // Closing one leaves the other usable.
        drop(a);
        write_all(&mut b, b"e").await.unwrap();
        flush(&mut b).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"abcde");
    });
}

#[test]
fn into_std_after_writes_and_reads() {
    run("intostd", |dir| async move {
        let p = dir.join("f");
        let mut f = File::create(&p).await.unwrap();
        for _ in 0..100 {
            write_all(&mut f, b"xy").await.unwrap();
        }
        // No flush: into_std waits for the write in flight.
        let mut std_file = f.into_std().await;
        std_file.write_all(b"!").unwrap();
        drop(std_file);
        let mut expected = b"xy".repeat(100);
        expected.push(b'!');
        assert_eq!(fs::read(&p).await.unwrap(), expected);

        // After a partial read the std file is positioned where the reader was.
        let mut f = File::open(&p).await.unwrap();
        assert_eq!(read_some(&mut f, 3).await.unwrap(), b"xyx");
        let mut std_file = f.into_std().await;
        assert_eq!(std_file.stream_position().unwrap(), 3);
        let mut rest = Vec::new();
        std_file.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, expected[3..]);

        // try_into_std: refused while a write is in flight, fine once it is flushed.
        let mut f = OpenOptions::new().write(true).open(&p).await.unwrap();
        write_all(&mut f, b"Z").await.unwrap();
        let mut f = f.try_into_std().expect_err("a write is in flight");
        flush(&mut f).await.unwrap();
        let std_file = f.try_into_std().expect("nothing in flight");
        assert_eq!(std_file.metadata().unwrap().len(), 201);
        drop(std_file);
        assert_eq!(fs::read(&p).await.unwrap()[0], b'Z');

        // from_std: a std file used where it is.
        let mut std_file = std::fs::File::open(&p).unwrap();
        std_file.seek(SeekFrom::Start(199)).unwrap();
        let mut f = File::from_std(std_file);
        assert_eq!(read_to_end(&mut f).await.unwrap(), b"y!");
    });
}

#[test]
fn dropping_a_file_without_flush_still_writes() {
    // What we find: the write in flight when a `File` is dropped is not cancelled; it runs
    // to the end on the pool and the bytes reach the file shortly after (its error would be
    // lost). We wait for that with a bounded poll while the runtime lives on.
    run("dropnoflush", |dir| async move {
        let p = dir.join("f");
        let mut f = File::create(&p).await.unwrap();
        let data = pattern(256 * 1024);
        let n = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, &data))
            .await
            .unwrap();
        assert_eq!(n, data.len());
        drop(f);
        let p2 = p.clone();
        let landed = rawrt::task::spawn_blocking(move || {
            common::wait_until(Duration::from_secs(10), || {
                std::fs::read(&p2).map(|d| d.len()).unwrap_or(0) == data.len()
            })
        })
        .await
        .unwrap();
        assert!(landed, "the dropped file's write never landed");
        assert_eq!(fs::read(&p).await.unwrap(), pattern(256 * 1024));
    });
}

#[test]
fn dropping_a_read_future_leaves_the_file_usable() {
    run("cancelread", |dir| async move {
        let p = dir.join("f");
        let data = pattern(5000);
        fs::write(&p, &data).await.unwrap();
        let mut f = File::open(&p).await.unwrap();
        // Start a read on the pool and drop the future before it completes (or after: the
        // bytes it read must not be lost either way).
        let mut first = Vec::new();
        {
            let mut bytes = [0u8; 100];
            let mut buf = ReadBuf::new(&mut bytes);
            let poll = common::poll_once(poll_fn(|cx| Pin::new(&mut f).poll_read(cx, &mut buf)));
            if poll.is_ready() {
                first.extend_from_slice(buf.filled());
            }
        }
        first.extend(read_to_end(&mut f).await.unwrap());
        assert_eq!(first, data);

        // Cancelled &self calls leave it usable too.
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        // (Each may finish within its one poll; either way nothing is lost.)
        let _ = common::poll_once(f.metadata());
        let _ = common::poll_once(f.set_len(5000));
        assert_eq!(f.metadata().await.unwrap().len(), 5000);
        assert_eq!(read_to_end(&mut f).await.unwrap(), data);

        // A cancelled seek: the next seek still works.
        Pin::new(&mut f).start_seek(SeekFrom::Start(10)).unwrap();
        assert_eq!(seek(&mut f, SeekFrom::Start(4990)).await.unwrap(), 4990);
        assert_eq!(read_to_end(&mut f).await.unwrap(), data[4990..]);
    });
}

#[test]
fn max_buf_size_bounds_each_operation() {
    run("maxbuf", |dir| async move {
        let p = dir.join("f");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&p)
            .await
            .unwrap();
        f.set_max_buf_size(4);
        let n = poll_fn(|cx| Pin::new(&mut f).poll_write(cx, b"0123456789"))
            .await
            .unwrap();
        assert_eq!(n, 4, "a write takes at most the max buffer size");
        write_all(&mut f, b"456789").await.unwrap();
        flush(&mut f).await.unwrap();
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        assert_eq!(read_some(&mut f, 10).await.unwrap(), b"0123");
        assert_eq!(read_to_end(&mut f).await.unwrap(), b"456789");
        // 0 is taken as 1 rather than reading nothing.
        f.set_max_buf_size(0);
        seek(&mut f, SeekFrom::Start(0)).await.unwrap();
        assert_eq!(read_some(&mut f, 10).await.unwrap(), b"0");
    });
}

#[test]
fn file_operations_outside_a_runtime_are_errors() {
    common::with_timeout("outside", common::LIMIT, || {
        let dir = TempDir::new("outside");
        let p = dir.join("f");
        std::fs::write(&p, b"x").unwrap();
        match common::poll_once(fs::read(&p)) {
            std::task::Poll::Ready(Err(e)) => {
                assert!(e.to_string().contains("runtime"), "{e}")
            }
            other => panic!("expected an error, got {other:?}"),
        }
        let mut f = File::from_std(std::fs::File::open(&p).unwrap());
        let mut bytes = [0u8; 4];
        let mut buf = ReadBuf::new(&mut bytes);
        let poll = common::poll_once(poll_fn(|cx| Pin::new(&mut f).poll_read(cx, &mut buf)));
        assert!(matches!(poll, std::task::Poll::Ready(Err(_))));
    });
}

#[test]
fn the_types_can_move_between_tasks() {
    // Compile-time checks: each may be held across an await in a spawned task.
    fn is<T: Send + Sync + Unpin + 'static>() {}
    is::<File>();
    is::<fs::ReadDir>();
    is::<fs::DirEntry>();
    is::<OpenOptions>();
    is::<DirBuilder>();
    is::<rawrt::io::Stdin>();
    is::<rawrt::io::Stdout>();
    is::<rawrt::io::Stderr>();
}

// ---- stdio, through a child process ----

const CHILD_ENV: &str = "RAWRT_STDIO_CHILD";
const BEGIN: &[u8] = b"<<rawrt-stdio-begin>>";
const END: &[u8] = b"<<rawrt-stdio-end>>";

/// The child half of `stdio_round_trip_through_a_child_process`: reads all of stdin through
/// `rawrt::io::stdin()` in small reads, and writes through `stdout()`/`stderr()` in many
/// small writes, flushing only at the end.
#[test]
#[ignore = "the child half of stdio_round_trip_through_a_child_process, which runs it"]
fn stdio_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = rawrt::Runtime::new().unwrap();
    rt.block_on(async {
        let mut input = Vec::new();
        let mut stdin = rawrt::io::stdin();
        loop {
            let chunk = read_some(&mut stdin, 1000).await.unwrap();
            if chunk.is_empty() {
                break;
            }
            input.extend_from_slice(&chunk);
        }
        let mut out = rawrt::io::stdout();
        write_all(&mut out, BEGIN).await.unwrap();
        write_all(&mut out, format!("{}\n", input.len()).as_bytes())
            .await
            .unwrap();
        for i in 0..1000 {
            write_all(&mut out, format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        // The input back, uppercased, in pieces.
        for piece in input.to_ascii_uppercase().chunks(333) {
            write_all(&mut out, piece).await.unwrap();
        }
        write_all(&mut out, END).await.unwrap();
        flush(&mut out).await.unwrap();
        let mut err = rawrt::io::stderr();
        write_all(&mut err, BEGIN).await.unwrap();
        write_all(&mut err, b"to stderr").await.unwrap();
        write_all(&mut err, END).await.unwrap();
        flush(&mut err).await.unwrap();
    });
}

/// The bytes between the markers.
fn between_markers(out: &[u8]) -> &[u8] {
    let find = |needle: &[u8]| out.windows(needle.len()).position(|w| w == needle);
    let start = find(BEGIN).expect("no begin marker") + BEGIN.len();
    let end = find(END).expect("no end marker");
    &out[start..end]
}

#[test]
fn stdio_round_trip_through_a_child_process() {
    common::with_timeout("stdio", common::LIMIT, || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "stdio_child",
                "--ignored",
                "--test-threads=1",
                "-q",
            ])
            .env(CHILD_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input: Vec<u8> = (0..200_000u32)
            .map(|i| b"abcdefghij\n"[i as usize % 11])
            .collect();
        let mut stdin = child.stdin.take().unwrap();
        let to_write = input.clone();
        let writer = std::thread::spawn(move || {
            stdin.write_all(&to_write).unwrap();
            // Dropping stdin closes it: the child sees end of input.
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(
            output.status.success(),
            "child failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut expected = format!("{}\n", input.len()).into_bytes();
        for i in 0..1000 {
            expected.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        expected.extend_from_slice(&input.to_ascii_uppercase());
        let got = between_markers(&output.stdout);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "stdout bytes differ");
        assert_eq!(between_markers(&output.stderr), b"to stderr");
    });
}
