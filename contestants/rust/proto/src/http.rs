//! http.rs: request framing, the same rules as common/framing.c, on httparse
//! instead of libhttp-parser; the answers are in answer.rs.

use crate::workload::{self, Workload};

pub const URL_MAX: usize = 2048; // longer request-target: 414
pub const HEAD_FIELDS_MAX: usize = 8192; // header names + values: 431 past it
pub const BODY_MAX: usize = 65536; // a GET needs no body; a larger one: 413
/// Bytes of a head buffered before giving up on it: the request line and 8 KiB
/// of fields plus their separators fit well inside.
pub const HEAD_BUF_MAX: usize = 32 * 1024;
/// Header lines per request; httparse parses into a fixed array.
const HEADERS_MAX: usize = 64;

#[derive(Debug)]
pub struct Request {
    pub work: Workload, // the server's defaults with the query applied
    pub keep_alive: bool,
    pub head_only: bool, // HEAD: Content-Length but no body
    pub http_minor: u8,  // 0 for HTTP/1.0: keep-alive must be announced
    pub body_len: usize, // Content-Length: bytes to read and drop
}

#[derive(Debug)]
pub enum Parse {
    /// No complete head yet and no limit passed: read more.
    More,
    /// A complete head of this many bytes (the body follows it).
    Request(usize, Request),
    /// Answer this status with the reason as body, then close.
    Error(u16, String),
}

fn err(status: u16, why: &str) -> Parse {
    Parse::Error(status, why.to_string())
}

/// Parses the first request head in buf. Only the first: pipelined requests
/// are parsed again after the one before them is answered.
pub fn parse(buf: &[u8], defaults: &Workload) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return partial_limits(buf),
        Err(httparse::Error::TooManyHeaders) => return err(431, "more than 64 header fields"),
        Err(httparse::Error::Version) => return err(505, "only HTTP/1.0 and HTTP/1.1 are served"),
        Err(e) => return Parse::Error(400, format!("malformed request: {}", e)),
    };
    let target = req.path.unwrap_or("");
    if target.len() > URL_MAX {
        return err(414, "request-target longer than 2048 bytes");
    }
    let fields: usize = req
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum();
    if fields > HEAD_FIELDS_MAX {
        return err(431, "request header fields larger than 8 KiB");
    }
    let method = req.method.unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return err(405, "only GET and HEAD are served");
    }
    let minor = req.version.unwrap_or(1);
    let (mut close, mut keep) = (false, false);
    let mut body_len = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&c| c == b',') {
                let t = trim(token);
                close |= t.eq_ignore_ascii_case(b"close");
                keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match parse_decimal(trim(h.value), u64::MAX) {
                Some(n) if n > BODY_MAX as u64 => {
                    return err(413, "request body larger than 64 KiB")
                }
                Some(n) => body_len = n as usize,
                None => return err(400, "malformed Content-Length"),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The C servers skip chunked bodies through libhttp-parser; no
            // benchmark client sends one with a GET, so this server refuses it.
            return err(400, "chunked request bodies are not served");
        }
    }
    let mut work = *defaults;
    if let Err(e) = parse_target(target, &mut work) {
        return e;
    }
    Parse::Request(
        head_len,
        Request {
            work,
            keep_alive: if minor == 0 { keep && !close } else { !close },
            head_only: method == "HEAD",
            http_minor: minor,
            body_len,
        },
    )
}

