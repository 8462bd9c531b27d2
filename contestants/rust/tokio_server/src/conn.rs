//! conn.rs: one task per connection: read, frame, wait (timer, backend or
//! file), update the shared table, spin, answer, in order; each wait an
//! await. At the stop a read waiting for a request is dropped (the
//! connection closes), and a request in flight races the cut.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use proto::counters::{add, Ctr};
use proto::datafile::{AlignedBuf, DataFile, Rng};
use proto::http::Request;
use proto::input::{self, Framed, Input, Next, ReadEnd};
use proto::server::{self, Ctx};
use proto::stop::{self, End, Phase};
use proto::workload::{Io, Workload};

use crate::race::{race, reached, Either};
use crate::upstream::{self, Backend};
use crate::Shared;

/// Counts the close however the task ends.
struct Closed;

impl Drop for Closed {
    fn drop(&mut self) {
        add(Ctr::Closed);
    }
}

/// Frames the next request, reading as needed. The whole request (head and
/// body) must arrive by the deadline, as in the C thread server. At the stop
/// the read is dropped and the connection ends (counted idle or partial).
async fn next(
    s: &mut TcpStream,
    input: &mut Input,
    defaults: &Workload,
    deadline: Option<Instant>,
    stop: &mut watch::Receiver<Phase>,
) -> Next {
    loop {
        let mid = match input.frame(defaults) {
            Framed::Request(r) => return Next::Serve(r),
            Framed::Error(status, why) => return Next::Refuse(status, why),
            Framed::Read { mid } => mid,
        };
        let room = input.room();
        let read = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, s.read(room)).await.ok(),
                None => Some(s.read(room).await),
            }
        };
        let r = match race(read, reached(stop, Phase::Stopping)).await {
            Either::Left(r) => r,
            Either::Right(()) => {
                stop::read_closed(mid);
                return Next::Gone;
            }
        };
        let end = match r {
            Some(Ok(n)) if n > 0 => {
                input.filled(n);
                continue;
            }
            Some(Ok(_)) => ReadEnd::Closed,
            Some(Err(e)) => ReadEnd::of(&e),
            None => ReadEnd::TimedOut,
        };
        input::read_ended(end, mid);
        return Next::Gone;
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
    let off = data.random_offset(len, rng);
    let (file, buf) = (data.clone(), keep.take());
    let (buf, r) = tokio::task::spawn_blocking(move || file.read_into(buf, len, off))
        .await
        .map_err(|e| format!("the read's blocking task failed: {e}"))?;
    *keep = Some(buf);
    r
}

/// What a connection keeps from one request to the next, with this server's
/// backend.
type Conn = server::Conn<Backend>;

/// One request in flight: its wait, the answer (the shared table's update and
/// the work inside it) and the write. Cancelled by dropping it, at the cut.
/// The answer says `Connection: close` when the stop came meanwhile.
async fn request<T: Shared>(
    s: &mut TcpStream,
    ctx: &Ctx,
    req: &Request,
    c: &mut Conn,
    table: &T,
    stop: &watch::Receiver<Phase>,
) -> End {
    let w = req.work;
    let failed = match w.io {
        Io::Timer => {
            if w.wait_us > 0 {
                tokio::time::sleep(Duration::from_micros(w.wait_us as u64)).await;
            }
            None
        }
        Io::Net => {
            let up = ctx.upstream.as_ref().expect("admit() checked it");
            let b = c.backend.get_or_insert_with(Backend::new);
            upstream::exchange(b, up, w.wait_us, ctx.upstream_timeout)
                .await
                .err()
                .map(|why| (502, why))
        }
        Io::File => {
            let data = ctx.data.as_ref().expect("admit() checked it");
            read_file(data, &mut c.file_buf, w.file_kib, &mut c.rng)
                .await
                .err()
                .map(|why| (500, why))
        }
    };
    let keep = req.keep_alive && *stop.borrow() == Phase::Running;
    let body = server::answer(&mut c.out, req, failed, keep, |w| table.update(w));
    match write_answer(s, &c.out, body, ctx.idle).await {
        Ok(()) if keep => End::Keep,
        Ok(()) => End::Done,
        Err(e) => {
            server::write_failed(&e);
            End::Failed
        }
    }
}

/// Serves one connection until the peer closes, an error answer, an idle
/// timeout, a `Connection: close` request, or the stop.
pub async fn serve<T: Shared>(
    mut s: TcpStream,
    ctx: Arc<Ctx>,
    id: u64,
    table: T,
    mut stop: watch::Receiver<Phase>,
) {
    let _closed = Closed;
    let _ = s.set_nodelay(true);
    let mut input = Input::new();
    let mut c = Conn::new(id);
    let mut cut = stop.clone(); // raced against a request in flight
    loop {
        let deadline = ctx.idle.map(|d| Instant::now() + d);
        let next = next(&mut s, &mut input, &ctx.defaults, deadline, &mut stop).await;
        let req = match ctx.admit(next) {
            Next::Serve(r) => r,
            Next::Refuse(status, why) => {
                server::refusal(&mut c.out, status, &why);
                let _ = write_answer(&mut s, &c.out, &[], ctx.idle).await;
                return;
            }
            Next::Gone => return,
        };
        let in_flight = request(&mut s, &ctx, &req, &mut c, &table, &stop);
        let end = match race(in_flight, reached(&mut cut, Phase::Cut)).await {
            Either::Left(end) => end,
            Either::Right(()) => End::Cut,
        };
        if *stop.borrow() != Phase::Running {
            stop::request_ended(end); // then close: what follows it is not read
            return;
        }
        if end != End::Keep {
            return;
        }
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
