//! conn.rs: one task per connection: read, frame, wait (timer, backend or
//! file), spin, answer, in order.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use proto::answer;
use proto::cli::Upstream;
use proto::counters::{add, Ctr};
use proto::datafile::{AlignedBuf, DataFile, Rng};
use proto::http::{self, Parse, Request};
use proto::workload::{self, Io, Workload};

use crate::upstream::Backend;

/// Per-connection read buffer, as CONN_READ_BUF in the C servers; it grows
/// (to http::HEAD_BUF_MAX) only for a head that does not fit.
const READ_BUF: usize = 4096;

/// What every connection of a server shares.
pub struct Ctx {
    pub defaults: Workload,
    pub idle: Option<Duration>, // --idle-timeout-ms; None: never
    pub upstream: Option<Upstream>,
    pub upstream_timeout: Duration,
    pub data: Option<Arc<DataFile>>,
}

/// Counts the close however the task ends.
struct Closed;

impl Drop for Closed {
    fn drop(&mut self) {
        add(Ctr::Closed);
    }
}

/// The connection's input: its buffer and the unparsed bytes in [start, end).
struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

enum Next {
    Request(Request),
    /// Answer this status and close.
    Error(u16, String),
    /// The connection ended (peer closed, reset, idle timeout); counted.
    Gone,
}

/// One read bounded by the request's deadline. None: the deadline passed.
async fn read_by(
    s: &mut TcpStream,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> Option<io::Result<usize>> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, s.read(buf)).await.ok(),
        None => Some(s.read(buf).await),
    }
}

