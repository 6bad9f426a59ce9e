//! epoll behaviour: level vs edge, hang-ups, resets, delete, oneshot,
//! modify and timeouts.

mod common;

use std::io;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use common::{quiet_wait, tcp_pair, wait_for};
use rawrt_sys::{socket, Epoll, Event, EventFd, Events, Interest};

#[test]
fn level_triggered_reports_again_without_reading() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(a.as_fd(), 1, Interest::READABLE).unwrap();
    assert_eq!(quiet_wait(&epoll), 0, "nothing to read yet");

    assert_eq!(socket::send(b.as_fd(), b"x").unwrap(), 1);
    let mut events = Events::with_capacity(8);
    for _ in 0..2 {
        assert_eq!(epoll.wait(&mut events, Some(common::PATIENCE)).unwrap(), 1);
        let ev = events.get(0).unwrap();
        assert_eq!(ev.token(), 1);
        assert!(ev.is_readable());
    }
}

#[test]
fn edge_triggered_reports_only_new_data() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    epoll
        .add(a.as_fd(), 9, Interest::READABLE | Interest::EDGE)
        .unwrap();

    socket::send(b.as_fd(), b"one").unwrap();
    let ev = wait_for(&epoll, 9, Event::is_readable);
    assert!(!ev.is_read_closed());
    // Still readable (nothing was read), but no new edge.
    assert_eq!(quiet_wait(&epoll), 0);

    socket::send(b.as_fd(), b"two").unwrap();
    wait_for(&epoll, 9, Event::is_readable);
    assert_eq!(quiet_wait(&epoll), 0);

    let mut buf = [0u8; 16];
    assert_eq!(socket::read(a.as_fd(), &mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"onetwo");
}

#[test]
fn peer_shutdown_write_is_read_closed_only() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    let interest = Interest::READABLE | Interest::WRITABLE | Interest::READ_CLOSED;
    epoll.add(a.as_fd(), 3, interest).unwrap();

    socket::shutdown(b.as_fd(), Shutdown::Write).unwrap();
    let ev = wait_for(&epoll, 3, Event::is_read_closed);
    assert!(ev.is_readable(), "{ev:?}");
    assert!(ev.raw_flags() & libc::EPOLLRDHUP as u32 != 0, "{ev:?}");
    assert!(!ev.is_write_closed(), "{ev:?}");
    assert!(!ev.is_error(), "{ev:?}");
    // The write half still works.
    assert_eq!(socket::send(a.as_fd(), b"still open").unwrap(), 10);
    let mut buf = [0u8; 4];
    assert_eq!(
        socket::read(a.as_fd(), &mut buf).unwrap(),
        0,
        "EOF after the peer's shutdown"
    );

    drop(b);
    let ev = wait_for(&epoll, 3, Event::is_write_closed);
    assert!(ev.raw_flags() & libc::EPOLLHUP as u32 != 0, "{ev:?}");
    assert!(ev.is_read_closed(), "{ev:?}");
}

#[test]
fn dropped_peer_is_read_and_write_closed() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    // EPOLLHUP is reported even without asking for READ_CLOSED.
    epoll.add(a.as_fd(), 4, Interest::READABLE).unwrap();
    drop(b);
    let ev = wait_for(&epoll, 4, |_| true);
    assert!(ev.is_read_closed() && ev.is_write_closed(), "{ev:?}");
}

