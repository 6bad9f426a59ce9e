//! Socket syscalls as safe free functions over [`BorrowedFd`].
//!
//! Addresses are [`std::net::SocketAddr`]; [`to_sockaddr`] and
//! [`from_sockaddr`] convert them to and from `libc::sockaddr_storage`
//! (`AF_INET` and `AF_INET6`; any other family is an `InvalidInput`
//! error).
//!
//! # Conventions
//!
//! * **Every fd created here is `SOCK_NONBLOCK | SOCK_CLOEXEC`** (sockets,
//!   accepted connections and socket pairs), so I/O that cannot proceed
//!   fails with [`io::ErrorKind::WouldBlock`] instead of blocking, and no
//!   fd leaks into a child process across `exec`.
//! * **EINTR policy.** The data-transfer calls [`read`], [`recv`],
//!   [`peek`], [`write()`], [`send`], [`send_vectored`], [`writev`],
//!   the datagram calls ([`send_to`], [`recv_from`], [`peek_from`]) and
//!   the accept calls ([`accept`], [`accept_fd`], and
//!   [`unix::accept`](crate::unix::accept)) retry internally when a
//!   signal interrupts them, so callers never see
//!   [`io::ErrorKind::Interrupted`] from them. On nonblocking fds this is
//!   rare and a retry is always safe, since nothing was transferred.
//!   [`connect`] is **not** retried: retrying would fail with `EALREADY`;
//!   an interrupted connect carries on in the background, which
//!   [`is_in_progress`] reports along with `EINPROGRESS`. The remaining
//!   calls (`bind`, `listen`, options, ...) do not block and return
//!   errors as they are.
//! * **No SIGPIPE.** [`send`], [`send_vectored`] and [`send_to`] pass `MSG_NOSIGNAL`,
//!   so writing to a connection the peer has closed fails with `EPIPE`
//!   (or `ECONNRESET`) rather than raising `SIGPIPE`, which would kill a
//!   process that has not ignored it. [`write()`] and [`writev`] work on
//!   any fd and so cannot pass that flag; use `send*` on sockets.
//! * **Vectored I/O** passes at most 1024 buffers (`UIO_MAXIOV`, the
//!   kernel's `IOV_MAX`) per call; any further buffers are left for the
//!   caller's next call, as with any short write.
//! * **IPv6 flow info and scope id** are copied between
//!   [`SocketAddrV6`] and `sockaddr_in6` unchanged, like `std::net`
//!   does, so a round trip through either crate gives the same value.

use std::io::{self, IoSlice};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

/// Linux's `UIO_MAXIOV`: the most iovecs one `writev`/`sendmsg` accepts.
const IOV_MAX: usize = 1024;

/// Flags added to every socket this module creates.
pub(crate) const NEW_FD_FLAGS: c_int = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;

/// Runs `f` again for as long as it fails with `EINTR`.
pub(crate) fn retry_eintr<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            res => return res,
        }
    }
}

