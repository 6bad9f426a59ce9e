//! The socket calls added for rawrt's full `net` surface: vectored and uninitialised reads,
//! options (TTL, keepalive, reuse, multicast), peer credentials, Unix datagrams and abstract
//! names through `path_addr`.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::path::Path;

use rawrt_sys::{socket, unix};

#[test]
fn readv_and_recv_uninit_fill_what_they_report() {
    let (a, b) = socket::socketpair_stream().unwrap();
    assert_eq!(
        socket::send_vectored(a.as_fd(), &[IoSlice::new(b"ab"), IoSlice::new(b"cdef")]).unwrap(),
        6
    );
    let mut peek = [MaybeUninit::<u8>::uninit(); 3];
    let n = socket::recv_uninit(b.as_fd(), &mut peek, libc::MSG_PEEK).unwrap();
    assert_eq!(n, 3);
    // SAFETY: the kernel wrote the first `n` bytes.
    let got: Vec<u8> = peek[..n]
        .iter()
        .map(|b| unsafe { b.assume_init() })
        .collect();
    assert_eq!(got, b"abc");
    let (mut x, mut y) = ([0u8; 1], [0u8; 8]);
    let n = socket::readv(
        b.as_fd(),
        &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)],
    )
    .unwrap();
    assert_eq!((n, &x, &y[..5]), (6, b"a", &b"bcdef"[..]));
    let err = socket::readv(b.as_fd(), &mut [IoSliceMut::new(&mut y)]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
}

#[test]
fn options_round_trip() {
    let addr = "127.0.0.1:0".parse().unwrap();
    let fd = socket::tcp_socket(&addr).unwrap();
    socket::set_ttl(fd.as_fd(), 42).unwrap();
    assert_eq!(socket::ttl(fd.as_fd()).unwrap(), 42);
    socket::set_keepalive(fd.as_fd(), true).unwrap();
    assert!(socket::keepalive(fd.as_fd()).unwrap());
    socket::set_reuseport(fd.as_fd(), true).unwrap();
    assert!(socket::reuseport(fd.as_fd()).unwrap());
    assert!(!socket::reuseaddr(fd.as_fd()).unwrap());
    let udp = socket::udp_socket(&addr).unwrap();
    socket::set_multicast_ttl_v4(udp.as_fd(), 5).unwrap();
    assert_eq!(socket::multicast_ttl_v4(udp.as_fd()).unwrap(), 5);
    socket::set_multicast_loop_v4(udp.as_fd(), false).unwrap();
    assert!(!socket::multicast_loop_v4(udp.as_fd()).unwrap());
    let err = socket::set_ttl(fd.as_fd(), 1000).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "TTL is at most 255");
}

#[test]
fn peer_cred_of_a_socketpair_is_this_process() {
    let (a, _b) = socket::socketpair_stream().unwrap();
    let cred = socket::peer_cred(a.as_fd()).unwrap();
    assert_eq!(cred.pid, Some(std::process::id() as i32));
}

#[test]
fn unix_datagrams_with_abstract_addresses() {
    let name = format!("\0rawrt-sys-dgram-{}", std::process::id());
    let addr = unix::path_addr(Path::new(&name)).unwrap();
    assert_eq!(addr.as_abstract_name(), Some(&name.as_bytes()[1..]));
    let server = unix::datagram_socket().unwrap();
    unix::bind(server.as_fd(), &addr).unwrap();
    let client = unix::datagram_socket().unwrap();
    assert_eq!(unix::send_to(client.as_fd(), b"hello", &addr).unwrap(), 5);
    let mut buf = [MaybeUninit::<u8>::uninit(); 3];
    let (n, from) = unix::recv_from(server.as_fd(), &mut buf, 0).unwrap();
    assert_eq!(n, 3, "truncated to the buffer");
    assert!(from.is_unnamed());
    let err = unix::recv_from(server.as_fd(), &mut buf, 0).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EAGAIN),
        "the rest of the datagram is gone"
    );
    let (p, q) = unix::socketpair_datagram().unwrap();
    socket::send(p.as_fd(), b"x").unwrap();
    assert_eq!(socket::recv(q.as_fd(), &mut [0u8; 4], 0).unwrap(), 1);
    assert!(unix::path_addr(Path::new("/tmp/plain"))
        .unwrap()
        .as_pathname()
        .is_some());
}
