//! rust_thread_server: the suite's protocol with blocking std::net and one
//! std::thread per connection: the thread side of the Rust pair, beside Tokio.
//!
//! Each connection thread is detached (its JoinHandle dropped) and owns its
//! socket: it reads, waits, writes and closes the socket before it ends. A
//! registry of live connections lets the graceful stop reach them, as
//! thread_impl/server.c does: it wakes the idle ones (a shutdown for reading
//! of their sockets), waits for the busy ones up to --grace-ms, cuts the
//! rest, and only then prints the counters. A connection for which no
//! thread can be made is answered 503 by the accept loop, and the others go
//! on: see NO_SIGNAL_STACKS for why that needs std's threads without their
//! signal stack.

mod conn;
mod upstream;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::process::exit;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use proto::answer;
use proto::cli::{self, Extra, STACK_KIB_MIN};
use proto::counters::{add, add_n, Ctr};
use proto::server;
use proto::shared::{self, Table};
use proto::stop::{self, Phase};

const PROG: &str = "rust_thread_server";
const WAKE_SIGNAL: libc::c_int = libc::SIGUSR1; // interrupts a blocked call at the cut

fn usage() -> String {
    format!(
        "usage: {PROG} [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, in Rust (a contestant):
blocking std::net, one std::thread per connection. GET /?wait_us=N&work_us=N&bytes=N
&io=KIND&file_kib=K waits in its thread (io=timer: clock_nanosleep; io=net: a
blocking std TcpStream to the backend, with timeouts; io=file: pread with
O_DIRECT), with &state=shared&share_us=N&key=KEY updates the process's shared
table (an Arc<Mutex>), burns work_us of the thread's CPU time, then answers 200
with a body of `bytes` bytes; the flags set the defaults.

{}  --stack-kib N          stack of each connection thread in KiB, at least
                         {STACK_KIB_MIN}; 0 = Rust's default (2048 KiB, or RUST_MIN_STACK)
  --workers N            N processes, each with its own SO_REUSEPORT listener on
                         the port, as the C servers' --workers (default 1: the
                         model the claims describe; more to pass one process's
                         fd limit)
  -h, --help             this text

A connection for which no thread can be made is answered 503 and counted
(thread_create_failed); the others are served. Threads carry no std signal
stack (two maps each, as C threads): a stack overflow is a plain SIGSEGV.
Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT it
stops gracefully: it closes the listener at once, wakes the idle connections'
threads and closes them, answers the requests in flight (with Connection:
close) within --grace-ms and cuts the rest, then prints one JSON line of
counters on stderr and exits 0. Exit 1: a runtime failure; 2: a usage error or
a --data-file that cannot be read with O_DIRECT.
",
        cli::common_usage()
    )
}

/// Every live connection: its socket and thread, so that the stop can reach
/// them. Locked when a connection starts and ends, never per request.
struct Registry {
    conns: HashMap<u64, (RawFd, libc::pthread_t)>,
    closed: bool, // stopping: no new connection joins
}

struct Server {
    ctx: conn::Ctx,
    reg: Mutex<Registry>,
    empty: Condvar,
    stack_kib: u32,
}

fn conn_main(srv: Arc<Server>, fd: RawFd, id: u64) {
    let mut s = unsafe { TcpStream::from_raw_fd(fd) };
    {
        let mut reg = srv.reg.lock().unwrap_or_else(|e| e.into_inner());
        if reg.closed {
            // accepted, but the stop came first
            drop(reg);
            drop(s);
            stop::read_closed(false);
            add(Ctr::Closed);
            return;
        }
        reg.conns.insert(id, (fd, unsafe { libc::pthread_self() }));
    }
    let _ = s.set_nodelay(true);
    if let Some(idle) = srv.ctx.base.idle {
        let _ = s.set_read_timeout(Some(idle));
        let _ = s.set_write_timeout(Some(idle));
    }
    conn::serve(&mut s, &srv.ctx, id);
    // Leave before close: once the fd number is free it may be reused, and
    // the stop must not shut down someone else's socket.
    add(Ctr::Closed);
    {
        let mut reg = srv.reg.lock().unwrap_or_else(|e| e.into_inner());
        reg.conns.remove(&id);
        if reg.conns.is_empty() {
            srv.empty.notify_all();
        }
    }
    drop(s);
}

