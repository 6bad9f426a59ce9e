//! One keep-alive HTTP request, syscall by syscall, from inside the runtime.
//!
//! ```text
//! cargo run --release --features hyper --example trace -- [--requests N] [--connections C]
//! cargo run --release --features hyper,mio --example trace      # the mio backend
//! ```
//!
//! Serves hyper on rawrt (2 workers, threads `server-N`) with the syscall trace on
//! (`rawrt::stats::trace_enable`) and loads it from a second rawrt runtime in this process
//! (1 worker, `client-0`: C keep-alive connections, N requests in all), so every call of the
//! process goes through rawrt-sys and the trace can be checked against `perf stat`. Then
//! prints:
//!
//! 1. the **timeline of one request** (one from the middle of the run): every call any server
//!    thread made from the `epoll_wait` that reported the request's bytes to the write of its
//!    response, with µs since that `epoll_wait` returned, thread, task, fd, result (or errno)
//!    and duration; the request's own calls are marked `*`;
//! 2. a **table per kind**: calls per request, ns per call (p50, p99), share of the time in
//!    the kernel (from the trace's per-kind histograms, which drop nothing);
//! 3. the **top tasks** by syscalls;
//! 4. which backend it ran on (`--features mio` for the other).
//!
//! It also writes an SVG timeline of the same window (`--svg PATH`, default
//! `target/trace.svg`): one lane per thread, one box per call, the request's calls in red.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::time::Instant;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use rawrt::io::{AsyncReadExt, AsyncWriteExt};
use rawrt::net::{TcpListener, TcpStream};
use rawrt::stats::{Record, Syscall, Trace};

struct Args {
    requests: usize,
    connections: usize,
    svg: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        requests: 5_000,
        connections: 10,
        svg: "target/trace.svg".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--requests" => {
                a.requests = value("--requests")?.parse().map_err(|e| format!("{e}"))?
            }
            "--connections" => {
                a.connections = value("--connections")?
                    .parse()
                    .map_err(|e| format!("{e}"))?
            }
            "--svg" => a.svg = value("--svg")?,
            "-h" | "--help" => {
                return Err("usage: trace [--requests N] [--connections C] [--svg PATH]".into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.connections == 0 || a.requests < a.connections {
        return Err("need --connections >= 1 and --requests >= --connections".into());
    }
    Ok(a)
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// One client connection: `n` requests, each written and its response read whole.
async fn client(addr: std::net::SocketAddr, n: usize) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        s.write_all(REQUEST).await?;
        let mut got = 0;
        // "Hello, World!" closes the (small, fixed-size) response.
        while !buf[..got].ends_with(b"Hello, World!") {
            let k = s.read(&mut buf[got..]).await?;
            if k == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += k;
        }
    }
    Ok(())
}

/// Runs `conns` clients of `per` requests each on the client runtime.
fn load(
    crt: &rawrt::Runtime,
    addr: std::net::SocketAddr,
    conns: usize,
    per: usize,
) -> io::Result<()> {
    crt.block_on(async {
        let tasks: Vec<_> = (0..conns)
            .map(|_| rawrt::spawn(client(addr, per)))
            .collect();
        for t in tasks {
            t.await??;
        }
        Ok(())
    })
}

fn thread_name(t: &Trace, index: u32) -> String {
    t.threads
        .iter()
        .find(|th| th.index == index)
        .and_then(|th| th.name.clone())
        .unwrap_or_else(|| format!("thread-{index}"))
}

fn is_write(r: &Record) -> bool {
    r.kind == Syscall::Write && r.name != "write" || r.name == "sendmsg" || r.name == "send"
}

fn result(r: &Record) -> String {
    match r.errno() {
        Some(e) => format!("-1 {}", io::Error::from_raw_os_error(e)),
        None => r.result.to_string(),
    }
}

