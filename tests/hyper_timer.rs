//! `rawrt::hyper::Timer`: hyper's `header_read_timeout` closes a slowloris connection in time
//! while other clients keep being served.
#![cfg(feature = "hyper")]

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;

#[test]
fn slowloris_is_disconnected_within_timeout_plus_one_second() {
    const TIMEOUT: Duration = Duration::from_secs(2);
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let addr = common::serve_each(&rt, |stream| async move {
        let svc = service_fn(|_req| async {
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                "Hello, World!",
            ))))
        });
        let _ = http1::Builder::new()
            .timer(rawrt::hyper::Timer)
            .header_read_timeout(TIMEOUT)
            .serve_connection(stream, svc)
            .await;
    });

    // The slow client: one header byte per second; a reader thread notes when the server
    // closes the connection.
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    let mut reader = slow.try_clone().unwrap();
    let start = Instant::now();
    let closed = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {} // a 408 or similar before the close is fine
            }
        }
    });
    let request = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let writer = std::thread::spawn(move || {
        for &b in request.iter() {
            if slow.write_all(&[b]).is_err() || start.elapsed() > Duration::from_secs(10) {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });

    // Meanwhile, other clients are served normally.
    let mut served = 0;
    while !closed.is_finished() && start.elapsed() < Duration::from_secs(10) {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: fast\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut resp = String::new();
        c.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
        assert!(resp.ends_with("Hello, World!"), "{resp}");
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed_at = closed.join().unwrap();
    let took = closed_at - start;
    writer.join().unwrap();
    assert!(
        took >= TIMEOUT - Duration::from_millis(100),
        "closed too early: {took:?}"
    );
    assert!(
        took <= TIMEOUT + Duration::from_secs(1),
        "slowloris held the connection for {took:?}"
    );
    assert!(
        served >= 5,
        "other clients were served meanwhile ({served})"
    );
}
