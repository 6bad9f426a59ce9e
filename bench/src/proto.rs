//! Just enough HTTP/1.1 for the benchmark, written for the two std servers and the load
//! generator: an incremental request parser, an incremental response parser, and the
//! `Hello, World!` response with the same bytes hyper sends (`content-length`, `date`).
//!
//! Both parsers work on a buffer that may hold a partial message, exactly one, or several
//! (pipelining): they report how many bytes the first complete message takes, so the caller
//! consumes it and parses again.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest accepted request/response head (request line or status line plus headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest accepted request body (the hello service ignores bodies, but must skip them).
pub const MAX_BODY: usize = 1024 * 1024;
/// Most header lines accepted in one message.
const MAX_HEADERS: usize = 100;

/// The body every server answers with.
pub const HELLO_BODY: &[u8] = b"Hello, World!";

/// The request every client of the benchmarks sends: `GET /` over HTTP/1.1 keep-alive, with
/// `Host` set to the server's address.
pub fn hello_request(addr: SocketAddr) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

/// Outcome of [`parse_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestParse {
    /// More bytes are needed.
    Partial,
    /// A complete request of `len` bytes (head and body); `close` when the connection must
    /// be closed after the response (`Connection: close`, or HTTP/1.0 without keep-alive).
    /// `keep_alive_10` marks an HTTP/1.0 request that asked for keep-alive.
    Complete {
        /// Bytes the request takes in the buffer.
        len: usize,
        /// Close after responding.
        close: bool,
        /// HTTP/1.0 with `Connection: keep-alive`: the response must say so.
        keep_alive_10: bool,
    },
    /// The request is malformed or unsupported: answer with this complete response (it says
    /// `connection: close`), then close.
    Reject(&'static [u8]),
}

const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const BODY_TOO_LARGE: &[u8] =
    b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const NOT_IMPLEMENTED: &[u8] =
    b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const BAD_VERSION: &[u8] =
    b"HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Finds the end of the head: the index just past the empty line that ends it. Lines end
/// in CRLF or a bare LF (as hyper/httparse accept).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        // The line before this LF is empty if it is just "" or "\r".
        let line_start = i;
        let line = &buf[line_start..nl];
        if line.is_empty() || line == b"\r" {
            return Some(nl + 1);
        }
        i = nl + 1;
    }
    None
}

/// Splits a head into lines without their CRLF / LF.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Whether a comma-separated header value holds `token` (case-insensitively).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a decimal `Content-Length` value.
fn parse_len(value: &[u8]) -> Option<usize> {
    let v = trim(value);
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Headers the servers and the client care about.
#[derive(Default)]
struct Headers {
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
}

/// Parses header lines; `Err(())` on a malformed line or conflicting lengths.
fn parse_headers<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<Headers, ()> {
    let mut h = Headers::default();
    for (n, line) in lines.enumerate() {
        if line.is_empty() {
            break;
        }
        if n >= MAX_HEADERS {
            return Err(());
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(())?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !is_token(name) {
            return Err(());
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let len = parse_len(value).ok_or(())?;
            if h.content_length.is_some_and(|l| l != len) {
                return Err(());
            }
            h.content_length = Some(len);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            h.chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            h.close |= has_token(value, "close");
            h.keep_alive |= has_token(value, "keep-alive");
        }
    }
    Ok(h)
}

/// Parses the first request in `buf` (see [`RequestParse`]). Requests with a body
/// (`Content-Length`) are skipped whole; `Transfer-Encoding` is answered with 501.
pub fn parse_request(buf: &[u8]) -> RequestParse {
    // RFC 9112 §2.2: ignore at least one empty line before the request line.
    let skip = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[skip..];
    let Some(end) = head_end(rest) else {
        return if rest.len() > MAX_HEAD {
            RequestParse::Reject(TOO_LARGE)
        } else {
            RequestParse::Partial
        };
    };
    if end > MAX_HEAD {
        return RequestParse::Reject(TOO_LARGE);
    }
    let mut it = lines(&rest[..end]);
    let request_line = it.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return RequestParse::Reject(BAD_REQUEST);
    };
    if !is_token(method) || target.is_empty() || target.iter().any(|c| c.is_ascii_control()) {
        return RequestParse::Reject(BAD_REQUEST);
    }
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        v if v.starts_with(b"HTTP/") => return RequestParse::Reject(BAD_VERSION),
        _ => return RequestParse::Reject(BAD_REQUEST),
    };
    let Ok(h) = parse_headers(it) else {
        return RequestParse::Reject(BAD_REQUEST);
    };
    if h.chunked {
        return RequestParse::Reject(NOT_IMPLEMENTED);
    }
    let body = h.content_length.unwrap_or(0);
    if body > MAX_BODY {
        return RequestParse::Reject(BODY_TOO_LARGE);
    }
    let len = skip + end + body;
    if buf.len() < len {
        return RequestParse::Partial;
    }
    let close = if http10 { !h.keep_alive } else { h.close };
    RequestParse::Complete {
        len,
        close,
        keep_alive_10: http10 && !close,
    }
}

