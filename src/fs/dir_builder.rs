//! `DirBuilder`.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::asyncify;

/// Settings for creating directories: the builder of [`std::fs::DirBuilder`], whose
/// [`create`](Self::create) runs on the blocking pool.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let base = std::env::temp_dir().join(format!("rawrt-doc-dirb-{}", std::process::id()));
///     let deep = base.join("a/b");
///     rawrt::fs::DirBuilder::new().recursive(true).mode(0o700).create(&deep).await?;
///     assert!(rawrt::fs::metadata(&deep).await?.is_dir());
///     rawrt::fs::remove_dir_all(&base).await
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    mode: Option<u32>,
}

impl DirBuilder {
    /// A builder that creates one directory, with mode `0o777` (before the umask).
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether to create missing parents too (and accept a directory that already exists).
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// The permission bits of created directories (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }

    /// Creates `path` with these settings, on the blocking pool. Without `recursive`, an
    /// existing path is `AlreadyExists` (`EEXIST`) and a missing parent `NotFound`.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        if let Some(mode) = self.mode {
            builder.mode(mode);
        }
        asyncify(move || builder.create(path)).await
    }
}
