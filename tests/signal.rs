//! Tests of `rawrt::signal`, and the end-to-end graceful shutdown of `examples/hello.rs`.
//!
//! # Why `harness = false`
//! These tests send real, process-directed signals to their own process (`kill(getpid())`)
//! and count what each `Signal` reports. libtest would run them in parallel, and a delivery
//! meant for one test would be counted by another's listener; so this binary has its own
//! `main` (`harness = false` in Cargo.toml) that runs them one after another, each under a
//! watchdog that fails the binary if it hangs. Arguments that do not start with `-` filter
//! tests by name, as with libtest. Nothing here blocks a signal: rawrt's handler sees a
//! signal whatever thread the kernel picks, and the tests check exactly that.
//!
//! # Child processes
//! The "no masks" tests re-run this binary as a child (`RAWRT_SIGNAL_CHILD=<scenario>`), a
//! program of its own with threads that rawrt did not create, which must exit 0 on `SIGINT`.
//! The hello tests run the `hello` example as a child process. Cargo does not tell
//! integration tests where example binaries are (`CARGO_BIN_EXE_*` covers `[[bin]]` targets
//! only), so the path is derived from this test's own executable:
//! `target/<profile>/deps/signal-<hash>` → `target/<profile>/examples/hello`.
//! `cargo test --all-features` builds the example before it runs any test; when running this
//! test alone, build it first:
//! `cargo build --all-features --example hello && cargo test --all-features --test signal`.
//! Without the `hyper` feature the example does not exist and those two tests are skipped.

use std::future::{poll_fn, Future};
use std::io::{BufRead, BufReader, Read};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rawrt::signal::{self, SignalKind};
use rawrt_sys::signal as sys;

