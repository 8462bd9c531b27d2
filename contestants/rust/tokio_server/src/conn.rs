//! conn.rs: one task per connection: read, frame, wait (timer, backend or
//! file), update the shared table, spin, answer, in order; each wait an
//! await.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use proto::counters::{add, Ctr};
use proto::datafile::{AlignedBuf, DataFile, Rng};
use proto::input::{self, Framed, Input, Next, ReadEnd};
use proto::server::{self, Ctx};
use proto::workload::{Io, Workload};

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
/// body) must arrive by the deadline, as in the C thread server.
async fn next(
    s: &mut TcpStream,
    input: &mut Input,
    defaults: &Workload,
    deadline: Option<Instant>,
) -> Next {
    loop {
        let mid = match input.frame(defaults) {
            Framed::Request(r) => return Next::Serve(r),
            Framed::Error(status, why) => return Next::Refuse(status, why),
            Framed::Read { mid } => mid,
        };
        let room = input.room();
        let r = match deadline {
            Some(d) => tokio::time::timeout_at(d, s.read(room)).await.ok(),
            None => Some(s.read(room).await),
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

/// Serves one connection until the peer closes, an error answer, an idle
/// timeout, or a `Connection: close` request.
pub async fn serve<T: Shared>(mut s: TcpStream, ctx: Arc<Ctx>, id: u64, table: T) {
    let _closed = Closed;
    let _ = s.set_nodelay(true);
    let mut input = Input::new();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut backend: Option<Backend> = None; // at the first io=net request
    let mut file_buf: Option<AlignedBuf> = None; // at the first io=file request
    let mut rng = Rng::new(id);
    loop {
        let deadline = ctx.idle.map(|d| Instant::now() + d);
        let req = match ctx.admit(next(&mut s, &mut input, &ctx.defaults, deadline).await) {
            Next::Serve(r) => r,
            Next::Refuse(status, why) => {
                server::refusal(&mut out, status, &why);
                let _ = write_answer(&mut s, &out, &[], ctx.idle).await;
                return;
            }
            Next::Gone => return,
        };
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
                let b = backend.get_or_insert_with(Backend::new);
                upstream::exchange(b, up, w.wait_us, ctx.upstream_timeout)
                    .await
                    .err()
                    .map(|why| (502, why))
            }
            Io::File => {
                let data = ctx.data.as_ref().expect("admit() checked it");
                read_file(data, &mut file_buf, w.file_kib, &mut rng)
                    .await
                    .err()
                    .map(|why| (500, why))
            }
        };
        let body = server::answer(&mut out, &req, failed, |w| table.update(w));
        if let Err(e) = write_answer(&mut s, &out, body, ctx.idle).await {
            server::write_failed(&e);
            return;
        }
        if !req.keep_alive {
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