/// No thread for this connection: answer 503 from the accept loop and close.
/// The socket is fresh, so the short answer fits its send buffer at once.
fn refuse(fd: RawFd, e: &std::io::Error) {
    use std::io::Write;
    let mut s = unsafe { TcpStream::from_raw_fd(fd) };
    let mut out = Vec::new();
    answer::error_answer(
        &mut out,
        503,
        &format!("no thread for this connection: thread spawn: {e}"),
    );
    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = s.write_all(&out);
    add(Ctr::ThreadCreateFailed);
    add(Ctr::Status503);
    add(Ctr::Closed);
}

fn accept_loop(srv: &Arc<Server>, lfd: RawFd) {
    let mut id = 0u64;
    while srv.ctx.phase() == Phase::Running {
        let fd = unsafe {
            libc::accept4(
                lfd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
                _ if srv.ctx.phase() != Phase::Running => break,
                _ => {
                    if server::accept_failed(&e) {
                        std::thread::sleep(server::ACCEPT_PAUSE);
                    }
                }
            }
            continue;
        }
        add(Ctr::Accepted);
        id += 1;
        let mut b = std::thread::Builder::new();
        if srv.stack_kib > 0 {
            b = b.stack_size(srv.stack_kib as usize * 1024);
        }
        let s2 = srv.clone();
        let conn_id = id;
        if let Err(e) = b.spawn(move || conn_main(s2, fd, conn_id)) {
            // The closure (and its Arc) is gone; the fd is still ours.
            refuse(fd, &e);
        }
    }
}

/// The start of the stop: no connection joins any more, and every client
/// socket is shut down for reading, so that a thread blocked reading its
/// client (idle, or holding part of a request) wakes at once with EOF and
/// closes it, while a thread busy with a request goes on and can still write
/// its answer. One pass, none waited for.
fn stop_reading(srv: &Server) {
    let mut reg = srv.reg.lock().unwrap_or_else(|e| e.into_inner());
    reg.closed = true;
    for &(fd, _) in reg.conns.values() {
        unsafe { libc::shutdown(fd, libc::SHUT_RD) };
    }
}

/// Waits until every connection thread has left or timeout has passed;
/// returns how many are still live.
fn wait_empty(srv: &Server, timeout: Duration) -> u64 {
    let reg = srv.reg.lock().unwrap_or_else(|e| e.into_inner());
    let (reg, _) = srv
        .empty
        .wait_timeout_while(reg, timeout, |r| !r.conns.is_empty())
        .unwrap_or_else(|e| e.into_inner());
    reg.conns.len() as u64
}

/// The end of the grace: every thread left is cut. Its socket is shut down
/// both ways (a blocked write fails), and WAKE_SIGNAL cuts a sleep or a
/// backend read short; the thread sees the phase and closes unanswered.
fn cut(srv: &Server) {
    srv.ctx.set_phase(Phase::Cut);
    let reg = srv.reg.lock().unwrap_or_else(|e| e.into_inner());
    for &(fd, tid) in reg.conns.values() {
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
            libc::pthread_kill(tid, WAKE_SIGNAL);
        }
    }
}