/// Takes ownership of an fd a syscall has just created.
pub(crate) fn owned(raw: c_int) -> OwnedFd {
    debug_assert!(raw >= 0);
    // SAFETY: only called with the result of a successful socket/accept4/socketpair call, a new fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Returns an all-zero `sockaddr_storage`.
fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage contains only integers, for which all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

/// Converts `addr` to a `sockaddr_storage` holding a `sockaddr_in` or
/// `sockaddr_in6`, and the length of that inner struct, ready to pass to
/// `bind`, `connect`, `sendto` and the like.
pub fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, socklen_t) {
    let mut storage = zeroed_storage();
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                // The octets are already in network order; keep their bytes.
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and at least as aligned, so the write stays inside `storage` and is aligned.
            unsafe {
                ptr::addr_of_mut!(storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and at least as aligned, so the write stays inside `storage` and is aligned.
            unsafe {
                ptr::addr_of_mut!(storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as socklen_t)
}

/// Converts the first `len` bytes of `storage`, as filled in by `accept`,
/// `getsockname`, `recvfrom` and the like, to a [`SocketAddr`].
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the family is neither
/// `AF_INET` nor `AF_INET6` (a Unix-domain address, say), or if `len` is
/// too short for the family's struct.
pub fn from_sockaddr(storage: &libc::sockaddr_storage, len: socklen_t) -> io::Result<SocketAddr> {
    let len = len as usize;
    let family = c_int::from(storage.ss_family);
    let too_short = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("socket address of family {family} is truncated ({len} bytes)"),
        )
    };
    match family {
        libc::AF_INET => {
            if len < mem::size_of::<libc::sockaddr_in>() {
                return Err(too_short());
            }
            // SAFETY: sockaddr_storage is larger than and at least as aligned as sockaddr_in, and every bit pattern is a valid sockaddr_in (integers only).
            let sin = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            if len < mem::size_of::<libc::sockaddr_in6>() {
                return Err(too_short());
            }
            // SAFETY: sockaddr_storage is larger than and at least as aligned as sockaddr_in6, and every bit pattern is a valid sockaddr_in6 (integers only).
            let sin6 = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsupported socket address family {family} (expected AF_INET or AF_INET6)"),
        )),
    }
}

/// Creates a nonblocking, close-on-exec socket. `SOCK_NONBLOCK |
/// SOCK_CLOEXEC` are added to `ty`.
pub fn socket(domain: i32, ty: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket takes no pointers.
    syscall!(socket(domain, ty | NEW_FD_FLAGS, protocol)).map(owned)
}

/// Creates a nonblocking, close-on-exec TCP socket (`SOCK_STREAM`) of the
/// address family of `addr` (`AF_INET` or `AF_INET6`).
pub fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    socket(domain, libc::SOCK_STREAM, 0)
}

/// Creates a nonblocking, close-on-exec UDP socket (`SOCK_DGRAM`) of the
/// address family of `addr` (`AF_INET` or `AF_INET6`).
pub fn udp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    socket(domain, libc::SOCK_DGRAM, 0)
}

/// Creates a connected pair of nonblocking, close-on-exec Unix-domain
/// stream sockets (`AF_UNIX`, `SOCK_STREAM`).
pub fn socketpair_stream() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: `fds` is a writable array of two c_ints, which is what socketpair fills in.
    syscall!(socketpair(
        libc::AF_UNIX,
        libc::SOCK_STREAM | NEW_FD_FLAGS,
        0,
        fds.as_mut_ptr()
    ))?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// Binds the socket to `addr`.
pub fn bind(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid address of `len` bytes and outlives the call; the fd is borrowed, so open.
    syscall!(bind(fd.as_raw_fd(), ptr::addr_of!(storage).cast(), len))?;
    Ok(())
}

/// Marks the socket as listening, with room for `backlog` pending
/// connections (the kernel caps it at `net.core.somaxconn`).
pub fn listen(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers; the fd is borrowed, so open.
    syscall!(listen(fd.as_raw_fd(), backlog))?;
    Ok(())
}

/// Accepts a pending connection on a listening IP socket, returning the
/// new nonblocking, close-on-exec fd and the peer's address.
///
/// Fails with `WouldBlock` when no connection is pending. `EINTR` is
/// retried. If the peer address is not IPv4/IPv6 (the listener is a Unix
/// socket), the accepted fd is closed and `InvalidInput` returned; use
/// [`unix::accept`](crate::unix::accept) or [`accept_fd`] for such sockets.
pub fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, SocketAddr)> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    let new_fd = retry_eintr(|| {
        len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
        // SAFETY: `storage` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
        syscall!(accept4(
            fd.as_raw_fd(),
            ptr::addr_of_mut!(storage).cast(),
            &mut len,
            NEW_FD_FLAGS
        ))
        .map(owned)
    })?;
    let addr = from_sockaddr(&storage, len)?;
    Ok((new_fd, addr))
}

