//! Unix-domain (`AF_UNIX`) socket calls, and conversion between
//! [`std::os::unix::net::SocketAddr`] and `libc::sockaddr_un`.
//!
//! The calls that are the same for every family (`listen`, `read`,
//! `send`, `shutdown`, options, ...) are in [`socket`](crate::socket) and
//! work on Unix sockets too; [`socket::socketpair_stream`] makes a
//! connected pair. This module has the ones whose address is a
//! `sockaddr_un`. The conventions of [`socket`](crate::socket) hold:
//! every fd made here is nonblocking and close-on-exec, [`accept`] retries
//! `EINTR`, and [`connect`] does not.
//!
//! # Addresses
//!
//! All three kinds of Unix address are supported, in both directions:
//!
//! * **pathname**: a file system path, shorter than 108 bytes (the size of
//!   `sun_path`, which must also hold the terminating NUL) and without NUL
//!   bytes;
//! * **unnamed**: a socket that was never bound, such as either end of a
//!   socket pair, or the client end of most connections. Binding an
//!   unnamed address makes Linux *autobind* the socket to a fresh abstract
//!   name;
//! * **abstract** (Linux only): a name in a namespace of its own, with no
//!   file behind it, written as `sun_path` starting with a NUL byte; up to
//!   107 bytes. Build one with
//!   [`SocketAddrExt::from_abstract_name`].
//!
//! [`socket::socketpair_stream`]: crate::socket::socketpair_stream

use std::ffi::OsStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;

use libc::{c_int, socklen_t};

use crate::socket::{owned, retry_eintr, NEW_FD_FLAGS};

/// Offset of `sun_path` in `sockaddr_un`: the length of an unnamed address.
const PATH_OFFSET: usize = mem::size_of::<libc::sa_family_t>();

/// Capacity of `sun_path`.
const SUN_PATH_LEN: usize = 108;

// `sun_path` follows `sun_family` directly, and holds 108 bytes.
const _: () = assert!(mem::size_of::<libc::sockaddr_un>() == PATH_OFFSET + SUN_PATH_LEN);

/// Returns an all-zero `sockaddr_un`.
fn zeroed_sockaddr_un() -> libc::sockaddr_un {
    // SAFETY: sockaddr_un contains only integers, for which all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

/// Creates a nonblocking, close-on-exec Unix-domain stream socket
/// (`AF_UNIX`, `SOCK_STREAM`).
pub fn stream_socket() -> io::Result<OwnedFd> {
    crate::socket::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0)
}

/// Creates a nonblocking, close-on-exec Unix-domain datagram socket
/// (`AF_UNIX`, `SOCK_DGRAM`).
pub fn datagram_socket() -> io::Result<OwnedFd> {
    crate::socket::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0)
}

/// Creates a connected pair of nonblocking, close-on-exec Unix-domain
/// datagram sockets.
pub fn socketpair_datagram() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: `fds` is a writable array of two c_ints, which is what socketpair fills in.
    syscall!(socketpair(
        libc::AF_UNIX,
        libc::SOCK_DGRAM | NEW_FD_FLAGS,
        0,
        fds.as_mut_ptr()
    ))?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// Sends `buf` as one datagram to `addr` (`sendto(2)` with `MSG_NOSIGNAL`).
/// `EINTR` is retried.
pub fn send_to(fd: BorrowedFd<'_>, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
    let (sun, len) = to_sockaddr_un(addr)?;
    retry_eintr(|| {
        // SAFETY: `buf` is readable for `buf.len()` bytes and `sun` holds a valid sockaddr_un of `len` bytes, both live for the call; the fd is borrowed, so open.
        syscall!(sendto(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            ptr::addr_of!(sun).cast(),
            len
        ))
        .map(|n| n as usize)
    })
}

