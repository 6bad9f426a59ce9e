//! A signal interrupting `Epoll::wait` makes it return `Ok(0)`.
//!
//! In its own test binary because it installs a process-wide SIGUSR1
//! handler.

use std::os::unix::thread::JoinHandleExt;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use rawrt_sys::{Epoll, Events};

extern "C" fn on_sigusr1(_: libc::c_int) {}

fn install_handler_without_restart() {
    // SAFETY: an all-zero sigaction is valid (empty mask, no flags); the fields are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = 0; // deliberately no SA_RESTART
                         // SAFETY: `action` is a valid sigaction with an async-signal-safe (empty) handler; the old action is not requested.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0);
}

#[test]
fn signal_makes_wait_return_ok_zero() {
    install_handler_without_restart();
    let epoll = Arc::new(Epoll::new().unwrap());
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let epoll = Arc::clone(&epoll);
        thread::spawn(move || {
            let mut events = Events::with_capacity(4);
            // Nothing is registered: only a signal can end this wait.
            let res = epoll.wait(&mut events, None).map(|n| (n, events.len()));
            tx.send(res).unwrap();
        })
    };

    // The signal may land before the thread reaches epoll_wait, so keep
    // sending until the wait returns; any one that arrives during the wait
    // must end it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let res = loop {
        // SAFETY: the thread has not been joined or detached, so its pthread_t is valid, and SIGUSR1 has a handler.
        let rc = unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) };
        assert_eq!(rc, 0);
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(res) => break res,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(
                    Instant::now() < deadline,
                    "wait(None) was not interrupted by SIGUSR1"
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("waiter thread died"),
        }
    };
    assert_eq!(res.unwrap(), (0, 0), "EINTR must be Ok(0) with no events");
    waiter.join().unwrap();
}
