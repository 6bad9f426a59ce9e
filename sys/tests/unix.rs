//! Unix-domain socket calls end to end.

mod common;

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::wait_for;
use rawrt_sys::{socket, unix, Epoll, Event, Interest};

/// A unique socket path in the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("rawrt-sys-{}-{n}-{tag}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn listener_at(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = unix::stream_socket()?;
    unix::bind(fd.as_fd(), addr)?;
    socket::listen(fd.as_fd(), 16)?;
    Ok(fd)
}

fn is_nonblocking_cloexec(fd: &OwnedFd) -> bool {
    // SAFETY: F_GETFL takes no pointer argument; the fd is owned, so open.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: F_GETFD takes no pointer argument; the fd is owned, so open.
    let fdfl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    fl & libc::O_NONBLOCK != 0 && fdfl & libc::FD_CLOEXEC != 0
}

#[test]
fn pathname_listener_accept_connect_and_addresses() {
    let tmp = TempPath::new("listener");
    let addr = unix::pathname_addr(&tmp.0).unwrap();
    let lfd = listener_at(&addr).unwrap();
    assert!(tmp.0.exists(), "bind creates the socket file");
    assert_eq!(
        unix::local_addr(lfd.as_fd()).unwrap().as_pathname(),
        Some(tmp.0.as_path())
    );

    let err = unix::accept(lfd.as_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");

    let client = unix::stream_socket().unwrap();
    unix::connect(client.as_fd(), &addr).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(lfd.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let (server, peer) = unix::accept(lfd.as_fd()).unwrap();
    assert!(is_nonblocking_cloexec(&server));
    assert!(peer.is_unnamed(), "{peer:?}");
    assert!(unix::local_addr(client.as_fd()).unwrap().is_unnamed());
    assert_eq!(
        unix::peer_addr(client.as_fd()).unwrap().as_pathname(),
        Some(tmp.0.as_path())
    );
    assert_eq!(
        unix::local_addr(server.as_fd()).unwrap().as_pathname(),
        Some(tmp.0.as_path())
    );
    assert!(unix::peer_addr(server.as_fd()).unwrap().is_unnamed());

    assert_eq!(socket::send(client.as_fd(), b"over unix").unwrap(), 9);
    epoll.add(server.as_fd(), 2, Interest::READABLE).unwrap();
    wait_for(&epoll, 2, Event::is_readable);
    let mut buf = [0u8; 32];
    assert_eq!(socket::read(server.as_fd(), &mut buf).unwrap(), 9);
    assert_eq!(&buf[..9], b"over unix");

    // A second bind to the same path fails: the file exists.
    let again = unix::stream_socket().unwrap();
    let err = unix::bind(again.as_fd(), &addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
}

#[test]
fn connect_errors() {
    let tmp = TempPath::new("missing");
    let addr = unix::pathname_addr(&tmp.0).unwrap();
    let fd = unix::stream_socket().unwrap();
    let err = unix::connect(fd.as_fd(), &addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");

    // The file exists, but nothing listens on it.
    let bound = unix::stream_socket().unwrap();
    unix::bind(bound.as_fd(), &addr).unwrap();
    let fd = unix::stream_socket().unwrap();
    let err = unix::connect(fd.as_fd(), &addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    let err = unix::pathname_addr(Path::new(&"x".repeat(200))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn abstract_namespace() {
    let name = format!("rawrt-sys-abstract-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let lfd = listener_at(&addr).unwrap();
    let local = unix::local_addr(lfd.as_fd()).unwrap();
    assert_eq!(local.as_abstract_name(), Some(name.as_bytes()));

    let client = unix::stream_socket().unwrap();
    unix::connect(client.as_fd(), &addr).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(lfd.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let (_server, peer) = unix::accept(lfd.as_fd()).unwrap();
    assert!(peer.is_unnamed());
    assert_eq!(
        unix::peer_addr(client.as_fd()).unwrap().as_abstract_name(),
        Some(name.as_bytes())
    );
}

#[test]
fn bound_client_address_is_reported_to_the_server() {
    let tmp = TempPath::new("server");
    let client_tmp = TempPath::new("client");
    let addr = unix::pathname_addr(&tmp.0).unwrap();
    let lfd = listener_at(&addr).unwrap();
    let client = unix::stream_socket().unwrap();
    unix::bind(client.as_fd(), &unix::pathname_addr(&client_tmp.0).unwrap()).unwrap();
    unix::connect(client.as_fd(), &addr).unwrap();
    let epoll = Epoll::new().unwrap();
    epoll.add(lfd.as_fd(), 1, Interest::READABLE).unwrap();
    wait_for(&epoll, 1, Event::is_readable);
    let (_server, peer) = unix::accept(lfd.as_fd()).unwrap();
    assert_eq!(peer.as_pathname(), Some(client_tmp.0.as_path()));
}

#[test]
fn socketpair_addresses_are_unnamed() {
    let (a, b) = socket::socketpair_stream().unwrap();
    for fd in [&a, &b] {
        assert!(unix::local_addr(fd.as_fd()).unwrap().is_unnamed());
        assert!(unix::peer_addr(fd.as_fd()).unwrap().is_unnamed());
    }
    // The IP-only queries reject the family.
    let err = socket::local_addr(a.as_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    // ... and the Unix ones reject IP sockets.
    let tcp = socket::tcp_socket(&"127.0.0.1:0".parse().unwrap()).unwrap();
    socket::bind(tcp.as_fd(), &"127.0.0.1:0".parse().unwrap()).unwrap();
    let err = unix::local_addr(tcp.as_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}