/// For an incomplete head: the 414/431 limits it already passed, else More.
fn partial_limits(buf: &[u8]) -> Parse {
    if buf.len() >= HEAD_BUF_MAX {
        return err(431, "request head larger than 32 KiB");
    }
    let line_end = match buf.iter().position(|&c| c == b'\n') {
        Some(i) => i,
        None => {
            // Still in the request line: "METHOD SP target SP HTTP/1.1".
            return match buf.iter().position(|&c| c == b' ') {
                Some(sp) if buf.len() - sp - 1 > URL_MAX => {
                    err(414, "request-target longer than 2048 bytes")
                }
                None if buf.len() > 32 => err(400, "malformed request: method too long"),
                _ => Parse::More,
            };
        }
    };
    // Header lines so far: each complete one costs its length less CRLF and
    // the colon (a slight over-count when the value has leading spaces).
    let mut fields = 0usize;
    for line in buf[line_end + 1..].split(|&c| c == b'\n') {
        fields += line.len().saturating_sub(2);
    }
    if fields > HEAD_FIELDS_MAX {
        return err(431, "request header fields larger than 8 KiB");
    }
    Parse::More
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// A decimal integer of 1..20 digits, at most max; None otherwise.
fn parse_decimal(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if v > max {
        None
    } else {
        Some(v)
    }
}

/// Resolves the target: path "/" only, the query over the defaults in w.
fn parse_target(target: &str, w: &mut Workload) -> Result<(), Parse> {
    let target = target.split('#').next().unwrap_or("");
    let (path, query) = match target.find('?') {
        Some(i) => (&target[..i], Some(&target[i + 1..])),
        None => (target, None),
    };
    let path = if path.starts_with('/') {
        path
    } else if let Some(rest) = strip_scheme(path) {
        // absolute-form, as a proxy-style client sends it
        rest.find('/').map_or("", |i| &rest[i..])
    } else {
        return Err(err(400, "malformed request-target"));
    };
    if !path.is_empty() && path != "/" {
        return Err(err(404, "no such path: only / is served"));
    }
    if let Some(q) = query {
        workload::parse_query(q, w).map_err(|why| Parse::Error(400, why))?;
    }
    Ok(())
}

fn strip_scheme(s: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&s[scheme.len()..]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workload::{Io, State};

    fn d() -> Workload {
        let w = Workload::default();
        assert_eq!(
            (w.bytes, w.io, w.file_kib, w.state),
            (64, Io::Timer, 4, State::None)
        );
        w
    }

    fn status(p: Parse) -> u16 {
        match p {
            Parse::Error(s, _) => s,
            Parse::Request(..) => 200,
            Parse::More => 0,
        }
    }

    #[test]
    fn query_over_defaults() {
        match parse(
            b"GET /?wait_us=5&bytes=3 HTTP/1.1\r\nHost: a\r\n\r\nGET",
            &d(),
        ) {
            Parse::Request(n, r) => {
                assert_eq!(n, 45);
                assert_eq!(
                    r.work,
                    Workload {
                        wait_us: 5,
                        bytes: 3,
                        ..d()
                    }
                );
                assert!(r.keep_alive);
            }
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn errors() {
        assert_eq!(status(parse(b"GET /x HTTP/1.1\r\n\r\n", &d())), 404);
        assert_eq!(status(parse(b"POST / HTTP/1.1\r\n\r\n", &d())), 405);
        assert_eq!(
            status(parse(b"GET /?bytes=1048577 HTTP/1.1\r\n\r\n", &d())),
            400
        );
        assert_eq!(status(parse(b"GET /?nope=1 HTTP/1.1\r\n\r\n", &d())), 400);
        assert_eq!(status(parse(b"GET /?bytes HTTP/1.1\r\n\r\n", &d())), 400);
        assert_eq!(status(parse(b"GARBAGE\r\n\r\n", &d())), 400);
        assert_eq!(status(parse(b"GET / HTTP/1.1\r\nHost: a\r\n", &d())), 0);
        let long = format!("GET /?{} HTTP/1.1\r\n\r\n", "a".repeat(2100));
        assert_eq!(status(parse(long.as_bytes(), &d())), 414);
        let partial = format!("GET /?{}", "a".repeat(2100));
        assert_eq!(status(parse(partial.as_bytes(), &d())), 414);
        let big = format!("GET / HTTP/1.1\r\nX-A: {}\r\n\r\n", "v".repeat(9000));
        assert_eq!(status(parse(big.as_bytes(), &d())), 431);
        assert_eq!(
            status(parse(
                b"GET / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n",
                &d()
            )),
            413
        );
    }

    #[test]
    fn http10_keep_alive() {
        match parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &d()) {
            Parse::Request(_, r) => assert!(r.keep_alive && r.http_minor == 0),
            other => panic!("{:?}", other),
        }
        match parse(b"GET / HTTP/1.0\r\n\r\n", &d()) {
            Parse::Request(_, r) => assert!(!r.keep_alive),
            other => panic!("{:?}", other),
        }
    }
}
