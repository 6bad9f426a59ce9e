//! The mio variant: the HTTP benchmark built again with rawrt-bench's feature `mio` (which
//! enables rawrt's), to serve the "rawrt (mio backend)" row.
//!
//! rawrt's backend is chosen at compile time, so one binary holds one of them. A benchmark
//! built without the feature (the usual `cargo bench -p rawrt-bench --bench http`) therefore
//! builds its mio twin once per run, before any server starts:
//!
//! ```text
//! $CARGO build --release -p rawrt-bench --bench http --features mio \
//!     --manifest-path bench/Cargo.toml --target-dir <target>/bench-mio \
//!     --message-format=json-render-diagnostics
//! ```
//!
//! with a target directory of its own, so that it does not wait for the lock that the outer
//! `cargo bench` holds on `<target>` while the benchmark runs. The first build compiles the
//! dependencies again (a few minutes: 4 on a busy 2-core machine); later ones find
//! everything fresh (about a second), or rebuild only what changed. The workspace's
//! `[profile.release]` and `[profile.bench]` are the same (`debug = 1` on top of release), so
//! the twin is optimized like the benchmark itself. The executable is read from cargo's JSON
//! messages (the `compiler-artifact` of the `http` bench target), and runs as
//! `--serve rawrt`.
//!
//! A benchmark built with `--features mio` serves that row itself and builds nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::ChildGuard;
use crate::json::Json;

/// The package whose `http` bench is built: this one.
const PACKAGE: &str = env!("CARGO_PKG_NAME");

/// How long the build may take at most (a cold build on a busy 2-core machine takes a few
/// minutes).
const LIMIT: Duration = Duration::from_secs(20 * 60);

/// The cargo to run: `$CARGO` (set by cargo for the programs it runs), else `cargo`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The build's target directory, inside the benchmark's own.
pub fn target_dir(outer: &Path) -> PathBuf {
    outer.join("bench-mio")
}

/// The arguments of the build (after the cargo program).
pub fn cargo_args(manifest: &Path, target_dir: &Path) -> Vec<String> {
    vec![
        "build".into(),
        "--release".into(),
        "-p".into(),
        PACKAGE.into(),
        "--bench".into(),
        "http".into(),
        "--features".into(),
        "mio".into(),
        "--manifest-path".into(),
        manifest.display().to_string(),
        "--target-dir".into(),
        target_dir.display().to_string(),
        "--message-format=json-render-diagnostics".into(),
    ]
}

/// What the build will take, roughly, judging by whether `target_dir` has a build already.
pub fn expected_time(target_dir: &Path) -> &'static str {
    if target_dir.join("release").is_dir() {
        "cached: about a second, longer when sources changed"
    } else {
        "first time: a few minutes, as it compiles every dependency again; later runs reuse \
         it and take about a second"
    }
}

/// The command line, for messages.
pub fn describe(target_dir: &Path) -> String {
    format!(
        "cargo build --release -p {PACKAGE} --bench http --features mio --target-dir {}",
        target_dir.display()
    )
}

/// Builds the mio variant into `target_dir` and returns the path of its executable, and how
/// long the build took. Cargo's progress and diagnostics go to our stderr. `Err` is short,
/// for the table: the details are on stderr.
pub fn build(target_dir: &Path) -> Result<(PathBuf, Duration), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let cargo = cargo();
    let mut cmd = Command::new(&cargo);
    cmd.args(cargo_args(&manifest, target_dir))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let child = ChildGuard::spawn(cmd, &format!("{}", cargo.display()))
        .map_err(|e| format!("mio build: {e}"))?;
    let out = child
        .wait_output(LIMIT)
        .map_err(|e| format!("mio build: {e}"))?;
    let took = started.elapsed();
    if !out.success {
        return Err(format!(
            "mio build failed ({}; cargo's errors are on stderr)",
            out.status
        ));
    }
    let exe = executable(&out.stdout)?;
    if !exe.is_file() {
        return Err(format!("mio build: {} does not exist", exe.display()));
    }
    Ok((exe, took))
}

/// The executable of the `http` bench target, from cargo's `--message-format=json` lines
/// (`{"reason":"compiler-artifact","target":{"name":"http","kind":["bench"],...},
/// "executable":"..."}`; also reported when the build was fresh).
pub fn executable(messages: &str) -> Result<PathBuf, String> {
    let mut found = None;
    for line in messages.lines().filter(|l| l.starts_with('{')) {
        let Ok(v) = Json::parse(line) else { continue };
        if v.get("reason").and_then(Json::as_str) != Some("compiler-artifact") {
            continue;
        }
        let Some(target) = v.get("target") else {
            continue;
        };
        let is_bench = matches!(target.get("kind"),
            Some(Json::Arr(kinds)) if kinds.iter().any(|k| k.as_str() == Some("bench")));
        if target.get("name").and_then(Json::as_str) != Some("http") || !is_bench {
            continue;
        }
        if let Some(exe) = v.get("executable").and_then(Json::as_str) {
            found = Some(PathBuf::from(exe));
        }
    }
    found.ok_or_else(|| "mio build: cargo reported no executable for the http bench".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bench_executable() {
        let messages = r#"
{"reason":"compiler-artifact","package_id":"path+file:///r#rawrt@0.1.0","target":{"kind":["lib"],"name":"rawrt"},"executable":null,"fresh":true}
{"reason":"compiler-artifact","package_id":"path+file:///r/bench#rawrt-bench@0.1.0","target":{"kind":["bench"],"name":"runtime"},"executable":"/t/release/deps/runtime-1","fresh":true}
{"reason":"compiler-artifact","package_id":"path+file:///r/bench#rawrt-bench@0.1.0","target":{"kind":["bench"],"name":"http"},"executable":"/t/bench-mio/release/deps/http-abc","fresh":false}
{"reason":"build-finished","success":true}
"#;
        assert_eq!(
            executable(messages).unwrap(),
            PathBuf::from("/t/bench-mio/release/deps/http-abc")
        );
        assert!(executable("").is_err());
        assert!(executable("not json\n{\"reason\":\"build-finished\"}").is_err());
    }

    #[test]
    fn command_line() {
        let args = cargo_args(Path::new("/r/Cargo.toml"), Path::new("/r/target/bench-mio"));
        let line = args.join(" ");
        assert!(line.starts_with("build --release -p rawrt-bench --bench http --features mio"));
        assert!(line.contains("--manifest-path /r/Cargo.toml"));
        assert!(line.contains("--target-dir /r/target/bench-mio"));
        assert!(line.ends_with("--message-format=json-render-diagnostics"));
        assert_eq!(
            target_dir(Path::new("/r/target")),
            PathBuf::from("/r/target/bench-mio")
        );
        assert!(!cargo().as_os_str().is_empty());
        assert!(expected_time(Path::new("/nonexistent")).starts_with("first time"));
    }
}
