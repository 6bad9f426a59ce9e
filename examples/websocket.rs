//! A WebSocket echo server and client on rawrt, with tokio-tungstenite over rawrt's
//! `TcpStream` (feature `tokio-io`: rawrt's streams implement Tokio's I/O traits, so no
//! adapter is needed, and nothing of Tokio runs).
//!
//! ```text
//! cargo run --example websocket --features full
//! ```
//!
//! It serves on a free port, connects a client, sends three text messages and a binary one,
//! checks the echoes, closes the connection properly and prints `websocket ok`.

use std::io;

use futures_util::{SinkExt, StreamExt};
use rawrt::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

fn main() -> io::Result<()> {
    let rt = rawrt::Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("serving ws://{addr}/echo");
        let server = rawrt::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut ws = tokio_tungstenite::accept_async(tcp)
                .await
                .map_err(io::Error::other)?;
            while let Some(msg) = ws.next().await {
                match msg.map_err(io::Error::other)? {
                    m @ (Message::Text(_) | Message::Binary(_)) => {
                        ws.send(m).await.map_err(io::Error::other)?
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok::<_, io::Error>(())
        });

        let tcp = TcpStream::connect(addr).await?;
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/echo"), tcp)
            .await
            .map_err(io::Error::other)?;
        let sent = [
            Message::text("one"),
            Message::text("two"),
            Message::text("three"),
            Message::binary(vec![0u8, 1, 2, 255]),
        ];
        for m in &sent {
            ws.send(m.clone()).await.map_err(io::Error::other)?;
            let echo = ws
                .next()
                .await
                .ok_or_else(|| io::Error::other("closed early"))?
                .map_err(io::Error::other)?;
            println!("echo: {echo:?}");
            if &echo != m {
                return Err(io::Error::other(format!("sent {m:?}, got {echo:?}")));
            }
        }
        ws.close(None).await.map_err(io::Error::other)?;
        server.await.map_err(io::Error::other)??;
        println!("websocket ok");
        Ok(())
    })
}
