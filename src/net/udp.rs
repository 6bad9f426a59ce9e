//! `UdpSocket`.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use rawrt_sys::socket;

use super::addr::{each_addr, first_addr};
use super::{current_reactor, ToSocketAddrs};
use crate::io::{read_buf, Interest, ReadBuf, Ready};
use crate::reactor::{Direction, PollEvented};
use crate::scheduler::coop;

/// A UDP socket.
///
/// Unconnected, it sends to and receives from any address ([`send_to`](Self::send_to),
/// [`recv_from`](Self::recv_from)). After [`connect`](Self::connect) it has a default peer:
/// [`send`](Self::send) and [`recv`](Self::recv) talk to it, and datagrams from other
/// addresses are dropped by the kernel.
///
/// Every method takes `&self`, so the socket can be shared (in an `Arc`) between tasks. Any
/// number of tasks may wait in the async methods at once (each waits in the socket's list of
/// waiters, and each datagram goes to one receiver); the `poll_*` methods keep one waker per
/// direction, the latest poller's.
///
/// Each receive returns one whole datagram; a datagram longer than the buffer is truncated
/// and the rest of it discarded, so size buffers for the largest datagram expected (65,507
/// bytes at most for UDP over IPv4).
///
/// ```
/// use rawrt::net::UdpSocket;
///
/// # let rt = rawrt::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
///
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0u8; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///
/// // Connected: a default peer for send and recv.
/// b.connect(from).await?;
/// b.send(b"pong").await?;
/// let n = a.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"pong");
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UdpSocket {
    io: PollEvented<OwnedFd>,
}