/// Accepts a pending connection without asking for the peer's address
/// (for any socket family). The new fd is nonblocking and close-on-exec.
/// `EINTR` is retried.
pub fn accept_fd(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    retry_eintr(|| {
        // SAFETY: null address and length pointers are allowed and mean "don't report the peer"; the fd is borrowed, so open.
        syscall!(accept4(
            fd.as_raw_fd(),
            ptr::null_mut(),
            ptr::null_mut(),
            NEW_FD_FLAGS
        ))
        .map(owned)
    })
}

/// Starts connecting the socket to `addr`.
///
/// On a nonblocking socket this usually fails with `EINPROGRESS` (test
/// with [`is_in_progress`]): wait for the fd to become writable, then
/// check [`take_error`] to learn whether the connection succeeded. Not
/// retried on `EINTR` (see the module docs).
pub fn connect(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid address of `len` bytes and outlives the call; the fd is borrowed, so open.
    syscall!(connect(fd.as_raw_fd(), ptr::addr_of!(storage).cast(), len))?;
    Ok(())
}

/// Returns `true` if `err`, returned by [`connect`], means the connection
/// is being established in the background: `EINPROGRESS`, or `EINTR`
/// (POSIX: an interrupted connect is completed asynchronously).
pub fn is_in_progress(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR))
}

/// Returns and clears the socket's pending error (`SO_ERROR`), e.g. the
/// outcome of a nonblocking [`connect`]: `None` if there is none.
pub fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    // SAFETY: SO_ERROR is a c_int option.
    let code: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR)? };
    Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
}

/// Returns the address the socket is bound to (`getsockname`).
pub fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: `storage` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
    syscall!(getsockname(
        fd.as_raw_fd(),
        ptr::addr_of_mut!(storage).cast(),
        &mut len
    ))?;
    from_sockaddr(&storage, len)
}

/// Returns the address of the connected peer (`getpeername`); fails with
/// `ENOTCONN` if the socket is not connected.
pub fn peer_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: `storage` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
    syscall!(getpeername(
        fd.as_raw_fd(),
        ptr::addr_of_mut!(storage).cast(),
        &mut len
    ))?;
    from_sockaddr(&storage, len)
}

/// Sets a socket option to `value`, passing `size_of::<T>()` bytes.
///
/// Safe because the kernel only reads that many bytes from `&value`; a `T`
/// of the wrong type for the option makes the kernel fail with `EINVAL`.
fn setsockopt<T: Copy>(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: T) -> io::Result<()> {
    let len = mem::size_of::<T>() as socklen_t;
    // SAFETY: `value` is live and readable for `len` bytes for the whole call; the fd is borrowed, so open.
    syscall!(setsockopt(
        fd.as_raw_fd(),
        level,
        name,
        ptr::addr_of!(value).cast::<c_void>(),
        len
    ))?;
    Ok(())
}

/// Reads a socket option of type `T`.
///
/// # Safety
///
/// `T` must be a plain-data type for which every bit pattern, including
/// all zeros, is valid (`c_int`, `libc::linger`, ...): the kernel may
/// write fewer than `size_of::<T>()` bytes, and the rest stay zero.
unsafe fn getsockopt<T: Copy>(fd: BorrowedFd<'_>, level: c_int, name: c_int) -> io::Result<T> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = mem::size_of::<T>() as socklen_t;
    // SAFETY: `value` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the kernel writes at most `len` bytes. The fd is borrowed, so open.
    syscall!(getsockopt(
        fd.as_raw_fd(),
        level,
        name,
        value.as_mut_ptr().cast::<c_void>(),
        &mut len
    ))?;
    // SAFETY: the bytes are zeroed or written by the kernel, and the caller guarantees every bit pattern is a valid T.
    Ok(unsafe { value.assume_init() })
}

/// Sets `SO_REUSEADDR` (rebind a port while old connections are in
/// `TIME_WAIT`).
pub fn set_reuseaddr(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, c_int::from(on))
}

/// Sets `SO_REUSEPORT` (several sockets may bind the same port; the
/// kernel load-balances connections between them).
pub fn set_reuseport(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, c_int::from(on))
}

/// Sets `SO_BROADCAST` (allow sending datagrams to broadcast addresses).
pub fn set_broadcast(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, c_int::from(on))
}

