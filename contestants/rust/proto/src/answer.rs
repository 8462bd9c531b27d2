//! answer.rs: the answers the servers write, the same as common/response.c:
//! the head of a 200, a whole error answer (4xx, closing) and a whole failure
//! answer (502, 500: the connection kept), with a cached Date header.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::workload::clip;

const SERVER: &[u8] = b"Server: tvt-rust\r\n";

thread_local! {
    /// The Date header's text and the second it shows, per thread: formatted
    /// once a second, never shared, so no locking.
    static DATE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
}

fn push_date(out: &mut Vec<u8>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let (sec, mut text) = cell.get();
        if sec != now {
            text = format_date(now);
            cell.set((now, text));
        }
        out.extend_from_slice(&text);
    });
}

/// "Sun, 06 Nov 1994 08:49:37 GMT" for seconds since the epoch.
pub fn format_date(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };

    let mut t = [0u8; 29];
    let two = |t: &mut [u8; 29], at: usize, v: u64| {
        t[at] = b'0' + (v / 10 % 10) as u8;
        t[at + 1] = b'0' + (v % 10) as u8;
    };
    t[..3].copy_from_slice(DAYS[((days + 4).rem_euclid(7)) as usize]);
    t[3..5].copy_from_slice(b", ");
    two(&mut t, 5, day as u64);
    t[7] = b' ';
    t[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    t[11] = b' ';
    two(&mut t, 12, (year / 100) as u64);
    two(&mut t, 14, (year % 100) as u64);
    t[16] = b' ';
    two(&mut t, 17, rem / 3600);
    t[19] = b':';
    two(&mut t, 20, rem / 60 % 60);
    t[22] = b':';
    two(&mut t, 23, rem % 60);
    t[25..29].copy_from_slice(b" GMT");
    t
}

fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The Connection header an answer needs, if any: HTTP/1.0 clients keep the
/// connection only when told so, HTTP/1.1 ones unless told otherwise.
fn push_connection(out: &mut Vec<u8>, keep_alive: bool, http_minor: u8) {
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if http_minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
}

fn push_head(out: &mut Vec<u8>, status: u16, body_len: usize) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, status as u64);
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(SERVER);
    out.extend_from_slice(b"Date: ");
    push_date(out);
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    push_decimal(out, body_len as u64);
    out.extend_from_slice(b"\r\n");
}

/// Appends the head of a 200 (status line to blank line) to out; shared: a
/// state=shared request's count of its key after the update, as an
/// `X-Shared-Count: N` header.
pub fn head_ok(
    out: &mut Vec<u8>,
    body_len: usize,
    keep_alive: bool,
    http_minor: u8,
    shared: Option<u64>,
) {
    push_head(out, 200, body_len);
    if let Some(n) = shared {
        out.extend_from_slice(b"X-Shared-Count: ");
        push_decimal(out, n);
        out.extend_from_slice(b"\r\n");
    }
    push_connection(out, keep_alive, http_minor);
    out.extend_from_slice(b"\r\n");
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Appends a whole error answer (the reason as a text body, Connection: close).
pub fn error_answer(out: &mut Vec<u8>, status: u16, why: &str) {
    failure_answer(out, status, why, false, 1);
}

/// Appends a whole answer for a request that was well formed but could not be
/// served (502 backend failed, 500 file read failed): the reason as a text
/// body, the connection kept unless the request asked to close it.
pub fn failure_answer(out: &mut Vec<u8>, status: u16, why: &str, keep_alive: bool, minor: u8) {
    let why = clip(why, 200);
    push_head(out, status, why.len() + 1);
    push_connection(out, keep_alive, minor);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(why.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_alive() {
        let mut out = Vec::new();
        failure_answer(&mut out, 502, "backend refused", true, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
        assert!(!text.contains("Connection:"));
        assert!(text.ends_with("\r\n\r\nbackend refused\n"));
        let mut out = Vec::new();
        failure_answer(&mut out, 500, "x", false, 1);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("Connection: close\r\n"));
    }

    #[test]
    fn shared_count_before_connection() {
        let mut out = Vec::new();
        head_ok(&mut out, 3, false, 1, Some(42));
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("Content-Length: 3\r\nX-Shared-Count: 42\r\nConnection: close\r\n\r\n"),
            "{text}"
        );
        let mut out = Vec::new();
        head_ok(&mut out, 3, true, 1, None);
        assert!(!String::from_utf8(out).unwrap().contains("X-Shared"));
    }

    #[test]
    fn date() {
        assert_eq!(&format_date(784111777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format_date(951782400), b"Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