#[test]
fn reset_tcp_peer_is_error_and_closed() {
    let (_listener, client, server) = tcp_pair("127.0.0.1").unwrap();
    let epoll = Epoll::new().unwrap();
    let interest = Interest::READABLE | Interest::WRITABLE | Interest::READ_CLOSED;
    epoll.add(client.as_fd(), 5, interest).unwrap();

    socket::set_linger(server.as_fd(), Some(Duration::ZERO)).unwrap();
    drop(server); // close with SO_LINGER 0 sends RST

    let ev = wait_for(&epoll, 5, Event::is_error);
    assert!(ev.is_read_closed(), "{ev:?}");
    assert!(ev.is_write_closed(), "{ev:?}");
    let mut buf = [0u8; 8];
    let err = socket::read(client.as_fd(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn no_events_after_delete_and_double_delete_fails() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(a.as_fd(), 6, Interest::READABLE).unwrap();
    epoll.delete(a.as_fd()).unwrap();

    socket::send(b.as_fd(), b"data").unwrap();
    assert_eq!(quiet_wait(&epoll), 0);

    let err = epoll.delete(a.as_fd()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    let err = epoll.modify(a.as_fd(), 6, Interest::READABLE).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");

    // Registering again works, and a second add is EEXIST.
    epoll.add(a.as_fd(), 7, Interest::READABLE).unwrap();
    let err = epoll.add(a.as_fd(), 7, Interest::READABLE).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
    wait_for(&epoll, 7, Event::is_readable);
}

#[test]
fn modify_changes_token_and_interest() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(a.as_fd(), 10, Interest::WRITABLE).unwrap();
    wait_for(&epoll, 10, Event::is_writable);

    epoll.modify(a.as_fd(), 11, Interest::READABLE).unwrap();
    assert_eq!(quiet_wait(&epoll), 0, "writable is no longer of interest");
    socket::send(b.as_fd(), b"x").unwrap();
    let ev = wait_for(&epoll, 11, |_| true);
    assert!(ev.is_readable() && !ev.is_writable(), "{ev:?}");
}

#[test]
fn oneshot_disarms_until_modified() {
    let (a, b) = socket::socketpair_stream().unwrap();
    let epoll = Epoll::new().unwrap();
    let interest = Interest::READABLE | Interest::ONESHOT;
    epoll.add(a.as_fd(), 12, interest).unwrap();
    socket::send(b.as_fd(), b"x").unwrap();
    wait_for(&epoll, 12, Event::is_readable);
    assert_eq!(quiet_wait(&epoll), 0, "disarmed after one event");
    socket::send(b.as_fd(), b"y").unwrap();
    assert_eq!(quiet_wait(&epoll), 0, "still disarmed");
    epoll.modify(a.as_fd(), 13, interest).unwrap();
    wait_for(&epoll, 13, Event::is_readable);
}

#[test]
fn events_buffer_caps_each_wait() {
    let epoll = Epoll::new().unwrap();
    let fds: Vec<EventFd> = (0..3).map(|_| EventFd::new().unwrap()).collect();
    for (i, fd) in fds.iter().enumerate() {
        epoll.add(fd.as_fd(), i as u64, Interest::READABLE).unwrap();
        fd.notify().unwrap();
    }
    let mut events = Events::with_capacity(2);
    let n = epoll.wait(&mut events, Some(common::PATIENCE)).unwrap();
    assert_eq!(n, 2);
    assert_eq!(events.len(), 2);
    assert_eq!(events.iter().count(), 2);
    assert_eq!((&events).into_iter().count(), 2);
    // Level-triggered: all three are reported over repeated waits.
    let mut seen = [false; 3];
    for _ in 0..4 {
        epoll.wait(&mut events, Some(common::PATIENCE)).unwrap();
        for ev in &events {
            seen[ev.token() as usize] = true;
        }
    }
    assert_eq!(seen, [true; 3]);
    events.clear();
    assert!(events.is_empty());
}

#[test]
fn tiny_timeout_rounds_up_to_a_millisecond() {
    let epoll = Epoll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let start = Instant::now();
    assert_eq!(
        epoll
            .wait(&mut events, Some(Duration::from_micros(10)))
            .unwrap(),
        0
    );
    let elapsed = start.elapsed();
    // A 0ms timeout would return at once; the kernel never ends a 1ms
    // timeout early.
    assert!(elapsed >= Duration::from_micros(10), "{elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(1),
        "10µs should round up to 1ms, took {elapsed:?}"
    );
    assert!(events.is_empty());

    // Zero means poll.
    assert_eq!(epoll.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
}

#[test]
fn huge_timeout_does_not_overflow() {
    let epoll = Epoll::new().unwrap();
    let efd = EventFd::new().unwrap();
    epoll.add(efd.as_fd(), 42, Interest::READABLE).unwrap();
    efd.notify().unwrap();
    let mut events = Events::with_capacity(4);
    let n = epoll.wait(&mut events, Some(Duration::MAX)).unwrap();
    assert_eq!(n, 1);
    assert_eq!(events.get(0).unwrap().token(), 42);
}

#[test]
fn wait_clears_previous_events() {
    let epoll = Epoll::new().unwrap();
    let efd = EventFd::new().unwrap();
    epoll
        .add(efd.as_fd(), 1, Interest::READABLE | Interest::EDGE)
        .unwrap();
    efd.notify().unwrap();
    let mut events = Events::with_capacity(4);
    assert_eq!(epoll.wait(&mut events, Some(common::PATIENCE)).unwrap(), 1);
    assert_eq!(epoll.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    assert!(events.is_empty(), "{events:?}");
}
