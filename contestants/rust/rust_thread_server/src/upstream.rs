//! upstream.rs: io=net with a blocking std TcpStream: the connection thread
//! writes the backend request and blocks in read() until the whole answer is
//! in, bounded by --upstream-timeout-ms through socket timeouts.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use proto::backend::{self, Answer};
use proto::cli::Upstream;

/// A front connection's backend side, opened at its first io=net request and
/// reused; any failure drops it, so the next request reconnects.
pub struct Backend {
    stream: Option<TcpStream>,
    reused: bool, // it has carried a whole answer before
    buf: Vec<u8>,
}

struct Failure {
    why: String,
    stale: bool, // a reused connection ended before any answer byte: retry once
}

fn fail(why: String) -> Failure {
    Failure { why, stale: false }
}

/// Time left before the deadline, or a failure saying the backend was too slow.
fn left(deadline: Instant, up: &Upstream, limit: Duration) -> Result<Duration, Failure> {
    let now = Instant::now();
    if now >= deadline {
        return Err(fail(format!(
            "backend {} gave no whole answer within {} ms (--upstream-timeout-ms)",
            up.host_header,
            limit.as_millis()
        )));
    }
    Ok(deadline - now)
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Backend {
    pub fn new() -> Backend {
        Backend {
            stream: None,
            reused: false,
            buf: Vec::new(),
        }
    }

    /// Sends the request for wait_us and reads the whole answer, all within
    /// limit. stopping() cuts it short when a signal interrupts a call
    /// (the server is stopping). Err: why, for the 502's body.
    pub fn exchange(
        &mut self,
        up: &Upstream,
        wait_us: u32,
        limit: Duration,
        stopping: &dyn Fn() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut r = self.once(up, wait_us, deadline, limit, stopping);
        if let Err(Failure { stale: true, .. }) = r {
            self.drop_conn();
            r = self.once(up, wait_us, deadline, limit, stopping);
        }
        r.map_err(|f| {
            self.drop_conn();
            f.why
        })
    }

    fn drop_conn(&mut self) {
        self.stream = None;
        self.reused = false;
        self.buf = Vec::new(); // an idle connection keeps no answer buffer
    }

    fn once(
        &mut self,
        up: &Upstream,
        wait_us: u32,
        deadline: Instant,
        limit: Duration,
        stopping: &dyn Fn() -> bool,
    ) -> Result<(), Failure> {
        if self.stream.is_none() {
            let t = left(deadline, up, limit)?;
            let s = TcpStream::connect_timeout(&up.addr, t).map_err(|e| {
                if timed_out(&e) {
                    fail(format!(
                        "backend {} did not accept within {} ms",
                        up.host_header,
                        limit.as_millis()
                    ))
                } else {
                    fail(format!("cannot connect to backend {}: {e}", up.host_header))
                }
            })?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
            self.reused = false;
        }
        let reused = self.reused;
        let s = self.stream.as_mut().expect("connected above");
        self.buf.clear();
        backend::request(&mut self.buf, wait_us, &up.host_header);
        let mut sent = 0;
        while sent < self.buf.len() {
            let _ = s.set_write_timeout(Some(left(deadline, up, limit)?));
            match s.write(&self.buf[sent..]) {
                Ok(0) => return Err(fail(format!("backend {} took no bytes", up.host_header))),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !stopping() => {}
                Err(e) => {
                    let why = format!("cannot send to backend {}: {e}", up.host_header);
                    return Err(Failure {
                        why,
                        stale: reused && !timed_out(&e),
                    });
                }
            }
        }
        self.buf.clear();
        loop {
            match backend::parse_answer(&self.buf) {
                Answer::Done { len, status, close } => {
                    if let Some(why) = backend::status_failure(status) {
                        return Err(fail(why));
                    }
                    if close || len != self.buf.len() {
                        self.drop_conn(); // closing, or bytes nobody asked for
                    } else {
                        self.reused = true;
                    }
                    return Ok(());
                }
                Answer::Malformed(why) => return Err(fail(why)),
                Answer::More => {}
            }
            let _ = s.set_read_timeout(Some(left(deadline, up, limit)?));
            let at = self.buf.len();
            self.buf.resize(at + 4096, 0);
            let n = s.read(&mut self.buf[at..]);
            self.buf.truncate(at + *n.as_ref().unwrap_or(&0));
            match n {
                Ok(0) => {
                    let why = format!("backend {} closed the connection", up.host_header);
                    return Err(Failure {
                        why,
                        stale: reused && at == 0,
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !stopping() => {}
                Err(e) if timed_out(&e) => {
                    left(deadline, up, limit)?; // the deadline passed: say so
                }
                Err(e) => {
                    let why = format!("backend {}: {e}", up.host_header);
                    return Err(Failure {
                        why,
                        stale: reused && at == 0,
                    });
                }
            }
        }
    }
}
