//! `signal::install_handler`: deliveries counted, the wake fd's edges, the handler that was
//! there before still called, the handler's write counted. Each test uses its own real-time
//! signal number and holds `SERIAL`, so that no test counts another's deliveries or calls.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rawrt_sys::{signal, Epoll, Events, Interest};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rt(n: i32) -> i32 {
    signal::rt_min() + n
}

fn kill_self(signo: i32) {
    signal::kill(std::process::id() as i32, signo).unwrap();
}

/// Waits (bounded) until `f` holds.
fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn each_delivery_is_counted_and_wakes_every_registration() {
    let _serial = serial();
    let signo = rt(1);
    signal::install_handler(signo).unwrap();
    signal::install_handler(signo).unwrap(); // idempotent
    assert!(signal::handler_installed(signo));
    // Two readers, two epoll instances, each with its own duplicate of the wake fd.
    let (fd_a, fd_b) = (
        signal::dup_wake_fd().unwrap(),
        signal::dup_wake_fd().unwrap(),
    );
    let (ep_a, ep_b) = (Epoll::new().unwrap(), Epoll::new().unwrap());
    let edge = Interest::READABLE | Interest::EDGE;
    ep_a.add(fd_a.as_fd(), 1, edge).unwrap();
    ep_b.add(fd_b.as_fd(), 2, edge).unwrap();
    let mut events = Events::with_capacity(4);
    // Drain the initial edge (the counter may be non-zero from earlier deliveries).
    let _ = ep_a.wait(&mut events, Some(Duration::ZERO)).unwrap();
    let _ = ep_b.wait(&mut events, Some(Duration::ZERO)).unwrap();

    for _ in 0..3 {
        let before = signal::deliveries(signo);
        kill_self(signo);
        wait_for("the handler", || signal::deliveries(signo) > before);
        assert_eq!(signal::deliveries(signo), before + 1);
        for (ep, token) in [(&ep_a, 1), (&ep_b, 2)] {
            let n = ep.wait(&mut events, Some(Duration::from_secs(10))).unwrap();
            assert_eq!(n, 1, "one edge per delivery on every registration");
            assert_eq!(events.get(0).unwrap().token(), token);
        }
    }
}

static PREVIOUS_RAN: AtomicU64 = AtomicU64::new(0);

extern "C" fn previous_handler(_signo: libc::c_int) {
    PREVIOUS_RAN.fetch_add(1, SeqCst);
}

#[test]
fn a_handler_installed_before_still_runs() {
    let _serial = serial();
    let signo = rt(2);
    // SAFETY: an all-zero sigaction is valid; the handler is an extern "C" fn(c_int) that
    // only does an atomic add (async-signal-safe), installed without SA_SIGINFO.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = previous_handler as *const () as usize;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(signo, &act, std::ptr::null_mut()), 0);
    }
    signal::install_handler(signo).unwrap();
    let before = signal::deliveries(signo);
    kill_self(signo);
    wait_for("both handlers", || {
        signal::deliveries(signo) > before && PREVIOUS_RAN.load(SeqCst) >= 1
    });
    assert_eq!(PREVIOUS_RAN.load(SeqCst), 1);
}

#[test]
fn the_handler_write_is_counted() {
    let _serial = serial();
    let signo = rt(3);
    signal::install_handler(signo).unwrap();
    let before = rawrt_sys::stats::snapshot();
    kill_self(signo);
    // The count moves before the write (and the write is counted after it is made): wait
    // for the counter itself.
    let written =
        || (rawrt_sys::stats::snapshot() - before).get(rawrt_sys::stats::Syscall::EventfdWrite);
    wait_for("the handler's eventfd write to be counted", || {
        written() >= 1
    });
}
