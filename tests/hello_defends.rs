//! The hello example defends itself (issue 15): a slowloris client is closed by
//! `header_read_timeout`; a thousand connections that send half an HTTP/2 preface cost the
//! server almost no CPU; `SIGTERM` with a stalled client exits 0 once the drain deadline
//! passes. Each test runs `target/<profile>/examples/hello` as a child process. The
//! comparison server, `examples/tokio_hello`, is the same program on Tokio; the slowloris,
//! drain and curl/h2load checks run against it too, so that the benchmark compares two
//! servers that do the same work.
#![cfg(feature = "hyper")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/<name>`.
fn example_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --features full` builds it; when running this file alone, \
         add `--example {name}`",
        bin.display()
    );
    bin
}

/// The server process; killed and reaped when dropped (if it has not exited).
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Server::start_example("hello", extra)
    }

    fn start_example(name: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(example_bin(name))
            .args(["--addr", "127.0.0.1:0", "--workers", "2"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit, up to `limit`; the status and stderr.
    fn wait_exit(&mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                self.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return (status, err);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of a process, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn get(addr: SocketAddr) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    s
}

/// Reads until the peer closes (EOF or reset); how long that took.
fn time_to_close(what: &str, c: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    c.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => {} // a 408 or similar before the close is fine
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("{what}: the server kept the connection open for {limit:?}")
            }
            Err(_) => return start.elapsed(), // reset
        }
    }
}

#[test]
fn a_slowloris_client_is_closed_by_the_header_read_timeout() {
    slowloris_and_silent_clients_are_closed("hello");
}

#[test]
fn tokio_hello_closes_slowloris_and_silent_clients_too() {
    slowloris_and_silent_clients_are_closed("tokio_hello");
}

fn slowloris_and_silent_clients_are_closed(example: &str) {
    let server = Server::start_example(example, &["--header-read-timeout-ms", "500"]);
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    // A byte now and then does not extend the deadline.
    let mut drip = slow.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            if drip.write_all(b"X").is_err() {
                return;
            }
        }
    });
    let took = time_to_close("slowloris", &mut slow, Duration::from_secs(10));
    assert!(took <= Duration::from_millis(1500), "closed after {took:?}");
    // An idle keep-alive connection is closed the same way, and others are still served.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    let took = time_to_close("silent", &mut idle, Duration::from_secs(10));
    assert!(
        took <= Duration::from_millis(1500),
        "idle closed after {took:?}"
    );
    assert!(get(server.addr).ends_with("Hello, World!"));
}

#[test]
fn half_preface_connections_cost_almost_no_cpu() {
    let server = Server::start(&["--header-read-timeout-ms", "30000"]);
    let _ = rawrt_sys::resource::raise_nofile_limit(4096);
    let mut held = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect(server.addr) {
            Ok(mut c) => {
                c.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
                held.push(c);
            }
            Err(e) => panic!("connect {} failed: {e}", held.len()),
        }
    }
    // Let the server see them all, then measure one second of it.
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(server.pid());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let ticks = cpu_ticks(server.pid()) - before;
    let secs = t0.elapsed().as_secs_f64();
    let share = ticks as f64 / 100.0 / secs;
    assert!(
        share < 0.10,
        "{} half-preface connections took {:.0} % of a core",
        held.len(),
        share * 100.0
    );
    assert!(get(server.addr).ends_with("Hello, World!"), "still serving");
}

#[test]
fn sigterm_with_a_stalled_client_exits_zero_after_the_drain_deadline() {
    sigterm_drains_until_the_deadline("hello");
}

#[test]
fn tokio_hello_drains_on_sigterm_the_same_way() {
    sigterm_drains_until_the_deadline("tokio_hello");
}

fn sigterm_drains_until_the_deadline(example: &str) {
    let mut server = Server::start_example(
        example,
        &[
            "--header-read-timeout-ms",
            "60000",
            "--drain-timeout-ms",
            "700",
        ],
    );
    assert!(get(server.addr).ends_with("Hello, World!"));
    // A client stuck in the middle of a request head, far from its header timeout.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    rawrt_sys::signal::kill(server.pid() as i32, libc::SIGTERM).unwrap();
    let (status, stderr) = server.wait_exit(Duration::from_secs(10));
    let took = sent.elapsed();
    assert!(status.success(), "exit status {status:?}; stderr: {stderr}");
    assert!(
        took <= Duration::from_millis(1700),
        "exited {took:?} after SIGTERM (deadline 700 ms)"
    );
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(stderr.contains("drain deadline passed"), "{stderr}");
}

/// `curl` (HTTP/1.1 and HTTP/2 prior knowledge) and `h2load` against hello, 0 failures.
/// `.ci/run` installs both; elsewhere a missing tool is skipped with a message.
#[test]
fn curl_and_h2load_get_hello_with_zero_failures() {
    curl_and_h2load_succeed("hello");
}

#[test]
fn curl_and_h2load_get_tokio_hello_with_zero_failures() {
    curl_and_h2load_succeed("tokio_hello");
}

fn curl_and_h2load_succeed(example: &str) {
    let server = Server::start_example(example, &[]);
    let url = format!("http://{}/", server.addr);
    match Command::new("curl").arg("--version").output() {
        Err(_) => eprintln!("skipped curl: not installed"),
        Ok(_) => {
            for extra in [&[][..], &["--http2-prior-knowledge"][..]] {
                let out = Command::new("curl")
                    .args(["-s", "-S", "--max-time", "10", "-w", " %{http_version}"])
                    .args(extra)
                    .arg(&url)
                    .output()
                    .unwrap();
                let body = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "curl {extra:?}: {out:?}");
                let want = if extra.is_empty() {
                    "Hello, World! 1.1"
                } else {
                    "Hello, World! 2"
                };
                assert_eq!(body, want, "curl {extra:?}");
            }
        }
    }
    match Command::new("h2load").arg("--version").output() {
        Err(_) => eprintln!("skipped h2load: not installed (apt-get install nghttp2-client)"),
        Ok(_) => {
            let out = Command::new("h2load")
                .args(["-n", "2000", "-c", "10", "-m", "10"])
                .arg(&url)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "h2load: {text}");
            assert!(
                text.contains("2000 succeeded, 0 failed, 0 errored"),
                "h2load: {text}"
            );
        }
    }
}
