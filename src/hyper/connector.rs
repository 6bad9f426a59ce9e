//! Connectors for hyper-util's pooled client (feature `hyper-util`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};

use crate::net::{lookup_host, TcpSocket, TcpStream, UnixStream};

/// A connector for `hyper_util::client::legacy::Client`: plain-HTTP connections over
/// rawrt's `TcpStream`, so the pooled client runs on rawrt with no Tokio runtime.
///
/// The host is resolved with [`lookup_host`] (numeric addresses at once, names on the blocking
/// pool, never on a worker); each address is tried in turn (IPv6 and IPv4 as the resolver
/// orders them) with the [connect timeout](Self::connect_timeout) applied to each; the stream
/// gets `TCP_NODELAY` unless [`set_nodelay(false)`](Self::set_nodelay). Errors are
/// `io::Error`s with the OS's `raw_os_error` kept (a refused connection is
/// `ECONNREFUSED`); a timed-out attempt is `ErrorKind::TimedOut`. Only `http://` URIs: for
/// TLS wrap the stream (tokio-rustls over the `tokio-io` feature, say) in a connector of
/// your own around this one.
///
/// ```
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use rawrt::hyper::{Connector, Executor, Timer};
///
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// # let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # rawrt::spawn(async move {
/// #     let (s, _) = listener.accept().await.unwrap();
/// #     let svc = hyper::service::service_fn(|_r| async {
/// #         Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(Bytes::from("hi"))))
/// #     });
/// #     hyper::server::conn::http1::Builder::new().serve_connection(s, svc).await.unwrap();
/// # });
/// let client = Client::builder(Executor::new())
///     .pool_timer(Timer)
///     .build::<_, Empty<Bytes>>(Connector::new());
/// let res = client.get(format!("http://{addr}/").parse().unwrap()).await.unwrap();
/// assert_eq!(res.status(), 200);
/// let body = res.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"hi");
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Connector {
    connect_timeout: Option<Duration>,
    nodelay: bool,
}

impl Default for Connector {
    fn default() -> Connector {
        Connector::new()
    }
}

impl Connector {
    /// A connector with a 10 s connect timeout per address and `TCP_NODELAY` on.
    pub fn new() -> Connector {
        Connector {
            connect_timeout: Some(Duration::from_secs(10)),
            nodelay: true,
        }
    }

    /// The time allowed for each address's TCP handshake; `None` waits as long as the kernel
    /// does.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Connector {
        self.connect_timeout = timeout;
        self
    }

    /// Whether streams get `TCP_NODELAY` (default on: requests are small writes).
    pub fn set_nodelay(mut self, nodelay: bool) -> Connector {
        self.nodelay = nodelay;
        self
    }

    async fn connect(self, uri: Uri) -> io::Result<TcpStream> {
        if uri.scheme_str().is_some_and(|s| s != "http") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("rawrt::hyper::Connector speaks plain http, not {uri}"),
            ));
        }
        let host = uri.host().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {uri}"))
        })?;
        // An IPv6 literal comes bracketed in a URI.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(80);
        let mut last = None;
        for addr in lookup_host((host, port)).await? {
            match self.connect_one(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolved to no address"),
            )
        }))
    }

    async fn connect_one(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.set_nodelay(self.nodelay)?;
        match self.connect_timeout {
            None => socket.connect(addr).await,
            Some(limit) => match crate::time::timeout(limit, socket.connect(addr)).await {
                Ok(res) => res,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out after {limit:?}"),
                )),
            },
        }
    }
}

/// The future of a connection attempt.
pub struct Connecting<S>(Pin<Box<dyn Future<Output = io::Result<S>> + Send>>);

impl<S> Future for Connecting<S> {
    type Output = io::Result<S>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<S>> {
        self.0.as_mut().poll(cx)
    }
}

impl<S> std::fmt::Debug for Connecting<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connecting")
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TcpStream;
    type Error = io::Error;
    type Future = Connecting<TcpStream>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Connecting(Box::pin(self.clone().connect(uri)))
    }
}

/// A connector that sends every request to one Unix-domain socket (a local daemon's API,
/// say), whatever the URI's host: `http://localhost/v1/...` reaches `path`.
///
/// ```no_run
/// use http_body_util::Empty;
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use rawrt::hyper::{Executor, UnixConnector};
///
/// # let rt = rawrt::Runtime::new()?;
/// # rt.block_on(async {
/// let client = Client::builder(Executor::new())
///     .build::<_, Empty<Bytes>>(UnixConnector::new("/run/some-daemon.sock"));
/// let res = client.get("http://localhost/version".parse().unwrap()).await;
/// # drop(res);
/// # Ok::<_, std::io::Error>(()) })?;
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct UnixConnector {
    path: Arc<PathBuf>,
}

impl UnixConnector {
    /// Connects every request to the socket at `path` (a leading NUL: an abstract name).
    pub fn new(path: impl Into<PathBuf>) -> UnixConnector {
        UnixConnector {
            path: Arc::new(path.into()),
        }
    }
}

impl tower_service::Service<Uri> for UnixConnector {
    type Response = UnixStream;
    type Error = io::Error;
    type Future = Connecting<UnixStream>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let path = self.path.clone();
        Connecting(Box::pin(async move { UnixStream::connect(&*path).await }))
    }
}

impl Connection for TcpStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Connection for UnixStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}
