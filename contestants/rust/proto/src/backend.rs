//! backend.rs: the io=net client's protocol, apart from how it waits: the
//! request a front connection sends its backend, and the framing of the
//! backend's answer (the suite's own server answers with a Content-Length).

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
}
