//! Serves N hyper requests to an in-process client and prints the syscalls they cost, by
//! kind, from rawrt's own counters (`rawrt::stats::syscalls()`).
//!
//! ```text
//! cargo run --release --features hyper --example syscalls -- --requests 20000 --connections 50
//! cargo run --release --features hyper,mio --example syscalls      # the mio backend
//! ```
//!
//! Both ends run on rawrt in this process (the client is hyper's HTTP/1 client over
//! `rawrt::net::TcpStream`), so every socket call of both ends goes through `rawrt-sys` and is
//! counted: a keep-alive request costs one read and one write on each side, plus whatever
//! `epoll_wait`s and eventfd writes the scheduler needs. The connection set-up (socket,
//! connect, accept4, epoll_ctl, close) is measured separately from the steady state.
//!
//! The totals are printed in a form that can be checked against the kernel's own count:
//! `perf stat -e 'syscalls:sys_enter_*' ./target/release/examples/syscalls` (see
//! `sys/README.md`).

use std::convert::Infallible;
use std::io;
use std::time::Instant;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use rawrt::net::{TcpListener, TcpStream};
use rawrt::stats::{Syscall, SyscallCounts};

struct Args {
    requests: usize,
    connections: usize,
    workers: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        requests: 20_000,
        connections: 50,
        workers: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        };
        match flag.as_str() {
            "--requests" => a.requests = num("--requests")?,
            "--connections" => a.connections = num("--connections")?,
            "--workers" => a.workers = num("--workers")?,
            "-h" | "--help" => {
                return Err("usage: syscalls [--requests N] [--connections C] [--workers W]".into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.connections == 0 || a.requests < a.connections {
        return Err("need --connections >= 1 and --requests >= --connections".into());
    }
    Ok(a)
}

fn print_table(title: &str, counts: &SyscallCounts, per: usize) {
    println!("{title}");
    println!("| syscall | total | per request |");
    println!("|---|---:|---:|");
    for (kind, n) in counts.iter().filter(|&(_, n)| n > 0) {
        println!("| {} | {} | {:.3} |", kind.name(), n, n as f64 / per as f64);
    }
    println!(
        "| **all** | {} | **{:.3}** |",
        counts.total(),
        counts.total() as f64 / per as f64
    );
}

fn main() -> io::Result<()> {
    let args = parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let backend = if cfg!(feature = "mio") {
        "mio"
    } else {
        "raw epoll"
    };
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .build()?;
    let start_all = rawrt::stats::syscalls();
    let (setup, steady, elapsed) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let conns = args.connections;
        rawrt::spawn(async move {
            for _ in 0..conns {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                rawrt::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let svc = service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"Hello, World!",
                        ))))
                    });
                    let _ = http1::Builder::new().serve_connection(stream, svc).await;
                });
            }
        });

        // Connection set-up, measured on its own.
        let before_setup = rawrt::stats::syscalls();
        let mut senders = Vec::with_capacity(conns);
        for _ in 0..conns {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) = hyper::client::conn::http1::handshake(stream)
                .await
                .map_err(io::Error::other)?;
            rawrt::spawn(conn);
            senders.push(sender);
        }
        let setup = rawrt::stats::syscalls() - before_setup;

        // Steady state: keep-alive requests, one in flight per connection.
        let per_conn = args.requests / conns;
        let before = rawrt::stats::syscalls();
        let t0 = Instant::now();
        let clients: Vec<_> = senders
            .into_iter()
            .map(|mut sender| {
                rawrt::spawn(async move {
                    for _ in 0..per_conn {
                        let req = hyper::Request::get("/")
                            .body(Empty::<Bytes>::new())
                            .expect("valid request");
                        let res = sender.send_request(req).await.map_err(io::Error::other)?;
                        let body = res
                            .into_body()
                            .collect()
                            .await
                            .map_err(io::Error::other)?
                            .to_bytes();
                        if &body[..] != b"Hello, World!" {
                            return Err(io::Error::other("wrong body"));
                        }
                    }
                    // Keep the connection open: its teardown is not part of the steady state.
                    Ok::<_, io::Error>(sender)
                })
            })
            .collect();
        let mut open = Vec::with_capacity(conns);
        for c in clients {
            open.push(c.await??);
        }
        let elapsed = t0.elapsed();
        let steady = rawrt::stats::syscalls() - before;
        drop(open);
        Ok::<_, io::Error>((setup, steady, elapsed))
    })?;
    let served = (args.requests / args.connections) * args.connections;
    let metrics = rt.handle().metrics();
    drop(rt);
    let all = rawrt::stats::syscalls() - start_all;

    println!(
        "rawrt ({backend} backend), {} workers: {served} keep-alive requests over {} \
         connections in {:.2?} ({:.0} req/s); both ends (hyper server and hyper client) run \
         in this process on rawrt.",
        args.workers,
        args.connections,
        elapsed,
        served as f64 / elapsed.as_secs_f64()
    );
    println!();
    print_table(
        "Steady state, syscalls per request (client + server):",
        &steady,
        served,
    );
    println!();
    print_table(
        "Connection set-up, syscalls per connection (client + server):",
        &setup,
        args.connections,
    );
    println!();
    println!("Runtime metrics during the run:\n{metrics}");
    println!();
    println!(
        "Whole process, every syscall rawrt made (compare with perf stat -e 'syscalls:sys_enter_*'):"
    );
    for (kind, n) in all.iter().filter(|&(_, n)| n > 0) {
        println!("  {:<14} {n}", kind.name());
    }
    println!("  {:<14} {}", "total", all.total());
    let rw = steady.get(Syscall::Read) + steady.get(Syscall::Write);
    println!(
        "\nreads+writes per request per side: {:.3} (the floor is 2: one read and one write)",
        rw as f64 / served as f64 / 2.0
    );
    Ok(())
}
