//! The same "Hello, World!" server on Tokio + hyper, for side-by-side comparisons.
//!
//! ```text
//! cargo run --release --example tokio_hello -- --addr 127.0.0.1:3001 --workers 2
//! ```
//!
//! The same protocols as `examples/hello.rs` (HTTP/1.1 keep-alive and HTTP/2 with prior
//! knowledge, `TCP_NODELAY`), on a Tokio multi-thread runtime with the same worker count,
//! written as a Tokio user would: hyper-util's `auto::Builder` picks the protocol.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:3001".parse().unwrap();
    let mut workers = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{flag} needs a value"))
        })?;
        let bad = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
        match flag.as_str() {
            "--addr" => addr = v.parse().map_err(|e| bad(format!("--addr {v}: {e}")))?,
            "--workers" => {
                workers = Some(
                    v.parse::<usize>()
                        .map_err(|e| bad(format!("--workers {v}: {e}")))?,
                )
            }
            other => return Err(bad(format!("unknown argument {other:?}"))),
        }
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