type Test = (&'static str, fn());

const TESTS: &[Test] = &[
    (
        "signal_outside_a_runtime_is_an_error",
        signal_outside_a_runtime_is_an_error,
    ),
    (
        "unusable_signals_are_rejected",
        unusable_signals_are_rejected,
    ),
    ("recv_reports_a_delivery", recv_reports_a_delivery),
    (
        "a_signal_reports_only_deliveries_after_it_was_made",
        a_signal_reports_only_deliveries_after_it_was_made,
    ),
    (
        "every_signal_of_a_kind_sees_each_delivery",
        every_signal_of_a_kind_sees_each_delivery,
    ),
    (
        "every_runtime_sees_each_delivery",
        every_runtime_sees_each_delivery,
    ),
    (
        "deliveries_between_polls_are_coalesced",
        deliveries_between_polls_are_coalesced,
    ),
    ("ctrl_c_completes_on_sigint", ctrl_c_completes_on_sigint),
    (
        "a_current_thread_runtime_sees_signals",
        a_current_thread_runtime_sees_signals,
    ),
    (
        "dropped_signals_deregister_and_close_their_fd",
        dropped_signals_deregister_and_close_their_fd,
    ),
    (
        "recv_returns_none_after_the_runtime_shuts_down",
        recv_returns_none_after_the_runtime_shuts_down,
    ),
    (
        "ctrl_c_in_a_program_that_blocks_nothing",
        ctrl_c_in_a_program_that_blocks_nothing,
    ),
    (
        "ctrl_c_when_only_a_foreign_thread_can_take_sigint",
        ctrl_c_when_only_a_foreign_thread_can_take_sigint,
    ),
    (
        "hello_shuts_down_gracefully_on_sigterm",
        hello_shuts_down_gracefully_on_sigterm,
    ),
    (
        "hello_shuts_down_gracefully_on_sigint",
        hello_shuts_down_gracefully_on_sigint,
    ),
];

/// How long one test may run before the watchdog fails the binary.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that makes this binary a child scenario.
const CHILD_ENV: &str = "RAWRT_SIGNAL_CHILD";

/// What a child prints once its `ctrl_c()` is listening.
const CHILD_READY: &str = "waiting for SIGINT";

fn main() {
    if let Ok(scenario) = std::env::var(CHILD_ENV) {
        child::run(&scenario);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in TESTS {
            println!("{name}: test");
        }
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();

    let plural = |n: usize| if n == 1 { "" } else { "s" };
    println!(
        "\nrunning {} test{}",
        selected.len(),
        plural(selected.len())
    );
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let (done, watch) = mpsc::channel::<()>();
        let name_for_watchdog = *name;
        let watchdog = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(TEST_TIMEOUT) {
                eprintln!("test {name_for_watchdog} has run for over {TEST_TIMEOUT:?}: aborting");
                std::process::exit(101);
            }
        });
        let result = panic::catch_unwind(AssertUnwindSafe(test));
        drop(done);
        let _ = watchdog.join();
        match result {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    if failed.is_empty() {
        println!("\ntest result: ok. {passed} passed; 0 failed\n");
    } else {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
        println!(
            "\ntest result: FAILED. {passed} passed; {} failed\n",
            failed.len()
        );
        std::process::exit(101);
    }
}

fn runtime() -> rawrt::Runtime {
    rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Sends `signo` to this process (process-directed: the kernel picks the thread). Call it
/// only once a handler for `signo` is installed (a `Signal` for it exists or existed).
fn kill_self(signo: i32) {
    assert!(
        sys::handler_installed(signo),
        "no handler for {signo} yet: the default action would end the test binary"
    );
    sys::kill(std::process::id() as i32, signo).unwrap();
}

/// Polls `f` once, asserting that it is pending.
async fn assert_pending<F: Future + Unpin>(f: &mut F) {
    poll_fn(|cx| {
        assert!(std::pin::Pin::new(&mut *f).poll(cx).is_pending());
        Poll::Ready(())
    })
    .await
}

fn signal_outside_a_runtime_is_an_error() {
    let err = signal::signal(SignalKind::user_defined1()).unwrap_err();
    assert!(err.to_string().contains("needs a rawrt runtime"), "{err}");
    let rt = runtime();
    let _g = rt.enter();
    signal::signal(SignalKind::user_defined1()).expect("works under Handle::enter");
}

fn unusable_signals_are_rejected() {
    let rt = runtime();
    let _g = rt.enter();
    for signo in [
        0,
        -1,
        65,
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        32,
    ] {
        let kind = SignalKind::from_raw(signo);
        let err = signal::signal(kind).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "{signo}: {err}"
        );
        assert!(!sys::handler_installed(signo), "{signo}: nothing installed");
    }
}

fn recv_reports_a_delivery() {
    let rt = runtime();
    rt.block_on(async {
        let mut usr1 = signal::signal(SignalKind::user_defined1()).unwrap();
        assert_eq!(usr1.kind(), SignalKind::user_defined1());
        kill_self(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
        // And again: each delivery is reported.
        kill_self(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
    });
}

fn a_signal_reports_only_deliveries_after_it_was_made() {
    let rt = runtime();
    rt.block_on(async {
        let mut early = signal::signal(SignalKind::user_defined1()).unwrap();
        kill_self(libc::SIGUSR1);
        assert_eq!(early.recv().await, Some(()));
        // That delivery is over when `late` is made: it waits for the next one.
        let mut late = signal::signal(SignalKind::user_defined1()).unwrap();
        let mut recv = pin!(late.recv());
        assert_pending(&mut recv).await;
        kill_self(libc::SIGUSR1);
        assert_eq!(recv.await, Some(()));
    });
}

fn every_signal_of_a_kind_sees_each_delivery() {
    const ROUNDS: usize = 50;
    const TASKS: usize = 8;
    let rt = runtime();
    rt.block_on(async {
        // Eight listeners in tasks on the workers, one in block_on's own thread; many rounds,
        // so that listeners woken at the same time by one delivery are exercised.
        let (tx, rx) = mpsc::channel::<(usize, usize)>();
        for id in 0..TASKS {
            let mut usr2 = signal::signal(SignalKind::user_defined2()).unwrap();
            let tx = tx.clone();
            rawrt::spawn(async move {
                for round in 0..ROUNDS {
                    assert_eq!(usr2.recv().await, Some(()));
                    tx.send((id, round)).unwrap();
                }
            });
        }
        let mut here = signal::signal(SignalKind::user_defined2()).unwrap();
        for round in 0..ROUNDS {
            kill_self(libc::SIGUSR2);
            assert_eq!(here.recv().await, Some(()));
            // Wait for every task before the next delivery, which would otherwise coalesce.
            let mut seen = [false; TASKS];
            for _ in 0..TASKS {
                let (id, r) = rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("a task saw it");
                assert_eq!(r, round);
                seen[id] = true;
            }
            assert_eq!(seen, [true; TASKS]);
        }
    });
}

fn every_runtime_sees_each_delivery() {
    let (a, b) = (runtime(), runtime());
    let mut in_a = a
        .block_on(async { signal::signal(SignalKind::hangup()) })
        .unwrap();
    let mut in_b = b
        .block_on(async { signal::signal(SignalKind::hangup()) })
        .unwrap();
    let waiter = a.spawn(async move { in_a.recv().await });
    kill_self(libc::SIGHUP);
    assert_eq!(b.block_on(in_b.recv()), Some(()));
    assert_eq!(a.block_on(waiter).unwrap(), Some(()));
}

fn deliveries_between_polls_are_coalesced() {
    let rt = runtime();
    rt.block_on(async {
        let mut usr1 = signal::signal(SignalKind::user_defined1()).unwrap();
        for _ in 0..3 {
            // Each one handled before the next is sent (bounded wait), so these are three
            // deliveries, not one the kernel merged.
            let target = sys::deliveries(libc::SIGUSR1) + 1;
            kill_self(libc::SIGUSR1);
            let deadline = Instant::now() + Duration::from_secs(10);
            while sys::deliveries(libc::SIGUSR1) < target {
                assert!(Instant::now() < deadline, "the handler never ran");
                std::thread::yield_now();
            }
        }
        assert_eq!(usr1.recv().await, Some(()));
        let mut recv = pin!(usr1.recv());
        assert_pending(&mut recv).await;
    });
}

fn ctrl_c_completes_on_sigint() {
    let rt = runtime();
    rt.block_on(async {
        // `ctrl_c` listens from its first poll on: poll it once, then send SIGINT.
        let mut ctrl_c = pin!(signal::ctrl_c());
        assert_pending(&mut ctrl_c).await;
        kill_self(libc::SIGINT);
        ctrl_c.await.unwrap();
    });
}

fn a_current_thread_runtime_sees_signals() {
    let rt = rawrt::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut term = signal::signal(SignalKind::terminate()).unwrap();
        kill_self(libc::SIGTERM);
        assert_eq!(term.recv().await, Some(()));
    });
}

fn dropped_signals_deregister_and_close_their_fd() {
    let rt = runtime();
    rt.block_on(async {
        let handle = rawrt::Handle::current();
        let base = handle.num_io_registrations();
        let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let base_fds = fds();
        let a = signal::signal(SignalKind::user_defined2()).unwrap();
        let b = signal::signal(SignalKind::user_defined2()).unwrap();
        assert_eq!(handle.num_io_registrations(), base + 2, "one per Signal");
        assert_eq!(
            fds(),
            base_fds + 2,
            "one duplicate of the wake fd per Signal"
        );
        drop(a);
        drop(b);
        assert_eq!(handle.num_io_registrations(), base);
        assert_eq!(fds(), base_fds);
        // No listener now: the handler stays and counts; the signal does not kill us.
        kill_self(libc::SIGUSR2);
        let mut c = signal::signal(SignalKind::user_defined2()).unwrap();
        let mut recv = pin!(c.recv());
        assert_pending(&mut recv).await;
    });
}

fn recv_returns_none_after_the_runtime_shuts_down() {
    let rt = runtime();
    let mut usr1 = rt.block_on(async { signal::signal(SignalKind::user_defined1()).unwrap() });
    drop(rt);
    let other = runtime();
    assert_eq!(other.block_on(usr1.recv()), None);
}

fn ctrl_c_in_a_program_that_blocks_nothing() {
    run_child("plain");
}

fn ctrl_c_when_only_a_foreign_thread_can_take_sigint() {
    run_child("foreign-thread-only");
}

/// Runs this binary as child `scenario`, waits until it listens, sends it SIGINT, and
/// asserts that it exits 0 within 10 s.
fn run_child(scenario: &str) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD_ENV, scenario);
    let (mut child, _stdout, line) = start_announcing(cmd, "the child");
    assert_eq!(line.trim(), CHILD_READY, "the child's first line");
    sys::kill(child.id() as i32, libc::SIGINT).unwrap();
    let status = wait_exit(&mut child, &format!("the {scenario} child, after SIGINT"));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "the {scenario} child exited with {status}; stderr: {stderr}"
    );
}