/// Returns whether `SO_BROADCAST` is set.
pub fn broadcast(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: SO_BROADCAST is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST)? };
    Ok(on != 0)
}

/// Sets `TCP_NODELAY` (disable Nagle's algorithm: send small segments at
/// once).
pub fn set_nodelay(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, c_int::from(on))
}

/// Returns whether `TCP_NODELAY` is set.
pub fn nodelay(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: TCP_NODELAY is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY)? };
    Ok(on != 0)
}

/// Sets or clears `O_NONBLOCK` (via `ioctl(FIONBIO)`). Fds made by this
/// module start nonblocking; this is for fds from elsewhere.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let mut on = c_int::from(on);
    // SAFETY: FIONBIO reads one c_int through the pointer, and `on` is live for the call; the fd is borrowed, so open.
    syscall!(ioctl(fd.as_raw_fd(), libc::FIONBIO, ptr::addr_of_mut!(on)))?;
    Ok(())
}

/// Sets `SO_LINGER`.
///
/// `None` restores the default: `close` returns at once and the kernel
/// sends unsent data in the background. `Some(Duration::ZERO)` makes
/// `close` discard unsent data and **reset the connection (RST)**.
/// `Some(d)` makes a blocking `close` wait up to `d` for the data to be
/// sent; the kernel counts whole seconds, so `d` is rounded **up** (a
/// sub-second linger must not turn into 0, which would mean "reset") and
/// clamped to `i32::MAX` seconds.
pub fn set_linger(fd: BorrowedFd<'_>, linger: Option<Duration>) -> io::Result<()> {
    let value = match linger {
        None => libc::linger {
            l_onoff: 0,
            l_linger: 0,
        },
        Some(d) => {
            let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() != 0));
            libc::linger {
                l_onoff: 1,
                l_linger: secs.min(c_int::MAX as u64) as c_int,
            }
        }
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, value)
}

/// Returns the `SO_LINGER` setting (see [`set_linger`]).
pub fn linger(fd: BorrowedFd<'_>) -> io::Result<Option<Duration>> {
    // SAFETY: SO_LINGER is a libc::linger option, two c_ints.
    let value: libc::linger = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER)? };
    Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger.max(0) as u64)))
}

/// Requests a receive buffer of `size` bytes (`SO_RCVBUF`, clamped to
/// `i32::MAX`). Linux doubles the value for bookkeeping and caps it at
/// `net.core.rmem_max`.
pub fn set_recv_buffer_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<()> {
    let size = size.min(c_int::MAX as usize) as c_int;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size)
}

/// Returns the receive buffer size (`SO_RCVBUF`), as the kernel reports
/// it (twice the requested size on Linux).
pub fn recv_buffer_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: SO_RCVBUF is a c_int option.
    let size: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)? };
    Ok(size.max(0) as usize)
}

/// Requests a send buffer of `size` bytes (`SO_SNDBUF`, clamped to
/// `i32::MAX`). Linux doubles the value for bookkeeping and caps it at
/// `net.core.wmem_max`.
pub fn set_send_buffer_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<()> {
    let size = size.min(c_int::MAX as usize) as c_int;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, size)
}

/// Returns the send buffer size (`SO_SNDBUF`), as the kernel reports it
/// (twice the requested size on Linux).
pub fn send_buffer_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: SO_SNDBUF is a c_int option.
    let size: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)? };
    Ok(size.max(0) as usize)
}

/// Returns whether `SO_REUSEADDR` is set.
pub fn reuseaddr(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: SO_REUSEADDR is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)? };
    Ok(on != 0)
}

/// Returns whether `SO_REUSEPORT` is set.
pub fn reuseport(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: SO_REUSEPORT is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)? };
    Ok(on != 0)
}

/// Sets `SO_KEEPALIVE` (probe an idle connection; the timing is the
/// kernel's `tcp_keepalive_*` settings).
pub fn set_keepalive(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, c_int::from(on))
}