impl Input {
    /// Frames the next request, reading as needed. The whole request (head
    /// and body) must arrive by the deadline, as in the C thread server.
    async fn next(
        &mut self,
        s: &mut TcpStream,
        defaults: &Workload,
        deadline: Option<Instant>,
    ) -> Next {
        loop {
            if self.start < self.end {
                match http::parse(&self.buf[self.start..self.end], defaults) {
                    Parse::More => {}
                    Parse::Error(status, why) => return Next::Error(status, why),
                    Parse::Request(used, req) => {
                        self.start += used;
                        return self.skip_body(s, req, deadline).await;
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
            let mid = self.start < self.end;
            let end = self.end;
            match read_by(s, &mut self.buf[end..], deadline).await {
                None => {
                    add(Ctr::IdleTimeouts);
                    if mid {
                        add(Ctr::Aborted);
                    }
                    return Next::Gone;
                }
                Some(Ok(0)) => {
                    if mid {
                        add(Ctr::Aborted);
                    }
                    return Next::Gone;
                }
                Some(Ok(n)) => self.end += n,
                Some(Err(e)) => {
                    if mid {
                        add(Ctr::Aborted);
                    } else if e.kind() != io::ErrorKind::ConnectionReset {
                        add(Ctr::IoErrors); // a reset between requests is a close
                    }
                    return Next::Gone;
                }
            }
        }
    }

    /// A GET body is read and dropped, never stored.
    async fn skip_body(
        &mut self,
        s: &mut TcpStream,
        req: Request,
        deadline: Option<Instant>,
    ) -> Next {
        let mut skip = req.body_len;
        loop {
            let take = skip.min(self.end - self.start);
            self.start += take;
            skip -= take;
            if skip == 0 {
                return Next::Request(req);
            }
            self.start = 0;
            self.end = 0;
            match read_by(s, &mut self.buf, deadline).await {
                Some(Ok(n)) if n > 0 => self.end = n,
                timed_out => {
                    if timed_out.is_none() {
                        add(Ctr::IdleTimeouts);
                    }
                    add(Ctr::Aborted);
                    return Next::Gone;
                }
            }
        }
    }
}

/// The io=file read the tokio::fs way: a pread on the blocking pool
/// (spawn_blocking), since epoll cannot wait for a regular file. Not
/// tokio::fs::File itself: it reads through its own unaligned buffer, which
/// O_DIRECT refuses (EINVAL).
async fn read_file(
    data: &Arc<DataFile>,
    keep: &mut Option<AlignedBuf>,
    kib: u32,
    rng: &mut Rng,
) -> Result<(), String> {
    let len = kib as usize * 1024;
    let mut buf = match keep.take() {
        Some(b) if b.len() >= len => b,
        _ => AlignedBuf::new(len),
    };
    let off = data.random_offset(len, rng);
    let file = data.clone();
    let (buf, r) = tokio::task::spawn_blocking(move || {
        let r = file.read_exact_at(&mut buf.as_mut_slice()[..len], off);
        (buf, r)
    })
    .await
    .map_err(|e| format!("the read's blocking task failed: {e}"))?;
    *keep = Some(buf);
    r.map_err(|e| format!("read of {len} bytes at offset {off} of {}: {e}", data.path))
}

/// Serves one connection until the peer closes, an error answer, an idle
/// timeout, or a `Connection: close` request. Pipelined requests wait in the
/// buffer until the one before them is answered.
pub async fn serve(mut s: TcpStream, ctx: Arc<Ctx>, id: u64) {
    let _closed = Closed;
    let _ = s.set_nodelay(true);
    let mut input = Input {
        buf: vec![0u8; READ_BUF],
        start: 0,
        end: 0,
    };
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut backend: Option<Backend> = None; // at the first io=net request
    let mut file_buf: Option<AlignedBuf> = None; // at the first io=file request
    let mut rng = Rng::new(id);
    loop {
        let deadline = ctx.idle.map(|d| Instant::now() + d);
        let req = match input.next(&mut s, &ctx.defaults, deadline).await {
            Next::Request(r) => r,
            Next::Error(status, why) => {
                add(Ctr::status(status));
                out.clear();
                answer::error_answer(&mut out, status, &why);
                let _ = write_answer(&mut s, &out, &[], ctx.idle).await;
                return;
            }
            Next::Gone => return,
        };
        let w = req.work;
        if let Err(why) = workload::capable(&w, ctx.upstream.is_some(), ctx.data.is_some()) {
            add(Ctr::Status400);
            out.clear();
            answer::error_answer(&mut out, 400, why);
            let _ = write_answer(&mut s, &out, &[], ctx.idle).await;
            return;
        }
        let failed = match w.io {
            Io::Timer => {
                if w.wait_us > 0 {
                    tokio::time::sleep(Duration::from_micros(w.wait_us as u64)).await;
                }
                None
            }
            Io::Net => {
                let up = ctx.upstream.as_ref().expect("capable() checked it");
                let b = backend.get_or_insert_with(Backend::new);
                b.exchange(up, w.wait_us, ctx.upstream_timeout)
                    .await
                    .err()
                    .map(|why| {
                        add(Ctr::Status502);
                        add(Ctr::UpstreamErrors);
                        (502, why)
                    })
            }
            Io::File => {
                let data = ctx.data.as_ref().expect("capable() checked it");
                read_file(data, &mut file_buf, w.file_kib, &mut rng)
                    .await
                    .err()
                    .map(|why| {
                        add(Ctr::FileErrors);
                        (500, why)
                    })
            }
        };
        out.clear();
        let body = match failed {
            Some((status, why)) => {
                answer::failure_answer(&mut out, status, &why, req.keep_alive, req.http_minor);
                &[][..]
            }
            None => {
                proto::spin::spin(w.work_us);
                answer::head_ok(&mut out, w.bytes as usize, req.keep_alive, req.http_minor);
                add(Ctr::Requests);
                if req.head_only {
                    &[][..]
                } else {
                    &proto::BODY[..w.bytes as usize]
                }
            }
        };
        if let Err(e) = write_answer(&mut s, &out, body, ctx.idle).await {
            add(io_error_kind(&e));
            return;
        }
        if !req.keep_alive {
            return;
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
/// when the socket buffer has room. A client that takes none of it for the
/// idle timeout is an I/O error (the C servers' SO_SNDTIMEO).
async fn write_answer(
    s: &mut TcpStream,
    head: &[u8],
    body: &[u8],
    idle: Option<Duration>,
) -> io::Result<()> {
    match idle {
        Some(d) => match tokio::time::timeout(d, write_all2(s, head, body)).await {
            Ok(r) => r,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        },
        None => write_all2(s, head, body).await,
    }
}

async fn write_all2(s: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let (mut h, mut b) = (0usize, 0usize);
    while h < head.len() {
        let n = if b < body.len() {
            s.write_vectored(&[IoSlice::new(&head[h..]), IoSlice::new(&body[b..])])
                .await?
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