/// Receives one datagram (`recvfrom(2)` with `flags`: 0 or `MSG_PEEK`) into
/// possibly uninitialised memory, returning its length (the kernel writes
/// exactly that many bytes; a longer datagram is truncated) and the
/// sender's address (unnamed if it never bound). `EINTR` is retried.
pub fn recv_from(
    fd: BorrowedFd<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
    flags: i32,
) -> io::Result<(usize, SocketAddr)> {
    let mut sun = zeroed_sockaddr_un();
    let mut len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
    let n = retry_eintr(|| {
        len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
        // SAFETY: `buf` is writable for `buf.len()` bytes (the kernel only writes it), `sun` is writable for `len` bytes and `len` is a writable socklen_t, all live for the call; the fd is borrowed, so open.
        syscall!(recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            ptr::addr_of_mut!(sun).cast(),
            &mut len
        ))
        .map(|n| n as usize)
    })?;
    Ok((n.min(buf.len()), from_sockaddr_un(&sun, len)?))
}

/// Builds an address from a path the way Linux programs spell them: a
/// path whose first byte is NUL (`"\0name"`) is the **abstract** name
/// `name`; any other path is a pathname address ([`pathname_addr`]).
pub fn path_addr(path: &Path) -> io::Result<SocketAddr> {
    match path.as_os_str().as_bytes() {
        [0, name @ ..] => SocketAddr::from_abstract_name(name),
        _ => pathname_addr(path),
    }
}

/// Returns the unnamed Unix socket address (see the [module docs](self)).
pub fn unnamed_addr() -> SocketAddr {
    // `from_pathname("")` gives an address of length `PATH_OFFSET`, which
    // std reports as unnamed. Should std ever stop doing so, fall back to
    // asking the kernel for the address of a socket that was never bound.
    match SocketAddr::from_pathname("") {
        Ok(addr) if addr.is_unnamed() => addr,
        _ => {
            static UNNAMED: OnceLock<SocketAddr> = OnceLock::new();
            UNNAMED
                .get_or_init(|| {
                    std::os::unix::net::UnixDatagram::unbound()
                        .and_then(|s| s.local_addr())
                        .expect("cannot build an unnamed Unix socket address")
                })
                .clone()
        }
    }
}

/// Builds a pathname address from `path`.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if `path` contains a NUL
/// byte or is 108 bytes or longer. An empty `path` gives the unnamed
/// address.
pub fn pathname_addr(path: &Path) -> io::Result<SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Unix socket path {path:?} contains a NUL byte"),
        ));
    }
    if bytes.len() >= SUN_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket path is {} bytes long; at most {} fit in sun_path",
                bytes.len(),
                SUN_PATH_LEN - 1
            ),
        ));
    }
    if bytes.is_empty() {
        return Ok(unnamed_addr());
    }
    SocketAddr::from_pathname(path)
}

/// Converts `addr` to a `sockaddr_un` and its length, ready to pass to
/// `bind` or `connect`.
///
/// A pathname's length counts its terminating NUL; an abstract name's
/// counts its leading NUL and no terminator (the name is exactly the
/// bytes given); an unnamed address is just the family. Fails with
/// [`io::ErrorKind::InvalidInput`] if the name does not fit.
pub fn to_sockaddr_un(addr: &SocketAddr) -> io::Result<(libc::sockaddr_un, socklen_t)> {
    let mut sun = zeroed_sockaddr_un();
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let (skip, name): (usize, &[u8]) = if let Some(path) = addr.as_pathname() {
        (0, path.as_os_str().as_bytes())
    } else if let Some(name) = addr.as_abstract_name() {
        (1, name)
    } else {
        return Ok((sun, PATH_OFFSET as socklen_t));
    };
    // A pathname needs room for its NUL terminator; an abstract name for
    // its leading NUL.
    if name.len() + 1 > SUN_PATH_LEN || (skip == 0 && name.contains(&0)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket address of {} bytes does not fit in sun_path ({SUN_PATH_LEN} bytes)",
                name.len()
            ),
        ));
    }
    for (dst, &src) in sun.sun_path[skip..].iter_mut().zip(name) {
        *dst = src as libc::c_char;
    }
    // Pathname: the name plus its NUL (already zero). Abstract: the leading
    // NUL plus the name.
    let len = PATH_OFFSET + name.len() + 1;
    Ok((sun, len as socklen_t))
}

