//! `rawrt::io`'s extension traits and utilities over real sockets and across tasks: round
//! trips, half-close, backpressure, cancellation and the cooperative budget.

mod common;

use std::future::Future;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rawrt::io::{
    copy, copy_bidirectional, copy_bidirectional_with_sizes, duplex, repeat, sink, split,
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufStream,
    BufWriter, ReadBuf,
};
use rawrt::net::{TcpListener, TcpStream, UnixStream};
use rawrt::time::timeout;

const LONG: Duration = Duration::from_secs(10);

/// Runs `fut` on a fresh two-worker runtime under the shared watchdog.
fn run(fut: impl Future<Output = ()> + Send + 'static) {
    common::with_timeout("test body", common::LIMIT, move || {
        let rt = common::runtime(2, "io-util");
        rt.block_on(fut);
    });
}

/// Distinct bytes for payload `tag`, so a reordering or a loss shows.
fn pattern(len: usize, tag: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ tag).collect()
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio_join(TcpStream::connect(addr), listener.accept()).await;
    (client.unwrap(), accepted.unwrap().0)
}

/// Awaits two futures concurrently (no macro crate needed).
async fn tokio_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[test]
fn integers_and_bytes_round_trip_over_a_unix_pair() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let writer = rawrt::spawn(async move {
            a.write_u8(7).await?;
            a.write_i16(-2).await?;
            a.write_u32_le(0xdead_beef).await?;
            a.write_u64(u64::MAX / 3).await?;
            a.write_i128_le(-(1 << 90)).await?;
            a.write_f64_le(std::f64::consts::PI).await?;
            a.write_all(b"tail").await?;
            a.shutdown().await
        });
        assert_eq!(b.read_u8().await.unwrap(), 7);
        assert_eq!(b.read_i16().await.unwrap(), -2);
        assert_eq!(b.read_u32_le().await.unwrap(), 0xdead_beef);
        assert_eq!(b.read_u64().await.unwrap(), u64::MAX / 3);
        assert_eq!(b.read_i128_le().await.unwrap(), -(1 << 90));
        assert_eq!(b.read_f64_le().await.unwrap(), std::f64::consts::PI);
        let mut rest = String::new();
        assert_eq!(b.read_to_string(&mut rest).await.unwrap(), 4);
        assert_eq!(rest, "tail");
        assert_eq!(
            b.read_u8().await.unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
        writer.await.unwrap().unwrap();
    });
}

#[test]
fn read_exact_reports_unexpected_eof_from_a_socket() {
    run(async {
        let (mut a, mut b) = tcp_pair().await;
        a.write_all(b"abc").await.unwrap();
        a.shutdown().await.unwrap();
        let mut buf = [0u8; 5];
        let err = b.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
fn read_to_string_rejects_invalid_utf8_from_a_socket() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"ok \xff\xfe").await.unwrap();
        drop(a);
        let mut s = String::from("before");
        let err = b.read_to_string(&mut s).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(s, "before");
    });
}

#[test]
fn a_cancelled_read_loses_no_data() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 16];
        // Nothing to read yet: the read is dropped while pending.
        let r = timeout(Duration::from_millis(20), b.read(&mut buf)).await;
        assert!(
            r.is_err(),
            "no data was sent, so the read could not complete"
        );
        a.write_all(b"kept").await.unwrap();
        let n = timeout(LONG, b.read(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"kept");
    });
}

#[test]
fn lines_over_tcp_with_crlf_and_no_trailing_newline() {
    run(async {
        let (mut a, b) = tcp_pair().await;
        let writer = rawrt::spawn(async move {
            for chunk in [&b"one\r"[..], b"\ntwo\n", b"\n", b"thr", b"ee"] {
                a.write_all(chunk).await?;
                rawrt::task::yield_now().await;
            }
            a.shutdown().await
        });
        let mut lines = BufReader::new(b).lines();
        let mut got = Vec::new();
        while let Some(line) = timeout(LONG, lines.next_line()).await.unwrap().unwrap() {
            got.push(line);
        }
        assert_eq!(got, ["one", "two", "", "three"]);
        writer.await.unwrap().unwrap();
    });
}

#[test]
fn buf_writer_holds_small_writes_until_shutdown_flushes_them() {
    run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut w = BufWriter::with_capacity(64, a);
        w.write_all(b"held").await.unwrap();
        let mut probe = [0u8; 8];
        assert_eq!(
            b.try_read(&mut probe).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "nothing reached the socket yet"
        );
        // A write bigger than the buffer: the buffered bytes go first, then it, unbuffered.
        let big = pattern(200, 1);
        w.write_all(&big).await.unwrap();
        assert!(w.buffer().is_empty());
        w.write_all(b"end").await.unwrap();
        w.shutdown().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        let mut want = b"held".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"end");
        assert_eq!(got, want);
    });
}

