//! The monitor thread (one per multi-thread runtime of two or more workers) under a trickle of
//! work: it must not wake a thousand times a second for a server that answers a request
//! every few milliseconds (`src/scheduler/policy/stall.rs`: looks that find the runtime idle
//! stretch the wait to 16 ms), and it must still hand the work of a blocked worker to a
//! sibling after such a quiet spell.
//!
//! Its own binary, its tests one at a time: the monitor's thread is always named
//! `rawrt-monitor`, so the wake-ups are counted with no other runtime's monitor in the process.

mod common;

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{runtime, serve_each, thread_stats, wait_until, with_timeout, LIMIT};
use rawrt::io::{AsyncReadExt, AsyncWriteExt};

/// Held by each test for its whole body: one runtime (and one monitor) at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a 4-byte echo server in `rt` and returns its address; the request `u32::MAX`
/// blocks its worker for 2 s first (a synchronous call in async code).
fn echo_server(rt: &rawrt::Runtime) -> std::net::SocketAddr {
    serve_each(rt, |mut s| async move {
        let mut b = [0u8; 4];
        while s.read_exact(&mut b).await.is_ok() {
            if u32::from_le_bytes(b) == u32::MAX {
                std::thread::sleep(Duration::from_secs(2));
            }
            if s.write_all(&b).await.is_err() {
                break;
            }
        }
    })
}

/// One request on a plain (blocking) connection: 4 bytes out, the same 4 back.
fn ask(c: &mut std::net::TcpStream, v: u32) {
    c.write_all(&v.to_le_bytes()).unwrap();
    let mut b = [0u8; 4];
    c.read_exact(&mut b).unwrap();
    assert_eq!(u32::from_le_bytes(b), v);
}

#[test]
fn a_trickle_of_requests_does_not_wake_the_monitor_every_millisecond() {
    let _serial = one_at_a_time();
    with_timeout("trickle", LIMIT, || {
        // A monitor of the other test's dropped runtime may still be on its way out.
        let alone = wait_until(Duration::from_secs(10), || {
            thread_stats("rawrt-monitor").threads == 0
        });
        assert!(alone, "another runtime's monitor is still running");
        let rt = runtime(2, "trickle");
        let addr = echo_server(&rt);
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        ask(&mut c, 0);
        let before = thread_stats("rawrt-monitor");
        assert_eq!(before.threads, 1, "one runtime, one monitor");
        let start = Instant::now();
        // A request every 5 ms: the runtime is idle at nearly every look.
        for i in 1..=60 {
            ask(&mut c, i);
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed_ms = start.elapsed().as_millis() as u64;
        let wakeups = thread_stats("rawrt-monitor").voluntary_switches - before.voluntary_switches;
        eprintln!("monitor: {wakeups} wake-ups in {elapsed_ms} ms of 60 requests");
        // A monitor looking every millisecond wakes about once per millisecond (here: 0.8
        // per ms before the back-off, 0.1 with it).
        assert!(
            wakeups * 3 < elapsed_ms,
            "the monitor woke {wakeups} times in {elapsed_ms} ms for 60 requests"
        );
    });
}

#[test]
fn a_blocker_after_a_quiet_spell_still_gets_its_work_handed_over() {
    let _serial = one_at_a_time();
    with_timeout("quiet_blocker", LIMIT, || {
        let rt = runtime(2, "quietblk");
        let addr = echo_server(&rt);
        let mut blocked = std::net::TcpStream::connect(addr).unwrap();
        let mut bystander = std::net::TcpStream::connect(addr).unwrap();
        ask(&mut blocked, 1);
        ask(&mut bystander, 1);
        // Quiet long enough for the monitor to have stretched its wait to the longest.
        std::thread::sleep(Duration::from_millis(60));
        blocked.write_all(&u32::MAX.to_le_bytes()).unwrap();
        // Let the block begin (a bound, not a wait for correctness: if the bystander's
        // request came first it would be answered at once and prove nothing).
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        ask(&mut bystander, 2);
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_millis(500),
            "a bystander waited {waited:?} behind a blocked worker (the block is 2 s)"
        );
        let mut b = [0u8; 4];
        blocked.read_exact(&mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), u32::MAX);
    });
}
