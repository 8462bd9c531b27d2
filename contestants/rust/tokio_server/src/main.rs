//! tokio_server: the suite's protocol on Tokio, one task per connection, so that
//! the runtime the async claims are about runs the same workload as the C designs.

mod conn;
mod race;
mod upstream;

use std::cell::RefCell;
use std::net::TcpListener as StdListener;
use std::process::exit;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;

use proto::cli::{self, Extra, Runtime};
use proto::counters::{add, add_n, Ctr};
use proto::server::{self, Ctx};
use proto::shared::{self, Table};
use proto::stop::{self, Phase};
use proto::workload::Workload;

use crate::race::{race, Either};

const PROG: &str = "tokio_server";

fn usage() -> String {
    format!(
        "usage: {PROG} [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, on Tokio (a contestant):
one task per connection. GET /?wait_us=N&work_us=N&bytes=N&io=KIND&file_kib=K
waits (io=timer: tokio::time::sleep; io=net: a tokio TcpStream to the backend;
io=file: a pread with O_DIRECT on Tokio's blocking pool, the way tokio::fs reads),
with &state=shared&share_us=N&key=KEY updates the process's shared table
(current: an Rc<RefCell>, no lock; multi: an Arc<Mutex>), burns work_us of the
worker thread's CPU time, then answers 200 with a body of `bytes` bytes; the
flags set the defaults.

{}  --runtime current|multi
                         current: one thread runs every task (the model the claims
                         describe; default); multi: Tokio's work-stealing pool
  --workers N            multi: the runtime's worker threads (default: the CPUs
                         this process may run on); current: N processes, each
                         a current-thread runtime on its own SO_REUSEPORT
                         listener on the port (default 1), as the C servers' --workers
  -h, --help             this text

Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT it
stops gracefully: it drops the listener at once, closes idle connections,
answers the requests in flight (with Connection: close) within --grace-ms and
cuts the rest, then prints one JSON line of counters on stderr and exits 0.
Exit 1: a runtime failure; 2: a usage error or a --data-file that cannot be
read with O_DIRECT.
",
        cli::common_usage()
    )
}

/// The shared table as each runtime holds it, and how each spawns the tasks
/// that use it.
pub trait Shared: Clone + 'static {
    /// One state=shared update (shared::serve) under this runtime's guard.
    fn update(&self, w: &Workload) -> Option<u64>;
    /// At exit: the table's counts into the counters.
    fn settle(&self);
    fn spawn_conn(&self, s: TcpStream, ctx: Arc<Ctx>, id: u64, stop: watch::Receiver<Phase>);
    fn spawn_accept(&self, l: TcpListener, ctx: Arc<Ctx>, a: Accepting) -> JoinHandle<()>;
}

/// current-thread: one thread runs every task, so the table needs no lock;
/// an Rc cannot leave that thread, so the tasks are a LocalSet's.
impl Shared for Rc<RefCell<Table>> {
    fn update(&self, w: &Workload) -> Option<u64> {
        // nothing awaits inside: no other task can borrow meanwhile
        shared::serve(w, || self.borrow_mut())
    }
    fn settle(&self) {
        shared::settle(&self.borrow());
    }
    fn spawn_conn(&self, s: TcpStream, ctx: Arc<Ctx>, id: u64, stop: watch::Receiver<Phase>) {
        tokio::task::spawn_local(conn::serve(s, ctx, id, self.clone(), stop));
    }
    fn spawn_accept(&self, l: TcpListener, ctx: Arc<Ctx>, a: Accepting) -> JoinHandle<()> {
        tokio::task::spawn_local(accept_loop(l, ctx, self.clone(), a))
    }
}

