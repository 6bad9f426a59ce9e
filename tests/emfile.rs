//! An EMFILE storm: the hello example, limited to 64 file descriptors (`prlimit`), is flooded
//! with connections. While it is at the limit it keeps running without spinning a core (its
//! `accept` backs off), and once the pressure ends it serves normally again.
#![cfg(feature = "hyper")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/hello`, built by `cargo test` alongside this test.
fn hello_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("examples").join("hello")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) of a process, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn get(addr: SocketAddr) -> std::io::Result<String> {
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut s = String::new();
    c.read_to_string(&mut s)?;
    Ok(s)
}

#[test]
fn emfile_storm_backs_off_without_spinning_and_recovers() {
    let bin = hello_bin();
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --features full` builds it; when running this file alone, \
         add `--example hello`",
        bin.display()
    );
    let mut child = Command::new("prlimit")
        .args(["--nofile=64:64", "--"])
        .arg(&bin)
        .args(["--addr", "127.0.0.1:0", "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    assert!(get(addr).unwrap().ends_with("Hello, World!"));

    // Flood: far more connections than the server has descriptors; hold them open.
    let mut flood = Vec::new();
    for _ in 0..300 {
        match TcpStream::connect(addr) {
            Ok(c) => flood.push(c),
            Err(_) => break, // the backlog is full: pressure enough
        }
    }
    assert!(flood.len() >= 100, "only {} connections", flood.len());
    // Let the server hit the limit, then watch its CPU for a second.
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.0.id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(pid) - before;
    eprintln!("server CPU while out of fds: {used}/100 of a core over 1 s");
    assert!(
        used <= 20,
        "the server used {used}/100 of a core per second while out of fds: it spins"
    );

    // Pressure ends: the server must serve normally again.
    drop(flood);
    let start = Instant::now();
    loop {
        match get(addr) {
            Ok(resp) if resp.ends_with("Hello, World!") => break,
            other => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "not serving 20 s after the storm: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    drop(server);
}