/// Appends the `200 OK` / `Hello, World!` response. `close` adds `connection: close`,
/// `keep_alive_10` adds `connection: keep-alive` (an HTTP/1.0 client must be told).
pub fn write_hello(out: &mut Vec<u8>, close: bool, keep_alive_10: bool) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if keep_alive_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"date: ");
    out.extend_from_slice(&cached_date());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(HELLO_BODY);
}

/// The current time as an IMF-fixdate, recomputed at most once a second per thread (as
/// hyper caches it).
fn cached_date() -> [u8; 29] {
    use std::cell::Cell;
    thread_local! {
        static CACHE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let (secs, date) = c.get();
        if secs == now {
            return date;
        }
        let date = http_date(now);
        c.set((now, date));
        date
    })
}

/// Formats seconds since the Unix epoch as an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(unix_secs: u64) -> [u8; 29] {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Days to civil date (Howard Hinnant's algorithm), for dates after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year % 10_000,
        h,
        m,
        s
    );
    let mut out = [b' '; 29];
    let n = text.len().min(29);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// Outcome of [`parse_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseParse {
    /// More bytes are needed.
    Partial,
    /// A complete response of `len` bytes with status `status`; `close` when the server
    /// will close the connection after it.
    Complete {
        /// Bytes the response takes in the buffer.
        len: usize,
        /// The status code.
        status: u16,
        /// The server announced `connection: close` (or spoke HTTP/1.0 without keep-alive).
        close: bool,
    },
    /// Not a response this client can frame.
    Invalid(&'static str),
}

