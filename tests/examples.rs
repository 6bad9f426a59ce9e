//! The ecosystem examples run and check themselves: axum (routes, JSON, a `rawrt::time`
//! timeout layer, graceful shutdown), HTTPS with rustls, a WebSocket echo, and hyper-util's
//! pooled client. Each prints an `ok` line and exits 0; this runs each binary
//! (`target/<profile>/examples/<name>`, built by `cargo test --features full`).
#![cfg(all(feature = "hyper-util", feature = "tokio-io"))]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --features full` builds it (or add `--example {name}`)",
        bin.display()
    );
    bin
}

/// Runs an example with `args`, bounded in time; its stdout.
fn run(name: &str, args: &[&str]) -> String {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn axum_app_self_test() {
    let out = run("axum_app", &["--self-test"]);
    assert!(
        out.contains("GET /slow?ms=2000: 504 request timed out"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("self-test ok"), "{out}");
}

#[test]
fn https_with_rustls() {
    let out = run("tls", &[]);
    assert!(out.contains("GET /c: secure hello for /c"), "{out}");
    assert!(out.contains("https ok (Some(TLSv1_3))"), "{out}");
}

#[test]
fn websocket_echo() {
    let out = run("websocket", &[]);
    assert!(out.contains(r#"echo: Binary(b"\0\x01\x02\xff")"#), "{out}");
    assert!(out.trim_end().ends_with("websocket ok"), "{out}");
}

#[test]
fn pooled_client() {
    let out = run("client", &[]);
    let line = out.lines().last().unwrap_or_default();
    assert!(line.starts_with("client ok: 10 requests over "), "{out}");
    let n: usize = line
        .trim_start_matches("client ok: 10 requests over ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&n), "{out}");
}
