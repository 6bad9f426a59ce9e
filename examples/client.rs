//! hyper-util's pooled HTTP client on rawrt, through `rawrt::hyper::Connector`.
//!
//! ```text
//! cargo run --example client --features full -- http://127.0.0.1:3000/   # fetch a URL
//! cargo run --example client --features full                             # self-test
//! ```
//!
//! With a URL it prints the status and the body. With none it starts a small hyper server
//! on a free port, sends it 10 requests through one pooled client, and prints how many
//! connections they took and `client ok`.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use rawrt::hyper::{Connector, Executor, Timer};

fn main() -> io::Result<()> {
    let url = std::env::args().nth(1);
    let rt = rawrt::Runtime::new()?;
    rt.block_on(async move {
        let client = Client::builder(Executor::new())
            .pool_timer(Timer)
            .build::<_, Empty<Bytes>>(Connector::new());
        if let Some(url) = url {
            let uri = url
                .parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?;
            let res = client.get(uri).await.map_err(io::Error::other)?;
            println!("{}", res.status());
            let body = res.into_body().collect().await.map_err(io::Error::other)?;
            println!("{}", String::from_utf8_lossy(&body.to_bytes()));
            return Ok(());
        }

        let listener = rawrt::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        rawrt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                rawrt::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("pong"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(stream, svc)
                        .await;
                });
            }
        });
        let uri: hyper::Uri = format!("http://{addr}/ping").parse().unwrap();
        for _ in 0..10 {
            let res = client.get(uri.clone()).await.map_err(io::Error::other)?;
            let body = res.into_body().collect().await.map_err(io::Error::other)?;
            if body.to_bytes() != "pong" {
                return Err(io::Error::other("unexpected body"));
            }
        }
        println!(
            "client ok: 10 requests over {} connection(s)",
            accepted.load(Ordering::Relaxed)
        );
        Ok(())
    })
}
