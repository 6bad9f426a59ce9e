//! UDP calls end to end on loopback.

mod common;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use common::wait_for;
use rawrt_sys::{socket, Epoll, Event, Interest};

/// A UDP socket bound to an ephemeral port on `ip`.
fn udp(ip: &str) -> io::Result<(OwnedFd, SocketAddr)> {
    let addr: SocketAddr = format!("{ip}:0").parse().unwrap();
    let fd = socket::udp_socket(&addr)?;
    socket::bind(fd.as_fd(), &addr)?;
    let bound = socket::local_addr(fd.as_fd())?;
    Ok((fd, bound))
}

#[test]
fn send_to_recv_from_and_peek_from() {
    let (a, a_addr) = udp("127.0.0.1").unwrap();
    let (b, b_addr) = udp("127.0.0.1").unwrap();
    assert!(a_addr.port() != 0 && b_addr.port() != 0 && a_addr != b_addr);

    let mut buf = [0u8; 64];
    let err = socket::recv_from(b.as_fd(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");

    let epoll = Epoll::new().unwrap();
    epoll
        .add(b.as_fd(), 1, Interest::READABLE | Interest::EDGE)
        .unwrap();
    assert_eq!(socket::send_to(a.as_fd(), b"first", &b_addr).unwrap(), 5);
    assert_eq!(socket::send_to(a.as_fd(), b"", &b_addr).unwrap(), 0);
    assert_eq!(socket::send_to(a.as_fd(), b"third!", &b_addr).unwrap(), 6);
    wait_for(&epoll, 1, Event::is_readable);

    // Peeking leaves the datagram queued.
    assert_eq!(socket::peek_from(b.as_fd(), &mut buf).unwrap(), (5, a_addr));
    assert_eq!(socket::recv_from(b.as_fd(), &mut buf).unwrap(), (5, a_addr));
    assert_eq!(&buf[..5], b"first");
    // An empty datagram is a datagram.
    assert_eq!(socket::recv_from(b.as_fd(), &mut buf).unwrap(), (0, a_addr));
    // A short buffer truncates; the rest of that datagram is gone.
    let mut small = [0u8; 3];
    assert_eq!(
        socket::recv_from(b.as_fd(), &mut small).unwrap(),
        (3, a_addr)
    );
    assert_eq!(&small, b"thi");
    let err = socket::recv_from(b.as_fd(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
}

#[test]
fn connected_send_and_recv() {
    let (a, a_addr) = udp("127.0.0.1").unwrap();
    let (b, b_addr) = udp("127.0.0.1").unwrap();
    let (c, _) = udp("127.0.0.1").unwrap();
    socket::connect(a.as_fd(), &b_addr).unwrap();
    assert_eq!(socket::peer_addr(a.as_fd()).unwrap(), b_addr);
    assert_eq!(socket::send(a.as_fd(), b"hi").unwrap(), 2);

    let epoll = Epoll::new().unwrap();
    epoll.add(b.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let mut buf = [0u8; 16];
    assert_eq!(socket::recv_from(b.as_fd(), &mut buf).unwrap(), (2, a_addr));

    // A connected socket only receives from its peer: c's datagram is
    // dropped, b's arrives.
    socket::send_to(c.as_fd(), b"stranger", &a_addr).unwrap();
    socket::send_to(b.as_fd(), b"peer", &a_addr).unwrap();
    epoll.add(a.as_fd(), 2, Interest::READABLE).unwrap();
    wait_for(&epoll, 2, Event::is_readable);
    assert_eq!(socket::recv(a.as_fd(), &mut buf, 0).unwrap(), 4);
    assert_eq!(&buf[..4], b"peer");
}

#[test]
fn connected_to_closed_port_reports_refused() {
    // Bind a port, then close it: nothing listens there.
    let (gone, gone_addr) = udp("127.0.0.1").unwrap();
    drop(gone);
    let (a, _) = udp("127.0.0.1").unwrap();
    socket::connect(a.as_fd(), &gone_addr).unwrap();
    socket::send(a.as_fd(), b"anyone?").unwrap();
    // The ICMP port-unreachable comes back as EPOLLERR and ECONNREFUSED.
    let epoll = Epoll::new().unwrap();
    epoll.add(a.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_error);
    let mut buf = [0u8; 8];
    let err = socket::recv(a.as_fd(), &mut buf, 0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn broadcast_option_round_trip() {
    let (a, _) = udp("127.0.0.1").unwrap();
    assert!(!socket::broadcast(a.as_fd()).unwrap());
    socket::set_broadcast(a.as_fd(), true).unwrap();
    assert!(socket::broadcast(a.as_fd()).unwrap());
    socket::set_broadcast(a.as_fd(), false).unwrap();
    assert!(!socket::broadcast(a.as_fd()).unwrap());
    assert!(socket::take_error(a.as_fd()).unwrap().is_none());
}

#[test]
fn ipv6_round_trip() {
    let (a, a_addr) = match udp("[::1]") {
        Ok(pair) => pair,
        Err(err) => {
            eprintln!("skipping: ::1 unavailable ({err})");
            return;
        }
    };
    let (b, b_addr) = udp("[::1]").unwrap();
    socket::send_to(a.as_fd(), b"v6", &b_addr).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(b.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let mut buf = [0u8; 4];
    let (n, from) = socket::recv_from(b.as_fd(), &mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"v6"[..], a_addr));
}
