//! `send` on a closed peer returns an error instead of raising SIGPIPE.
//!
//! Rust programs ignore SIGPIPE by default, which would hide a missing
//! `MSG_NOSIGNAL`; this binary restores the default action (terminate), so
//! a SIGPIPE would kill the test. It is its own binary for that reason.

mod common;

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::time::Instant;

use rawrt_sys::{socket, Epoll, Event, Interest};

fn restore_default_sigpipe() {
    // SAFETY: setting SIGPIPE to SIG_DFL installs no handler; nothing else in this binary relies on it being ignored.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(old, libc::SIG_ERR);
}

fn is_closed_peer(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET))
}

#[test]
fn send_to_closed_peer_is_an_error_not_a_signal() {
    restore_default_sigpipe();

    // Unix socket pair: the first send after the peer is gone is EPIPE.
    let (a, b) = socket::socketpair_stream().unwrap();
    drop(b);
    let err = socket::send(a.as_fd(), b"hello").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
    let err =
        socket::send_vectored(a.as_fd(), &[IoSlice::new(b"a"), IoSlice::new(b"b")]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");

    // TCP: the first send may still succeed (the peer answers it with a
    // RST); a later one fails with EPIPE or ECONNRESET.
    let (_listener, client, server) = common::tcp_pair("127.0.0.1").unwrap();
    let epoll = Epoll::new().unwrap();
    epoll
        .add(
            client.as_fd(),
            1,
            Interest::READABLE | Interest::READ_CLOSED,
        )
        .unwrap();
    drop(server);
    let deadline = Instant::now() + common::PATIENCE;
    let err = loop {
        match socket::send(client.as_fd(), b"data") {
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "send to a closed peer kept succeeding"
                );
                // Wait for the peer's RST to arrive (EPOLLERR/EPOLLHUP).
                common::wait_for(&epoll, 1, Event::is_write_closed);
            }
            Err(err) => break err,
        }
    };
    assert!(is_closed_peer(&err), "{err}");
    let err = socket::send_vectored(client.as_fd(), &[IoSlice::new(b"more")]).unwrap_err();
    assert!(is_closed_peer(&err), "{err}");
}