/// Returns whether `SO_KEEPALIVE` is set.
pub fn keepalive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: SO_KEEPALIVE is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE)? };
    Ok(on != 0)
}

/// Sets the IPv4 time-to-live of outgoing packets (`IP_TTL`).
pub fn set_ttl(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    let ttl = ttl.min(c_int::MAX as u32) as c_int;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, ttl)
}

/// Returns the IPv4 time-to-live (`IP_TTL`).
pub fn ttl(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: IP_TTL is a c_int option.
    let ttl: c_int = unsafe { getsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL)? };
    Ok(ttl.max(0) as u32)
}

/// Joins the IPv4 multicast group `group` on the interface with address
/// `interface` (`IP_ADD_MEMBERSHIP`; `0.0.0.0` lets the kernel choose).
pub fn join_multicast_v4(
    fd: BorrowedFd<'_>,
    group: Ipv4Addr,
    interface: Ipv4Addr,
) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        libc::IP_ADD_MEMBERSHIP,
        ip_mreq(group, interface),
    )
}

/// Leaves an IPv4 multicast group (`IP_DROP_MEMBERSHIP`).
pub fn leave_multicast_v4(
    fd: BorrowedFd<'_>,
    group: Ipv4Addr,
    interface: Ipv4Addr,
) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        ip_mreq(group, interface),
    )
}

fn ip_mreq(group: Ipv4Addr, interface: Ipv4Addr) -> libc::ip_mreq {
    libc::ip_mreq {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from_ne_bytes(group.octets()),
        },
        imr_interface: libc::in_addr {
            s_addr: u32::from_ne_bytes(interface.octets()),
        },
    }
}

/// Joins the IPv6 multicast group `group` on interface index `interface`
/// (`IPV6_ADD_MEMBERSHIP`; 0 lets the kernel choose).
pub fn join_multicast_v6(fd: BorrowedFd<'_>, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_ADD_MEMBERSHIP,
        ipv6_mreq(group, interface),
    )
}

/// Leaves an IPv6 multicast group (`IPV6_DROP_MEMBERSHIP`).
pub fn leave_multicast_v6(fd: BorrowedFd<'_>, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_DROP_MEMBERSHIP,
        ipv6_mreq(group, interface),
    )
}

fn ipv6_mreq(group: &Ipv6Addr, interface: u32) -> libc::ipv6_mreq {
    libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: interface,
    }
}

/// Sets whether multicast packets sent loop back to this host
/// (`IP_MULTICAST_LOOP`).
pub fn set_multicast_loop_v4(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_LOOP,
        c_int::from(on),
    )
}

/// Returns `IP_MULTICAST_LOOP`.
pub fn multicast_loop_v4(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: IP_MULTICAST_LOOP is read back as a c_int (the kernel accepts int or byte).
    let on: c_int = unsafe { getsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)? };
    Ok(on & 0xff != 0)
}

/// Sets the time-to-live of outgoing IPv4 multicast packets
/// (`IP_MULTICAST_TTL`).
pub fn set_multicast_ttl_v4(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    let ttl = ttl.min(c_int::MAX as u32) as c_int;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, ttl)
}

/// Returns `IP_MULTICAST_TTL`.
pub fn multicast_ttl_v4(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: IP_MULTICAST_TTL is read back as a c_int (the kernel writes a byte or an int; the rest stays zero).
    let ttl: c_int = unsafe { getsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)? };
    Ok((ttl & 0xff) as u32)
}

/// Sets whether IPv6 multicast packets sent loop back (`IPV6_MULTICAST_LOOP`).
pub fn set_multicast_loop_v6(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_MULTICAST_LOOP,
        c_int::from(on),
    )
}

/// Returns `IPV6_MULTICAST_LOOP`.
pub fn multicast_loop_v6(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: IPV6_MULTICAST_LOOP is a c_int option.
    let on: c_int = unsafe { getsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)? };
    Ok(on != 0)
}

/// The credentials of the process at the other end of a connected Unix
/// socket, as the kernel recorded them at `connect`/`socketpair` time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    /// Process id (`None` if the kernel reported 0: no process, e.g. across pid namespaces).
    pub pid: Option<i32>,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
}

