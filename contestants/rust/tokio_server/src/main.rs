//! tokio_server: the suite's protocol on Tokio, one task per connection, so that
//! the runtime the async claims are about runs the same workload as the C designs.

mod conn;
mod upstream;

use std::net::TcpListener as StdListener;
use std::process::exit;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use proto::cli::{self, Extra, Runtime};
use proto::counters::{add, Ctr};
use proto::server::{self, Ctx};

const PROG: &str = "tokio_server";

fn usage() -> String {
    format!(
        "usage: {PROG} [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, on Tokio (a contestant):
one task per connection. GET /?wait_us=N&work_us=N&bytes=N&io=KIND&file_kib=K
waits (io=timer: tokio::time::sleep; io=net: a tokio TcpStream to the backend;
io=file: a pread with O_DIRECT on Tokio's blocking pool, the way tokio::fs reads),
burns work_us of the worker thread's CPU time, then answers 200 with a body of
`bytes` bytes; the flags set the defaults.

{}  --runtime current|multi
                         current: one thread runs every task (the model the claims
                         describe; default); multi: Tokio's work-stealing pool
  --workers N            multi: the runtime's worker threads (default: the CPUs
                         this process may run on); current: N processes, each
                         a current-thread runtime on its own SO_REUSEPORT
                         listener on the port (default 1), as the C servers' --workers
  -h, --help             this text

Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT
prints one JSON line of counters on stderr and exits 0. Exit 1: a runtime
failure; 2: a usage error or a --data-file that cannot be read with O_DIRECT.
",
        cli::common_usage()
    )
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    let mut id = 0u64;
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                add(Ctr::Accepted);
                id += 1;
                tokio::spawn(conn::serve(s, ctx.clone(), id));
            }
            Err(e) => {
                if server::accept_failed(&e) {
                    tokio::time::sleep(server::ACCEPT_PAUSE).await;
                }
            }
        }
    }
}

/// Runs until SIGTERM or SIGINT. Err: a start-up failure to report.
async fn run(listener: StdListener, ctx: Arc<Ctx>, ready: &dyn Fn()) -> Result<(), String> {
    let stop = Arc::new(Notify::new());
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let mut sig = signal(kind).map_err(|e| format!("cannot handle signals: {e}"))?;
        let stop = stop.clone();
        tokio::spawn(async move {
            sig.recv().await;
            stop.notify_one(); // keeps a permit if main is not waiting yet
        });
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let listener = TcpListener::from_std(listener).map_err(|e| format!("listener: {e}"))?;
    tokio::spawn(accept_loop(listener, ctx));
    ready();
    stop.notified().await;
    Ok(())
}

fn main() {
    let (o, ctx) = server::start(
        PROG,
        &Extra {
            stack_kib: false,
            runtime: true,
        },
        &usage,
    );
    let ctx = Arc::new(ctx);
    let flavor = o.runtime;
    let threads = o.workers;
    let name = if flavor == Runtime::Current {
        "tokio-current"
    } else {
        "tokio-multi"
    };
    let serve = move |listener: StdListener, ready: &dyn Fn()| -> i32 {
        let mut builder = match flavor {
            Runtime::Current => tokio::runtime::Builder::new_current_thread(),
            Runtime::Multi => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                if threads > 0 {
                    b.worker_threads(threads as usize);
                }
                b
            }
        };
        let rt = match builder.enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("{PROG}: cannot start the Tokio runtime: {e}");
                return 1;
            }
        };
        let rc = match rt.block_on(run(listener, ctx.clone(), ready)) {
            Ok(()) => 0,
            Err(msg) => {
                eprintln!("{PROG}: {msg}");
                1
            }
        };
        // Open connections end with the process; the runtime's teardown would
        // only wait for tasks nobody will finish.
        rt.shutdown_background();
        rc
    };
    // --workers sizes the multi runtime; for current it is processes.
    let procs = if flavor == Runtime::Current {
        o.workers
    } else {
        1
    };
    exit(proto::workers::run(&o, PROG, name, procs, &serve));
}
