//! upstream.rs: io=net with a blocking std TcpStream: the connection thread
//! writes the backend request and blocks in read() until the whole answer is
//! in, bounded by --upstream-timeout-ms through socket timeouts.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use proto::backend::{self, fail, Failure, Link};
use proto::cli::Upstream;
use proto::server::timed_out;

pub type Backend = Link<TcpStream>;

/// Time left before the deadline, or a failure saying the backend was too slow.
fn left(deadline: Instant, up: &Upstream, limit: Duration) -> Result<Duration, Failure> {
    let now = Instant::now();
    if now >= deadline {
        return Err(fail(backend::too_slow(up, limit)));
    }
    Ok(deadline - now)
}

/// Sends the request for wait_us on link and reads the whole answer, all
/// within limit; a stale reused connection is retried once on a new one.
/// cut() ends it when a signal interrupts a call (the stop's grace is over).
/// Err: why, for the 502's body.
pub fn exchange(
    link: &mut Backend,
    up: &Upstream,
    wait_us: u32,
    limit: Duration,
    cut: &dyn Fn() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let mut r = once(link, up, wait_us, deadline, limit, cut);
    if let Err(Failure { stale: true, .. }) = r {
        link.drop_conn();
        r = once(link, up, wait_us, deadline, limit, cut);
    }
    r.map_err(|f| {
        link.drop_conn();
        f.why
    })
}

fn once(
    link: &mut Backend,
    up: &Upstream,
    wait_us: u32,
    deadline: Instant,
    limit: Duration,
    cut: &dyn Fn() -> bool,
) -> Result<(), Failure> {
    if !link.is_open() {
        let t = left(deadline, up, limit)?;
        let s = TcpStream::connect_timeout(&up.addr, t).map_err(|e| {
            if timed_out(&e) {
                fail(format!(
                    "backend {} did not accept within {} ms",
                    up.host_header,
                    limit.as_millis()
                ))
            } else {
                fail(backend::cannot_connect(up, &e))
            }
        })?;
        let _ = s.set_nodelay(true);
        link.opened(s);
    }
    let reused = link.reused();
    let (s, req) = link.request(wait_us, &up.host_header);
    let mut sent = 0;
    while sent < req.len() {
        let _ = s.set_write_timeout(Some(left(deadline, up, limit)?));
        match s.write(&req[sent..]) {
            Ok(0) => return Err(fail(format!("backend {} took no bytes", up.host_header))),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !cut() => {}
            Err(e) => return Err(backend::send_failed(up, &e, reused)),
        }
    }
    link.sent();
    loop {
        if let Some(r) = link.answer() {
            return r;
        }
        let t = left(deadline, up, limit)?;
        let (s, room) = link.room();
        let _ = s.set_read_timeout(Some(t));
        let n = s.read(room);
        link.filled(*n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => return Err(link.ended(up, None)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !cut() => {}
            Err(e) if timed_out(&e) => {
                left(deadline, up, limit)?; // the deadline passed: say so
            }
            Err(e) => return Err(link.ended(up, Some(&e))),
        }
    }
}