/// Returns the peer's credentials (`SO_PEERCRED`).
pub fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<PeerCred> {
    // SAFETY: SO_PEERCRED is a libc::ucred option, three integers.
    let cred: libc::ucred = unsafe { getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)? };
    Ok(PeerCred {
        pid: (cred.pid != 0).then_some(cred.pid),
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// Reads into the buffers in order with one `readv(2)`, returning the
/// total byte count; 0 means end of stream. At most the first 1024
/// buffers are used. `EINTR` is retried.
pub fn readv(fd: BorrowedFd<'_>, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
    let len = bufs.len().min(IOV_MAX);
    retry_eintr(|| {
        // SAFETY: IoSliceMut is ABI-compatible with iovec, and the `len` iovecs describe live, writable slices borrowed exclusively for the whole call; the fd is borrowed, so open.
        syscall!(readv(
            fd.as_raw_fd(),
            bufs.as_mut_ptr().cast::<libc::iovec>(),
            len as c_int
        ))
        .map(|n| n as usize)
    })
}

/// Receives one datagram (`recvfrom(2)` with `flags`: 0 or `MSG_PEEK`) into
/// possibly uninitialised memory, returning its length and the sender. The
/// kernel writes exactly the first `n` bytes. `EINTR` is retried.
pub fn recv_from_uninit(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    flags: i32,
) -> io::Result<(usize, SocketAddr)> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    let n = retry_eintr(|| {
        len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
        // SAFETY: `buf` is writable for `buf.len()` bytes (the kernel only writes it), `storage` is writable for `len` bytes and `len` is a writable socklen_t, all live for the whole call; the fd is borrowed, so open.
        syscall!(recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            ptr::addr_of_mut!(storage).cast(),
            &mut len
        ))
        .map(|n| n as usize)
    })?;
    Ok((n.min(buf.len()), from_sockaddr(&storage, len)?))
}

/// Receives into possibly uninitialised memory with `recv(2)` `flags`,
/// returning the byte count (the kernel writes exactly the first `n`
/// bytes). `EINTR` is retried.
pub fn recv_uninit(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    flags: i32,
) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call (the kernel only writes it); the fd is borrowed, so open.
        syscall!(recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags
        ))
        .map(|n| (n as usize).min(buf.len()))
    })
}

/// Reads into `buf` (`read(2)`), returning the byte count; 0 means end of
/// stream (or an empty `buf`). `EINTR` is retried.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call; the fd is borrowed, so open.
        syscall!(read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())).map(|n| n as usize)
    })
}

/// Reads into possibly uninitialized memory (`read(2)`), returning the byte count; the first
/// `n` bytes of `buf` are initialized afterwards. For callers that hand out uninitialized
/// buffers (hyper's `ReadBufCursor`). `EINTR` is retried.
pub fn read_uninit(fd: BorrowedFd<'_>, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call (the kernel only writes, never reads, it); the fd is borrowed, so open.
        syscall!(read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())).map(|n| n as usize)
    })
}

/// Receives into `buf` with `recv(2)` `flags` (`MSG_PEEK`, `MSG_WAITALL`,
/// ...), returning the byte count; 0 means end of stream. `EINTR` is
/// retried.
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call; the fd is borrowed, so open.
        syscall!(recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags
        ))
        .map(|n| n as usize)
    })
}

/// Copies pending data into `buf` without consuming it (`MSG_PEEK`).
/// `EINTR` is retried.
pub fn peek(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    recv(fd, buf, libc::MSG_PEEK)
}

/// Writes `buf` (`write(2)`), returning how many bytes were written.
/// `EINTR` is retried.
///
/// On a socket whose peer has gone this raises `SIGPIPE` unless the
/// process ignores it; prefer [`send`] for sockets.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is readable for `buf.len()` bytes for the whole call; the fd is borrowed, so open.
        syscall!(write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len())).map(|n| n as usize)
    })
}