/// Converts the first `len` bytes of `sun`, as filled in by `accept`,
/// `getsockname`, `getpeername` and the like, to a [`SocketAddr`].
///
/// A length of just the family (or less) is the unnamed address; a
/// `sun_path` starting with NUL is an abstract name of the remaining
/// `len` bytes; anything else is a pathname, which ends at the first NUL
/// (or at `len`). Fails with [`io::ErrorKind::InvalidInput`] if the family
/// is not `AF_UNIX`.
pub fn from_sockaddr_un(sun: &libc::sockaddr_un, len: socklen_t) -> io::Result<SocketAddr> {
    let family = c_int::from(sun.sun_family);
    if family != libc::AF_UNIX && len as usize >= PATH_OFFSET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsupported socket address family {family} (expected AF_UNIX)"),
        ));
    }
    let path_len = (len as usize).saturating_sub(PATH_OFFSET).min(SUN_PATH_LEN);
    let bytes: Vec<u8> = sun.sun_path[..path_len].iter().map(|&c| c as u8).collect();
    match bytes.split_first() {
        None => Ok(unnamed_addr()),
        Some((0, name)) => SocketAddr::from_abstract_name(name),
        Some(_) => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            SocketAddr::from_pathname(OsStr::from_bytes(&bytes[..end]))
        }
    }
}

/// Binds the socket to `addr`. For a pathname this creates the socket
/// file, failing with `AddrInUse` if the path exists (remove a stale file
/// first); an unnamed `addr` autobinds to a fresh abstract name.
pub fn bind(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (sun, len) = to_sockaddr_un(addr)?;
    // SAFETY: `sun` holds a valid sockaddr_un of at least `len` bytes and outlives the call; the fd is borrowed, so open.
    syscall!(bind(fd.as_raw_fd(), ptr::addr_of!(sun).cast(), len))?;
    Ok(())
}

/// Connects the socket to the listener at `addr`.
///
/// A Unix stream connect completes at once: it succeeds, or fails with
/// `NotFound` (no such path), `ConnectionRefused` (nothing listens there)
/// or `WouldBlock` (`EAGAIN`: the listener's backlog is full; try again
/// later). `EINPROGRESS` is not expected but, should it come, means what
/// it means for IP sockets ([`socket::is_in_progress`](crate::socket::is_in_progress)).
/// Not retried on `EINTR`.
pub fn connect(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (sun, len) = to_sockaddr_un(addr)?;
    // SAFETY: `sun` holds a valid sockaddr_un of at least `len` bytes and outlives the call; the fd is borrowed, so open.
    syscall!(connect(fd.as_raw_fd(), ptr::addr_of!(sun).cast(), len))?;
    Ok(())
}

/// Accepts a pending connection on a listening Unix socket, returning the
/// new nonblocking, close-on-exec fd and the peer's address (usually
/// unnamed). Fails with `WouldBlock` when no connection is pending.
/// `EINTR` is retried.
pub fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, SocketAddr)> {
    let mut sun = zeroed_sockaddr_un();
    let mut len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
    let new_fd = retry_eintr(|| {
        len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
        // SAFETY: `sun` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
        syscall!(accept4(
            fd.as_raw_fd(),
            ptr::addr_of_mut!(sun).cast(),
            &mut len,
            NEW_FD_FLAGS
        ))
        .map(owned)
    })?;
    Ok((new_fd, from_sockaddr_un(&sun, len)?))
}

/// Returns the address the socket is bound to (`getsockname`); unnamed if
/// it never was.
pub fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut sun = zeroed_sockaddr_un();
    let mut len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
    // SAFETY: `sun` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
    syscall!(getsockname(
        fd.as_raw_fd(),
        ptr::addr_of_mut!(sun).cast(),
        &mut len
    ))?;
    from_sockaddr_un(&sun, len)
}