/// multi-thread: tasks move between worker threads, so the table is behind a
/// std Mutex (held for the update only, never across an await).
impl Shared for Arc<Mutex<Table>> {
    fn update(&self, w: &Workload) -> Option<u64> {
        shared::serve(w, || shared::lock_counted(self))
    }
    fn settle(&self) {
        shared::settle(&self.lock().unwrap_or_else(|p| p.into_inner()));
    }
    fn spawn_conn(&self, s: TcpStream, ctx: Arc<Ctx>, id: u64, stop: watch::Receiver<Phase>) {
        tokio::spawn(conn::serve(s, ctx, id, self.clone(), stop));
    }
    fn spawn_accept(&self, l: TcpListener, ctx: Arc<Ctx>, a: Accepting) -> JoinHandle<()> {
        tokio::spawn(accept_loop(l, ctx, self.clone(), a))
    }
}

/// What the accept loop is given: the phase for its connections, and its own
/// stop, which comes first.
pub struct Accepting {
    phase: watch::Receiver<Phase>,
    stop: oneshot::Receiver<()>,
}

/// Accepts until its stop, then drops the listener: new connects are
/// refused. The stop reaches it before the connections' tasks are woken, so
/// that closing them cannot delay it.
async fn accept_loop<T: Shared>(listener: TcpListener, ctx: Arc<Ctx>, table: T, mut a: Accepting) {
    let mut id = 0u64;
    loop {
        let r = match race(&mut a.stop, listener.accept()).await {
            Either::Left(_) => return,
            Either::Right(r) => r,
        };
        match r {
            Ok((s, _)) => {
                add(Ctr::Accepted);
                id += 1;
                table.spawn_conn(s, ctx.clone(), id, a.phase.clone());
            }
            Err(e) => {
                if server::accept_failed(&e) {
                    let pause = tokio::time::sleep(server::ACCEPT_PAUSE);
                    if let Either::Left(_) = race(&mut a.stop, pause).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Runs until SIGTERM or SIGINT, then stops gracefully: every task holds a
/// receiver of the phase, so the sender sees when the last one has ended.
/// Err: a start-up failure to report.
async fn run<T: Shared>(
    listener: StdListener,
    ctx: Arc<Ctx>,
    table: T,
    ready: &dyn Fn(),
) -> Result<(), String> {
    let signalled = Arc::new(Notify::new());
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let mut sig = signal(kind).map_err(|e| format!("cannot handle signals: {e}"))?;
        let signalled = signalled.clone();
        tokio::spawn(async move {
            sig.recv().await;
            signalled.notify_one(); // keeps a permit if main is not waiting yet
        });
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let listener = TcpListener::from_std(listener).map_err(|e| format!("listener: {e}"))?;
    let (phase, rx) = watch::channel(Phase::Running);
    let (stop_accepting, stop) = oneshot::channel();
    let accepting = table.spawn_accept(listener, ctx.clone(), Accepting { phase: rx, stop });
    ready();
    signalled.notified().await;
    let t_sig = Instant::now();
    let _ = stop_accepting.send(());
    let _ = accepting.await; // the listener is closed
    let _ = phase.send(Phase::Stopping);
    if tokio::time::timeout(ctx.grace, phase.closed())
        .await
        .is_err()
    {
        let _ = phase.send(Phase::Cut);
        if tokio::time::timeout(stop::CUT_DRAIN, phase.closed())
            .await
            .is_err()
        {
            add_n(Ctr::UnfinishedAtExit, phase.receiver_count() as u64);
        }
    }
    stop::finished(t_sig);
    table.settle();
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
        let result = match flavor {
            Runtime::Current => {
                let local = tokio::task::LocalSet::new();
                let table = Rc::new(RefCell::new(Table::new()));
                rt.block_on(local.run_until(run(listener, ctx.clone(), table, ready)))
            }
            Runtime::Multi => {
                let table = Arc::new(Mutex::new(Table::new()));
                rt.block_on(run(listener, ctx.clone(), table, ready))
            }
        };
        let rc = match result {
            Ok(()) => 0,
            Err(msg) => {
                eprintln!("{PROG}: {msg}");
                1
            }
        };
        // Tasks still busy after the cut end with the process; the runtime's
        // teardown would only wait for them.
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