/// Sends `buf` on a connected socket with `MSG_NOSIGNAL`, returning how
/// many bytes were sent. A closed peer gives `EPIPE`/`ECONNRESET`, never
/// `SIGPIPE`. `EINTR` is retried.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is readable for `buf.len()` bytes for the whole call; the fd is borrowed, so open.
        syscall!(send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL
        ))
        .map(|n| n as usize)
    })
}

/// Sends the buffers in order with one `sendmsg(MSG_NOSIGNAL)`, returning
/// the total number of bytes sent. At most the first 1024 buffers are
/// used. A closed peer gives `EPIPE`/`ECONNRESET`, never `SIGPIPE`.
/// `EINTR` is retried.
pub fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(IOV_MAX)];
    // SAFETY: an all-zero msghdr is valid: null name/control pointers with zero lengths and no flags.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix. The kernel
    // does not write through msg_iov, despite the *mut.
    msg.msg_iov = bufs.as_ptr().cast::<libc::iovec>().cast_mut();
    msg.msg_iovlen = bufs.len();
    retry_eintr(|| {
        // SAFETY: `msg` points to `bufs.len()` iovecs describing live, readable slices borrowed for the whole call, and has no name or control data; the fd is borrowed, so open.
        syscall!(sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)).map(|n| n as usize)
    })
}

/// Sends `buf` as one datagram to `addr` (`sendto(2)` with
/// `MSG_NOSIGNAL`), returning how many bytes were sent. `EINTR` is
/// retried.
pub fn send_to(fd: BorrowedFd<'_>, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
    let (storage, len) = to_sockaddr(addr);
    retry_eintr(|| {
        // SAFETY: `buf` is readable for `buf.len()` bytes and `storage` holds a valid address of `len` bytes, both live for the whole call; the fd is borrowed, so open.
        syscall!(sendto(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            ptr::addr_of!(storage).cast(),
            len
        ))
        .map(|n| n as usize)
    })
}

/// `recvfrom(2)` with `flags`, returning the byte count and the sender.
fn recv_from_flags(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: c_int,
) -> io::Result<(usize, SocketAddr)> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    let n = retry_eintr(|| {
        len = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
        // SAFETY: `buf` is writable for `buf.len()` bytes, `storage` is writable for `len` bytes and `len` is a writable socklen_t, all live for the whole call; the fd is borrowed, so open.
        syscall!(recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            ptr::addr_of_mut!(storage).cast(),
            &mut len
        ))
        .map(|n| n as usize)
    })?;
    Ok((n, from_sockaddr(&storage, len)?))
}

/// Receives one datagram into `buf` (`recvfrom(2)`), returning its length
/// and the sender's address. A datagram longer than `buf` is truncated to
/// `buf.len()` and the rest of it discarded. `EINTR` is retried.
pub fn recv_from(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    recv_from_flags(fd, buf, 0)
}

/// As [`recv_from`], but leaves the datagram queued (`MSG_PEEK`).
pub fn peek_from(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    recv_from_flags(fd, buf, libc::MSG_PEEK)
}

/// Writes the buffers in order with one `writev(2)`, returning the total
/// number of bytes written. At most the first 1024 buffers are used.
/// `EINTR` is retried. Like [`write()`], this may raise `SIGPIPE` on a
/// socket; prefer [`send_vectored`] there.
pub fn writev(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(IOV_MAX)];
    retry_eintr(|| {
        // SAFETY: IoSlice is ABI-compatible with iovec, and the `bufs.len()` iovecs describe live, readable slices borrowed for the whole call; the fd is borrowed, so open.
        syscall!(writev(
            fd.as_raw_fd(),
            bufs.as_ptr().cast::<libc::iovec>(),
            bufs.len() as c_int
        ))
        .map(|n| n as usize)
    })
}