/// Parses the first response in `buf`. The body must be framed by `Content-Length` (or be
/// empty by definition: 1xx, 204, 304); chunked bodies are reported as invalid, because the
/// servers measured here never send them for a fixed body.
pub fn parse_response(buf: &[u8]) -> ResponseParse {
    let Some(end) = head_end(buf) else {
        return if buf.len() > MAX_HEAD {
            ResponseParse::Invalid("response head too large")
        } else {
            ResponseParse::Partial
        };
    };
    let mut it = lines(&buf[..end]);
    let status_line = it.next().unwrap_or_default();
    let http10 = if status_line.starts_with(b"HTTP/1.1 ") {
        false
    } else if status_line.starts_with(b"HTTP/1.0 ") {
        true
    } else {
        return ResponseParse::Invalid("bad status line");
    };
    let code = status_line.get(9..12).unwrap_or_default();
    if code.len() != 3
        || !code.iter().all(u8::is_ascii_digit)
        || status_line.get(12).is_some_and(|&c| c != b' ')
    {
        return ResponseParse::Invalid("bad status code");
    }
    let status = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    let Ok(h) = parse_headers(it) else {
        return ResponseParse::Invalid("bad response header");
    };
    let no_body = (100..200).contains(&status) || status == 204 || status == 304;
    let body = if no_body {
        0
    } else if h.chunked {
        return ResponseParse::Invalid("chunked response body");
    } else {
        match h.content_length {
            Some(n) if n <= MAX_BODY => n,
            Some(_) => return ResponseParse::Invalid("response body too large"),
            None => return ResponseParse::Invalid("response without content-length"),
        }
    };
    let len = end + body;
    if buf.len() < len {
        return ResponseParse::Partial;
    }
    ResponseParse::Complete {
        len,
        status,
        close: h.close || (http10 && !h.keep_alive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(len: usize, close: bool) -> RequestParse {
        RequestParse::Complete {
            len,
            close,
            keep_alive_10: false,
        }
    }

    #[test]
    fn simple_get() {
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n";
        assert_eq!(parse_request(req), complete(req.len(), false));
    }

    #[test]
    fn partial_requests_wait_for_more() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for n in 0..req.len() {
            assert_eq!(parse_request(&req[..n]), RequestParse::Partial, "{n} bytes");
        }
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let one = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".as_slice();
        let two = b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".as_slice();
        let three = b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\n".as_slice();
        let buf = [one, two, three, b"GET /d HT".as_slice()].concat();
        let mut at = 0;
        let mut seen = Vec::new();
        loop {
            match parse_request(&buf[at..]) {
                RequestParse::Complete { len, close, .. } => {
                    seen.push((len, close));
                    at += len;
                }
                RequestParse::Partial => break,
                RequestParse::Reject(r) => panic!("rejected: {}", String::from_utf8_lossy(r)),
            }
        }
        assert_eq!(
            seen,
            vec![(one.len(), false), (two.len(), false), (three.len(), true)]
        );
        assert_eq!(&buf[at..], b"GET /d HT");
    }

    #[test]
    fn connection_header_semantics() {
        let close = b"GET / HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\n";
        assert_eq!(parse_request(close), complete(close.len(), true));
        let old = b"GET / HTTP/1.0\r\n\r\n";
        assert_eq!(parse_request(old), complete(old.len(), true));
        let old_ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(
            parse_request(old_ka),
            RequestParse::Complete {
                len: old_ka.len(),
                close: false,
                keep_alive_10: true
            }
        );
    }

    #[test]
    fn bare_lf_and_leading_empty_lines() {
        let req = b"\r\n\nGET / HTTP/1.1\nHost: x\n\n";
        assert_eq!(parse_request(req), complete(req.len(), false));
    }

    #[test]
    fn malformed_requests_are_rejected() {
        let cases: [&[u8]; 7] = [
            b"GET /\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        ];
        for c in cases {
            assert_eq!(
                parse_request(c),
                RequestParse::Reject(BAD_REQUEST),
                "{}",
                String::from_utf8_lossy(c)
            );
        }
        assert_eq!(
            parse_request(b"GET / HTTP/2.0\r\n\r\n"),
            RequestParse::Reject(BAD_VERSION)
        );
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestParse::Reject(NOT_IMPLEMENTED)
        );
        let huge = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(parse_request(&huge), RequestParse::Reject(TOO_LARGE));
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            RequestParse::Reject(BODY_TOO_LARGE)
        );
        // Every rejection is itself a well-framed response that closes.
        for r in [
            BAD_REQUEST,
            TOO_LARGE,
            BODY_TOO_LARGE,
            NOT_IMPLEMENTED,
            BAD_VERSION,
        ] {
            assert!(matches!(
                parse_response(r),
                ResponseParse::Complete {
                    close: true,
                    status: 400..=599,
                    ..
                }
            ));
        }
    }

    #[test]
    fn hello_response_round_trips() {
        let mut out = Vec::new();
        write_hello(&mut out, false, false);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 13\r\ndate: "));
        assert!(text.ends_with(" GMT\r\n\r\nHello, World!"));
        let first = out.len();
        write_hello(&mut out, true, false);
        match parse_response(&out) {
            ResponseParse::Complete { len, status, close } => {
                assert_eq!((status, close), (200, false));
                assert_eq!(len, first);
                assert_eq!(&out[len - 13..len], HELLO_BODY);
                assert_eq!(
                    parse_response(&out[len..]),
                    ResponseParse::Complete {
                        len: out.len() - len,
                        status: 200,
                        close: true
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcHTTP";
        assert_eq!(
            parse_response(r),
            ResponseParse::Complete {
                len: r.len() - 4,
                status: 404,
                close: false
            }
        );
        assert_eq!(parse_response(&r[..r.len() - 5]), ResponseParse::Partial);
        let no_len = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(matches!(parse_response(no_len), ResponseParse::Invalid(_)));
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert!(matches!(
            parse_response(no_content),
            ResponseParse::Complete { status: 204, .. }
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 2x0 OK\r\n\r\n"),
            ResponseParse::Invalid(_)
        ));
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
            ResponseParse::Invalid(_)
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse_response(chunked), ResponseParse::Invalid(_)));
    }

    #[test]
    fn dates() {
        assert_eq!(&http_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&http_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&http_date(1_709_164_800), b"Thu, 29 Feb 2024 00:00:00 GMT");
    }
}