fn main() -> io::Result<()> {
    let args = parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .build()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            rawrt::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"Hello, World!",
                    ))))
                });
                let _ = http1::Builder::new().serve_connection(stream, svc).await;
            });
        }
    });

    let crt = rawrt::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("client")
        .build()?;
    // Warm up (buffers grown, threads started), then trace the run.
    load(&crt, addr, 1, 10)?;
    rawrt::stats::trace_enable();
    let _ = rawrt::stats::trace();
    let times_before = rawrt::stats::syscall_times();
    let counts_before = rawrt::stats::syscalls();
    let per = args.requests / args.connections;
    let started = Instant::now();
    load(&crt, addr, args.connections, per)?;
    let wall = started.elapsed();
    let requests = per * args.connections;
    let counts = rawrt::stats::syscalls() - counts_before;
    let times = &rawrt::stats::syscall_times() - &times_before;
    let trace = rawrt::stats::trace();
    rawrt::stats::trace_disable();
    let backend = if cfg!(feature = "mio") {
        "mio"
    } else {
        "raw epoll (rawrt-sys)"
    };
    println!(
        "rawrt on {backend}: {requests} keep-alive requests over {} connections in {:.2?} \
         ({} records traced, {} dropped)",
        args.connections,
        wall,
        trace.records.len(),
        trace.dropped
    );

    // 1. One request: a server read that returned bytes, from the middle of the run.
    let reads: Vec<usize> = trace
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.name == "read" && r.result > 0 && thread_name(&trace, r.thread).starts_with("server")
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&read_i) = reads.get(reads.len() / 2) else {
        return Err(io::Error::other("no request read was traced"));
    };
    let read = trace.records[read_i];
    let wake = trace.records[..read_i]
        .iter()
        .rev()
        .find(|r| {
            r.name == "epoll_wait"
                && r.result > 0
                && r.start_ns + r.duration_ns <= read.start_ns
                && thread_name(&trace, r.thread).starts_with("server")
        })
        .copied();
    let reply = trace.records[read_i..]
        .iter()
        .find(|r| r.fd == read.fd && is_write(r))
        .copied();
    let from = wake.map_or(read.start_ns, |w| w.start_ns);
    let to = reply.map_or(read.start_ns + read.duration_ns, |w| {
        w.start_ns + w.duration_ns
    });
    let zero = wake.map_or(read.start_ns, |w| w.start_ns + w.duration_ns);
    println!(
        "\n1. one request on server fd {}: every call of every thread, from the server's \
         epoll_wait that reported it to its response",
        read.fd
    );
    println!("   (µs since that epoll_wait returned; * = the request's own calls)\n");
    println!(
        "| | µs | thread | task | call | fd | result | ns |\n|---|---:|---|---:|---|---:|---|---:|"
    );
    let in_window: Vec<&Record> = trace
        .records
        .iter()
        .filter(|r| r.start_ns + r.duration_ns >= from && r.start_ns <= to)
        .collect();
    let own = |r: &Record| r.fd == read.fd || Some(*r) == wake;
    for r in &in_window {
        println!(
            "| {} | {:+.1} | {} | {} | {} | {} | {} | {} |",
            if own(r) { "*" } else { "" },
            (r.start_ns as f64 - zero as f64) / 1000.0,
            thread_name(&trace, r.thread),
            r.task,
            r.name,
            r.fd,
            result(r),
            r.duration_ns
        );
    }

    // 2. Per kind.
    let kernel_ns = times.total_ns().max(1);
    println!("\n2. per kind ({requests} requests; both ends: server and client)\n");
    println!("| kind | calls | per request | ns p50 | ns p99 | ns max | share of kernel time |\n|---|---:|---:|---:|---:|---:|---:|");
    for kt in times.kinds.iter().filter(|k| k.count > 0) {
        println!(
            "| {} | {} | {:.3} | {} | {} | {} | {:.1} % |",
            kt.kind.name(),
            kt.count,
            kt.count as f64 / requests as f64,
            kt.p50_ns(),
            kt.p99_ns(),
            kt.max_ns,
            100.0 * kt.total_ns as f64 / kernel_ns as f64
        );
    }
    println!(
        "| **all** | {} | **{:.3}** | | | | 100 % |",
        counts.total(),
        counts.total() as f64 / requests as f64
    );
    let traced: u64 = times.kinds.iter().map(|k| k.count).sum();
    println!(
        "\n   (counters: {} calls; trace: {traced}: equal but for calls in flight when the \
         counters were read, such as a parked worker's epoll_wait, counted when they start and \
         traced when they end)",
        counts.total()
    );

    // 3. Top tasks.
    let mut by_task: HashMap<u64, usize> = HashMap::new();
    for r in &trace.records {
        *by_task.entry(r.task).or_default() += 1;
    }
    let mut tasks: Vec<_> = by_task.into_iter().collect();
    tasks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("\n3. top tasks by syscalls (task 0: calls outside any task poll, such as the driver's epoll_wait)\n");
    println!("| task | calls |\n|---:|---:|");
    for (task, n) in tasks.iter().take(6) {
        println!("| {task} | {n} |");
    }

    println!("\n4. backend: {backend} (run with --features mio for the other)");

    std::fs::create_dir_all(
        std::path::Path::new(&args.svg)
            .parent()
            .unwrap_or(std::path::Path::new(".")),
    )?;
    std::fs::write(&args.svg, svg(&trace, &in_window, &own, from, to))?;
    println!("\nSVG timeline of that window: {}", args.svg);
    drop(crt);
    drop(rt);
    // For `perf stat`: everything since the trace was switched on (from the start with
    // RAWRT_TRACE=syscalls), by kind, printed after both runtimes are dropped, so that every call rawrt made is in it.
    let all = rawrt::stats::syscall_times();
    let line: Vec<String> = all
        .kinds
        .iter()
        .filter(|k| k.count > 0)
        .map(|k| format!("{} {}", k.kind.name(), k.count))
        .collect();
    println!("\nsince the trace was switched on: {}", line.join(", "));
    Ok(())
}

