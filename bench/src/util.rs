//! Helpers shared by every benchmark: medians, number formatting, where the target
//! directory is, and paths for messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The median of `values`: the mean of the middle two for an even count, `NaN` when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `1234567.8` → `1,234,568`; `—` when not finite.
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Seconds as `5 s` / `0.5 s`.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// The workspace's target directory, where the results go (`<target>/bench/`):
/// `CARGO_TARGET_DIR` if absolute, else the nearest ancestor of this executable that holds
/// cargo's `CACHEDIR.TAG`, else `CARGO_TARGET_DIR` as given, else `./target`.
pub fn target_dir() -> PathBuf {
    let from_env = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    if let Some(dir) = from_env.as_ref().filter(|d| d.is_absolute()) {
        return dir.clone();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .or(from_env)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Writes `files` (`(name, contents)`) into `<target>/bench/`, where the benchmarks'
/// results go ([`target_dir`]), and returns their paths, in order.
pub fn write_results(files: &[(&str, &str)]) -> Result<Vec<PathBuf>, String> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    files
        .iter()
        .map(|(name, contents)| {
            let path = dir.join(name);
            std::fs::write(&path, contents)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// `path` for messages: relative to the directory that holds the target directory (the
/// workspace root, where `cargo bench` is typed; cargo runs a bench in its package's
/// directory, `bench/`) when it is inside it, else as it is.
pub fn display_path(path: &Path) -> String {
    let target = target_dir();
    let root = target.parent().unwrap_or(Path::new(""));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether `name` is an executable in `PATH`.
pub fn in_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;

    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(name);
            p.is_file() && std::fs::metadata(&p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_is_found() {
        let dir = target_dir();
        assert!(!dir.as_os_str().is_empty());
        let root = dir.parent().unwrap_or(Path::new(""));
        assert_eq!(
            display_path(&root.join("target/bench/http.json")),
            "target/bench/http.json"
        );
        assert_eq!(display_path(Path::new("/elsewhere/x")), "/elsewhere/x");
    }
}
