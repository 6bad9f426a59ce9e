//! hyper 1.x integration (feature `hyper`).
//!
//! [`TcpStream`] and [`UnixStream`] implement `hyper::rt::Read` and `hyper::rt::Write`
//! themselves — no adapter type is needed — and [`Executor`] runs the background tasks of
//! HTTP/2 connections on rawrt.
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::Bytes;
//! use hyper::server::conn::http1;
//! use hyper::service::service_fn;
//!
//! let rt = rawrt::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     rawrt::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let svc = service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("Hello, World!"))))
//!         });
//!         http1::Builder::new().serve_connection(stream, svc).await.unwrap();
//!     });
//!     let stream = rawrt::net::TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
//!     rawrt::spawn(conn);
//!     let req = hyper::Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//!     let res = sender.send_request(req).await.unwrap();
//!     assert_eq!(res.status(), 200);
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<_, std::io::Error>(())
//! ```

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(feature = "hyper-util")]
mod connector;

#[cfg(feature = "hyper-util")]
pub use connector::{Connecting, Connector, UnixConnector};

use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::net::{TcpStream, UnixStream};
use crate::runtime::Handle;

/// Implements `hyper::rt::Read` and `hyper::rt::Write` for a stream type, through its
/// `rawrt::io::AsyncRead`/`AsyncWrite` implementations.
macro_rules! impl_hyper_io {
    ($ty:ty) => {
        impl hyper::rt::Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: hyper::rt::ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: the `ReadBuf` over hyper's unfilled memory is only written by the
                // stream's read (read(2) into uninitialised memory), never de-initialised.
                let mut rb = ReadBuf::uninit(unsafe { buf.as_mut() });
                match AsyncRead::poll_read(self, cx, &mut rb) {
                    Poll::Ready(Ok(())) => {}
                    other => return other,
                }
                let n = rb.filled().len();
                // SAFETY: the read initialised (filled) exactly `n` bytes at the cursor's front.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl hyper::rt::Write for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }

            fn is_write_vectored(&self) -> bool {
                AsyncWrite::is_write_vectored(self)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write_vectored(self, cx, bufs)
            }
        }
    };
}

impl_hyper_io!(TcpStream);
impl_hyper_io!(UnixStream);

/// Runs hyper's background futures (HTTP/2 connection tasks) as rawrt tasks.
///
/// `Executor::new()` spawns on the runtime current at `execute` time (like `rawrt::spawn`);
/// `Executor::with_handle` pins it to one runtime.
///
/// ```
/// let builder = hyper::server::conn::http2::Builder::new(rawrt::hyper::Executor::new());
/// # drop(builder);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Executor {
    handle: Option<Handle>,
}

impl Executor {
    /// Spawns on the current runtime.
    pub fn new() -> Executor {
        Executor { handle: None }
    }

    /// Spawns on the runtime of `handle`, from any thread.
    pub fn with_handle(handle: Handle) -> Executor {
        Executor {
            handle: Some(handle),
        }
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        match &self.handle {
            Some(h) => drop(h.spawn(fut)),
            None => drop(crate::spawn(fut)),
        }
    }
}

/// hyper's timer on rawrt's timing wheel, for `header_read_timeout`, keep-alive timeouts and
/// HTTP/2 pings.
///
/// ```
/// use std::time::Duration;
/// let builder = hyper::server::conn::http1::Builder::new()
///     .timer(rawrt::hyper::Timer)
///     .header_read_timeout(Duration::from_secs(5))
///     .clone();
/// # drop(builder);
/// ```
///
/// Its sleeps are `Send + Sync`, can be woken from any thread, and find the runtime when first
/// polled (hyper polls them inside the connection's task).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

/// A [`crate::time::Sleep`] as a `hyper::rt::Sleep`.
struct HyperSleep(crate::time::Sleep);

impl Future for HyperSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: std::time::Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep_until(deadline.into())))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => Pin::new(&mut ours.0).reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