#[test]
fn buf_stream_line_protocol_over_a_unix_pair() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let server = rawrt::spawn(async move {
            let mut s = BufStream::new(b);
            let mut line = String::new();
            while s.read_line(&mut line).await? != 0 {
                s.write_all(line.to_uppercase().as_bytes()).await?;
                s.flush().await?;
                line.clear();
            }
            io::Result::Ok(())
        });
        let mut c = BufStream::new(a);
        for word in ["alpha\n", "beta\n"] {
            c.write_all(word.as_bytes()).await.unwrap();
            c.flush().await.unwrap();
            let mut reply = String::new();
            timeout(LONG, c.read_line(&mut reply))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(reply, word.to_uppercase());
        }
        drop(c);
        server.await.unwrap().unwrap();
    });
}

#[test]
fn duplex_write_waits_for_room_then_completes() {
    run(async {
        let (mut a, mut b) = duplex(8);
        let data = pattern(20, 2);
        let sent = data.clone();
        let mut writer = rawrt::spawn(async move { a.write_all(&sent).await.map(|()| a) });
        assert!(
            timeout(Duration::from_millis(50), &mut writer)
                .await
                .is_err(),
            "20 bytes cannot fit in 8: the writer must wait"
        );
        let mut got = vec![0u8; 20];
        timeout(LONG, b.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, data);
        let _a = timeout(LONG, writer).await.unwrap().unwrap().unwrap();
    });
}

