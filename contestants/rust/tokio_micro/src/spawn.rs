//! spawn.rs: create N waiting Tokio tasks or std threads, hold them, measure
//! memory, tear them down; spawn_bench's measurements for the Rust pair.
//!
//! What an idle unit holds, per kind:
//! - tokio-timer: its task (Tokio's header, scheduler links, the future) whose
//!   future holds `state` bytes and a tokio::time::Sleep (a timer-wheel entry)
//!   1e6 s away, plus its JoinHandle (8 bytes) in the creator's vector.
//! - tokio-chan: its task whose future holds `state` bytes and a
//!   oneshot::Receiver, plus the oneshot's shared cell and its Sender (8 bytes)
//!   and JoinHandle (8 bytes) in the creator's vectors; nobody ever sends.
//! - std-thread: a thread (its stack, of which it touches `state` bytes, and
//!   its kernel stack and task struct) blocked on a shared condition variable,
//!   plus its JoinHandle (an Arc'd packet) in the creator's vector.
//!
//! `state` lives inside the future (or on the thread's stack) across the wait
//! and is read after it, as an async fn's locals are: --state-bytes 0 leaves
//! only the wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The --state-bytes a unit can hold: each size is its own future type.
pub const STATE_SIZES: [usize; 10] = [0, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    TokioTimer,
    TokioChan,
    StdThread,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TokioTimer => "tokio-timer",
            Kind::TokioChan => "tokio-chan",
            Kind::StdThread => "std-thread",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "tokio-timer" => Some(Kind::TokioTimer),
            "tokio-chan" => Some(Kind::TokioChan),
            "std-thread" => Some(Kind::StdThread),
            _ => None,
        }
    }
}