/// Shuts down the reading half, the writing half, or both, of a connected
/// socket. After `Shutdown::Write` the peer reads end of stream.
pub fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: shutdown takes no pointers; the fd is borrowed, so open.
    syscall!(shutdown(fd.as_raw_fd(), how))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn v4_conversion_round_trip() {
        let addr: SocketAddr = "192.168.1.20:8080".parse().unwrap();
        let (storage, len) = to_sockaddr(&addr);
        assert_eq!(len as usize, mem::size_of::<libc::sockaddr_in>());
        assert_eq!(c_int::from(storage.ss_family), libc::AF_INET);
        assert_eq!(from_sockaddr(&storage, len).unwrap(), addr);
    }

    #[test]
    fn v6_conversion_keeps_flowinfo_and_scope_id() {
        let addr = SocketAddr::V6(SocketAddrV6::new(
            "fe80::1:2".parse().unwrap(),
            443,
            0x12345,
            7,
        ));
        let (storage, len) = to_sockaddr(&addr);
        assert_eq!(len as usize, mem::size_of::<libc::sockaddr_in6>());
        assert_eq!(c_int::from(storage.ss_family), libc::AF_INET6);
        let back = from_sockaddr(&storage, len).unwrap();
        assert_eq!(back, addr);
        let SocketAddr::V6(v6) = back else {
            panic!("not v6")
        };
        assert_eq!((v6.flowinfo(), v6.scope_id()), (0x12345, 7));
    }

    #[test]
    fn unknown_family_and_short_length_are_invalid_input() {
        let mut storage = zeroed_storage();
        storage.ss_family = libc::AF_UNIX as libc::sa_family_t;
        let err = from_sockaddr(
            &storage,
            mem::size_of::<libc::sockaddr_storage>() as socklen_t,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .contains("unsupported socket address family"),
            "{err}"
        );

        let (storage, _) = to_sockaddr(&"[::1]:1".parse().unwrap());
        let err = from_sockaddr(&storage, 8).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn options_round_trip() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let fd = tcp_socket(&addr).unwrap();
        let fd = fd.as_fd();
        set_nodelay(fd, true).unwrap();
        assert!(nodelay(fd).unwrap());
        set_nodelay(fd, false).unwrap();
        assert!(!nodelay(fd).unwrap());

        assert_eq!(linger(fd).unwrap(), None);
        set_linger(fd, Some(Duration::from_millis(1))).unwrap();
        assert_eq!(
            linger(fd).unwrap(),
            Some(Duration::from_secs(1)),
            "sub-second linger rounds up"
        );
        set_linger(fd, Some(Duration::ZERO)).unwrap();
        assert_eq!(linger(fd).unwrap(), Some(Duration::ZERO));
        set_linger(fd, None).unwrap();
        assert_eq!(linger(fd).unwrap(), None);

        set_recv_buffer_size(fd, 64 * 1024).unwrap();
        assert!(recv_buffer_size(fd).unwrap() >= 64 * 1024);
        set_send_buffer_size(fd, 64 * 1024).unwrap();
        assert!(send_buffer_size(fd).unwrap() >= 64 * 1024);

        set_reuseaddr(fd, true).unwrap();
        set_reuseport(fd, true).unwrap();
        assert_eq!(take_error(fd).unwrap().map(|e| e.kind()), None);
    }

    #[test]
    fn created_fds_are_nonblocking_and_cloexec() {
        let check = |fd: BorrowedFd<'_>, nonblocking: bool| {
            // SAFETY: F_GETFL takes no pointer argument; the fd is borrowed, so open.
            let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
            // SAFETY: F_GETFD takes no pointer argument; the fd is borrowed, so open.
            let fdfl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert!(fl >= 0 && fdfl >= 0);
            assert_eq!(fl & libc::O_NONBLOCK != 0, nonblocking);
            assert!(fdfl & libc::FD_CLOEXEC != 0);
        };
        let (a, b) = socketpair_stream().unwrap();
        check(a.as_fd(), true);
        check(b.as_fd(), true);
        let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).unwrap();
        check(s.as_fd(), true);
        set_nonblocking(s.as_fd(), false).unwrap();
        check(s.as_fd(), false);
        set_nonblocking(s.as_fd(), true).unwrap();
        check(s.as_fd(), true);
    }
}
