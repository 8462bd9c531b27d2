//! input.rs: a connection's input apart from how it waits for bytes: the read
//! buffer, framing the next request out of it, dropping a GET body, and how a
//! read that ends the connection is counted. The server reads into room()
//! however it waits (a blocking read, an await) and reports it with filled().

use crate::counters::{add, Ctr};
use crate::http::{self, Parse, Request};
use crate::workload::Workload;

/// Per-connection read buffer, as CONN_READ_BUF in the C servers; it grows
/// (to http::HEAD_BUF_MAX) only for a head that does not fit.
pub const READ_BUF: usize = 4096;

/// What the buffered bytes give.
pub enum Framed {
    Request(Request),
    /// Answer this status and close.
    Error(u16, String),
    /// Read more into room(); mid: part of a request is in, so an end of the
    /// connection now aborts it.
    Read {
        mid: bool,
    },
}

/// A connection's next request, however the server waited for it.
pub enum Next {
    Serve(Request),
    /// Answer this status and close (server::refusal).
    Refuse(u16, String),
    /// The connection ended (EOF, reset, idle timeout, the stop); counted.
    Gone,
}

/// How a read ended the connection, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEnd {
    Closed,   // EOF
    TimedOut, // the idle timeout passed
    Dropped,  // reset by the peer, or cut short at the stop: not an error
    Failed,   // any other error
}

impl ReadEnd {
    /// The end a read error means (a socket timeout reads as WouldBlock).
    pub fn of(e: &std::io::Error) -> ReadEnd {
        if crate::server::timed_out(e) {
            ReadEnd::TimedOut
        } else if e.kind() == std::io::ErrorKind::ConnectionReset {
            ReadEnd::Dropped
        } else {
            ReadEnd::Failed
        }
    }
}

/// Counts a connection that a read ended: a timeout, an abort when part of a
/// request was in, an I/O error when not (a reset between requests is a close).
pub fn read_ended(end: ReadEnd, mid: bool) {
    if end == ReadEnd::TimedOut {
        add(Ctr::IdleTimeouts);
    }
    if mid {
        add(Ctr::Aborted);
    } else if end == ReadEnd::Failed {
        add(Ctr::IoErrors);
    }
}

/// The buffer and its unparsed bytes in [start, end); body: a framed request
/// whose body is still being dropped, and how many bytes of it are left.
pub struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    body: Option<(Request, usize)>,
}

impl Default for Input {
    fn default() -> Input {
        Input::new()
    }
}

impl Input {
    pub fn new() -> Input {
        Input {
            buf: vec![0u8; READ_BUF],
            start: 0,
            end: 0,
            body: None,
        }
    }

    /// Frames the next request from what is buffered. Pipelined requests stay
    /// in the buffer until the one before them is answered. A GET body is
    /// read and dropped, never stored.
    pub fn frame(&mut self, defaults: &Workload) -> Framed {
        loop {
            if let Some((req, skip)) = self.body.take() {
                let take = skip.min(self.end - self.start);
                self.start += take;
                if skip == take {
                    return Framed::Request(req);
                }
                self.start = 0;
                self.end = 0;
                self.body = Some((req, skip - take));
                return Framed::Read { mid: true };
            }
            if self.start < self.end {
                match http::parse(&self.buf[self.start..self.end], defaults) {
                    Parse::More => {}
                    Parse::Error(status, why) => return Framed::Error(status, why),
                    Parse::Request(used, req) => {
                        self.start += used;
                        let len = req.body_len;
                        self.body = Some((req, len));
                        continue;
                    }
                }
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.end == self.buf.len() {
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                } else {
                    // http::parse already answered 431 at HEAD_BUF_MAX.
                    let grown = (self.buf.len() * 2).min(http::HEAD_BUF_MAX);
                    self.buf.resize(grown, 0);
                }
            }
            return Framed::Read {
                mid: self.start < self.end,
            };
        }
    }

    /// Where the next read goes (after a Framed::Read).
    pub fn room(&mut self) -> &mut [u8] {
        &mut self.buf[self.end..]
    }

    /// n bytes were read into room().
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds text in pieces of `step` bytes; returns each request's bytes and
    /// the statuses of errors, in order.
    fn feed(text: &[u8], step: usize) -> Vec<Result<u32, u16>> {
        let mut input = Input::new();
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            match input.frame(&Workload::default()) {
                Framed::Request(r) => out.push(Ok(r.work.bytes)),
                Framed::Error(status, _) => {
                    out.push(Err(status));
                    return out;
                }
                Framed::Read { .. } if at == text.len() => return out,
                Framed::Read { .. } => {
                    let room = input.room();
                    let n = step.min(text.len() - at).min(room.len());
                    room[..n].copy_from_slice(&text[at..at + n]);
                    input.filled(n);
                    at += n;
                }
            }
        }
    }

    #[test]
    fn requests_whole_and_byte_by_byte() {
        // a pipelined pair, the first with a body to drop
        let pair = b"GET /?bytes=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /?bytes=2 HTTP/1.1\r\n\r\n";
        for step in [1, 3, pair.len()] {
            assert_eq!(feed(pair, step), vec![Ok(1), Ok(2)], "step {step}");
        }
        // a body larger than the buffer is dropped across reads
        let mut big = b"GET /?bytes=3 HTTP/1.1\r\nContent-Length: 10000\r\n\r\n".to_vec();
        big.extend(std::iter::repeat(b'x').take(10000));
        big.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(feed(&big, 4096), vec![Ok(3), Ok(64)]);
        // a head longer than the first buffer grows it
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.extend(std::iter::repeat(b'a').take(6000));
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(feed(&long, 1000), vec![Ok(64)]);
        // a malformed request is an error to answer
        assert_eq!(feed(b"BREW / HTTP/1.1\r\n\r\n", 2), vec![Err(405)]);
    }

    #[test]
    fn mid_request() {
        let mut input = Input::new();
        assert!(matches!(
            input.frame(&Workload::default()),
            Framed::Read { mid: false }
        ));
        input.room()[..4].copy_from_slice(b"GET ");
        input.filled(4);
        assert!(matches!(
            input.frame(&Workload::default()),
            Framed::Read { mid: true }
        ));
    }
}
