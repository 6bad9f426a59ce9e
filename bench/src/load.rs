//! Load: the built-in closed-loop generator, and `wrk` as an alternative.
//!
//! **Built-in** (`http --load ...`, its own process): `threads` OS threads share
//! `connections` keep-alive connections; each thread drives its share with one epoll
//! instance (through `rawrt-sys`, level-triggered, nonblocking sockets). Each connection is a
//! closed loop: send `GET /`, wait until the whole response is in (status line, headers,
//! `Content-Length` body), record the latency, send the next. Latencies go into a
//! [`Histogram`] with microsecond resolution. Requests still in flight at the deadline are
//! neither counted nor recorded (as in wrk). Like wrk, a closed loop measures *service* time:
//! a stalled server slows the request rate instead of piling up latency (coordinated
//! omission), which is what the `Errors`/timeouts column makes visible.
//!
//! Errors, each counted once and followed by a fresh connection: `connect` (refused,
//! failed, or not established within the timeout), `read` (reset, EOF before a full
//! response, unparsable response), `write`, `timeout` (no full response within the
//! per-request timeout), `status` (a complete response that is not 2xx; counted as a
//! request too, as wrk does).
//!
//! **wrk** (`--wrk`): `wrk -t<threads> -c<connections> -d<secs>s --latency --timeout <t>s`,
//! its text output parsed by [`parse_wrk`].

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rawrt_sys::{Epoll, Events, Interest};

use crate::histogram::Histogram;
use crate::json::Json;
use crate::proto::{self, ResponseParse};

/// What to send and for how long.
#[derive(Debug, Clone)]
pub struct LoadParams {
    /// The server.
    pub addr: SocketAddr,
    /// Keep-alive connections in total.
    pub connections: usize,
    /// Load threads.
    pub threads: usize,
    /// How long to send requests.
    pub duration: Duration,
    /// Per-request (and per-connect) timeout.
    pub timeout: Duration,
}

/// Errors by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    /// Connections refused, failed or timed out while connecting.
    pub connect: u64,
    /// Read failures: reset, early EOF, unparsable responses.
    pub read: u64,
    /// Write failures.
    pub write: u64,
    /// Requests without a full response within the timeout.
    pub timeout: u64,
    /// Complete responses whose status is not 2xx.
    pub status: u64,
}

impl Errors {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.status
    }

    fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.read += o.read;
        self.write += o.write;
        self.timeout += o.timeout;
        self.status += o.status;
    }

    /// The kinds with their counts, in a fixed order (JSON keys, table breakdown).
    pub fn fields(&self) -> [(&'static str, u64); 5] {
        [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("timeout", self.timeout),
            ("non2xx", self.status),
        ]
    }
}

/// What one load run measured. Latencies in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadResult {
    /// Completed requests (full responses).
    pub requests: u64,
    /// Seconds the run actually lasted.
    pub seconds: f64,
    /// `requests / seconds`.
    pub rps: f64,
    /// Latency percentiles, µs.
    pub p50: f64,
    /// 75th percentile, µs.
    pub p75: f64,
    /// 90th percentile, µs.
    pub p90: f64,
    /// 99th percentile, µs.
    pub p99: f64,
    /// Largest latency, µs.
    pub max: f64,
    /// Errors by kind.
    pub errors: Errors,
}

impl LoadResult {
    /// The result as one JSON object (the load process prints it on one line).
    pub fn to_json(&self) -> Json {
        let mut errors = Json::obj();
        for (k, v) in self.errors.fields() {
            errors = errors.set(k, v);
        }
        Json::obj()
            .set("requests", self.requests)
            .set("seconds", self.seconds)
            .set("rps", self.rps)
            .set("p50_us", self.p50)
            .set("p75_us", self.p75)
            .set("p90_us", self.p90)
            .set("p99_us", self.p99)
            .set("max_us", self.max)
            .set("errors", errors)
    }

    /// Reads back [`LoadResult::to_json`].
    pub fn from_json(v: &Json) -> Result<LoadResult, String> {
        let num = |o: &Json, k: &str| o.num(k).ok_or(format!("load result: missing {k:?}"));
        let e = v.get("errors").ok_or("load result: missing \"errors\"")?;
        let count = |k: &str| num(e, k).map(|n| n as u64);
        Ok(LoadResult {
            requests: num(v, "requests")? as u64,
            seconds: num(v, "seconds")?,
            rps: num(v, "rps")?,
            p50: num(v, "p50_us")?,
            p75: num(v, "p75_us")?,
            p90: num(v, "p90_us")?,
            p99: num(v, "p99_us")?,
            max: num(v, "max_us")?,
            errors: Errors {
                connect: count("connect")?,
                read: count("read")?,
                write: count("write")?,
                timeout: count("timeout")?,
                status: count("non2xx")?,
            },
        })
    }
}

