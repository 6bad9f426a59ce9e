//! hyper on rawrt under abuse: oversized headers (431), an oversized URI (414), malformed
//! request lines (400), a pipelined flood, slow and vanishing clients — the server answers
//! each with the right status or closes it, never crashes, and keeps serving others.
#![cfg(feature = "hyper")]

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;

/// Starts a hello server (hyper timer, 2 s header timeout, 8 KiB buffer, half-close support)
/// and returns its runtime (keep it alive) and address.
fn server() -> (rawrt::Runtime, SocketAddr) {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let addr = common::serve_each(&rt, |stream| async move {
        let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
            let body = format!("Hello, {}!", req.uri().path());
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
        });
        let _ = http1::Builder::new()
            .timer(rawrt::hyper::Timer)
            .header_read_timeout(Duration::from_secs(2))
            .max_buf_size(8 * 1024)
            .half_close(true)
            .serve_connection(stream, svc)
            .await;
    });
    (rt, addr)
}

fn client(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Sends raw bytes, reads until the server closes (or 10 s), returns what came back.
fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut c = client(addr);
    // The server may close before reading everything (it rejected the request early).
    let _ = c.write_all(raw);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status(resp: &str) -> Option<u16> {
    resp.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn still_serves(addr: SocketAddr) {
    let resp = exchange(
        addr,
        b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&resp), Some(200), "{resp}");
    assert!(resp.ends_with("Hello, /ok!"), "{resp}");
}

#[test]
fn oversized_headers_get_431() {
    let (_rt, addr) = server();
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..400 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(60)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let resp = exchange(addr, &req);
    assert_eq!(status(&resp), Some(431), "{resp}");
    still_serves(addr);
}

#[test]
fn oversized_uri_gets_414() {
    let (_rt, addr) = server();
    let req = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "u".repeat(70_000));
    let resp = exchange(addr, req.as_bytes());
    // hyper answers 414 when the URI alone is too long, 431 when the buffer fills first.
    assert!(
        matches!(status(&resp), Some(414) | Some(431)),
        "{}",
        &resp[..resp.len().min(200)]
    );
    still_serves(addr);
}

#[test]
fn malformed_request_lines_get_400() {
    let (_rt, addr) = server();
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"\x00\x01\x02\x03\r\n\r\n",
    ] {
        let resp = exchange(addr, bad);
        assert!(
            matches!(status(&resp), Some(400) | Some(505)),
            "{:?} -> {resp:?}",
            String::from_utf8_lossy(bad)
        );
    }
    still_serves(addr);
}

#[test]
fn pipelined_flood_is_answered_in_order() {
    let (_rt, addr) = server();
    const N: usize = 2_000;
    let mut c = client(addr);
    let mut reqs = Vec::new();
    for i in 0..N {
        reqs.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    reqs.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut writer = c.try_clone().unwrap();
    let w = std::thread::spawn(move || writer.write_all(&reqs));
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    w.join().unwrap().unwrap();
    let text = String::from_utf8(out).unwrap();
    let bodies: Vec<&str> = text
        .split("HTTP/1.1 200 OK")
        .skip(1)
        .map(|r| r.rsplit("\r\n\r\n").next().unwrap())
        .collect();
    assert_eq!(bodies.len(), N + 1);
    for (i, b) in bodies.iter().take(N).enumerate() {
        assert_eq!(*b, format!("Hello, /{i}!"));
    }
    assert_eq!(bodies[N], "Hello, /last!");
    still_serves(addr);
}

#[test]
fn clients_that_vanish_or_reset_mid_request_do_not_hurt() {
    let (_rt, addr) = server();
    for i in 0..50 {
        let mut c = client(addr);
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Le")
            .unwrap();
        if i % 2 == 0 {
            // Reset: linger 0 makes close send RST.
            let sock = socket_with_linger_zero(c);
            drop(sock);
        } else {
            drop(c);
        }
    }
    // Half-close after a full request: the response still arrives.
    let mut c = client(addr);
    c.write_all(b"GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.ends_with("Hello, /half!"), "{out}");
    still_serves(addr);
}

/// Sets SO_LINGER to zero through rawrt's own socket layer (std has no stable API for it).
fn socket_with_linger_zero(c: TcpStream) -> TcpStream {
    use std::os::fd::AsFd;
    rawrt_sys_linger(c.as_fd());
    c
}

fn rawrt_sys_linger(fd: std::os::fd::BorrowedFd<'_>) {
    // The test crate may use rawrt-sys: it is a workspace crate (and rawrt's dependency).
    rawrt_sys::socket::set_linger(fd, Some(Duration::ZERO)).unwrap();
}
