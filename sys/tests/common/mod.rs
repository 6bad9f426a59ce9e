//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rawrt_sys::{socket, Epoll, Event, Events, Interest};

/// Upper bound for anything that should happen "at once"; generous so that
/// a loaded machine does not make the tests flaky.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long a negative check waits for an event that must not come.
pub const QUIET: Duration = Duration::from_millis(50);

/// Waits (for at most `PATIENCE`) until an event for `token` satisfies
/// `pred`, and returns it.
pub fn wait_for(epoll: &Epoll, token: u64, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(16);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no matching event for token {token} within {PATIENCE:?}"
        );
        epoll.wait(&mut events, Some(left)).unwrap();
        if let Some(ev) = events.iter().find(|ev| ev.token() == token && pred(ev)) {
            return *ev;
        }
    }
}

/// Waits `QUIET` and returns how many events arrived.
pub fn quiet_wait(epoll: &Epoll) -> usize {
    let mut events = Events::with_capacity(16);
    epoll.wait(&mut events, Some(QUIET)).unwrap()
}

/// A TCP listener on an ephemeral loopback port.
pub fn listener(ip: &str) -> io::Result<(OwnedFd, SocketAddr)> {
    let addr: SocketAddr = format!("{ip}:0").parse().unwrap();
    let fd = socket::tcp_socket(&addr)?;
    socket::set_reuseaddr(fd.as_fd(), true)?;
    socket::bind(fd.as_fd(), &addr)?;
    socket::listen(fd.as_fd(), 128)?;
    let bound = socket::local_addr(fd.as_fd())?;
    Ok((fd, bound))
}

/// A connected TCP pair on loopback: `(listener, client, server)`.
/// The connect is nonblocking; the helper waits for it via epoll.
pub fn tcp_pair(ip: &str) -> io::Result<(OwnedFd, OwnedFd, OwnedFd)> {
    let (lfd, addr) = listener(ip)?;
    let client = socket::tcp_socket(&addr)?;
    match socket::connect(client.as_fd(), &addr) {
        Ok(()) => {}
        Err(err) if socket::is_in_progress(&err) => {}
        Err(err) => return Err(err),
    }
    let epoll = Epoll::new()?;
    epoll.add(client.as_fd(), 1, Interest::WRITABLE)?;
    epoll.add(lfd.as_fd(), 2, Interest::READABLE)?;
    wait_for(&epoll, 1, Event::is_writable);
    assert!(socket::take_error(client.as_fd())?.is_none());
    wait_for(&epoll, 2, Event::is_readable);
    let (server, peer) = socket::accept(lfd.as_fd())?;
    assert_eq!(peer, socket::local_addr(client.as_fd())?);
    Ok((lfd, client, server))
}
