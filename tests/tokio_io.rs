//! Feature `tokio-io`: crates written against Tokio's I/O traits take rawrt's streams as they
//! are. tokio-util's `Framed` with `LinesCodec`, Tokio's own extension traits, and a TLS
//! handshake with tokio-rustls (certificate made at run time with rcgen), all over
//! `rawrt::net::TcpStream`, with no adapter code and no Tokio runtime.
#![cfg(feature = "tokio-io")]

mod common;

use std::sync::Arc;

use common::{runtime, with_timeout, LIMIT};
use futures_util::{SinkExt, StreamExt};
use rawrt::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec};

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn framed_lines_over_a_rawrt_tcp_stream() {
    with_timeout("framed", LIMIT, || {
        runtime(2, "framed").block_on(async {
            let (client, server) = tcp_pair().await;
            let echo = rawrt::spawn(async move {
                let mut lines = Framed::new(server, LinesCodec::new());
                while let Some(line) = lines.next().await {
                    let line = line.unwrap();
                    lines.send(format!("echo: {line}")).await.unwrap();
                }
            });
            let mut client = Framed::new(client, LinesCodec::new());
            for word in ["one", "two", "three"] {
                client.send(word).await.unwrap();
                assert_eq!(
                    client.next().await.unwrap().unwrap(),
                    format!("echo: {word}")
                );
            }
            drop(client);
            echo.await.unwrap();
        })
    });
}

#[test]
fn tokios_extension_traits_work_on_rawrt_types() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    with_timeout("tokio ext", LIMIT, || {
        runtime(1, "tokioext").block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            AsyncWriteExt::write_all(&mut a, b"abc\ndef\n")
                .await
                .unwrap();
            AsyncWriteExt::shutdown(&mut a).await.unwrap();
            let mut lines = rawrt::io::BufReader::new(&mut b).lines();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("abc"));
            let (x, y) = rawrt::io::duplex(16);
            let (mut x, mut y) = (x, y);
            let writer = rawrt::spawn(async move {
                AsyncWriteExt::write_all(&mut x, &[5u8; 100]).await.unwrap();
            });
            let mut got = [0u8; 100];
            AsyncReadExt::read_exact(&mut y, &mut got).await.unwrap();
            writer.await.unwrap();
            assert!(got.iter().all(|&v| v == 5));
            // tokio::io::copy from a rawrt stream into a Vec.
            let (mut c, d) = rawrt::net::UnixStream::pair().unwrap();
            let (mut rd, _wr) = d.into_split();
            rawrt::io::AsyncWriteExt::write_all(&mut c, b"copied")
                .await
                .unwrap();
            drop(c);
            let mut sink = Vec::new();
            let n = tokio::io::copy(&mut rd, &mut sink).await.unwrap();
            assert_eq!((n, &sink[..]), (6, &b"copied"[..]));
        })
    });
}

#[test]
fn tls_handshake_and_echo_with_tokio_rustls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));

    with_timeout("tls", LIMIT, move || {
        runtime(2, "tls").block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rawrt::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut tls = acceptor.accept(tcp).await.unwrap();
                let mut buf = [0u8; 5];
                tls.read_exact(&mut buf).await.unwrap();
                tls.write_all(&buf).await.unwrap();
                tls.shutdown().await.unwrap();
            });
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(b"hello").await.unwrap();
            let mut back = Vec::new();
            tls.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"hello");
            let (_, session) = tls.get_ref();
            assert!(session.protocol_version().is_some());
            server.await.unwrap();
        })
    });
}
