//! HTTPS on rawrt: a hyper server and client over TLS (rustls through tokio-rustls, on the
//! `tokio-io` feature), with a self-signed certificate made at run time (rcgen).
//!
//! ```text
//! cargo run --example tls --features full
//! ```
//!
//! The server accepts rawrt `TcpStream`s and hands them straight to tokio-rustls (rawrt's
//! streams implement Tokio's I/O traits with `tokio-io`); the TLS stream goes to hyper through
//! hyper-util's `TokioIo`. The client connects the same way, sends three requests over one
//! HTTP/1.1 connection, checks the answers and prints `https ok`. Nothing of Tokio runs.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rawrt::net::{TcpListener, TcpStream};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn configs() -> io::Result<(rustls::ServerConfig, rustls::ClientConfig)> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(io::Error::other)?;
    let cert_der = CertificateDer::from(cert.cert.der().to_vec());
    let key_der =
        PrivateKeyDer::try_from(cert.key_pair.serialize_der()).map_err(io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .map_err(io::Error::other)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).map_err(io::Error::other)?;
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((server, client))
}

fn main() -> io::Result<()> {
    let (server_config, client_config) = configs()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let rt = rawrt::Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("serving https://localhost:{}", addr.port());
        rawrt::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                rawrt::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = format!("secure hello for {}", req.uri().path());
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });

        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let tls = connector.connect(name, tcp).await?;
        let (_, session) = tls.get_ref();
        let version = session.protocol_version();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(io::Error::other)?;
        rawrt::spawn(conn);
        for path in ["/a", "/b", "/c"] {
            // One request at a time on one connection: wait until it can take the next.
            sender.ready().await.map_err(io::Error::other)?;
            let req = hyper::Request::get(path)
                .header("host", "localhost")
                .body(Empty::<Bytes>::new())
                .map_err(io::Error::other)?;
            let res = sender.send_request(req).await.map_err(io::Error::other)?;
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(io::Error::other)?
                .to_bytes();
            let text = String::from_utf8_lossy(&body);
            println!("GET {path}: {text}");
            if text != format!("secure hello for {path}") {
                return Err(io::Error::other(format!("unexpected body {text:?}")));
            }
        }
        println!("https ok ({version:?})");
        Ok(())
    })
}