/// Where a connection is in its loop.
enum State {
    /// No socket; (re)connect at this instant.
    Disconnected { at: Instant },
    /// Nonblocking connect in progress since `since`.
    Connecting { since: Instant },
    /// Sending the request; `off` bytes are out.
    Writing { off: usize, sent_at: Instant },
    /// Waiting for the response.
    Reading { sent_at: Instant },
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    buf: Vec<u8>,
}

/// What one thread counted.
struct ThreadResult {
    /// One entry per completed request.
    hist: Histogram,
    errors: Errors,
}

/// Pause before reconnecting after an error, so a server that refuses or resets every
/// connection does not turn the generator into a busy loop.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);
/// Longest `epoll_wait`: timeouts and reconnects are checked at least this often.
const TICK: Duration = Duration::from_millis(10);

/// One load thread: drives `n` connections until `deadline`.
struct Driver<'a> {
    addr: SocketAddr,
    request: &'a [u8],
    timeout: Duration,
    epoll: Epoll,
    conns: Vec<Conn>,
    out: ThreadResult,
    deadline: Instant,
}

impl Driver<'_> {
    fn fail(&mut self, i: usize, now: Instant, kind: fn(&mut Errors) -> &mut u64) {
        *kind(&mut self.out.errors) += 1;
        self.drop_conn(i, now + RECONNECT_BACKOFF);
    }

    /// Closes connection `i` (closing the fd removes it from the epoll set).
    fn drop_conn(&mut self, i: usize, reconnect_at: Instant) {
        let c = &mut self.conns[i];
        c.stream = None;
        c.buf.clear();
        c.state = State::Disconnected { at: reconnect_at };
    }

    fn connect(&mut self, i: usize, now: Instant) {
        let started = (|| -> io::Result<(TcpStream, bool)> {
            let fd = rawrt_sys::socket::tcp_socket(&self.addr)?;
            let done = match rawrt_sys::socket::connect(fd.as_fd(), &self.addr) {
                Ok(()) => true,
                Err(e) if rawrt_sys::socket::is_in_progress(&e) => false,
                Err(e) => return Err(e),
            };
            let stream = TcpStream::from(fd);
            stream.set_nodelay(true)?;
            Ok((stream, done))
        })();
        match started {
            Ok((stream, done)) => {
                let interest = if done {
                    Interest::READABLE
                } else {
                    Interest::WRITABLE
                };
                if self.epoll.add(stream.as_fd(), i as u64, interest).is_err() {
                    return self.fail(i, now, |e| &mut e.connect);
                }
                self.conns[i].stream = Some(stream);
                self.conns[i].state = State::Connecting { since: now };
                if done {
                    self.start_request(i, now, false);
                }
            }
            Err(_) => self.fail(i, now, |e| &mut e.connect),
        }
    }

    /// Sends the request on connection `i` (or the rest of it). `armed_writable`: the fd's
    /// interest is currently WRITABLE.
    fn start_request(&mut self, i: usize, now: Instant, armed_writable: bool) {
        let (mut off, sent_at) = match self.conns[i].state {
            State::Writing { off, sent_at } => (off, sent_at),
            _ => (0, now),
        };
        let Some(stream) = self.conns[i].stream.as_mut() else {
            return;
        };
        // Ok(true): all sent; Ok(false): the socket buffer is full; Err: the write failed.
        let sent: Result<bool, ()> = loop {
            if off >= self.request.len() {
                break Ok(true);
            }
            match stream.write(&self.request[off..]) {
                Ok(0) => break Err(()),
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(_) => break Err(()),
            }
        };
        // Wait for readability once the request is out, for writability while it is not.
        let rearm = match sent {
            Ok(true) if armed_writable => Some(Interest::READABLE),
            Ok(false) if !armed_writable => Some(Interest::WRITABLE),
            _ => None,
        };
        let rearmed = rearm.map_or(true, |interest| {
            self.epoll
                .modify(stream.as_fd(), i as u64, interest)
                .is_ok()
        });
        match sent {
            Ok(_) if !rearmed => self.fail(i, now, |e| &mut e.write),
            Err(()) => self.fail(i, now, |e| &mut e.write),
            Ok(true) => self.conns[i].state = State::Reading { sent_at },
            Ok(false) => self.conns[i].state = State::Writing { off, sent_at },
        }
    }

    /// Handles an event on connection `i`.
    fn on_event(&mut self, i: usize, now: Instant) {
        match self.conns[i].state {
            State::Disconnected { .. } => {}
            State::Connecting { .. } => {
                let err = match &self.conns[i].stream {
                    Some(s) => s.take_error(),
                    None => return,
                };
                match err {
                    Ok(None) => {
                        // Connected; make the request (the fd is armed WRITABLE).
                        self.start_request(i, now, true)
                    }
                    _ => self.fail(i, now, |e| &mut e.connect),
                }
            }
            State::Writing { .. } => self.start_request(i, now, true),
            State::Reading { sent_at } => self.read_response(i, now, sent_at),
        }
    }

    fn read_response(&mut self, i: usize, now: Instant, sent_at: Instant) {
        let c = &mut self.conns[i];
        let Some(stream) = c.stream.as_mut() else {
            return;
        };
        let filled = c.buf.len();
        c.buf.resize(filled + 4096, 0);
        let n = match stream.read(&mut c.buf[filled..]) {
            Ok(n) => n,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                c.buf.truncate(filled);
                return;
            }
            Err(_) => return self.fail(i, now, |e| &mut e.read),
        };
        c.buf.truncate(filled + n);
        if n == 0 {
            return self.fail(i, now, |e| &mut e.read);
        }
        match proto::parse_response(&c.buf) {
            ResponseParse::Partial => {}
            ResponseParse::Invalid(_) => self.fail(i, now, |e| &mut e.read),
            // Bytes after the response we asked for: the server is not speaking our protocol.
            ResponseParse::Complete { len, .. } if len != c.buf.len() => {
                self.fail(i, now, |e| &mut e.read)
            }
            ResponseParse::Complete { status, close, .. } => {
                c.buf.clear();
                let done = Instant::now();
                if done >= self.deadline {
                    return; // finished after the deadline: not counted
                }
                self.out
                    .hist
                    .record(done.saturating_duration_since(sent_at).as_micros() as u64);
                if !(200..300).contains(&status) {
                    self.out.errors.status += 1;
                }
                if close {
                    self.drop_conn(i, done);
                } else {
                    self.start_request(i, done, false);
                }
            }
        }
    }

    /// Reconnects due connections and fails the ones past their timeout.
    fn housekeeping(&mut self, now: Instant) {
        for i in 0..self.conns.len() {
            match self.conns[i].state {
                State::Disconnected { at } if at <= now => self.connect(i, now),
                State::Connecting { since } if now - since > self.timeout => {
                    self.fail(i, now, |e| &mut e.connect)
                }
                State::Writing { sent_at, .. } | State::Reading { sent_at }
                    if now - sent_at > self.timeout =>
                {
                    // Reconnect right away: the server is slow, not refusing.
                    self.out.errors.timeout += 1;
                    self.drop_conn(i, now);
                }
                _ => {}
            }
        }
    }

    fn run(mut self) -> io::Result<ThreadResult> {
        let mut events = Events::with_capacity(self.conns.len().clamp(16, 1024));
        let mut next_housekeeping = Instant::now();
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Ok(self.out);
            }
            if now >= next_housekeeping {
                self.housekeeping(now);
                next_housekeeping = now + TICK;
            }
            let wait = (self.deadline - now).min(next_housekeeping.saturating_duration_since(now));
            match self.epoll.wait(&mut events, Some(wait)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            for ev in events.iter() {
                let i = ev.token() as usize;
                if i < self.conns.len() {
                    self.on_event(i, now);
                }
            }
        }
    }
}

