//! conn.rs: one connection on its own thread, blocking calls only: read,
//! frame, wait (sleep, backend, pread), spin, answer, in order.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::answer;
use proto::cli::Upstream;
use proto::counters::{add, Ctr};
use proto::datafile::{AlignedBuf, DataFile, Rng};
use proto::http::{self, Parse, Request};
use proto::workload::{self, Io, Workload};

use crate::upstream::Backend;

/// Per-connection read buffer, as CONN_READ_BUF in the C servers.
const READ_BUF: usize = 4096;

/// What every connection thread shares.
pub struct Ctx {
    pub defaults: Workload,
    pub idle: Option<Duration>,
    pub upstream: Option<Upstream>,
    pub upstream_timeout: Duration,
    pub data: Option<Arc<DataFile>>,
    pub stopping: AtomicBool, // set at SIGTERM; WAKE_SIGNAL interrupts blocked calls
}

impl Ctx {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

enum Next {
    Request(Request),
    Error(u16, String), // answer it and close
    Gone,               // ended (EOF, reset, idle timeout, stop); counted
}

struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Input {
    /// One read. Mid-request, the whole request must arrive within the idle
    /// timeout, not each byte (a one-byte-a-second client is idle): the socket
    /// timeout narrows to what is left, as in the C thread server.
    /// Reads into buf[at..]; mid: part of a request is in, so an end aborts it.
    fn read(
        &mut self,
        s: &mut TcpStream,
        ctx: &Ctx,
        at: usize,
        mid: bool,
        deadline: Option<Instant>,
        narrowed: &mut bool,
    ) -> Result<usize, ()> {
        loop {
            if let (Some(d), true) = (deadline, mid || *narrowed) {
                let now = Instant::now();
                if now >= d {
                    add(Ctr::IdleTimeouts);
                    add(Ctr::Aborted);
                    return Err(());
                }
                let _ = s.set_read_timeout(Some(d - now));
                *narrowed = true;
            }
            match s.read(&mut self.buf[at..]) {
                Ok(n) if n > 0 => return Ok(n),
                Ok(_) => {
                    if mid {
                        add(Ctr::Aborted);
                    }
                    return Err(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !ctx.stopping() => {}
                Err(e) => {
                    if timed_out(&e) {
                        add(Ctr::IdleTimeouts);
                    }
                    if mid {
                        add(Ctr::Aborted);
                    } else if !timed_out(&e)
                        && e.kind() != io::ErrorKind::ConnectionReset
                        && !ctx.stopping()
                    {
                        add(Ctr::IoErrors);
                    }
                    return Err(());
                }
            }
        }
    }

    fn next(&mut self, s: &mut TcpStream, ctx: &Ctx) -> Next {
        let deadline = ctx.idle.map(|d| Instant::now() + d);
        let mut narrowed = false;
        let r = self.frame(s, ctx, deadline, &mut narrowed);
        if narrowed {
            let _ = s.set_read_timeout(ctx.idle);
        }
        r
    }

    fn frame(
        &mut self,
        s: &mut TcpStream,
        ctx: &Ctx,
        deadline: Option<Instant>,
        narrowed: &mut bool,
    ) -> Next {
        loop {
            if self.start < self.end {
                match http::parse(&self.buf[self.start..self.end], &ctx.defaults) {
                    Parse::More => {}
                    Parse::Error(status, why) => return Next::Error(status, why),
                    Parse::Request(used, req) => {
                        self.start += used;
                        // A GET body is read and dropped, never stored.
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
                            match self.read(s, ctx, 0, true, deadline, narrowed) {
                                Ok(n) => self.end = n,
                                Err(()) => return Next::Gone,
                            }
                        }
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
                    let grown = (self.buf.len() * 2).min(http::HEAD_BUF_MAX);
                    self.buf.resize(grown, 0);
                }
            }
            let (at, mid) = (self.end, self.start < self.end);
            match self.read(s, ctx, at, mid, deadline, narrowed) {
                Ok(n) => self.end += n,
                Err(()) => return Next::Gone,
            }
        }
    }
}

/// A blocking sleep of the request's wait, resumed after signals unless the
/// server is stopping (then WAKE_SIGNAL cut it short).
fn wait_sleep(wait_us: u32, ctx: &Ctx) {
    let mut ts = libc::timespec {
        tv_sec: (wait_us / 1_000_000) as libc::time_t,
        tv_nsec: ((wait_us % 1_000_000) * 1000) as libc::c_long,
    };
    // std::thread::sleep resumes after EINTR by itself, so it cannot be cut short.
    while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &ts, &mut ts) } == libc::EINTR
        && !ctx.stopping()
    {}
}

/// Writes head and body with writev, resuming short writes.
fn write_answer(s: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let (mut h, mut b) = (0usize, 0usize);
    while h < head.len() || b < body.len() {
        let r = if h < head.len() && b < body.len() {
            s.write_vectored(&[IoSlice::new(&head[h..]), IoSlice::new(&body[b..])])
        } else if h < head.len() {
            s.write(&head[h..])
        } else {
            s.write(&body[b..])
        };
        match r {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let from_head = n.min(head.len() - h);
                h += from_head;
                b += n - from_head;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Serves one connection until the peer closes, an error answer, an idle
/// timeout, a `Connection: close` request, or the stop.
pub fn serve(s: &mut TcpStream, ctx: &Ctx, id: u64) {
    let mut input = Input {
        buf: vec![0u8; READ_BUF],
        start: 0,
        end: 0,
    };
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut backend: Option<Backend> = None;
    let mut file_buf: Option<AlignedBuf> = None;
    let mut rng = Rng::new(id);
    let stopping = || ctx.stopping();
    loop {
        let req = match input.next(s, ctx) {
            Next::Request(r) => r,
            Next::Error(status, why) => {
                add(Ctr::status(status));
                out.clear();
                answer::error_answer(&mut out, status, &why);
                let _ = write_answer(s, &out, &[]);
                return;
            }
            Next::Gone => return,
        };
        let w = req.work;
        if let Err(why) = workload::capable(&w, ctx.upstream.is_some(), ctx.data.is_some()) {
            add(Ctr::Status400);
            out.clear();
            answer::error_answer(&mut out, 400, why);
            let _ = write_answer(s, &out, &[]);
            return;
        }
        let failed = match w.io {
            Io::Timer => {
                if w.wait_us > 0 {
                    wait_sleep(w.wait_us, ctx);
                }
                None
            }
            Io::Net => {
                let up = ctx.upstream.as_ref().expect("capable() checked it");
                let b = backend.get_or_insert_with(Backend::new);
                b.exchange(up, w.wait_us, ctx.upstream_timeout, &stopping)
                    .err()
                    .map(|why| (502, why))
            }
            Io::File => {
                let data = ctx.data.as_ref().expect("capable() checked it");
                let len = w.file_kib as usize * 1024;
                if file_buf.as_ref().map_or(true, |b| b.len() < len) {
                    file_buf = Some(AlignedBuf::new(len));
                }
                let buf = file_buf.as_mut().expect("allocated above");
                let off = data.random_offset(len, &mut rng);
                // pread in the connection thread: it blocks this thread only.
                data.read_exact_at(&mut buf.as_mut_slice()[..len], off)
                    .err()
                    .map(|e| {
                        (
                            500,
                            format!("read of {len} bytes at offset {off} of {}: {e}", data.path),
                        )
                    })
            }
        };
        if ctx.stopping() {
            return; // cut short at stop: not answered, as in the C servers
        }
        out.clear();
        let body = match failed {
            Some((status, why)) => {
                if status == 502 {
                    add(Ctr::Status502);
                    add(Ctr::UpstreamErrors);
                } else {
                    add(Ctr::FileErrors);
                }
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
        if let Err(e) = write_answer(s, &out, body) {
            add(match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Ctr::Aborted,
                _ => Ctr::IoErrors,
            });
            return;
        }
        if !req.keep_alive {
            return;
        }
    }
}
