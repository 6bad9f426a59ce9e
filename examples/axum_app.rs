//! An axum app on rawrt: routes, extractors, JSON in and out, a handler that awaits
//! `rawrt::time::sleep`, a timeout middleware written on `rawrt::time` (a tower `Layer`, in
//! place of tower-http's `TimeoutLayer`, which needs a Tokio runtime), and graceful shutdown.
//!
//! ```text
//! cargo run --example axum_app --features full -- --addr 127.0.0.1:3000
//! curl -s localhost:3000/hello/ada      # {"name":"ada","greeting":"Hello, ada!"}
//! cargo run --example axum_app --features full -- --self-test
//! ```
//!
//! axum is used without its `tokio` feature: connections are accepted by rawrt and served by
//! hyper-util's auto builder, with the router as a hyper service (`TowerToHyperService`).
//! `--self-test` serves on a free port, calls every route with hyper-util's pooled client over
//! `rawrt::hyper::Connector`, checks the answers, shuts down gracefully, and prints
//! `self-test ok`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rawrt::hyper::{Connector, Executor, Timer};
use rawrt::net::TcpListener;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Greeting {
    name: String,
    greeting: String,
}

#[derive(Deserialize)]
struct Slow {
    ms: u64,
}

/// The app: four routes, every request under a 500 ms deadline.
fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on rawrt" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move {
                let greeting = format!("Hello, {name}!");
                Json(Greeting { name, greeting })
            }),
        )
        .route(
            "/echo",
            post(|Json(v): Json<serde_json::Value>| async move { Json(v) }),
        )
        .route(
            "/slow",
            get(|Query(q): Query<Slow>| async move {
                rawrt::time::sleep(Duration::from_millis(q.ms)).await;
                format!("slept {} ms", q.ms)
            }),
        )
        .layer(TimeoutLayer(Duration::from_millis(500)))
}

/// A tower layer that answers `504 Gateway Timeout` when the inner service takes longer than
/// its limit, timed by `rawrt::time` (tower-http's `TimeoutLayer` uses `tokio::time`, which
/// panics without a Tokio runtime).
#[derive(Clone, Copy, Debug)]
struct TimeoutLayer(Duration);

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.0,
        }
    }
}

#[derive(Clone, Debug)]
struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S, B> tower::Service<Request<B>> for Timeout<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (fut, limit) = (self.inner.call(req), self.limit);
        Box::pin(async move {
            match rawrt::time::timeout(limit, fut).await {
                Ok(res) => res,
                Err(_) => Ok((StatusCode::GATEWAY_TIMEOUT, "request timed out").into_response()),
            }
        })
    }
}

/// Serves `app()` on `listener` until `stop` completes, then drains for up to 5 s.
async fn serve(listener: TcpListener, stop: impl Future<Output = ()>) {
    let mut http = auto::Builder::new(Executor::new());
    http.http1()
        .timer(Timer)
        .header_read_timeout(Duration::from_secs(10));
    let http = std::sync::Arc::new(http);
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(app());
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = std::future::poll_fn(|cx| {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        match accepted {
            Some(Ok((stream, _))) => {
                let (http, service) = (http.clone(), service.clone());
                let conn = graceful.watcher();
                rawrt::spawn(async move {
                    let _ = conn.watch(http.serve_connection(stream, service)).await;
                });
            }
            Some(Err(e)) => eprintln!("accept: {e}"),
            None => break,
        }
    }
    drop(listener);
    if rawrt::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("drain deadline passed");
    }
}

async fn self_test() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let (stop_tx, stop_rx) = rawrt::sync::oneshot::channel::<()>();
    let server = rawrt::spawn(serve(listener, async move {
        let _ = stop_rx.await;
    }));
    let client = Client::builder(Executor::new())
        .pool_timer(Timer)
        .build::<_, Full<Bytes>>(Connector::new());
    let call = |method: &str, path: &str, body: &str| {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let client = client.clone();
        async move {
            let res = client.request(req).await.map_err(io::Error::other)?;
            let status = res.status();
            let body = res.into_body().collect().await.map_err(io::Error::other)?;
            Ok::<_, io::Error>((
                status.as_u16(),
                String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            ))
        }
    };
    let check = |what: &str, got: (u16, String), want: (u16, &str)| {
        println!("{what}: {} {}", got.0, got.1);
        if (got.0, got.1.as_str()) != want {
            return Err(io::Error::other(format!(
                "{what}: got {got:?}, want {want:?}"
            )));
        }
        Ok(())
    };
    check(
        "GET /",
        call("GET", "/", "").await?,
        (200, "Hello from axum on rawrt"),
    )?;
    check(
        "GET /hello/ada",
        call("GET", "/hello/ada", "").await?,
        (200, r#"{"name":"ada","greeting":"Hello, ada!"}"#),
    )?;
    check(
        "POST /echo",
        call("POST", "/echo", r#"{"n":[1,2,3]}"#).await?,
        (200, r#"{"n":[1,2,3]}"#),
    )?;
    check(
        "GET /slow?ms=50",
        call("GET", "/slow?ms=50", "").await?,
        (200, "slept 50 ms"),
    )?;
    check(
        "GET /slow?ms=2000",
        call("GET", "/slow?ms=2000", "").await?,
        (504, "request timed out"),
    )?;
    check(
        "GET /missing",
        call("GET", "/missing", "").await?,
        (404, ""),
    )?;
    let _ = stop_tx.send(());
    drop(client);
    server.await.map_err(io::Error::other)?;
    println!("self-test ok");
    Ok(())
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let mut test = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--self-test" => test = true,
            "--addr" => {
                let v = args.next().unwrap_or_default();
                addr = v.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--addr {v}: {e}"))
                })?;
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                    "unknown argument {other:?}; usage: axum_app [--addr IP:PORT] [--self-test]"
                ),
                ))
            }
        }
    }
    let rt = rawrt::Runtime::new()?;
    rt.block_on(async move {
        if test {
            return self_test().await;
        }
        let mut sigterm = rawrt::signal::signal(rawrt::signal::SignalKind::terminate())?;
        let listener = TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        serve(listener, async move {
            ctrl_c_or_sigterm(&mut sigterm).await;
        })
        .await;
        Ok(())
    })
}

/// The first of Ctrl-C and SIGTERM.
async fn ctrl_c_or_sigterm(sigterm: &mut rawrt::signal::Signal) {
    let mut ctrl_c = std::pin::pin!(rawrt::signal::ctrl_c());
    std::future::poll_fn(|cx| {
        if ctrl_c.as_mut().poll(cx).is_ready() || sigterm.poll_recv(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}