/// Runs the built-in generator in this process (the `--load` mode).
pub fn run_builtin(p: &LoadParams) -> Result<LoadResult, String> {
    if p.connections == 0 || p.threads == 0 {
        return Err("--connections and --threads must be at least 1".into());
    }
    let threads = p.threads.min(p.connections);
    let request = proto::hello_request(p.addr);
    let request: Arc<[u8]> = request.into();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let start_slot = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut handles = Vec::new();
    for t in 0..threads {
        // Spread the remainder: the first `connections % threads` threads get one more.
        let n = p.connections / threads + usize::from(t < p.connections % threads);
        let (barrier, start_slot, request) = (barrier.clone(), start_slot.clone(), request.clone());
        let (addr, timeout, duration) = (p.addr, p.timeout, p.duration);
        let h = std::thread::Builder::new()
            .name(format!("load-{t}"))
            .spawn(move || -> io::Result<ThreadResult> {
                let epoll = Epoll::new();
                barrier.wait();
                let epoll = epoll?;
                let start = *start_slot
                    .get()
                    .expect("start time is set before the barrier");
                let conns = (0..n)
                    .map(|_| Conn {
                        stream: None,
                        state: State::Disconnected { at: start },
                        buf: Vec::with_capacity(4096),
                    })
                    .collect();
                Driver {
                    addr,
                    request: &request,
                    timeout,
                    epoll,
                    conns,
                    out: ThreadResult {
                        hist: Histogram::new(),
                        errors: Errors::default(),
                    },
                    deadline: start + duration,
                }
                .run()
            })
            .map_err(|e| format!("cannot start load thread: {e}"))?;
        handles.push(h);
    }
    let start = Instant::now();
    let _ = start_slot.set(start);
    barrier.wait();
    let mut hist = Histogram::new();
    let mut errors = Errors::default();
    let mut failure = None;
    for h in handles {
        match h.join() {
            Ok(Ok(r)) => {
                hist.merge(&r.hist);
                errors.add(&r.errors);
            }
            Ok(Err(e)) => failure = Some(format!("load thread: {e}")),
            Err(_) => failure = Some("load thread panicked".to_string()),
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    let requests = hist.count();
    let seconds = start
        .elapsed()
        .as_secs_f64()
        .min(p.duration.as_secs_f64())
        .max(1e-9);
    Ok(LoadResult {
        requests,
        seconds,
        rps: requests as f64 / seconds,
        p50: hist.percentile(50.0) as f64,
        p75: hist.percentile(75.0) as f64,
        p90: hist.percentile(90.0) as f64,
        p99: hist.percentile(99.0) as f64,
        max: hist.max() as f64,
        errors,
    })
}

/// The wrk command line for `p`.
pub fn wrk_args(p: &LoadParams) -> Vec<String> {
    let secs = p.duration.as_secs().max(1);
    let timeout = p.timeout.as_secs().max(1);
    vec![
        format!("-t{}", p.threads.min(p.connections).max(1)),
        format!("-c{}", p.connections),
        format!("-d{secs}s"),
        "--latency".to_string(),
        "--timeout".to_string(),
        format!("{timeout}s"),
        format!("http://{}/", p.addr),
    ]
}

/// Parses a wrk duration (`512.00us`, `1.23ms`, `2.00s`, `1.50m`) into microseconds.
fn wrk_duration_us(s: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// Parses a wrk count, which may carry a `k`/`M` suffix (`12.34k`).
fn wrk_count(s: &str) -> Option<f64> {
    let s = s.trim_end_matches(',');
    let (num, scale) = match s.as_bytes().last()? {
        b'k' => (&s[..s.len() - 1], 1e3),
        b'M' => (&s[..s.len() - 1], 1e6),
        b'G' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// Parses the output of `wrk --latency`: `N requests in Xs`, `Requests/sec`, the
/// `Latency Distribution` block (50/75/90/99%), `Socket errors: connect A, read B, write C,
/// timeout D` and `Non-2xx or 3xx responses: N`. wrk reports non-2xx-or-3xx; we file them
/// under `non2xx`.
pub fn parse_wrk(text: &str) -> Result<LoadResult, String> {
    let mut requests = None;
    let mut seconds = None;
    let mut rps = None;
    let mut pct = [None; 4];
    let mut max = 0.0;
    let mut errors = Errors::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [n, "requests", "in", d, ..] => {
                requests = wrk_count(n);
                seconds = wrk_duration_us(d.trim_end_matches(',')).map(|us| us / 1e6);
            }
            ["Requests/sec:", v] => rps = v.parse::<f64>().ok(),
            ["Latency", _avg, _stdev, m, ..] => max = wrk_duration_us(m).unwrap_or(0.0),
            [p, v] if p.ends_with('%') => {
                let slot = match *p {
                    "50%" => 0,
                    "75%" => 1,
                    "90%" => 2,
                    "99%" => 3,
                    _ => continue,
                };
                pct[slot] = wrk_duration_us(v);
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 1, write 0, timeout 2
                for pair in rest.chunks(2) {
                    if let [name, n] = pair {
                        let n = wrk_count(n).unwrap_or(0.0) as u64;
                        match *name {
                            "connect" => errors.connect = n,
                            "read" => errors.read = n,
                            "write" => errors.write = n,
                            "timeout" => errors.timeout = n,
                            _ => {}
                        }
                    }
                }
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                errors.status = wrk_count(n).unwrap_or(0.0) as u64
            }
            _ => {}
        }
    }
    let (Some(requests), Some(rps)) = (requests, rps) else {
        let head: String = text.lines().take(3).collect::<Vec<_>>().join(" / ");
        return Err(format!("unexpected wrk output: {head}"));
    };
    let [Some(p50), Some(p75), Some(p90), Some(p99)] = pct else {
        return Err("wrk output has no latency distribution (was --latency given?)".into());
    };
    Ok(LoadResult {
        requests: requests as u64,
        seconds: seconds.unwrap_or(requests / rps.max(1e-9)),
        rps,
        p50,
        p75,
        p90,
        p99,
        max,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "\
Running 3s test @ http://127.0.0.1:40000/
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  310.55us   9.87ms   88.00%
    Req/Sec    82.11k     3.20k   86.00k    90.00%
  Latency Distribution
     50%    1.15ms
     75%    1.30ms
     90%  512.00us
     99%    2.05s
  245312 requests in 3.00s, 30.18MB read
  Socket errors: connect 0, read 3, write 1, timeout 7
  Non-2xx or 3xx responses: 2
Requests/sec:  81770.12
Transfer/sec:     10.06MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse_wrk(WRK).unwrap();
        assert_eq!(r.requests, 245_312);
        assert!((r.seconds - 3.0).abs() < 1e-9);
        assert!((r.rps - 81_770.12).abs() < 1e-6);
        assert!((r.p50 - 1150.0).abs() < 1e-6);
        assert!((r.p75 - 1300.0).abs() < 1e-6);
        assert!((r.p90 - 512.0).abs() < 1e-6);
        assert!((r.p99 - 2_050_000.0).abs() < 1e-3);
        assert!((r.max - 9870.0).abs() < 1e-6);
        assert_eq!(
            r.errors,
            Errors {
                connect: 0,
                read: 3,
                write: 1,
                timeout: 7,
                status: 2
            }
        );
        assert_eq!(r.errors.total(), 13);
    }

    #[test]
    fn wrk_without_errors_or_with_garbage() {
        let clean: String = WRK
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse_wrk(&clean).unwrap().errors.total(), 0);
        assert!(parse_wrk("unable to connect to 127.0.0.1:1 Connection refused").is_err());
        let no_latency: String = WRK
            .lines()
            .filter(|l| !l.trim_start().starts_with(char::is_numeric) || l.contains("requests"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(parse_wrk(&no_latency).is_err());
    }

    #[test]
    fn wrk_units() {
        assert_eq!(wrk_duration_us("12.50us"), Some(12.5));
        assert_eq!(wrk_duration_us("1.50m"), Some(90e6));
        assert_eq!(wrk_duration_us("abc"), None);
        assert_eq!(wrk_count("1.5k"), Some(1500.0));
        assert_eq!(wrk_count("7,"), Some(7.0));
    }

    #[test]
    fn load_result_json_round_trip() {
        let r = parse_wrk(WRK).unwrap();
        let line = r.to_json().to_string();
        let back = LoadResult::from_json(&Json::parse(&line).unwrap()).unwrap();
        assert_eq!(back.requests, r.requests);
        assert_eq!(back.errors, r.errors);
        assert!((back.p99 - r.p99).abs() < 1e-6);
        assert!(LoadResult::from_json(&Json::obj()).is_err());
    }

    /// The generator against a std server in this process: every request answered, no
    /// errors, latencies recorded.
    #[test]
    fn builtin_generator_against_std_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                std::thread::spawn(move || crate::servers::serve_std_connection(s));
            }
        });
        let r = run_builtin(&LoadParams {
            addr,
            connections: 4,
            threads: 2,
            duration: Duration::from_millis(300),
            timeout: Duration::from_secs(2),
        })
        .unwrap();
        assert!(r.requests > 10, "{r:?}");
        assert_eq!(r.errors.total(), 0, "{r:?}");
        assert!(r.p50 > 0.0 && r.p50 <= r.p99 && r.p99 <= r.max, "{r:?}");
    }

    /// Nothing listens: every attempt is a connect error, and the run still ends on time.
    #[test]
    fn builtin_generator_counts_connect_errors() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let t = Instant::now();
        let r = run_builtin(&LoadParams {
            addr: port,
            connections: 2,
            threads: 1,
            duration: Duration::from_millis(200),
            timeout: Duration::from_secs(1),
        })
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(r.requests, 0);
        assert!(r.errors.connect > 0, "{r:?}");
    }
}
