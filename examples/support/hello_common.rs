//! What `examples/hello.rs` and `examples/tokio_hello.rs` share, so that the two programs
//! differ only where their runtimes do: the command line, the service, and the small helpers
//! around accept and shutdown. Each includes it with `#[path] mod`.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

/// The command line of both servers.
pub struct Args {
    pub addr: SocketAddr,
    pub workers: Option<usize>,
    /// `--spread-threshold-us` (rawrt's `Builder::spread_threshold`); `None` where the program
    /// does not accept the flag or it was not given.
    pub spread_threshold: Option<Duration>,
    pub header_read_timeout: Duration,
    pub drain_timeout: Duration,
}

/// Parses the command line; `spread` says whether `--spread-threshold-us` is accepted.
pub fn parse_args(default_addr: &str, usage: &str, spread: bool) -> io::Result<Args> {
    parse(default_addr, usage, spread).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn parse(default_addr: &str, usage: &str, spread: bool) -> Result<Args, String> {
    let mut args = Args {
        addr: default_addr
            .parse()
            .map_err(|e| format!("{default_addr}: {e}"))?,
        workers: None,
        spread_threshold: None,
        header_read_timeout: Duration::from_secs(10),
        drain_timeout: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let mut number = |name: &str| -> Result<u64, String> {
            let v = value(name)?;
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--workers" => args.workers = Some(number("--workers")? as usize),
            "--spread-threshold-us" if spread => {
                args.spread_threshold =
                    Some(Duration::from_micros(number("--spread-threshold-us")?))
            }
            "--header-read-timeout-ms" => {
                args.header_read_timeout =
                    Duration::from_millis(number("--header-read-timeout-ms")?)
            }
            "--drain-timeout-ms" => {
                args.drain_timeout = Duration::from_millis(number("--drain-timeout-ms")?)
            }
            "-h" | "--help" => return Err(usage.to_string()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

/// The service: `200 OK`, `Hello, World!`, whatever the request.
pub async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// `accept` failed for want of file descriptors: back off and retry, the connection stays
/// queued.
pub fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// What a second `SIGINT`/`SIGTERM` during the drain does.
pub fn second_signal() -> ! {
    eprintln!("second signal: exiting without waiting for the connections");
    std::process::exit(1)
}