/// Starts `cmd` with its output piped and reads the first line it prints (its "ready").
fn start_announcing(
    mut cmd: Command,
    what: &str,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

/// Waits (10 s at most, then kills it and fails) for `child` to exit.
fn wait_exit(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The child programs. None calls anything like `signal::block` for rawrt's sake.
mod child {
    use super::*;
    use std::io::Write;

    pub(super) fn run(scenario: &str) {
        // A plain thread, started before the runtime exists, alive until we exit.
        let (_keep, idle) = mpsc::channel::<()>();
        let before = std::thread::spawn(move || {
            let _ = idle.recv_timeout(Duration::from_secs(60));
        });
        match scenario {
            "plain" => {}
            "foreign-thread-only" => {
                // Every thread from here on (this one, the runtime's workers) blocks SIGINT,
                // so the kernel can hand it only to the plain thread started above: rawrt's
                // handler must run there and still wake the runtime.
                let set = sys::SigSet::from_signals(&[libc::SIGINT]).unwrap();
                sys::block(&set).unwrap();
            }
            other => panic!("unknown child scenario {other:?}"),
        }
        let rt = runtime();
        rt.block_on(async {
            // A thread started after the runtime, from inside it, too.
            let (_keep_after, idle_after) = mpsc::channel::<()>();
            let _after = std::thread::spawn(move || {
                let _ = idle_after.recv_timeout(Duration::from_secs(60));
            });
            let mut ctrl_c = pin!(signal::ctrl_c());
            assert_pending(&mut ctrl_c).await;
            println!("{CHILD_READY}");
            std::io::stdout().flush().unwrap();
            ctrl_c.await.expect("ctrl_c");
        });
        assert!(!before.is_finished(), "the plain thread is still there");
        std::process::exit(0);
    }
}

#[cfg(feature = "hyper")]
fn hello_shuts_down_gracefully_on_sigterm() {
    hello::graceful_shutdown(libc::SIGTERM, 8);
}

#[cfg(feature = "hyper")]
fn hello_shuts_down_gracefully_on_sigint() {
    hello::graceful_shutdown(libc::SIGINT, 4);
}

#[cfg(not(feature = "hyper"))]
fn hello_shuts_down_gracefully_on_sigterm() {
    eprintln!("skipped: the hello example needs --features hyper");
}

#[cfg(not(feature = "hyper"))]
fn hello_shuts_down_gracefully_on_sigint() {
    eprintln!("skipped: the hello example needs --features hyper");
}

#[cfg(feature = "hyper")]
mod hello {
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    const BODY: &[u8] = b"Hello, World!";

    /// `target/<profile>/examples/hello`, next to `target/<profile>/deps/<this test>`.
    fn hello_path() -> PathBuf {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test runs from target/<profile>/deps");
        let path = profile_dir.join("examples").join("hello");
        assert!(
            path.exists(),
            "{} does not exist: build the example first, with \
             `cargo build --all-features --example hello` (`cargo test --all-features` \
             builds it too)",
            path.display()
        );
        path
    }

    /// What one client saw.
    #[derive(Debug, Default)]
    struct Report {
        responses: usize,
        /// A response cut short, or anything else wrong.
        error: Option<String>,
    }

    enum Closed {
        /// End of stream (or reset) before the first byte of a response.
        Cleanly,
        /// Something wrong, described.
        Badly(String),
    }

    /// Reads one complete response; `Err(Cleanly)` if the connection ended before any of it.
    fn read_response(stream: &mut TcpStream) -> Result<(), Closed> {
        let mut buf = Vec::with_capacity(256);
        let mut chunk = [0u8; 256];
        let header_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) if buf.is_empty() => return Err(Closed::Cleanly),
                Err(e) if buf.is_empty() && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(Closed::Cleanly)
                }
                Ok(0) => return Err(Closed::Badly(format!("cut in the head: {buf:?}"))),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(Closed::Badly(format!("read error {e} after {buf:?}"))),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        if !head.starts_with("HTTP/1.1 200 OK\r\n") {
            return Err(Closed::Badly(format!("bad status line: {head:?}")));
        }
        let length = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        });
        if length != Some(BODY.len()) {
            return Err(Closed::Badly(format!("no content-length: 13 in {head:?}")));
        }
        let mut body = buf[header_end..].to_vec();
        while body.len() < BODY.len() {
            match stream.read(&mut chunk) {
                Ok(0) => return Err(Closed::Badly(format!("body cut short: {body:?}"))),
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(Closed::Badly(format!("read error {e} in the body"))),
            }
        }
        if body != BODY {
            return Err(Closed::Badly(format!("wrong body {body:?}")));
        }
        Ok(())
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// A keep-alive client: one request at a time until the server closes the connection.
    /// Closing is fine only after the signal was sent, and only between responses.
    fn client(addr: SocketAddr, signalled: &AtomicBool, total: &AtomicUsize) -> Report {
        let mut report = Report::default();
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                report.error = Some(format!("connect: {e}"));
                return report;
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        loop {
            if let Err(e) = stream.write_all(REQUEST) {
                // The server may close (or reset) between two responses once signalled.
                if !signalled.load(Ordering::SeqCst) {
                    report.error = Some(format!("write before the signal: {e}"));
                }
                return report;
            }
            match read_response(&mut stream) {
                Ok(()) => {
                    report.responses += 1;
                    total.fetch_add(1, Ordering::SeqCst);
                }
                Err(Closed::Cleanly) => {
                    if !signalled.load(Ordering::SeqCst) {
                        report.error = Some("closed before the signal".into());
                    }
                    return report;
                }
                Err(Closed::Badly(why)) => {
                    report.error = Some(why);
                    return report;
                }
            }
        }
    }

    /// Writes one HTTP/2 frame.
    fn write_frame(s: &mut TcpStream, ty: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut frame = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, ty, flags];
        frame.extend_from_slice(&stream.to_be_bytes());
        frame.extend_from_slice(payload);
        // The server may already be gone; the reader notices.
        let _ = s.write_all(&frame);
    }

    /// One HTTP/2 frame: type, flags, stream id, payload.
    type Frame = (u8, u8, u32, Vec<u8>);

    /// Reads one HTTP/2 frame; `None` at end of stream.
    fn read_frame(s: &mut TcpStream) -> Result<Option<Frame>, String> {
        let mut head = [0u8; 9];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(format!("h2 read: {e}")),
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload)
            .map_err(|e| format!("h2 frame cut short: {e}"))?;
        Ok(Some((head[3], head[4], stream, payload)))
    }

    /// An HTTP/2 (prior knowledge) client: one `GET /`, then it stays connected, answering
    /// SETTINGS and PINGs, until the server closes. A graceful shutdown must send `GOAWAY`
    /// first (an abrupt exit would not); the response must be complete.
    fn h2_client(addr: SocketAddr, signalled: &AtomicBool, answered: &AtomicBool) -> Report {
        const DATA: u8 = 0;
        const HEADERS: u8 = 1;
        const RST_STREAM: u8 = 3;
        const SETTINGS: u8 = 4;
        const PING: u8 = 6;
        const GOAWAY: u8 = 7;
        const ACK: u8 = 1;
        const END_STREAM: u8 = 1;
        const END_HEADERS: u8 = 4;
        let run = || -> Result<usize, String> {
            let mut s = TcpStream::connect(addr).map_err(|e| format!("h2 connect: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
            write_frame(&mut s, SETTINGS, 0, 0, &[]);
            // HPACK static table: :method GET (2), :path / (4), :scheme http (6).
            write_frame(
                &mut s,
                HEADERS,
                END_STREAM | END_HEADERS,
                1,
                &[0x82, 0x84, 0x86],
            );
            let mut body = Vec::new();
            let mut goaway = false;
            while let Some((ty, flags, stream, payload)) = read_frame(&mut s)? {
                match ty {
                    SETTINGS if flags & ACK == 0 => write_frame(&mut s, SETTINGS, ACK, 0, &[]),
                    PING if flags & ACK == 0 => write_frame(&mut s, PING, ACK, 0, &payload),
                    DATA if stream == 1 => {
                        body.extend_from_slice(&payload);
                        if flags & END_STREAM != 0 {
                            if body != BODY {
                                return Err(format!("h2 body {body:?}"));
                            }
                            answered.store(true, Ordering::SeqCst);
                        }
                    }
                    GOAWAY => {
                        if !signalled.load(Ordering::SeqCst) {
                            return Err(format!("GOAWAY before the signal: {payload:?}"));
                        }
                        goaway = true;
                    }
                    RST_STREAM => return Err(format!("RST_STREAM {payload:?}")),
                    _ => {}
                }
            }
            if !answered.load(Ordering::SeqCst) {
                return Err(format!("h2 response incomplete: {body:?}"));
            }
            if !goaway {
                return Err("h2 connection closed without GOAWAY".into());
            }
            Ok(1)
        };
        match run() {
            Ok(responses) => Report {
                responses,
                error: None,
            },
            Err(e) => Report {
                responses: 0,
                error: Some(e),
            },
        }
    }

    /// Starts hello, loads it with `clients` HTTP/1.1 keep-alive clients (and one idle HTTP/2
    /// connection), sends `signo`, and checks that it exits with status 0 in time and that
    /// every response was complete.
    pub(super) fn graceful_shutdown(signo: i32, clients: usize) {
        let mut cmd = Command::new(hello_path());
        cmd.args(["--addr", "127.0.0.1:0", "--workers", "2"]);
        let (mut child, mut stdout, line) = super::start_announcing(cmd, "the hello example");
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();

        let signalled = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicUsize::new(0));
        let h2_answered = Arc::new(AtomicBool::new(false));
        let mut threads: Vec<_> = (0..clients)
            .map(|_| {
                let (signalled, total) = (signalled.clone(), total.clone());
                std::thread::spawn(move || client(addr, &signalled, &total))
            })
            .collect();
        threads.push({
            let (signalled, answered) = (signalled.clone(), h2_answered.clone());
            std::thread::spawn(move || h2_client(addr, &signalled, &answered))
        });

        // Under load: every client has its connection and the server is busy.
        let deadline = Instant::now() + Duration::from_secs(30);
        while total.load(Ordering::SeqCst) < 100 * clients || !h2_answered.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "hello too slow: {total:?} responses, h2 answered: {h2_answered:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        signalled.store(true, Ordering::SeqCst);
        rawrt_sys::signal::kill(child.id() as i32, signo).unwrap();
        let sent = Instant::now();
        let status = super::wait_exit(&mut child, &format!("hello, after signal {signo}"));
        let exit_time = sent.elapsed();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert!(
            status.success(),
            "hello exited with {status} after signal {signo}; stderr: {stderr}"
        );
        assert_eq!(rest, "", "hello prints nothing per connection");

        let reports: Vec<Report> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (i, r) in reports.iter().enumerate() {
            assert!(
                r.error.is_none(),
                "client {i}: {:?} (stderr: {stderr})",
                r.error
            );
            assert!(r.responses > 0, "client {i} got no response");
        }
        eprintln!(
            "    signal {signo}: {} complete responses to {clients} clients, exit 0 after {exit_time:?}",
            total.load(Ordering::SeqCst)
        );
    }
}