/// Returns the address of the connected peer (`getpeername`); fails with
/// `ENOTCONN` if the socket is not connected.
pub fn peer_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut sun = zeroed_sockaddr_un();
    let mut len = mem::size_of::<libc::sockaddr_un>() as socklen_t;
    // SAFETY: `sun` is writable for `len` bytes and `len` is a writable socklen_t, both live for the call; the fd is borrowed, so open.
    syscall!(getpeername(
        fd.as_raw_fd(),
        ptr::addr_of_mut!(sun).cast(),
        &mut len
    ))?;
    from_sockaddr_un(&sun, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn round_trip(addr: &SocketAddr) -> (SocketAddr, socklen_t) {
        let (sun, len) = to_sockaddr_un(addr).unwrap();
        assert_eq!(c_int::from(sun.sun_family), libc::AF_UNIX);
        (from_sockaddr_un(&sun, len).unwrap(), len)
    }

    #[test]
    fn pathname_round_trip() {
        let addr = pathname_addr(Path::new("/tmp/some.sock")).unwrap();
        let (back, len) = round_trip(&addr);
        assert_eq!(len as usize, PATH_OFFSET + "/tmp/some.sock".len() + 1);
        assert_eq!(back.as_pathname(), Some(Path::new("/tmp/some.sock")));
        assert!(!back.is_unnamed());
        assert_eq!(back.as_abstract_name(), None);

        // The longest path that fits: 107 bytes and the NUL.
        let long = "a".repeat(SUN_PATH_LEN - 1);
        let addr = pathname_addr(Path::new(&long)).unwrap();
        let (back, len) = round_trip(&addr);
        assert_eq!(len as usize, mem::size_of::<libc::sockaddr_un>());
        assert_eq!(back.as_pathname(), Some(Path::new(&long)));
    }

    #[test]
    fn pathname_without_terminator_and_with_trailing_garbage_length() {
        // Some kernels report the length without the NUL.
        let mut sun = zeroed_sockaddr_un();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in sun.sun_path.iter_mut().zip(b"rel.sock") {
            *d = *s as libc::c_char;
        }
        let addr = from_sockaddr_un(&sun, (PATH_OFFSET + 8) as socklen_t).unwrap();
        assert_eq!(addr.as_pathname(), Some(Path::new("rel.sock")));
        // A length past the NUL: the path still ends at the NUL.
        let addr =
            from_sockaddr_un(&sun, mem::size_of::<libc::sockaddr_un>() as socklen_t).unwrap();
        assert_eq!(addr.as_pathname(), Some(Path::new("rel.sock")));
    }

    #[test]
    fn unnamed_round_trip() {
        let addr = unnamed_addr();
        assert!(addr.is_unnamed());
        let (back, len) = round_trip(&addr);
        assert_eq!(len as usize, PATH_OFFSET);
        assert!(back.is_unnamed());
        assert!(pathname_addr(Path::new("")).unwrap().is_unnamed());
        // A zero length (as some calls report for unnamed peers) is unnamed too.
        let sun = zeroed_sockaddr_un();
        assert!(from_sockaddr_un(&sun, 0).unwrap().is_unnamed());
    }

    #[test]
    fn abstract_round_trip() {
        let addr = SocketAddr::from_abstract_name(b"rawrt\0with-nul").unwrap();
        let (back, len) = round_trip(&addr);
        assert_eq!(len as usize, PATH_OFFSET + 1 + 14);
        assert_eq!(back.as_abstract_name(), Some(&b"rawrt\0with-nul"[..]));
        assert_eq!(back.as_pathname(), None);

        // The empty abstract name is not the unnamed address.
        let empty = SocketAddr::from_abstract_name(b"").unwrap();
        let (back, len) = round_trip(&empty);
        assert_eq!(len as usize, PATH_OFFSET + 1);
        assert_eq!(back.as_abstract_name(), Some(&b""[..]));
        assert!(!back.is_unnamed());
    }

    #[test]
    fn bad_paths_and_families_are_invalid_input() {
        let err = pathname_addr(Path::new(&"a".repeat(SUN_PATH_LEN))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let err = pathname_addr(Path::new("a\0b")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

        let mut sun = zeroed_sockaddr_un();
        sun.sun_family = libc::AF_INET as libc::sa_family_t;
        let err = from_sockaddr_un(&sun, 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("expected AF_UNIX"), "{err}");
    }

    #[test]
    fn stream_socket_is_unnamed_until_bound() {
        let fd = stream_socket().unwrap();
        assert!(local_addr(fd.as_fd()).unwrap().is_unnamed());
        let err = peer_addr(fd.as_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");
        // Binding the unnamed address autobinds to an abstract name.
        bind(fd.as_fd(), &unnamed_addr()).unwrap();
        assert!(local_addr(fd.as_fd()).unwrap().as_abstract_name().is_some());
    }
}