/// One process's server: the accept loop until SIGTERM/SIGINT, then the
/// graceful stop.
fn serve(srv: Arc<Server>, listener: TcpListener, ready: &dyn Fn()) -> i32 {
    let set = server::sigset(&[libc::SIGTERM, libc::SIGINT]);
    // Blocked here, so in every thread made from now on: only the signal
    // thread takes them, with sigwait.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    let lfd = listener.as_raw_fd();
    let s2 = srv.clone();
    let sig_thread = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            while unsafe { libc::sigwait(&set, &mut sig) } != 0 {}
            let t_sig = Instant::now();
            s2.ctx.set_phase(Phase::Stopping);
            // The socket stops listening (new connects are refused) and a
            // blocked accept() returns.
            unsafe { libc::shutdown(lfd, libc::SHUT_RDWR) };
            t_sig
        });
    let sig_thread = match sig_thread {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{PROG}: cannot start the signal thread: {e}");
            return 1;
        }
    };
    ready();
    accept_loop(&srv, lfd);
    drop(listener);
    let t_sig = sig_thread.join().unwrap_or_else(|_| Instant::now());
    stop_reading(&srv);
    if wait_empty(&srv, srv.ctx.base.grace) > 0 {
        cut(&srv);
        add_n(Ctr::UnfinishedAtExit, wait_empty(&srv, stop::CUT_DRAIN));
    }
    stop::finished(t_sig);
    shared::settle(&srv.ctx.table.lock().unwrap_or_else(|e| e.into_inner()));
    0
}

extern "C" fn on_wake(_: libc::c_int) {} // only there to make blocked calls return EINTR

/// Builder::spawn returns pthread_create's failure as an error, but std then
/// does more in the new thread before its closure runs: where it installed
/// its SIGSEGV/SIGBUS handler (the "has overflowed its stack" message), it
/// maps each thread an alternate signal stack with a guard page, and panics
/// if that mmap or mprotect fails (get_stack in
/// library/std/src/sys/pal/unix/stack_overflow.rs, called from thread_start
/// in library/std/src/sys/thread/unix.rs). That panic is in an extern "C"
/// start routine, outside any closure, so nothing can catch it and the whole
/// process aborts. It takes two maps more a thread (four in all), so at
/// vm.max_map_count it is what fails first: about 16,000 connections were a
/// SIGABRT instead of 503s.
///
/// std installs that handler, and so the signal stacks, only where it finds
/// SIGSEGV and SIGBUS at SIG_DFL when it starts. This runs from .init_array,
/// before std starts, and sets them to SIG_IGN; main() sets them back to
/// SIG_DFL. A thread then takes its stack and guard only, so pthread_create
/// is what fails at any wall (EAGAIN): a 503. A stack overflow is then a
/// plain SIGSEGV, as in thread_impl/server.c, without std's message.
#[used]
#[link_section = ".init_array"]
static NO_SIGNAL_STACKS: extern "C" fn() = ignore_faults_until_main;

extern "C" fn ignore_faults_until_main() {
    // A real fault is still fatal meanwhile: the kernel resets an ignored
    // SIGSEGV or SIGBUS to SIG_DFL when it delivers one.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_IGN);
        libc::signal(libc::SIGBUS, libc::SIG_IGN);
    }
}

fn main() {
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL); // see NO_SIGNAL_STACKS
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
    let (o, base) = server::start(
        PROG,
        &Extra {
            stack_kib: true,
            runtime: false,
        },
        &usage,
    );
    // No SA_RESTART: a sleep, a read or a connect returns EINTR at the cut.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_wake as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(WAKE_SIGNAL, &sa, std::ptr::null_mut());
    }
    let stack_kib = o.stack_kib;
    let serve_one = move |listener: TcpListener, ready: &dyn Fn()| -> i32 {
        let srv = Arc::new(Server {
            ctx: conn::Ctx {
                base: base.clone(),
                table: Mutex::new(Table::new()),
                phase: Default::default(),
            },
            reg: Mutex::new(Registry {
                conns: HashMap::new(),
                closed: false,
            }),
            empty: Condvar::new(),
            stack_kib,
        });
        serve(srv, listener, ready)
    };
    exit(proto::workers::run(
        &o,
        PROG,
        "rust-threads",
        o.workers,
        &serve_one,
    ));
}
