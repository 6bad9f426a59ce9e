//! Socket calls end to end on loopback.

mod common;

use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

use common::{listener, tcp_pair, wait_for};
use rawrt_sys::{socket, Epoll, Event, Interest};

#[test]
fn tcp_round_trip() {
    let (lfd, addr) = listener("127.0.0.1").unwrap();
    assert!(addr.is_ipv4() && addr.port() != 0);

    // Nothing pending yet.
    let err = socket::accept(lfd.as_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");

    let client = socket::tcp_socket(&addr).unwrap();
    match socket::connect(client.as_fd(), &addr) {
        Ok(()) => {}
        Err(err) => assert!(socket::is_in_progress(&err), "{err}"),
    }
    let epoll = Epoll::new().unwrap();
    epoll.add(client.as_fd(), 1, Interest::WRITABLE).unwrap();
    epoll.add(lfd.as_fd(), 2, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_writable);
    assert!(socket::take_error(client.as_fd()).unwrap().is_none());
    wait_for(&epoll, 2, Event::is_readable);

    let (server, peer) = socket::accept(lfd.as_fd()).unwrap();
    let client_local = socket::local_addr(client.as_fd()).unwrap();
    assert_eq!(peer, client_local);
    assert_eq!(socket::peer_addr(client.as_fd()).unwrap(), addr);
    assert_eq!(socket::local_addr(server.as_fd()).unwrap(), addr);
    assert_eq!(socket::peer_addr(server.as_fd()).unwrap(), client_local);

    socket::set_nodelay(client.as_fd(), true).unwrap();
    assert!(socket::nodelay(client.as_fd()).unwrap());

    epoll
        .add(
            server.as_fd(),
            3,
            Interest::READABLE | Interest::READ_CLOSED,
        )
        .unwrap();
    let mut buf = [0u8; 64];

    // send -> read
    assert_eq!(socket::send(client.as_fd(), b"hello").unwrap(), 5);
    wait_for(&epoll, 3, Event::is_readable);
    assert_eq!(socket::peek(server.as_fd(), &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(socket::read(server.as_fd(), &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    let err = socket::read(server.as_fd(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");

    // send_vectored -> recv
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
    assert_eq!(socket::send_vectored(client.as_fd(), &bufs).unwrap(), 5);
    wait_for(&epoll, 3, Event::is_readable);
    assert_eq!(socket::recv(server.as_fd(), &mut buf, 0).unwrap(), 5);
    assert_eq!(&buf[..5], b"abcde");

    // write / writev the other way
    assert_eq!(socket::write(server.as_fd(), b"xy").unwrap(), 2);
    assert_eq!(
        socket::writev(server.as_fd(), &[IoSlice::new(b"z"), IoSlice::new(b"!")]).unwrap(),
        2
    );
    epoll.modify(client.as_fd(), 1, Interest::READABLE).unwrap();
    let mut got = Vec::new();
    while got.len() < 4 {
        wait_for(&epoll, 1, Event::is_readable);
        match socket::read(client.as_fd(), &mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
    }
    assert_eq!(got, b"xyz!");

    // shutdown(Write) -> the other side reads EOF
    socket::shutdown(client.as_fd(), Shutdown::Write).unwrap();
    let ev = wait_for(&epoll, 3, Event::is_read_closed);
    assert!(!ev.is_write_closed(), "{ev:?}");
    assert_eq!(socket::read(server.as_fd(), &mut buf).unwrap(), 0);
    // ... while the reverse direction still works.
    assert_eq!(socket::send(server.as_fd(), b"late").unwrap(), 4);
}

#[test]
fn vectored_send_caps_buffer_count() {
    // More buffers than IOV_MAX: only the first 1024 go out in one call.
    let (a, b) = socket::socketpair_stream().unwrap();
    socket::set_send_buffer_size(a.as_fd(), 64 * 1024).unwrap();
    socket::set_recv_buffer_size(b.as_fd(), 64 * 1024).unwrap();
    let byte = [7u8];
    let bufs: Vec<IoSlice<'_>> = (0..2000).map(|_| IoSlice::new(&byte)).collect();
    assert_eq!(socket::send_vectored(a.as_fd(), &bufs).unwrap(), 1024);
    assert_eq!(socket::writev(a.as_fd(), &bufs).unwrap(), 1024);
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    while total < 2048 {
        total += socket::read(b.as_fd(), &mut buf).unwrap();
    }
    assert_eq!(total, 2048);
    assert!(buf[..1024].iter().all(|&x| x == 7));
}

#[test]
fn ipv6_loopback_round_trip() {
    let (lfd, addr) = match listener("[::1]") {
        Ok(pair) => pair,
        Err(err) => {
            eprintln!("skipping: ::1 unavailable ({err})");
            return;
        }
    };
    let SocketAddr::V6(v6) = addr else {
        panic!("expected a v6 address, got {addr}")
    };
    assert!(v6.ip().is_loopback() && v6.port() != 0);
    drop(lfd);

    let (_listener, client, server) = tcp_pair("[::1]").unwrap();
    let peer = socket::peer_addr(server.as_fd()).unwrap();
    assert!(peer.is_ipv6());
    assert_eq!(peer, socket::local_addr(client.as_fd()).unwrap());
    assert_eq!(socket::send(client.as_fd(), b"v6").unwrap(), 2);
    let epoll = Epoll::new().unwrap();
    epoll.add(server.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let mut buf = [0u8; 4];
    assert_eq!(socket::read(server.as_fd(), &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"v6");
}

#[test]
fn connect_to_closed_port_reports_refused() {
    // Bind a port, then close the listener so nothing listens there.
    let (lfd, addr) = listener("127.0.0.1").unwrap();
    drop(lfd);
    let client = socket::tcp_socket(&addr).unwrap();
    let res = socket::connect(client.as_fd(), &addr);
    let err = match res {
        Err(err) if socket::is_in_progress(&err) => {
            let epoll = Epoll::new().unwrap();
            epoll.add(client.as_fd(), 1, Interest::WRITABLE).unwrap();
            wait_for(&epoll, 1, |_| true);
            socket::take_error(client.as_fd())
                .unwrap()
                .expect("connect should have failed")
        }
        Err(err) => err,
        Ok(()) => panic!("connect to a closed port succeeded"),
    };
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    // SO_ERROR is cleared by reading it.
    assert!(socket::take_error(client.as_fd()).unwrap().is_none());
}

#[test]
fn accept_fd_works_for_unix_sockets_and_accept_rejects_them() {
    // A Unix listener in the abstract namespace (no file to clean up).
    let mut sun = libc::sockaddr_un {
        sun_family: libc::AF_UNIX as libc::sa_family_t,
        sun_path: [0; 108],
    };
    let name = format!("rawrt-sys-test-{}", std::process::id());
    for (dst, src) in sun.sun_path[1..].iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + name.len()) as libc::socklen_t;
    let sun_ptr = std::ptr::addr_of!(sun).cast::<libc::sockaddr>();

    let lfd = socket::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0).unwrap();
    // SAFETY: `sun` is a valid sockaddr_un of at least `len` bytes, live for the call.
    let rc = unsafe { libc::bind(lfd.as_raw_fd(), sun_ptr, len) };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    socket::listen(lfd.as_fd(), 8).unwrap();
    let connect = || {
        let c = socket::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0).unwrap();
        // SAFETY: `sun` is a valid sockaddr_un of at least `len` bytes, live for the call.
        let rc = unsafe { libc::connect(c.as_raw_fd(), sun_ptr, len) };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        c
    };

    let _c1 = connect();
    let accepted = socket::accept_fd(lfd.as_fd()).unwrap();
    assert!(
        socket::local_addr(accepted.as_fd()).is_err(),
        "a Unix address is not a SocketAddr"
    );

    let _c2 = connect();
    let err = socket::accept(lfd.as_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}