/// What one create/hold/teardown cycle did (spawn.h's spawn_result).
#[derive(Default)]
pub struct Outcome {
    pub requested: usize,
    pub created: usize,
    pub ready: usize,
    pub torn_down: usize,
    pub create_ns: u64,
    pub ready_ns: u64,
    pub teardown_ns: u64,
    /// the first failure: (call, errno, limit named by the caller if known)
    pub failure: Option<(String, i32, Option<&'static str>)>,
}

static READY: AtomicUsize = AtomicUsize::new(0);
static TORN: AtomicUsize = AtomicUsize::new(0);

/// Counts a unit gone, however its future or thread ends.
struct Gone;

impl Drop for Gone {
    fn drop(&mut self) {
        TORN.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads the whole state back: the writes before the wait cannot be dropped.
#[inline(never)]
fn observe<const B: usize>(state: &[u8; B]) {
    unsafe { std::ptr::read_volatile(state as *const [u8; B]) };
}

async fn timer_task<const B: usize>(far: tokio::time::Instant) {
    let _gone = Gone;
    let state = [0xA5u8; B];
    let sleep = tokio::time::sleep_until(far);
    READY.fetch_add(1, Ordering::Relaxed);
    sleep.await;
    observe(&state);
}

async fn chan_task<const B: usize>(rx: oneshot::Receiver<()>) {
    let _gone = Gone;
    let state = [0xA5u8; B];
    READY.fetch_add(1, Ordering::Relaxed);
    let _ = rx.await;
    observe(&state);
}

fn spawn_timer<const B: usize>(far: tokio::time::Instant) -> JoinHandle<()> {
    tokio::spawn(timer_task::<B>(far))
}

fn spawn_chan<const B: usize>(rx: oneshot::Receiver<()>) -> JoinHandle<()> {
    tokio::spawn(chan_task::<B>(rx))
}

macro_rules! by_state {
    ($bytes:expr, $f:ident) => {
        match $bytes {
            0 => $f::<0>,
            64 => $f::<64>,
            128 => $f::<128>,
            256 => $f::<256>,
            512 => $f::<512>,
            1024 => $f::<1024>,
            2048 => $f::<2048>,
            4096 => $f::<4096>,
            8192 => $f::<8192>,
            16384 => $f::<16384>,
            _ => unreachable!("--state-bytes is checked against STATE_SIZES"),
        }
    };
}

fn timer_layout<const B: usize>() -> (usize, usize) {
    let f = timer_task::<B>(tokio::time::Instant::now());
    (std::mem::size_of_val(&f), std::mem::align_of_val(&f))
}

fn chan_layout<const B: usize>() -> (usize, usize) {
    let (_tx, rx) = oneshot::channel();
    let f = chan_task::<B>(rx);
    (std::mem::size_of_val(&f), std::mem::align_of_val(&f))
}

/// Size and alignment of one task's future (what the task stores inside
/// Tokio's header and trailer), from an unpolled future; None for threads.
pub fn future_layout(kind: Kind, state: usize) -> Option<(usize, usize)> {
    match kind {
        Kind::TokioTimer => Some(by_state!(state, timer_layout)()),
        Kind::TokioChan => Some(by_state!(state, chan_layout)()),
        Kind::StdThread => None,
    }
}

/// The live units of one point.
pub enum Set {
    Tasks {
        handles: Vec<JoinHandle<()>>,
        senders: Vec<oneshot::Sender<()>>,
    },
    Threads {
        handles: Vec<std::thread::JoinHandle<()>>,
        shared: Arc<Shared>,
    },
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// Creates n tasks from a task on the runtime (as a server's accept loop
/// does) and returns once every one has been polled and waits.
pub fn tasks_create(rt: &Runtime, kind: Kind, n: usize, state: usize, out: &mut Outcome) -> Set {
    READY.store(0, Ordering::Relaxed);
    TORN.store(0, Ordering::Relaxed);
    let timer = by_state!(state, spawn_timer);
    let chan = by_state!(state, spawn_chan);
    let (handles, senders, create, ready) = rt.block_on(async move {
        tokio::spawn(async move {
            // A million seconds: never fires during a run, like an idle timeout.
            let far = tokio::time::Instant::now() + Duration::from_secs(1_000_000);
            let mut handles = Vec::with_capacity(n);
            let mut senders = Vec::with_capacity(if kind == Kind::TokioChan { n } else { 0 });
            let t0 = Instant::now();
            for _ in 0..n {
                if kind == Kind::TokioTimer {
                    handles.push(timer(far));
                } else {
                    let (tx, rx) = oneshot::channel();
                    senders.push(tx);
                    handles.push(chan(rx));
                }
            }
            let create = t0.elapsed();
            while READY.load(Ordering::Relaxed) < n {
                tokio::task::yield_now().await;
            }
            (handles, senders, create, t0.elapsed())
        })
        .await
        .expect("the creating task")
    });
    out.created = handles.len();
    out.ready = READY.load(Ordering::Relaxed);
    out.create_ns = ns(create);
    out.ready_ns = ns(ready);
    Set::Tasks { handles, senders }
}

pub struct Shared {
    mu: Mutex<(usize, bool)>, // (ready, stop)
    wake: Condvar,            // the units wait here for stop
    settled: Condvar,         // a unit became ready; the creator waits here
}

/// Touches the unit's state on its own stack, as a blocking handler keeps its
/// locals, then blocks on the condition variable until teardown.
fn thread_unit<const B: usize>(sh: Arc<Shared>) {
    let _gone = Gone;
    let state = [0xA5u8; B];
    observe(&state);
    let mut g = sh.mu.lock().unwrap_or_else(|e| e.into_inner());
    g.0 += 1;
    sh.settled.notify_one();
    while !g.1 {
        g = sh.wake.wait(g).unwrap_or_else(|e| e.into_inner());
    }
    drop(g);
    observe(&state);
}

/// Creates up to n threads (fewer when `room` says the machine's thread limits
/// are near: then out.failure names the limit) and waits until all wait.
pub fn threads_create(
    n: usize,
    stack_kib: usize,
    state: usize,
    room: Option<(usize, &'static str)>,
    out: &mut Outcome,
) -> Set {
    READY.store(0, Ordering::Relaxed);
    TORN.store(0, Ordering::Relaxed);
    let body = by_state!(state, thread_unit);
    let shared = Arc::new(Shared {
        mu: Mutex::new((0, false)),
        wake: Condvar::new(),
        settled: Condvar::new(),
    });
    let want = match room {
        Some((r, _)) => n.min(r),
        None => n,
    };
    let mut handles = Vec::with_capacity(want);
    let t0 = Instant::now();
    for _ in 0..want {
        let sh = shared.clone();
        let mut b = std::thread::Builder::new();
        if stack_kib > 0 {
            b = b.stack_size(stack_kib * 1024);
        }
        match b.spawn(move || body(sh)) {
            Ok(h) => handles.push(h),
            Err(e) => {
                // The wall: keep what exists, report the errno.
                out.failure = Some((
                    "pthread_create".into(),
                    e.raw_os_error().unwrap_or(libc::EAGAIN),
                    None,
                ));
                break;
            }
        }
    }
    out.create_ns = ns(t0.elapsed());
    out.created = handles.len();
    if out.failure.is_none() && want < n {
        // Stopped below the limit on purpose: the machine is shared.
        out.failure = Some(("limit".into(), libc::EAGAIN, room.map(|r| r.1)));
    }
    {
        let mut g = shared.mu.lock().unwrap_or_else(|e| e.into_inner());
        while g.0 < handles.len() {
            g = shared.settled.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        out.ready = g.0;
    }
    out.ready_ns = ns(t0.elapsed());
    Set::Threads { handles, shared }
}

/// Stops every unit, waits until each is gone, counts out.torn_down.
pub fn teardown(rt: Option<&Runtime>, set: Set, out: &mut Outcome) {
    match set {
        Set::Tasks { handles, senders } => {
            let rt = rt.expect("tasks need their runtime");
            let n = handles.len();
            let took = rt.block_on(async move {
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    // abort(): the task is dropped at its next poll, its timer
                    // entry or channel end with it (the C tasks' stop + free).
                    for h in handles {
                        h.abort();
                    }
                    drop(senders);
                    while TORN.load(Ordering::Relaxed) < n {
                        tokio::task::yield_now().await;
                    }
                    t0.elapsed()
                })
                .await
                .expect("the teardown task")
            });
            out.teardown_ns = ns(took);
            out.torn_down = TORN.load(Ordering::Relaxed);
        }
        Set::Threads { handles, shared } => {
            let t0 = Instant::now();
            {
                let mut g = shared.mu.lock().unwrap_or_else(|e| e.into_inner());
                g.1 = true;
                shared.wake.notify_all();
            }
            let mut joined = 0;
            for h in handles {
                if h.join().is_ok() {
                    joined += 1;
                }
            }
            out.teardown_ns = ns(t0.elapsed());
            out.torn_down = joined;
        }
    }
}

/// Rust's default thread stack in KiB: RUST_MIN_STACK, else 2 MiB.
pub fn default_stack_kib() -> usize {
    std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(2048, |b| b / 1024)
}