impl UdpSocket {
    /// Creates a socket bound to `addr` (trying each resolved address in turn) and registers it
    /// with the current runtime. Port 0 picks a free port; see [`local_addr`](Self::local_addr).
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let reactor = current_reactor("UdpSocket::bind")?;
        let fd = each_addr(addr, |a| async move {
            let fd = socket::udp_socket(&a)?;
            socket::bind(fd.as_fd(), &a)?;
            Ok(fd)
        })
        .await?;
        Ok(UdpSocket {
            io: PollEvented::new(fd, &reactor)?,
        })
    }

    /// Sets the default peer (trying each resolved address in turn): [`send`](Self::send) goes
    /// there, and only datagrams from there are received. Connecting again replaces the peer.
    /// Nothing is sent on the network.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| async move { socket::connect(self.as_fd(), &a) }).await
    }

    /// Wraps a std socket (made nonblocking here) for use with the current runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let reactor = current_reactor("UdpSocket::from_std")?;
        let fd = OwnedFd::from(socket);
        socket::set_nonblocking(fd.as_fd(), true)?;
        Ok(UdpSocket {
            io: PollEvented::new(fd, &reactor)?,
        })
    }

    /// Deregisters and returns the std socket (left nonblocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner().map(std::net::UdpSocket::from)
    }

    /// Sends `buf` as one datagram to `target` (the first address it resolves to), returning
    /// how many bytes were sent: all of them, or an error (`EMSGSIZE` if too large).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = first_addr(target).await?;
        let send = self.io.async_io(Direction::Write, |fd| {
            socket::send_to(fd.as_fd(), buf, &target)
        });
        coop::budgeted(send).await
    }

    /// Polls sending one datagram to `target`; see [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Write, |fd| {
                socket::send_to(fd.as_fd(), buf, &target)
            })
        })
    }

    /// Receives one datagram, returning its length and the sender's address. Waits until one
    /// arrives.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let recv = self
            .io
            .async_io(Direction::Read, |fd| socket::recv_from(fd.as_fd(), buf));
        coop::budgeted(recv).await
    }

    /// Polls receiving one datagram into `buf` (which it fills), returning the sender's
    /// address; see [`recv_from`](Self::recv_from). Tokio's signature.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.poll_recv_from_flags(cx, buf, 0)
    }

    /// `recvfrom` with `flags` into a `ReadBuf`, through readiness and the budget.
    ///
    /// Datagrams: a short read says nothing about what is left queued, so readiness is
    /// cleared only on WouldBlock (poll_io), never after a successful receive.
    fn poll_recv_from_flags(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        flags: i32,
    ) -> Poll<io::Result<SocketAddr>> {
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Read, |fd| {
                let mut from = None;
                read_buf::fill_with(buf, |dst| {
                    let (n, addr) = socket::recv_from_uninit(fd.as_fd(), dst, flags)?;
                    from = Some(addr);
                    Ok(n)
                })?;
                from.ok_or_else(|| io::Error::other("recvfrom returned no address"))
            })
        })
    }

    /// As [`recv_from`](Self::recv_from), but leaves the datagram queued (`MSG_PEEK`): the next
    /// receive returns it again.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let peek = self
            .io
            .async_io(Direction::Read, |fd| socket::peek_from(fd.as_fd(), buf));
        coop::budgeted(peek).await
    }

    /// Polls a peek into `buf`, returning the sender's address; see
    /// [`peek_from`](Self::peek_from). Tokio's signature.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.poll_recv_from_flags(cx, buf, libc::MSG_PEEK)
    }

    /// Peeks at the next datagram from the connected peer (it stays queued). Cancel safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let peek = self.io.async_io(Direction::Read, |fd| {
            socket::recv(fd.as_fd(), buf, libc::MSG_PEEK)
        });
        coop::budgeted(peek).await
    }

    /// Peeks now, if the socket is known readable; `WouldBlock` otherwise.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Direction::Read, |fd| socket::peek_from(fd.as_fd(), buf))
    }

    /// The sender of the next datagram, which stays queued. Cancel safe.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        let peek = self.io.async_io(Direction::Read, |fd| {
            socket::recv_from_uninit(fd.as_fd(), &mut [], libc::MSG_PEEK).map(|(_, a)| a)
        });
        coop::budgeted(peek).await
    }

    /// Sends `buf` as one datagram to the connected peer; see [`connect`](Self::connect). Fails
    /// (`EDESTADDRREQ`) if there is none. That a previous datagram was refused (ICMP port
    /// unreachable) may be reported here, or by the next receive, as `ConnectionRefused`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let send = self
            .io
            .async_io(Direction::Write, |fd| socket::send(fd.as_fd(), buf));
        coop::budgeted(send).await
    }

    /// Polls sending to the connected peer; see [`send`](Self::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        coop::poll_budgeted(cx, |cx| {
            self.io
                .poll_io(cx, Direction::Write, |fd| socket::send(fd.as_fd(), buf))
        })
    }

    /// Receives one datagram from the connected peer, returning its length.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let recv = self
            .io
            .async_io(Direction::Read, |fd| socket::recv(fd.as_fd(), buf, 0));
        coop::budgeted(recv).await
    }

    /// Waits until the socket is ready for some of `interest`; see
    /// [`TcpStream::ready`](crate::net::TcpStream::ready).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let event = coop::budgeted(self.io.ready(interest.mask())).await?;
        Ok(Ready::from_reactor(event.ready))
    }

    /// Waits until a datagram can be received; then use [`try_recv`](Self::try_recv) or
    /// [`try_recv_from`](Self::try_recv_from).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a datagram can be sent.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Receives from the connected peer now, if the socket is known readable: `WouldBlock`
    /// (no syscall) if not, or if nothing is queued (which clears the readiness).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |fd| socket::recv(fd.as_fd(), buf, 0))
    }

    /// Receives one datagram now, if the socket is known readable; see
    /// [`try_recv`](Self::try_recv).
    ///
    /// ```
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// # let a = rawrt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = rawrt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"one", b.local_addr()?).await?;
    /// let mut buf = [0u8; 8];
    /// let (n, _) = loop {
    ///     b.readable().await?;
    ///     match b.try_recv_from(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         res => break res?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"one");
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Direction::Read, |fd| socket::recv_from(fd.as_fd(), buf))
    }

    /// Sends to the connected peer now, if the socket is known writable.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |fd| socket::send(fd.as_fd(), buf))
    }

    /// Sends one datagram to `target` now, if the socket is known writable.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |fd| {
            socket::send_to(fd.as_fd(), buf, &target)
        })
    }

    /// Polls receiving from the connected peer into `buf` (which it fills); see
    /// [`recv`](Self::recv). Tokio's signature.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        coop::poll_budgeted(cx, |cx| {
            self.io.poll_io(cx, Direction::Read, |fd| {
                read_buf::fill_with(buf, |dst| socket::recv_uninit(fd.as_fd(), dst, 0))
            })
        })
        .map_ok(drop)
    }

    /// Runs `f` (the caller's own syscall on this socket) if it is known ready for
    /// `interest`; `WouldBlock` otherwise. See
    /// [`TcpStream::try_io`](crate::net::TcpStream::try_io).
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io_mask(interest.mask(), |_| f())
    }

    /// Waits for `interest` and runs `f`, again after each `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        coop::budgeted(self.io.async_io_mask(interest.mask(), |_| f())).await
    }

    /// Sets the IPv4 time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        socket::set_ttl(self.as_fd(), ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        socket::ttl(self.as_fd())
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: the kernel's choice).
    ///
    /// ```
    /// # let rt = rawrt::Runtime::new()?;
    /// # rt.block_on(async {
    /// use std::net::Ipv4Addr;
    /// let socket = rawrt::net::UdpSocket::bind("0.0.0.0:0").await?;
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// # // A machine without a multicast route refuses joining; that is the OS's answer.
    /// if socket.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED).is_ok() {
    ///     socket.leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED)?;
    /// }
    /// # Ok::<_, std::io::Error>(()) })?;
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        socket::join_multicast_v4(self.as_fd(), multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        socket::leave_multicast_v4(self.as_fd(), multiaddr, interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index `interface` (0: any).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        socket::join_multicast_v6(self.as_fd(), multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        socket::leave_multicast_v6(self.as_fd(), multiaddr, interface)
    }

    /// Sets whether IPv4 multicast sent here loops back to local receivers.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        socket::set_multicast_loop_v4(self.as_fd(), on)
    }

    /// Reads `IP_MULTICAST_LOOP`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        socket::multicast_loop_v4(self.as_fd())
    }

    /// Sets the time-to-live of IPv4 multicast sent here (`IP_MULTICAST_TTL`).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        socket::set_multicast_ttl_v4(self.as_fd(), ttl)
    }

    /// Reads `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        socket::multicast_ttl_v4(self.as_fd())
    }

    /// Sets whether IPv6 multicast sent here loops back.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        socket::set_multicast_loop_v6(self.as_fd(), on)
    }

    /// Reads `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        socket::multicast_loop_v6(self.as_fd())
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.as_fd())
    }

    /// The connected peer's address; `NotConnected` if [`connect`](Self::connect) was not
    /// called.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(self.as_fd())
    }

    /// Sets `SO_BROADCAST`: whether datagrams may be sent to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        socket::set_broadcast(self.as_fd(), on)
    }

    /// Reads `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        socket::broadcast(self.as_fd())
    }

    /// The pending socket error (`SO_ERROR`), if any; reading it clears it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// [`UdpSocket::from_std`].
    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