/// Threads as lanes, one box per call across `[from, to]`, the request's calls in red.
fn svg(
    trace: &Trace,
    calls: &[&Record],
    own: &dyn Fn(&Record) -> bool,
    from: u64,
    to: u64,
) -> String {
    let mut lanes: Vec<u32> = calls.iter().map(|r| r.thread).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let (w, lane_h, left) = (1000.0, 28.0, 150.0);
    let span = (to - from).max(1) as f64;
    let x = |ns: u64| left + (ns.saturating_sub(from) as f64 / span) * (w - left - 10.0);
    let h = 40.0 + lanes.len() as f64 * lane_h + 20.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"monospace\" font-size=\"11\">\n\
         <text x=\"10\" y=\"16\">one request: {:.1} µs, {} calls (red: the request's own)</text>\n",
        span / 1000.0,
        calls.len()
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = 30.0 + i as f64 * lane_h;
        out += &format!(
            "<text x=\"10\" y=\"{}\">{}</text>\n<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n",
            y + 16.0,
            thread_name(trace, *lane),
            y + lane_h / 2.0,
            w - 10.0,
            y + lane_h / 2.0
        );
        for r in calls.iter().filter(|r| r.thread == *lane) {
            let (x0, x1) = (x(r.start_ns), x(r.start_ns + r.duration_ns));
            let color = if own(r) { "#d62728" } else { "#1f77b4" };
            out += &format!(
                "<rect x=\"{x0:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"><title>{} fd {} → {} ({} ns)</title></rect>\n",
                y + 4.0,
                (x1 - x0).max(1.5),
                lane_h - 8.0,
                r.name,
                r.fd,
                result(r),
                r.duration_ns
            );
        }
    }
    out += "</svg>\n";
    out
}
