//! tokio_server: the suite's protocol on Tokio, one task per connection, so that
//! the runtime the async claims are about runs the same workload as the C designs.

mod conn;
mod counters;
mod http;
mod spin;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use counters::{add, Ctr};
use http::Workload;

const PROG: &str = "tokio_server";
const BACKLOG_DEFAULT: u32 = 4096; // as SERVER_BACKLOG_DEFAULT in common/server_opts.h
const ACCEPT_PAUSE: Duration = Duration::from_millis(100); // after EMFILE

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Current,
    Multi,
}

struct Opts {
    host: String,
    port: u16,
    defaults: Workload,
    backlog: u32,
    flavor: Flavor,
    threads: usize, // multi only; 0: Tokio's default (the CPUs this process may use)
}

fn usage() -> String {
    format!(
        "usage: {PROG} [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, on Tokio (a contestant).
GET /?wait_us=N&work_us=N&bytes=N waits wait_us (tokio::time::sleep), burns work_us
of the worker thread's CPU time, then answers 200 with a body of `bytes` bytes;
the flags set the defaults.

  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port; 0 lets the kernel pick (default 0)
  --wait-us N            default wait per request, 0..{} (default 0)
  --work-us N            default CPU per request, 0..{} (default 0)
  --bytes N              default body length, 0..{} (default 64)
  --backlog N            listen backlog (default {BACKLOG_DEFAULT}; capped by somaxconn)
  --runtime current|multi
                         current: one thread runs every task (the model the claims
                         describe; default); multi: Tokio's work-stealing pool
  --threads N            worker threads of the multi runtime (default: the CPUs
                         this process may run on)
  -h, --help             this text

Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT
prints one JSON line of counters on stderr and exits 0.
",
        http::WAIT_US_MAX,
        http::WORK_US_MAX,
        http::BYTES_MAX
    )
}

fn usage_error(msg: &str) -> ! {
    eprintln!("{PROG}: {msg}");
    exit(2);
}

fn number(flag: &str, value: &str, max: u64) -> u64 {
    match value.parse::<u64>() {
        Ok(v) if v <= max && !value.starts_with('+') => v,
        _ => usage_error(&format!("--{flag}: '{value}' is not an integer from 0 to {max}")),
    }
}

fn parse_args() -> Opts {
    let mut o = Opts {
        host: "127.0.0.1".to_string(),
        port: 0,
        defaults: Workload { wait_us: 0, work_us: 0, bytes: 64 },
        backlog: BACKLOG_DEFAULT,
        flavor: Flavor::Current,
        threads: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "-h" || arg == "--help" {
            print!("{}", usage());
            exit(0);
        }
        if !arg.starts_with("--") {
            usage_error(&format!("unexpected argument '{arg}' (try --help)"));
        }
        // --flag VALUE and --flag=VALUE
        let (flag, value) = match arg.find('=') {
            Some(eq) => (arg[2..eq].to_string(), arg[eq + 1..].to_string()),
            None => {
                i += 1;
                match args.get(i) {
                    Some(v) => (arg[2..].to_string(), v.clone()),
                    None => usage_error(&format!("{arg} needs a value (try --help)")),
                }
            }
        };
        match flag.as_str() {
            "host" => o.host = value,
            "port" => o.port = number(&flag, &value, 65535) as u16,
            "wait-us" => o.defaults.wait_us = number(&flag, &value, http::WAIT_US_MAX as u64) as u32,
            "work-us" => o.defaults.work_us = number(&flag, &value, http::WORK_US_MAX as u64) as u32,
            "bytes" => o.defaults.bytes = number(&flag, &value, http::BYTES_MAX as u64) as u32,
            "backlog" => o.backlog = number(&flag, &value, i32::MAX as u64) as u32,
            "threads" => o.threads = number(&flag, &value, 1024) as usize,
            "runtime" => {
                o.flavor = match value.as_str() {
                    "current" => Flavor::Current,
                    "multi" => Flavor::Multi,
                    _ => usage_error(&format!("--runtime: '{value}' is neither current nor multi")),
                }
            }
            _ => usage_error(&format!("unknown option '--{flag}' (try --help)")),
        }
        i += 1;
    }
    if o.threads > 0 && o.flavor == Flavor::Current {
        usage_error("--threads applies to --runtime multi only");
    }
    o
}

fn listen(o: &Opts) -> Result<TcpListener, String> {
    let addr: SocketAddr = (o.host.as_str(), o.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --host {}: {}", o.host, e))?
        .next()
        .ok_or_else(|| format!("cannot resolve --host {}: no address", o.host))?;
    let sock = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .map_err(|e| format!("socket: {e}"))?;
    sock.set_reuseaddr(true).map_err(|e| format!("setsockopt: {e}"))?;
    sock.bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another process holds the port; pick another with --port, or 0)"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                " (no local interface has that address; try 127.0.0.1)"
            }
            _ => "",
        };
        format!("cannot bind {}:{}: {}{}", o.host, o.port, e, hint)
    })?;
    sock.listen(o.backlog).map_err(|e| format!("listen: {e}"))
}

async fn accept_loop(listener: TcpListener, defaults: Workload) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                add(Ctr::Accepted);
                tokio::spawn(conn::serve(s, defaults));
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS)
                | Some(libc::ENOMEM) => {
                    // Out of fds: pause rather than spin on a listener that
                    // stays readable. Open connections go on.
                    add(Ctr::AcceptEmfile);
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
                _ => add(Ctr::AcceptErrors), // ECONNABORTED and friends: one client
            },
        }
    }
}

/// Runs until SIGTERM or SIGINT. Err: a start-up failure to report.
async fn run(o: &Opts) -> Result<(), String> {
    let stop = Arc::new(Notify::new());
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let mut sig = signal(kind).map_err(|e| format!("cannot handle signals: {e}"))?;
        let stop = stop.clone();
        tokio::spawn(async move {
            sig.recv().await;
            stop.notify_one(); // keeps a permit if main is not waiting yet
        });
    }
    let listener = listen(o)?;
    let port = listener.local_addr().map_err(|e| format!("getsockname: {e}"))?.port();
    tokio::spawn(accept_loop(listener, o.defaults));
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}:{}", o.host, port);
        let _ = out.flush();
    }
    stop.notified().await;
    Ok(())
}

fn main() {
    let o = parse_args();
    let mut builder = match o.flavor {
        Flavor::Current => tokio::runtime::Builder::new_current_thread(),
        Flavor::Multi => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if o.threads > 0 {
                b.worker_threads(o.threads);
            }
            b
        }
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{PROG}: cannot start the Tokio runtime: {e}");
            exit(1);
        }
    };
    if let Err(msg) = rt.block_on(run(&o)) {
        eprintln!("{PROG}: {msg}");
        exit(1);
    }
    let name = if o.flavor == Flavor::Current { "tokio-current" } else { "tokio-multi" };
    eprintln!("{}", counters::json(name));
    // Open connections end with the process; the runtime's teardown would only
    // wait for tasks nobody will finish.
    rt.shutdown_background();
    exit(0);
}
