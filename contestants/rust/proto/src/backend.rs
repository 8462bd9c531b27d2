//! backend.rs: the io=net client's protocol, apart from how it waits: the
//! request a front connection sends its backend, the framing of the
//! backend's answer (the suite's own server answers with a Content-Length),
//! and a front connection's backend side (Link) with its rules for reuse and
//! for a retry.

use std::io;
use std::time::Duration;

use crate::cli::Upstream;

/// Largest backend answer read: its head plus a body up to BYTES_MAX.
pub const ANSWER_MAX: usize = (1 << 20) + 16 * 1024;
const HEADERS_MAX: usize = 32;

/// Appends `GET /?wait_us=W&work_us=0&bytes=0 HTTP/1.1` with its Host header:
/// the backend does the wait, nothing else.
pub fn request(out: &mut Vec<u8>, wait_us: u32, host: &str) {
    out.extend_from_slice(b"GET /?wait_us=");
    out.extend_from_slice(wait_us.to_string().as_bytes());
    out.extend_from_slice(b"&work_us=0&bytes=0 HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not all of it yet.
    More,
    /// A whole answer of `len` bytes (head and body) with this status; close:
    /// the backend said it closes, so the connection cannot be reused.
    Done {
        len: usize,
        status: u16,
        close: bool,
    },
    /// Not an answer this client can frame: drop the connection.
    Malformed(String),
}

/// Frames the first answer in buf.
pub fn parse_answer(buf: &[u8]) -> Answer {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= 16 * 1024 => {
            return Answer::Malformed("backend answer head larger than 16 KiB".to_string())
        }
        Ok(httparse::Status::Partial) => return Answer::More,
        Err(e) => return Answer::Malformed(format!("malformed backend answer: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let mut length: Option<usize> = None;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value).unwrap_or("").trim();
            match v.parse::<usize>() {
                Ok(n) if !v.starts_with('+') => length = Some(n),
                _ => return Answer::Malformed("malformed Content-Length from the backend".into()),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Answer::Malformed("chunked backend answers are not read".to_string());
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = std::str::from_utf8(h.value).unwrap_or("");
            close |= v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"));
        }
    }
    let body = match length {
        Some(n) => n,
        None => return Answer::Malformed("backend answer without Content-Length".to_string()),
    };
    if head + body > ANSWER_MAX {
        return Answer::Malformed(format!(
            "backend answer of {} bytes is too large",
            head + body
        ));
    }
    if buf.len() < head + body {
        return Answer::More;
    }
    Answer::Done {
        len: head + body,
        status,
        close,
    }
}

/// Why a whole answer is a failure (a status outside 2xx), or None.
pub fn status_failure(status: u16) -> Option<String> {
    if (200..300).contains(&status) {
        None
    } else {
        Some(format!("backend answered {status}"))
    }
}

/// How an exchange failed: why (the 502's body), and stale when a reused
/// connection ended before any byte of the answer (the backend closed it
/// while idle): worth one retry on a new connection.
pub struct Failure {
    pub why: String,
    pub stale: bool,
}

pub fn fail(why: String) -> Failure {
    Failure { why, stale: false }
}

/// The why of an exchange that outlived --upstream-timeout-ms.
pub fn too_slow(up: &Upstream, limit: Duration) -> String {
    format!(
        "backend {} gave no whole answer within {} ms (--upstream-timeout-ms)",
        up.host_header,
        limit.as_millis()
    )
}

pub fn cannot_connect(up: &Upstream, e: &io::Error) -> String {
    format!("cannot connect to backend {}: {e}", up.host_header)
}

/// A send of the request failed; reused: on a connection that had carried an
/// answer before (a timeout is the backend's slowness, never staleness).
pub fn send_failed(up: &Upstream, e: &io::Error, reused: bool) -> Failure {
    Failure {
        why: format!("cannot send to backend {}: {e}", up.host_header),
        stale: reused && !crate::server::timed_out(e),
    }
}

/// A front connection's backend side, whatever S waits with (a std or a tokio
/// TcpStream): opened at the first io=net request and reused, and one buffer,
/// first for the request and then for the answer. Any failure drops the
/// connection (the exchange calls drop_conn), so the next request reconnects.
pub struct Link<S> {
    stream: Option<S>,
    reused: bool, // it has carried a whole answer before
    buf: Vec<u8>,
    at: usize, // answer bytes in before the read under way
}

impl<S> Default for Link<S> {
    fn default() -> Self {
        Link::new()
    }
}

impl<S> Link<S> {
    pub fn new() -> Self {
        Link {
            stream: None,
            reused: false,
            buf: Vec::new(),
            at: 0,
        }
    }

    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    pub fn reused(&self) -> bool {
        self.reused
    }

    /// A new connection to the backend.
    pub fn opened(&mut self, s: S) {
        self.stream = Some(s);
        self.reused = false;
    }

    pub fn drop_conn(&mut self) {
        self.stream = None;
        self.reused = false;
        self.buf = Vec::new(); // an idle connection keeps no answer buffer
    }

    /// The request for wait_us, to send on the stream (open).
    pub fn request(&mut self, wait_us: u32, host: &str) -> (&mut S, &[u8]) {
        self.buf.clear();
        request(&mut self.buf, wait_us, host);
        (self.stream.as_mut().expect("opened first"), &self.buf)
    }

    /// The request is sent: the buffer now takes the answer.
    pub fn sent(&mut self) {
        self.buf.clear();
    }

    /// Frames what is in: Some(Ok) a whole 2xx answer (the connection kept
    /// for the next request unless the backend closes it or sent more than
    /// was asked), Some(Err) a failure, None: read more into room().
    pub fn answer(&mut self) -> Option<Result<(), Failure>> {
        match parse_answer(&self.buf) {
            Answer::Done { len, status, close } => {
                if let Some(why) = status_failure(status) {
                    return Some(Err(fail(why)));
                }
                if close || len != self.buf.len() {
                    self.drop_conn(); // closing, or bytes nobody asked for
                } else {
                    self.reused = true;
                }
                Some(Ok(()))
            }
            Answer::Malformed(why) => Some(Err(fail(why))),
            Answer::More => None,
        }
    }

    /// Where the next read of the answer goes: the stream and 4 KiB of room.
    pub fn room(&mut self) -> (&mut S, &mut [u8]) {
        self.at = self.buf.len();
        self.buf.resize(self.at + 4096, 0);
        (
            self.stream.as_mut().expect("opened first"),
            &mut self.buf[self.at..],
        )
    }

    /// n bytes were read into room() (0 when the read failed).
    pub fn filled(&mut self, n: usize) {
        self.buf.truncate(self.at + n);
    }

    /// The read into room() ended the connection: EOF (None) or an error.
    pub fn ended(&self, up: &Upstream, e: Option<&io::Error>) -> Failure {
        let why = match e {
            None => format!("backend {} closed the connection", up.host_header),
            Some(e) => format!("backend {}: {e}", up.host_header),
        };
        Failure {
            why,
            stale: self.reused && self.at == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line() {
        let mut out = Vec::new();
        request(&mut out, 1500, "127.0.0.1:9");
        assert_eq!(
            out,
            b"GET /?wait_us=1500&work_us=0&bytes=0 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"
        );
    }

    #[test]
    fn answers() {
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxxHTTP/1.1";
        assert_eq!(
            parse_answer(a),
            Answer::Done {
                len: 40,
                status: 200,
                close: false
            }
        );
        for n in 0..40 {
            assert_eq!(parse_answer(&a[..n]), Answer::More, "{}", n);
        }
        let c = b"HTTP/1.1 503 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        assert!(matches!(
            parse_answer(c),
            Answer::Done {
                status: 503,
                close: true,
                ..
            }
        ));
        assert!(status_failure(503).is_some() && status_failure(204).is_none());
        assert!(matches!(
            parse_answer(b"garbage\r\n\r\n"),
            Answer::Malformed(_)
        ));
        assert!(matches!(
            parse_answer(b"HTTP/1.1 200 OK\r\n\r\n"),
            Answer::Malformed(_)
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse_answer(chunked), Answer::Malformed(_)));
    }

    /// One exchange on a Link whose stream is a stand-in: the answer fed in
    /// pieces of `step` bytes, then EOF. None: the answer ended unfinished.
    fn exchange(link: &mut Link<()>, answer: &[u8], step: usize) -> Option<Result<(), Failure>> {
        let (_, req) = link.request(7, "h:1");
        assert!(req.starts_with(b"GET /?wait_us=7&"));
        link.sent();
        let mut at = 0;
        loop {
            if let Some(r) = link.answer() {
                return Some(r);
            }
            let (_, room) = link.room();
            let n = step.min(answer.len() - at);
            room[..n].copy_from_slice(&answer[at..at + n]);
            link.filled(n);
            if n == 0 {
                return None; // EOF: the caller asks link.ended()
            }
            at += n;
        }
    }

    #[test]
    fn link_reuse() {
        let up = Upstream {
            addr: "127.0.0.1:1".parse().unwrap(),
            host_header: "h:1".to_string(),
        };
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let mut link: Link<()> = Link::new();
        link.opened(());
        // a whole answer, whole or byte by byte, keeps the connection
        for step in [ok.len(), 1] {
            assert!(matches!(exchange(&mut link, ok, step), Some(Ok(()))));
            assert!(link.is_open() && link.reused());
        }
        // EOF before any byte on a reused connection: stale, worth a retry
        assert!(exchange(&mut link, b"", 1).is_none());
        assert!(link.ended(&up, None).stale);
        // EOF after part of the answer: not stale
        assert!(exchange(&mut link, &ok[..5], 5).is_none());
        assert!(!link.ended(&up, None).stale);
        // a closing answer, or bytes nobody asked for, drop the connection
        let close = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        assert!(matches!(exchange(&mut link, close, 9), Some(Ok(()))));
        assert!(!link.is_open());
        link.opened(());
        assert!(!link.reused());
        let extra = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP";
        assert!(matches!(exchange(&mut link, extra, 100), Some(Ok(()))));
        assert!(!link.is_open());
        // a non-2xx answer is a failure, never stale
        link.opened(());
        let e503 = b"HTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n";
        match exchange(&mut link, e503, 100) {
            Some(Err(f)) => assert!(!f.stale && f.why.contains("503")),
            _ => panic!("503 taken"),
        }
    }
}
