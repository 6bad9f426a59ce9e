//! `futures_io::AsyncRead`/`AsyncWrite` for `TcpStream` and `UnixStream` (feature `futures-io`),
//! driven through futures-util's extension traits.
#![cfg(feature = "futures-io")]

mod common;

use std::future::Future;

use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use futures_util::StreamExt;
use rawrt::net::{TcpListener, TcpStream, UnixStream};

/// Runs `fut` on a fresh two-worker runtime, under the shared watchdog
/// (`common::with_timeout`): a hang fails the test instead of blocking the run.
fn run(fut: impl Future<Output = ()> + Send + 'static) {
    common::with_timeout("test body", common::LIMIT, move || {
        let rt = rawrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(fut);
    });
}

/// A connected TCP pair on loopback: (client, server).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn tcp_write_all_close_and_read_to_end() {
    run(async {
        let (mut client, mut server) = tcp_pair().await;
        let request = pattern(300_000);
        let expected = request.clone();
        let srv = rawrt::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, expected);
            server.write_all(b"received").await.unwrap();
            server.flush().await.unwrap();
            server.close().await.unwrap();
        });
        client.write_all(&request).await.unwrap();
        // close = shutdown(Write): the server's read_to_end ends.
        client.close().await.unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, "received");
        srv.await.unwrap();
    });
}

#[test]
fn unix_write_all_close_and_read_to_end() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let data = pattern(1 << 20);
        let expected = data.clone();
        let writer = rawrt::spawn(async move {
            a.write_all(&data).await.unwrap();
            a.close().await.unwrap();
            // Closing twice is harmless.
            a.close().await.unwrap();
        });
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, expected);
        writer.await.unwrap();

        let mut exact = [0u8; 4];
        let (mut c, mut d) = UnixStream::pair().unwrap();
        c.write_all(b"abcd").await.unwrap();
        d.read_exact(&mut exact).await.unwrap();
        assert_eq!(&exact, b"abcd");
    });
}

#[test]
fn copy_from_unix_to_tcp_through_references() {
    const LEN: usize = 2 << 20;
    run(async {
        let (mut unix_in, unix_out) = UnixStream::pair().unwrap();
        let (tcp_in, mut tcp_out) = tcp_pair().await;

        let producer = rawrt::spawn(async move {
            unix_in.write_all(&pattern(LEN)).await.unwrap();
            unix_in.close().await.unwrap();
        });
        // Copy through `&UnixStream` (reader) and `&TcpStream` (writer).
        let pump = rawrt::spawn(async move {
            let n = futures_util::io::copy(&unix_out, &mut &tcp_in)
                .await
                .unwrap();
            (&tcp_in).close().await.unwrap();
            n
        });
        let mut got = Vec::new();
        tcp_out.read_to_end(&mut got).await.unwrap();
        assert_eq!(pump.await.unwrap(), LEN as u64);
        producer.await.unwrap();
        assert!(got == pattern(LEN), "copied bytes differ");
    });
}

#[test]
fn echo_by_copying_a_stream_onto_itself() {
    // One stream, read and written at once through two shared references.
    run(async {
        let (mut client, server) = tcp_pair().await;
        let echo = rawrt::spawn(async move {
            let n = futures_util::io::copy(&server, &mut &server).await.unwrap();
            (&server).close().await.unwrap();
            n
        });
        let data = pattern(500_000);
        let (mut r, mut w) = (&client, &client);
        let write = async {
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
        };
        let mut got = Vec::new();
        let read = r.read_to_end(&mut got);
        let ((), n) = futures_util::future::join(write, read).await;
        assert_eq!(n.unwrap(), data.len());
        assert!(got == data, "echoed bytes differ");
        assert_eq!(echo.await.unwrap(), data.len() as u64);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn lines_codec_over_unix() {
    run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let writer = rawrt::spawn(async move {
            for i in 0..500 {
                a.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
            }
            a.close().await.unwrap();
        });
        let lines: Vec<String> = BufReader::new(b)
            .lines()
            .map(|l| l.unwrap())
            .collect()
            .await;
        assert_eq!(lines.len(), 500);
        assert!(lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}")));
        writer.await.unwrap();
    });
}
