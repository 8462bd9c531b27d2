//! server.rs: what every Rust server does around its connections, apart from
//! how it waits: the start (command line and data file), the settings each
//! connection reads and what it keeps, the accept errors, and the answer once
//! a request's wait is over (with the shared table's update, however the
//! server guards it).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::answer;
use crate::cli::{self, Extra, Opts, Parsed, Upstream};
use crate::counters::{add, Ctr};
use crate::datafile::{self, AlignedBuf, DataFile, Rng};
use crate::http::Request;
use crate::input::Next;
use crate::workload::{self, State, Workload};

/// How long the accept loop pauses when out of fds: the listener stays
/// readable, so retrying at once would spin. Open connections go on.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What every connection of a server reads.
#[derive(Clone)]
pub struct Ctx {
    pub defaults: Workload,
    pub idle: Option<Duration>, // --idle-timeout-ms; None: never
    pub upstream: Option<Upstream>,
    pub upstream_timeout: Duration,
    pub data: Option<Arc<DataFile>>,
    pub grace: Duration, // --grace-ms: at the stop, for requests in flight
}

/// The start of `prog`: its command line, and the data file opened and
/// checked. Ends the process where a server must not start: --help prints
/// usage() and exits 0; a usage error or a data file that cannot be read with
/// O_DIRECT prints why and exits 2.
pub fn start(prog: &str, extra: &Extra, usage: &dyn Fn() -> String) -> (Opts, Ctx) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match cli::parse(&args, extra) {
        Parsed::Run(o) => o,
        Parsed::Help => {
            print!("{}", usage());
            std::process::exit(0);
        }
        Parsed::Error(e) => {
            eprintln!("{prog}: {e}");
            std::process::exit(2);
        }
    };
    let data = match &o.data_file {
        Some(p) => match datafile::open_checked(p) {
            Ok(d) => Some(Arc::new(d)),
            Err(e) => {
                eprintln!("{prog}: {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let ctx = Ctx {
        defaults: o.defaults,
        idle: if o.idle_timeout_ms > 0 {
            Some(Duration::from_millis(o.idle_timeout_ms as u64))
        } else {
            None
        },
        upstream: o.upstream.clone(),
        upstream_timeout: Duration::from_millis(o.upstream_timeout_ms as u64),
        data,
        grace: Duration::from_millis(o.grace_ms as u64),
    };
    (o, ctx)
}

/// Counts an accept that failed. true: out of fds or memory, so pause for
/// ACCEPT_PAUSE; false: one client's trouble (ECONNABORTED and friends).
pub fn accept_failed(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM) => {
            add(Ctr::AcceptEmfile);
            true
        }
        _ => {
            add(Ctr::AcceptErrors);
            false
        }
    }
}

impl Ctx {
    /// The request to serve, or a 400 for one of an io kind this server was
    /// not started for (no --upstream, no --data-file).
    pub fn admit(&self, next: Next) -> Next {
        match next {
            Next::Serve(r) => {
                match workload::capable(&r.work, self.upstream.is_some(), self.data.is_some()) {
                    Ok(()) => Next::Serve(r),
                    Err(why) => Next::Refuse(400, why.to_string()),
                }
            }
            other => other,
        }
    }
}

/// What a connection keeps from one request to the next. B: the server's
/// connection to the backend (blocking or async).
pub struct Conn<B> {
    pub out: Vec<u8>,
    pub backend: Option<B>,           // at the first io=net request
    pub file_buf: Option<AlignedBuf>, // at the first io=file request
    pub rng: Rng,
}

impl<B> Conn<B> {
    /// Nothing opened yet; id (the connection's number) seeds its file offsets.
    pub fn new(id: u64) -> Conn<B> {
        Conn {
            out: Vec::with_capacity(256),
            backend: None,
            file_buf: None,
            rng: Rng::new(id),
        }
    }
}

/// An answer that ends the connection (a malformed request, an io kind the
/// server cannot serve): counts its status and puts it in out.
pub fn refusal(out: &mut Vec<u8>, status: u16, why: &str) {
    add(Ctr::status(status));
    out.clear();
    answer::error_answer(out, status, why);
}

/// The answer once the request's wait is over: on a failure (502 the backend,
/// 500 the file read) a failure answer, counted; else, for state=shared, the
/// shared table's update (update: shared::serve under this server's guard; a
/// full table is a 503, counted), then work_us of CPU and a 200, counted.
/// keep_alive: the request's, unless the server is stopping (Connection:
/// close). The head goes in out; returns the body to write after it.
pub fn answer(
    out: &mut Vec<u8>,
    req: &Request,
    mut failed: Option<(u16, String)>,
    keep_alive: bool,
    update: impl FnOnce(&Workload) -> Option<u64>,
) -> &'static [u8] {
    out.clear();
    let w = &req.work;
    let mut shared = None;
    if failed.is_none() && w.state == State::Shared {
        shared = update(w);
        if shared.is_none() {
            failed = Some((503, crate::shared::FULL_REASON.to_string()));
        }
    }
    match failed {
        Some((status, why)) => {
            match status {
                502 => {
                    add(Ctr::Status502);
                    add(Ctr::UpstreamErrors);
                }
                503 => add(Ctr::Status503),
                _ => add(Ctr::FileErrors),
            }
            answer::failure_answer(out, status, &why, keep_alive, req.http_minor);
            &[]
        }
        None => {
            crate::spin::spin(w.work_us);
            answer::head_ok(out, w.bytes as usize, keep_alive, req.http_minor, shared);
            add(Ctr::Requests);
            if req.head_only {
                &[]
            } else {
                &crate::BODY[..w.bytes as usize]
            }
        }
    }
}

/// Counts an answer that could not be written: the client went away
/// (aborted), or another I/O error.
pub fn write_failed(e: &io::Error) {
    add(match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Ctr::Aborted,
        _ => Ctr::IoErrors,
    });
}

/// A socket timeout (SO_RCVTIMEO/SO_SNDTIMEO reads as WouldBlock) or ETIMEDOUT.
pub fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A signal set of these signals.
pub fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}
