//! conn.rs: one connection on its own thread, blocking calls only: read,
//! frame, wait (sleep, backend, pread), update the shared table, spin,
//! answer, in order.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use proto::http::Request;
use proto::input::{self, Framed, Input, Next, ReadEnd};
use proto::server;
use proto::shared::{self, Table};
use proto::stop::{self, End, Phase};
use proto::workload::Io;

use crate::upstream::{self, Backend};

/// What every connection thread shares: the server's settings, the table of
/// state=shared, and the stop.
pub struct Ctx {
    pub base: server::Ctx,
    pub table: Mutex<Table>,
    /// Phase as u8. Stopping: the stop shut every client socket down for
    /// reading; Cut: for writing too, and WAKE_SIGNAL interrupts blocked calls.
    pub phase: AtomicU8,
}

impl Ctx {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }

    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.phase() >= Phase::Stopping
    }

    fn cut(&self) -> bool {
        self.phase() == Phase::Cut
    }
}

/// One read into room. Mid-request, the whole request must arrive within the
/// idle timeout, not each byte (a one-byte-a-second client is idle): the
/// socket timeout narrows to what is left, as in the C thread server.
/// mid: part of a request is in, so an end aborts it. Err: the connection
/// ended, counted.
fn read(
    s: &mut TcpStream,
    ctx: &Ctx,
    room: &mut [u8],
    mid: bool,
    deadline: Option<Instant>,
    narrowed: &mut bool,
) -> Result<usize, ()> {
    loop {
        if let (Some(d), true) = (deadline, mid || *narrowed) {
            let now = Instant::now();
            if now >= d {
                input::read_ended(ReadEnd::TimedOut, true);
                return Err(());
            }
            let _ = s.set_read_timeout(Some(d - now));
            *narrowed = true;
        }
        let end = match s.read(room) {
            Ok(n) if n > 0 => return Ok(n),
            Ok(_) => ReadEnd::Closed,
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !ctx.cut() => continue,
            Err(e) => ReadEnd::of(&e),
        };
        if ctx.stopping() {
            stop::read_closed(mid); // the stop's shutdown ended the read
        } else {
            input::read_ended(end, mid);
        }
        return Err(());
    }
}

/// Frames the next request, reading as needed, within the idle timeout.
fn next(s: &mut TcpStream, input: &mut Input, ctx: &Ctx) -> Next {
    let deadline = ctx.base.idle.map(|d| Instant::now() + d);
    let mut narrowed = false;
    let r = loop {
        let mid = match input.frame(&ctx.base.defaults) {
            Framed::Request(r) => break Next::Serve(r),
            Framed::Error(status, why) => break Next::Refuse(status, why),
            Framed::Read { mid } => mid,
        };
        match read(s, ctx, input.room(), mid, deadline, &mut narrowed) {
            Ok(n) => input.filled(n),
            Err(()) => break Next::Gone,
        }
    };
    if narrowed {
        let _ = s.set_read_timeout(ctx.base.idle);
    }
    r
}

/// A blocking sleep of the request's wait, resumed after signals unless the
/// stop's grace is over (then WAKE_SIGNAL cut it short).
fn wait_sleep(wait_us: u32, ctx: &Ctx) {
    let mut ts = libc::timespec {
        tv_sec: (wait_us / 1_000_000) as libc::time_t,
        tv_nsec: ((wait_us % 1_000_000) * 1000) as libc::c_long,
    };
    // std::thread::sleep resumes after EINTR by itself, so it cannot be cut short.
    while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &ts, &mut ts) } == libc::EINTR
        && !ctx.cut()
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

/// What a connection keeps from one request to the next, with this server's
/// backend.
type Conn = server::Conn<Backend>;

/// One request: its wait, the answer (the shared table's update under its
/// mutex, the work) and the write; at a stop with `Connection: close`.
fn request(s: &mut TcpStream, ctx: &Ctx, req: &Request, c: &mut Conn) -> End {
    let base = &ctx.base;
    let w = req.work;
    let cut = || ctx.cut();
    let failed = match w.io {
        Io::Timer => {
            if w.wait_us > 0 {
                wait_sleep(w.wait_us, ctx);
            }
            None
        }
        Io::Net => {
            let up = base.upstream.as_ref().expect("admit() checked it");
            let b = c.backend.get_or_insert_with(Backend::new);
            upstream::exchange(b, up, w.wait_us, base.upstream_timeout, &cut)
                .err()
                .map(|why| (502, why))
        }
        Io::File => {
            let data = base.data.as_ref().expect("admit() checked it");
            let len = w.file_kib as usize * 1024;
            let off = data.random_offset(len, &mut c.rng);
            // pread in the connection thread: it blocks this thread only.
            let (buf, r) = data.read_into(c.file_buf.take(), len, off);
            c.file_buf = Some(buf);
            r.err().map(|why| (500, why))
        }
    };
    if ctx.cut() {
        return End::Cut; // cut short at the end of the grace: not answered
    }
    let keep = req.keep_alive && !ctx.stopping();
    let body = server::answer(&mut c.out, req, failed, keep, |w| {
        shared::serve(w, || shared::lock_counted(&ctx.table))
    });
    match write_answer(s, &c.out, body) {
        Ok(()) if keep => End::Keep,
        Ok(()) => End::Done,
        Err(_) if ctx.cut() => End::Cut,
        Err(e) => {
            server::write_failed(&e);
            End::Failed
        }
    }
}

/// Serves one connection until the peer closes, an error answer, an idle
/// timeout, a `Connection: close` request, or the stop.
pub fn serve(s: &mut TcpStream, ctx: &Ctx, id: u64) {
    let mut input = Input::new();
    let mut c = Conn::new(id);
    loop {
        let req = match ctx.base.admit(next(s, &mut input, ctx)) {
            Next::Serve(r) => r,
            Next::Refuse(status, why) => {
                server::refusal(&mut c.out, status, &why);
                let _ = write_answer(s, &c.out, &[]);
                return;
            }
            Next::Gone => return,
        };
        let end = request(s, ctx, &req, &mut c);
        if ctx.stopping() {
            stop::request_ended(end); // then close: what follows it is not read
            return;
        }
        if end != End::Keep {
            return;
        }
    }
}
