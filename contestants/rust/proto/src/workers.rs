//! workers.rs: one server process, or W processes that each listen on the
//! same port with SO_REUSEPORT, with one counters line for all of them: the
//! --workers of common/workers.c, for the Rust servers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::io::FromRawFd;

use crate::cli::Opts;
use crate::counters;
use crate::net;

const READY_TIMEOUT_MS: i32 = 30_000;

/// Runs one process's server on its listener until SIGTERM/SIGINT and returns
/// its exit code; it calls ready() once it accepts. Counters are the process's
/// own (crate::counters), printed by run() after it returns.
pub type ServeFn<'a> = &'a dyn Fn(TcpListener, &dyn Fn()) -> i32;

fn announce(host: &str, port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {host}:{port}");
    let _ = out.flush();
}

/// The server's whole life for any workers count, as workers_run():
/// - workers <= 1: listens, prints `listening on HOST:PORT`, runs serve in
///   this process, prints the counters line on stderr.
/// - workers > 1: binds the port without listening (so it gets no
///   connection), forks the workers, each listening on it with SO_REUSEPORT,
///   prints `listening on` once all are ready, forwards SIGTERM/SIGINT, and
///   prints their counters summed into one line with "workers": W (stop_ms:
///   the slowest worker's, since they stop side by side). A worker
///   that ends on its own stops the others, and the exit code says so.
///
/// Call it before any thread exists: it forks. Returns the exit code.
pub fn run(o: &Opts, prog: &str, impl_name: &str, workers: u32, serve: ServeFn) -> i32 {
    if workers <= 1 {
        let l = match net::listen(&o.host, o.port, Some(o.backlog), false) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{prog}: {e}");
                return 1;
            }
        };
        let port = net::local_port(&l);
        let host = o.host.clone();
        let rc = serve(l, &move || announce(&host, port));
        eprintln!("{}", counters::json(impl_name));
        return rc;
    }
    run_workers(o, prog, impl_name, workers, serve)
}

fn pipe() -> Result<(std::fs::File, std::fs::File), String> {
    let mut fds = [0 as libc::c_int; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

/// In the child: its own listener, the server, its counters down the pipe.
fn worker_main(
    o: &Opts,
    prog: &str,
    impl_name: &str,
    port: u16,
    ready: std::fs::File,
    mut ctr: std::fs::File,
    serve: ServeFn,
) -> ! {
    let l = match net::listen(&o.host, port, Some(o.backlog), true) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{prog}: worker {}: {e}", std::process::id());
            std::process::exit(1);
        }
    };
    let ready = std::cell::RefCell::new(Some(ready));
    let rc = serve(l, &|| {
        if let Some(mut f) = ready.borrow_mut().take() {
            let _ = f.write_all(&[1]);
        }
    });
    // One write of one line: the workers share the pipe, and a write of at most
    // PIPE_BUF bytes is never interleaved with another's.
    let line = counters::json(impl_name) + "\n";
    let ok = ctr.write_all(line.as_bytes()).is_ok();
    std::process::exit(if ok { rc } else { 1 });
}

fn run_workers(o: &Opts, prog: &str, impl_name: &str, workers: u32, serve: ServeFn) -> i32 {
    // Bound but not listening: it holds the port and gets no connections.
    let reserve = match net::listen(&o.host, o.port, None, true) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{prog}: {e}");
            return 1;
        }
    };
    let port = net::local_port(&reserve);
    let ((mut ready_r, ready_w), (mut ctr_r, ctr_w)) = match (pipe(), pipe()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{prog}: {e}");
            return 1;
        }
    };
    let set = crate::server::sigset(&[libc::SIGTERM, libc::SIGINT, libc::SIGCHLD]);
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) };
    let _ = std::io::stdout().flush();
    let mut pids: Vec<libc::pid_t> = Vec::new();
    let mut failed = false;
    for i in 0..workers {
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            eprintln!(
                "{prog}: fork of worker {i}: {}",
                std::io::Error::last_os_error()
            );
            failed = true;
            break;
        }
        if pid == 0 {
            unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
            drop(reserve);
            drop(ready_r);
            drop(ctr_r);
            worker_main(o, prog, impl_name, port, ready_w, ctr_w, serve);
        }
        pids.push(pid);
    }
    drop(ready_w);
    drop(ctr_w);
    let mut ready = 0u32;
    while !failed && ready < workers {
        let mut p = libc::pollfd {
            fd: std::os::unix::io::AsRawFd::as_raw_fd(&ready_r),
            events: libc::POLLIN,
            revents: 0,
        };
        let n = unsafe { libc::poll(&mut p, 1, READY_TIMEOUT_MS) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        let mut buf = [0u8; 64];
        let got = if n > 0 {
            ready_r.read(&mut buf).unwrap_or(0)
        } else {
            0
        };
        if got == 0 {
            // EOF: a worker died before it was ready; 0 from poll: timed out
            eprintln!("{prog}: only {ready} of {workers} workers became ready");
            failed = true;
            break;
        }
        ready += got as u32;
    }
    drop(reserve);
    if !failed {
        announce(&o.host, port);
    }
    while !failed {
        let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigwaitinfo(&set, &mut si) } < 0 {
            continue;
        }
        if si.si_signo != libc::SIGCHLD {
            break;
        }
        let mut status = 0;
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            continue;
        }
        for p in pids.iter_mut() {
            if *p == pid {
                *p = -1;
            }
        }
        let (how, n) = if libc::WIFSIGNALED(status) {
            ("signal", libc::WTERMSIG(status))
        } else {
            ("exit code", libc::WEXITSTATUS(status))
        };
        eprintln!("{prog}: worker {pid} ended on its own ({how} {n}); stopping the others");
        failed = true;
    }
    for &p in &pids {
        if p > 0 {
            unsafe { libc::kill(p, libc::SIGTERM) };
        }
    }
    let mut text = String::new();
    let _ = ctr_r.read_to_string(&mut text);
    let mut sum: Vec<(String, u64)> = Vec::new();
    let mut lines = 0;
    for line in text.lines().filter(|l| l.starts_with('{')) {
        lines += 1;
        for (k, v) in counters::parse_ints(line) {
            match sum.iter_mut().find(|(name, _)| *name == k) {
                Some(e) if k == "stop_ms" => e.1 = e.1.max(v),
                Some(e) => e.1 += v,
                None => sum.push((k, v)),
            }
        }
    }
    for &p in &pids {
        if p <= 0 {
            continue;
        }
        let mut status = 0;
        while unsafe { libc::waitpid(p, &mut status, 0) } < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            failed = true;
        }
    }
    let mut line = format!("{{\"impl\":\"{impl_name}\"");
    for (k, v) in &sum {
        line.push_str(&format!(",\"{k}\":{v}"));
    }
    line.push_str(&format!(",\"workers\":{workers}}}"));
    eprintln!("{line}");
    if failed || lines != workers {
        1
    } else {
        0
    }
}
