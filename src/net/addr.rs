//! `ToSocketAddrs` and `lookup_host`: addresses that resolve without blocking a worker.
//!
//! An address that is already numeric (a `SocketAddr`, an `(IpAddr, u16)`, or a string that
//! parses as one) resolves on the spot, with no syscall and no thread hand-off. A host name
//! (`"localhost:80"`, `("example.com", 443)`) is resolved with std's resolver
//! (`getaddrinfo`, which may block for as long as DNS takes) on the blocking pool, so the
//! worker goes on running other tasks meanwhile.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::vec;

use crate::runtime::Handle;
use crate::task_core::JoinHandle;

/// Something that resolves to one or more socket addresses, asynchronously: what
/// [`TcpStream::connect`](super::TcpStream::connect), [`TcpListener::bind`](super::TcpListener::bind),
/// [`UdpSocket::bind`](super::UdpSocket::bind) and [`lookup_host`] take. Tokio's trait of the
/// same name, with the same implementations: `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `&[SocketAddr]`, `str`, `String`,
/// `(&str, u16)`, `(String, u16)`, and references to any of them.
///
/// The trait is sealed: its one method is internal.
pub trait ToSocketAddrs: sealed::Resolve {}

/// How the sealed trait's method is named; not part of the public API.
pub mod sealed {
    use super::Resolving;

    /// The resolving half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Resolve {
        /// Starts resolving. Numeric addresses are ready at once; names go to the blocking
        /// pool.
        #[doc(hidden)]
        fn resolve(&self) -> Resolving;
    }
}

/// A resolution in progress: ready already, or a `getaddrinfo` on the blocking pool.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resolving {
    /// Resolved without help (taken on the first poll).
    Ready(Option<io::Result<Vec<SocketAddr>>>),
    /// Waiting for the blocking pool.
    Blocking(JoinHandle<io::Result<Vec<SocketAddr>>>),
}

impl Future for Resolving {
    type Output = io::Result<vec::IntoIter<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let res = match self.get_mut() {
            Resolving::Ready(res) => res.take().unwrap_or_else(|| {
                Err(io::Error::other(
                    "address resolution polled after completion",
                ))
            }),
            Resolving::Blocking(join) => match Pin::new(join).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(res)) => res,
                Poll::Ready(Err(e)) => Err(e.into()),
            },
        };
        Poll::Ready(res.map(Vec::into_iter))
    }
}

fn ready(addrs: Vec<SocketAddr>) -> Resolving {
    Resolving::Ready(Some(Ok(addrs)))
}

/// Resolves `host` (a `"name:port"` string, or a name and a port) with std's resolver on the
/// current runtime's blocking pool.
fn blocking(host: String, port: Option<u16>) -> Resolving {
    let handle = match Handle::try_current() {
        Ok(h) => h,
        Err(_) => {
            return Resolving::Ready(Some(Err(io::Error::other(
                "resolving a host name needs a rawrt runtime (it runs on the blocking pool): \
                 call it from a task, inside Runtime::block_on, or under Handle::enter",
            ))))
        }
    };
    Resolving::Blocking(handle.spawn_blocking(move || {
        let addrs = match port {
            None => std::net::ToSocketAddrs::to_socket_addrs(host.as_str())?,
            Some(port) => std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))?,
        };
        Ok(addrs.collect())
    }))
}

macro_rules! numeric {
    ($($ty:ty => |$v:ident| $addr:expr),* $(,)?) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::Resolve for $ty {
            fn resolve(&self) -> Resolving {
                let $v = *self;
                ready(vec![$addr])
            }
        }
    )*};
}

numeric! {
    SocketAddr => |a| a,
    SocketAddrV4 => |a| SocketAddr::V4(a),
    SocketAddrV6 => |a| SocketAddr::V6(a),
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1),
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1),
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1),
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Resolve for [SocketAddr] {
    fn resolve(&self) -> Resolving {
        ready(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl sealed::Resolve for str {
    fn resolve(&self) -> Resolving {
        match self.parse::<SocketAddr>() {
            Ok(addr) => ready(vec![addr]),
            Err(_) => blocking(self.to_owned(), None),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Resolve for String {
    fn resolve(&self) -> Resolving {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Resolve for (&str, u16) {
    fn resolve(&self) -> Resolving {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => ready(vec![SocketAddr::new(ip, port)]),
            Err(_) => blocking(host.to_owned(), Some(port)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Resolve for (String, u16) {
    fn resolve(&self) -> Resolving {
        (self.0.as_str(), self.1).resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Resolve for &T {
    fn resolve(&self) -> Resolving {
        (**self).resolve()
    }
}

/// Resolves `host` to its socket addresses, without blocking the worker: numeric addresses
/// at once, names through `getaddrinfo` on the blocking pool.
///
/// ```
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let addrs: Vec<_> = rawrt::net::lookup_host("localhost:8080").await?.collect();
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// let exact: Vec<_> = rawrt::net::lookup_host("10.0.0.1:53").await?.collect();
/// assert_eq!(exact, ["10.0.0.1:53".parse().unwrap()]);
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    sealed::Resolve::resolve(&host).await
}

/// Resolves `addr` and runs `f` on each address until one succeeds; the last error otherwise.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in sealed::Resolve::resolve(&addr).await? {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// Resolves `addr` to its first address.
pub(crate) async fn first_addr<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    sealed::Resolve::resolve(&addr)
        .await?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            )
        })
}
