//! EventFd as a cross-thread waker for an edge-triggered registration.

mod common;

use std::os::fd::AsFd;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use common::{quiet_wait, wait_for, PATIENCE};
use rawrt_sys::{Epoll, EventFd, Events, Interest};

const WAKER: u64 = 0xfeed_beef;

#[test]
fn notify_wakes_a_wait_blocked_on_another_thread() {
    let epoll = Arc::new(Epoll::new().unwrap());
    let efd = EventFd::new().unwrap();
    epoll
        .add(efd.as_fd(), WAKER, Interest::READABLE | Interest::EDGE)
        .unwrap();

    let (tx, rx) = mpsc::channel();
    let waiter = {
        let epoll = Arc::clone(&epoll);
        thread::spawn(move || {
            let mut events = Events::with_capacity(8);
            // Loop only in case a stray signal returns Ok(0).
            while epoll.wait(&mut events, None).unwrap() == 0 {}
            let tokens: Vec<u64> = events.iter().map(|ev| ev.token()).collect();
            tx.send(tokens).unwrap();
        })
    };
    // Give the thread a moment to block (not needed for correctness: a
    // notify before the wait is still reported).
    thread::sleep(Duration::from_millis(20));
    efd.notify().unwrap();
    let tokens = rx
        .recv_timeout(PATIENCE)
        .expect("the waiting thread was not woken");
    assert_eq!(tokens, vec![WAKER]);
    waiter.join().unwrap();
}

#[test]
fn notifies_merge_and_each_later_notify_is_a_new_edge() {
    let epoll = Epoll::new().unwrap();
    let efd = EventFd::new().unwrap();
    epoll
        .add(efd.as_fd(), WAKER, Interest::READABLE | Interest::EDGE)
        .unwrap();

    efd.notify().unwrap();
    efd.notify().unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(
        epoll.wait(&mut events, Some(PATIENCE)).unwrap(),
        1,
        "two notifies, one event"
    );
    assert_eq!(events.get(0).unwrap().token(), WAKER);
    // The counter is still 2 (never read), but edge-triggered: no event.
    assert_eq!(quiet_wait(&epoll), 0);

    // A further notify is a new edge although the counter was non-zero.
    efd.notify().unwrap();
    wait_for(&epoll, WAKER, |ev| ev.is_readable());
    assert_eq!(quiet_wait(&epoll), 0);

    assert_eq!(efd.drain().unwrap(), 3);
    assert_eq!(efd.drain().unwrap(), 0);
}

#[test]
fn level_triggered_eventfd_stays_ready_until_drained() {
    let epoll = Epoll::new().unwrap();
    let efd = EventFd::new().unwrap();
    epoll.add(efd.as_fd(), 1, Interest::READABLE).unwrap();
    efd.notify().unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(epoll.wait(&mut events, Some(PATIENCE)).unwrap(), 1);
    assert_eq!(epoll.wait(&mut events, Some(PATIENCE)).unwrap(), 1);
    assert_eq!(efd.drain().unwrap(), 1);
    assert_eq!(quiet_wait(&epoll), 0);
    assert!(format!("{efd:?}").starts_with("EventFd"));
}
