//! `OpenOptions`.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::File;

/// Settings for opening a file: the builder of [`std::fs::OpenOptions`], whose
/// [`open`](Self::open) runs on the blocking pool and returns a rawrt [`File`].
///
/// Every option starts `false`; see [`std::fs::OpenOptions`] for what each combination
/// means (for instance, `create` needs `write` or `append`).
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let path = std::env::temp_dir().join(format!("rawrt-doc-opts-{}", std::process::id()));
///     rawrt::fs::write(&path, b"one").await?;
///     let err = rawrt::fs::OpenOptions::new()
///         .write(true)
///         .create_new(true)
///         .open(&path)
///         .await
///         .unwrap_err();
///     assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
///     let file = rawrt::fs::OpenOptions::new().append(true).open(&path).await?;
///     drop(file);
///     rawrt::fs::remove_file(&path).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with everything off.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Open for appending (`O_APPEND`): every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to length 0 when opening it (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` (`EEXIST`) if anything exists at the
    /// path, atomically (`O_CREAT | O_EXCL`). Overrides `create` and `truncate`.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits a created file gets (before the umask); `0o666` by default.
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags (such as `libc::O_NOFOLLOW`), or'ed in; the access mode bits
    /// are masked out.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.0.custom_flags(flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// The OS error is kept: a missing file is `ENOENT`, `create_new` on an existing one
    /// `EEXIST`, options that make no sense `InvalidInput`.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        File::open_with(self.0.clone(), path.as_ref()).await
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
