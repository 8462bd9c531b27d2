//! conn.rs: one task per connection: read, frame, wait, spin, answer, in order.

use std::io::{self, IoSlice};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::counters::{add, Ctr};
use crate::http::{self, Parse, Workload};

/// Per-connection read buffer, as CONN_READ_BUF in the C servers; it grows
/// (to http::HEAD_BUF_MAX) only for a head that does not fit.
const READ_BUF: usize = 4096;

/// The body of every 200: the first `bytes` bytes of one shared buffer.
static BODY: [u8; http::BYTES_MAX as usize] = [b'x'; http::BYTES_MAX as usize];

/// Counts the close however the task ends.
struct Closed;

impl Drop for Closed {
    fn drop(&mut self) {
        add(Ctr::Closed);
    }
}

/// Serves one connection until the peer closes, an error answer, or a
/// `Connection: close` request. Pipelined requests wait in the buffer until
/// the one before them is answered.
pub async fn serve(mut s: TcpStream, defaults: Workload) {
    let _closed = Closed;
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; READ_BUF];
    let (mut start, mut end) = (0usize, 0usize);
    let mut out: Vec<u8> = Vec::with_capacity(256);
    loop {
        while start < end {
            let req = match http::parse(&buf[start..end], &defaults) {
                Parse::More => break,
                Parse::Error(status, why) => {
                    add(Ctr::status(status));
                    out.clear();
                    http::error_answer(&mut out, status, &why);
                    let _ = s.write_all(&out).await;
                    return;
                }
                Parse::Request(used, req) => {
                    start += used;
                    req
                }
            };
            // A GET body is read and dropped, never stored.
            let mut skip = req.body_len;
            while skip > 0 {
                let take = skip.min(end - start);
                start += take;
                skip -= take;
                if skip > 0 {
                    start = 0;
                    end = match s.read(&mut buf).await {
                        Ok(n) if n > 0 => n,
                        _ => {
                            add(Ctr::Aborted);
                            return;
                        }
                    };
                }
            }
            let w = req.work;
            if w.wait_us > 0 {
                tokio::time::sleep(Duration::from_micros(w.wait_us as u64)).await;
            }
            crate::spin::spin(w.work_us);
            out.clear();
            http::head_ok(&mut out, w.bytes as usize, req.keep_alive, req.http_minor);
            let body = if req.head_only { &[][..] } else { &BODY[..w.bytes as usize] };
            add(Ctr::Requests);
            if let Err(e) = write_answer(&mut s, &out, body).await {
                add(io_error_kind(&e));
                return;
            }
            if !req.keep_alive {
                return;
            }
        }
        if start == end {
            start = 0;
            end = 0;
        } else if end == buf.len() {
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            } else {
                // http::parse already answered 431 at HEAD_BUF_MAX.
                let grown = (buf.len() * 2).min(http::HEAD_BUF_MAX);
                buf.resize(grown, 0);
            }
        }
        match s.read(&mut buf[end..]).await {
            Ok(0) => {
                if start < end {
                    add(Ctr::Aborted);
                }
                return;
            }
            Ok(n) => end += n,
            Err(e) => {
                if start < end {
                    add(Ctr::Aborted);
                } else if e.kind() != io::ErrorKind::ConnectionReset {
                    // a reset between requests is a close
                    add(Ctr::IoErrors);
                }
                return;
            }
        }
    }
}

fn io_error_kind(e: &io::Error) -> Ctr {
    match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Ctr::Aborted,
        _ => Ctr::IoErrors,
    }
}

/// Writes head and body with writev, as the C servers do: one system call
/// when the socket buffer has room.
async fn write_answer(s: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let (mut h, mut b) = (0usize, 0usize);
    while h < head.len() {
        let n = if b < body.len() {
            s.write_vectored(&[IoSlice::new(&head[h..]), IoSlice::new(&body[b..])]).await?
        } else {
            s.write(&head[h..]).await?
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len() - h);
        h += from_head;
        b += n - from_head;
    }
    if b < body.len() {
        s.write_all(&body[b..]).await?;
    }
    Ok(())
}