#[test]
fn duplex_drop_gives_eof_and_broken_pipe_to_waiting_tasks() {
    run(async {
        let (mut a, b) = duplex(4);
        let (mut c, d) = duplex(4);
        let reader = rawrt::spawn(async move {
            let mut buf = [0u8; 4];
            a.read(&mut buf).await
        });
        let writer = rawrt::spawn(async move { c.write_all(b"more than four").await });
        rawrt::task::yield_now().await;
        drop(b);
        drop(d);
        assert_eq!(timeout(LONG, reader).await.unwrap().unwrap().unwrap(), 0);
        let err = timeout(LONG, writer).await.unwrap().unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn copy_bidirectional_counts_both_ways_and_half_closes() {
    run(async {
        let (mut client, mut a) = UnixStream::pair().unwrap();
        let (mut b, mut server) = tcp_pair().await;
        let proxy = rawrt::spawn(async move { copy_bidirectional(&mut a, &mut b).await });
        let request = pattern(300_000, 3);
        let reply = pattern(120_000, 4);
        let (req2, reply2) = (request.clone(), reply.clone());
        let server_task = rawrt::spawn(async move {
            let mut got = Vec::new();
            // End of stream arrives only because the proxy shut its write side down.
            server.read_to_end(&mut got).await?;
            // The other direction still works after that half-close.
            server.write_all(&reply2).await?;
            server.shutdown().await?;
            io::Result::Ok(got)
        });
        let client_task = rawrt::spawn(async move {
            client.write_all(&req2).await?;
            client.shutdown().await?;
            let mut got = Vec::new();
            client.read_to_end(&mut got).await?;
            io::Result::Ok(got)
        });
        let got_req = timeout(LONG, server_task).await.unwrap().unwrap().unwrap();
        let got_reply = timeout(LONG, client_task).await.unwrap().unwrap().unwrap();
        assert!(got_req == request, "request corrupted through the proxy");
        assert!(got_reply == reply, "reply corrupted through the proxy");
        let counts = timeout(LONG, proxy).await.unwrap().unwrap().unwrap();
        assert_eq!(counts, (300_000, 120_000));
    });
}

#[test]
fn copy_bidirectional_with_tiny_buffers_over_duplex() {
    run(async {
        let (mut x, mut a) = duplex(3);
        let (mut b, mut y) = duplex(5);
        let proxy =
            rawrt::spawn(async move { copy_bidirectional_with_sizes(&mut a, &mut b, 1, 2).await });
        let data = pattern(1000, 5);
        let sent = data.clone();
        let tx = rawrt::spawn(async move {
            x.write_all(&sent).await?;
            x.shutdown().await?;
            let mut back = Vec::new();
            x.read_to_end(&mut back).await?;
            io::Result::Ok(back)
        });
        let mut got = Vec::new();
        y.read_to_end(&mut got).await.unwrap();
        assert!(got == data);
        y.write_all(b"ack").await.unwrap();
        y.shutdown().await.unwrap();
        assert_eq!(timeout(LONG, tx).await.unwrap().unwrap().unwrap(), b"ack");
        assert_eq!(
            timeout(LONG, proxy).await.unwrap().unwrap().unwrap(),
            (1000, 3)
        );
    });
}

#[test]
fn split_halves_used_from_two_tasks_at_once() {
    run(async {
        let (near, far) = UnixStream::pair().unwrap();
        // An echo on the far end, through its own halves.
        let echo = rawrt::spawn(async move {
            let (mut r, mut w) = split(far);
            let n = copy(&mut r, &mut w).await?;
            w.shutdown().await?;
            io::Result::Ok(n)
        });
        const LEN: usize = 2 * 1024 * 1024; // far more than the socket buffers hold
        let (mut rd, mut wr) = split(near);
        let data = pattern(LEN, 6);
        let sent = data.clone();
        // The writer cannot finish unless the reader drains the echo at the same time.
        let writer = rawrt::spawn(async move {
            wr.write_all(&sent).await?;
            wr.shutdown().await?;
            io::Result::Ok(wr)
        });
        let reader = rawrt::spawn(async move {
            let mut got = Vec::with_capacity(LEN);
            rd.read_to_end(&mut got).await?;
            io::Result::Ok((rd, got))
        });
        let wr = timeout(LONG, writer).await.unwrap().unwrap().unwrap();
        let (rd, got) = timeout(LONG, reader).await.unwrap().unwrap().unwrap();
        assert!(got == data, "echo corrupted or reordered");
        assert_eq!(
            timeout(LONG, echo).await.unwrap().unwrap().unwrap(),
            LEN as u64
        );
        assert!(rd.is_pair_of(&wr));
        let _near: UnixStream = rd.unsplit(wr);
    });
}

/// An endless reader that is always ready and knows nothing of the budget.
struct Endless;

impl AsyncRead for Endless {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(64);
        buf.initialize_unfilled_to(n).fill(1);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A writer that is always ready, knows nothing of the budget, and counts what it took.
struct Counter(Arc<AtomicU64>);

impl AsyncWrite for Counter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An endless copy on a one-worker runtime must leave room for another task.
fn endless_copy_yields(
    spawn_copy: impl FnOnce() -> rawrt::JoinHandle<io::Result<u64>> + Send + 'static,
) {
    common::with_timeout("budget test", common::LIMIT, move || {
        let rt = common::runtime(1, "io-budget");
        rt.block_on(async move {
            let endless = spawn_copy();
            // Let the copy start hogging the worker first.
            rawrt::task::yield_now().await;
            let other = rawrt::spawn(async { 42 });
            let got = timeout(Duration::from_secs(5), other).await;
            endless.abort();
            assert_eq!(
                got.expect("the other task starved behind the copy")
                    .unwrap(),
                42
            );
            assert!(endless.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn copy_from_repeat_to_sink_does_not_starve_other_tasks() {
    endless_copy_yields(|| rawrt::spawn(async { copy(&mut repeat(0), &mut sink()).await }));
}

#[test]
fn copy_itself_spends_budget_with_budget_unaware_ends() {
    let copied = Arc::new(AtomicU64::new(0));
    let c = copied.clone();
    endless_copy_yields(move || {
        rawrt::spawn(async move { copy(&mut Endless, &mut Counter(c)).await })
    });
    assert!(copied.load(Ordering::Relaxed) > 0, "the copy did run");
}

/// The futures of the extension methods are `Send` for a `Send` stream, so they can be
/// awaited in spawned tasks (checked at compile time).
#[test]
fn extension_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    run(async {
        let (mut s, _peer) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 4];
        let mut v = Vec::new();
        let mut text = String::new();
        send(&s.read(&mut buf));
        send(&s.read_exact(&mut buf));
        send(&s.read_buf(&mut v));
        send(&s.read_to_end(&mut v));
        send(&s.read_to_string(&mut text));
        send(&s.read_u64_le());
        send(&s.write(b"x"));
        send(&s.write_all(b"x"));
        send(&s.write_i32(1));
        send(&s.flush());
        send(&s.shutdown());
        let mut r = BufReader::new(&mut s);
        send(&r.read_until(b'\n', &mut v));
        send(&r.read_line(&mut text));
        send(&r.fill_buf());
        let mut lines = BufReader::new(duplex(1).0).lines();
        send(&lines.next_line());
        let (mut x, mut y) = duplex(1);
        send(&copy(&mut x, &mut y));
        send(&copy_bidirectional(&mut x, &mut y));
    });
}
