//! switch.rs: a token passed around a ring of K Tokio tasks or std threads,
//! over socketpairs (jimblandy/context-switch's brigade: a switch driven by
//! I/O readiness) or over channels, to price one switch; and the baseline of
//! one thread making a hop's calls with nobody to switch to (jimblandy's
//! one-thread-brigade), subtracted from it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnix;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::sync::mpsc as tmpsc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mech {
    TokioSocketpair,  // K tasks, each awaiting a read on its own UnixStream
    TokioChan,        // K tasks, each awaiting recv() on its own tokio mpsc channel
    ThreadSocketpair, // K threads, each blocked in read() on its own socketpair
    ThreadChan,       // K threads, each blocked in recv() on its own std mpsc channel
}

pub const ALL: [Mech; 4] = [
    Mech::TokioSocketpair,
    Mech::TokioChan,
    Mech::ThreadSocketpair,
    Mech::ThreadChan,
];

impl Mech {
    pub fn name(self) -> &'static str {
        match self {
            Mech::TokioSocketpair => "tokio-socketpair",
            Mech::TokioChan => "tokio-chan",
            Mech::ThreadSocketpair => "std-thread-socketpair",
            Mech::ThreadChan => "std-thread-chan",
        }
    }
    pub fn parse(s: &str) -> Option<Mech> {
        ALL.iter().copied().find(|m| m.name() == s)
    }
    pub fn is_thread(self) -> bool {
        matches!(self, Mech::ThreadSocketpair | Mech::ThreadChan)
    }
}

pub struct Cfg {
    pub ring: usize,
    pub warmup: u64,
    pub iters: u64,
}

/// One run (switch.h's switch_result).
#[derive(Default)]
pub struct Run {
    pub hops: u64, // passes the units counted themselves, warmup included
    pub elapsed_ns: u64,
    pub nvcsw: i64,
    pub nivcsw: i64,
    pub created: usize,
    pub torn_down: usize,
    pub error: Option<String>,
}

/// After the last measured pass this goes round once, so every unit ends.
const STOP: u64 = u64::MAX;

fn rusage() -> (i64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_nvcsw as i64, ru.ru_nivcsw as i64)
}

/// The window's ends, recorded by whichever unit holds the token then.
#[derive(Default)]
struct Window {
    start: Mutex<Option<(Instant, (i64, i64))>>,
    end: Mutex<Option<(Instant, (i64, i64))>>,
}

enum Step {
    Pass(u64), // hand this on
    Stop,      // hand STOP on and end
}

/// One hop's bookkeeping, the same for every mechanism (switch_task.c's).
fn on_token(v: u64, cfg: &Cfg, w: &Window, hops: &AtomicU64) -> Step {
    if v == STOP {
        return Step::Stop;
    }
    if v == cfg.warmup {
        *w.start.lock().unwrap() = Some((Instant::now(), rusage()));
    }
    if v == cfg.warmup + cfg.iters {
        *w.end.lock().unwrap() = Some((Instant::now(), rusage()));
        return Step::Stop;
    }
    hops.fetch_add(1, Ordering::Relaxed);
    Step::Pass(v + 1)
}

fn finish(w: &Window, hops: &[Arc<AtomicU64>], run: &mut Run) {
    run.hops = hops.iter().map(|h| h.load(Ordering::Relaxed)).sum();
    let (s, e) = (*w.start.lock().unwrap(), *w.end.lock().unwrap());
    match (s, e) {
        (Some((t0, r0)), Some((t1, r1))) => {
            run.elapsed_ns = (t1 - t0).as_nanos() as u64;
            run.nvcsw = r1.0 - r0.0;
            run.nivcsw = r1.1 - r0.1;
        }
        _ => {
            run.error
                .get_or_insert_with(|| "the token never reached the end of the window".into());
        }
    }
}

/// Runs the ring for a Tokio mechanism on rt.
/// The wiring of a ring of k units: k pairs of ends from pair() (the sending
/// end, the receiving end); unit i receives on its own pair and sends into
/// unit i+1's, the last into unit 0's. Returns what kick() makes of unit 0's
/// sending end (the start of the token) and each unit's (receive, send).
fn ring<S, R, K>(
    k: usize,
    mut pair: impl FnMut() -> Result<(S, R), String>,
    kick: impl FnOnce(&mut S) -> Result<K, String>,
) -> Result<(K, Vec<(R, S)>), String> {
    let mut sends = Vec::with_capacity(k);
    let mut recvs = Vec::with_capacity(k);
    for _ in 0..k {
        let (s, r) = pair()?;
        sends.push(s);
        recvs.push(r);
    }
    let kick = kick(&mut sends[0])?;
    sends.rotate_left(1);
    Ok((kick, recvs.into_iter().zip(sends).collect()))
}

pub fn tokio_ring(rt: &Runtime, mech: Mech, cfg: &Cfg) -> Run {
    let mut run = Run::default();
    let w = Arc::new(Window::default());
    let hops: Vec<Arc<AtomicU64>> = (0..cfg.ring).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let cfgc = Cfg {
        ring: cfg.ring,
        warmup: cfg.warmup,
        iters: cfg.iters,
    };
    let hops2 = hops.clone();
    let w2 = w.clone();
    let r: Result<(usize, usize), String> = rt.block_on(async move {
        let cfg = Arc::new(cfgc);
        let k = cfg.ring;
        let mut handles = Vec::with_capacity(k);
        if mech == Mech::TokioSocketpair {
            // The kick is a second descriptor on unit 0's write end.
            let (mut kick, units) = ring(
                k,
                || {
                    let (r, w) =
                        tokio::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
                    Ok((w, r))
                },
                |w| kick_twin(w).map_err(|e| format!("dup: {e}")),
            )?;
            for (i, (mut r, mut wr)) in units.into_iter().enumerate() {
                let (cfg, w, hops) = (cfg.clone(), w2.clone(), hops2[i].clone());
                handles.push(tokio::spawn(async move {
                    let mut b = [0u8; 8];
                    loop {
                        if r.read_exact(&mut b).await.is_err() {
                            return;
                        }
                        match on_token(u64::from_ne_bytes(b), &cfg, &w, &hops) {
                            Step::Pass(v) => {
                                if wr.write_all(&v.to_ne_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Step::Stop => {
                                let _ = wr.write_all(&STOP.to_ne_bytes()).await;
                                return;
                            }
                        }
                    }
                }));
            }
            kick.write_all(&0u64.to_ne_bytes())
                .await
                .map_err(|e| format!("write: {e}"))?;
        } else {
            let (kick, units) = ring(k, || Ok(tmpsc::channel::<u64>(1)), |tx| Ok(tx.clone()))?;
            for (i, (mut rx, tx)) in units.into_iter().enumerate() {
                let (cfg, w, hops) = (cfg.clone(), w2.clone(), hops2[i].clone());
                handles.push(tokio::spawn(async move {
                    while let Some(v) = rx.recv().await {
                        match on_token(v, &cfg, &w, &hops) {
                            Step::Pass(v) => {
                                if tx.send(v).await.is_err() {
                                    return;
                                }
                            }
                            Step::Stop => {
                                let _ = tx.try_send(STOP);
                                return;
                            }
                        }
                    }
                }));
            }
            kick.send(0)
                .await
                .map_err(|_| "send: the ring is gone".to_string())?;
        }
        let created = handles.len();
        let mut torn = 0;
        for h in handles {
            if h.await.is_ok() {
                torn += 1;
            }
        }
        Ok((created, torn))
    });
    match r {
        Ok((c, t)) => {
            run.created = c;
            run.torn_down = t;
        }
        Err(e) => run.error = Some(e),
    }
    finish(&w, &hops, &mut run);
    run
}

/// A second tokio UnixStream on the same socket as s (dup), so that the
/// kick and the last unit can both write into unit 0's pair.
fn kick_twin(s: &mut tokio::net::UnixStream) -> std::io::Result<tokio::net::UnixStream> {
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let fd = unsafe { libc::fcntl(s.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let std_s = unsafe { StdUnix::from_raw_fd(fd) };
    std_s.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(std_s)
}

/// Runs the ring for a std::thread mechanism.
pub fn thread_ring(mech: Mech, cfg: &Cfg) -> Run {
    let mut run = Run::default();
    let w = Arc::new(Window::default());
    let hops: Vec<Arc<AtomicU64>> = (0..cfg.ring).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let cfg = Arc::new(Cfg {
        ring: cfg.ring,
        warmup: cfg.warmup,
        iters: cfg.iters,
    });
    let k = cfg.ring;
    let mut handles = Vec::with_capacity(k);
    let spawn =
        |f: Box<dyn FnOnce() + Send>| std::thread::Builder::new().stack_size(64 * 1024).spawn(f);
    let kick_result: Result<(), String> = (|| {
        if mech == Mech::ThreadSocketpair {
            let (mut kick, units) = ring(
                k,
                || {
                    let (r, w) = StdUnix::pair().map_err(|e| format!("socketpair: {e}"))?;
                    Ok((w, r))
                },
                |w| w.try_clone().map_err(|e| format!("dup: {e}")),
            )?;
            for (i, (mut r, mut wr)) in units.into_iter().enumerate() {
                let (cfg, w, hops) = (cfg.clone(), w.clone(), hops[i].clone());
                let h = spawn(Box::new(move || {
                    let mut b = [0u8; 8];
                    while r.read_exact(&mut b).is_ok() {
                        match on_token(u64::from_ne_bytes(b), &cfg, &w, &hops) {
                            Step::Pass(v) => {
                                if wr.write_all(&v.to_ne_bytes()).is_err() {
                                    return;
                                }
                            }
                            Step::Stop => {
                                let _ = wr.write_all(&STOP.to_ne_bytes());
                                return;
                            }
                        }
                    }
                }))
                .map_err(|e| format!("thread spawn: {e}"))?;
                handles.push(h);
            }
            kick.write_all(&0u64.to_ne_bytes())
                .map_err(|e| format!("write: {e}"))?;
        } else {
            let (kick, units) = ring(k, || Ok(mpsc::sync_channel::<u64>(1)), |tx| Ok(tx.clone()))?;
            for (i, (rx, tx)) in units.into_iter().enumerate() {
                let (cfg, w, hops) = (cfg.clone(), w.clone(), hops[i].clone());
                let h = spawn(Box::new(move || {
                    while let Ok(v) = rx.recv() {
                        match on_token(v, &cfg, &w, &hops) {
                            Step::Pass(v) => {
                                if tx.send(v).is_err() {
                                    return;
                                }
                            }
                            Step::Stop => {
                                let _ = tx.try_send(STOP);
                                return;
                            }
                        }
                    }
                }))
                .map_err(|e| format!("thread spawn: {e}"))?;
                handles.push(h);
            }
            kick.send(0)
                .map_err(|_| "send: the ring is gone".to_string())?;
        }
        Ok(())
    })();
    run.created = handles.len();
    if let Err(e) = kick_result {
        // A ring that never started: its threads wait for a token that will
        // not come. They end with the process; the result says why.
        run.error = Some(e);
        return run;
    }
    for h in handles {
        if h.join().is_ok() {
            run.torn_down += 1;
        }
    }
    finish(&w, &hops, &mut run);
    run
}

/// ns per hop of one thread making a hop's calls with nobody to switch to:
/// socketpairs: an 8-byte write and read (jimblandy's one-thread-brigade);
/// channels: a send and a receive that never wait. K of them, round robin.
pub fn baseline(mech: Mech, cfg: &Cfg) -> Result<f64, String> {
    let total = cfg.warmup + cfg.iters;
    let k = cfg.ring;
    let mut t0 = Instant::now();
    match mech {
        Mech::TokioSocketpair | Mech::ThreadSocketpair => {
            let mut pairs = Vec::with_capacity(k);
            for _ in 0..k {
                pairs.push(StdUnix::pair().map_err(|e| format!("socketpair: {e}"))?);
            }
            let mut b = [0u8; 8];
            for v in 0..total {
                if v == cfg.warmup {
                    t0 = Instant::now();
                }
                let (r, w) = &mut pairs[((v + 1) % k as u64) as usize];
                w.write_all(&v.to_ne_bytes())
                    .map_err(|e| format!("write: {e}"))?;
                r.read_exact(&mut b).map_err(|e| format!("read: {e}"))?;
                if u64::from_ne_bytes(b) != v {
                    return Err("the baseline lost its token".into());
                }
            }
        }
        Mech::TokioChan => {
            let chans: Vec<_> = (0..k).map(|_| tmpsc::channel::<u64>(1)).collect();
            let mut chans = chans;
            for v in 0..total {
                if v == cfg.warmup {
                    t0 = Instant::now();
                }
                let (tx, rx) = &mut chans[((v + 1) % k as u64) as usize];
                tx.try_send(v).map_err(|e| format!("try_send: {e}"))?;
                if rx.try_recv().ok() != Some(v) {
                    return Err("the baseline lost its token".into());
                }
            }
        }
        Mech::ThreadChan => {
            let chans: Vec<_> = (0..k).map(|_| mpsc::sync_channel::<u64>(1)).collect();
            for v in 0..total {
                if v == cfg.warmup {
                    t0 = Instant::now();
                }
                let (tx, rx) = &chans[((v + 1) % k as u64) as usize];
                tx.send(v).map_err(|e| format!("send: {e}"))?;
                if rx.recv().ok() != Some(v) {
                    return Err("the baseline lost its token".into());
                }
            }
        }
    }
    Ok(t0.elapsed().as_nanos() as f64 / cfg.iters as f64)
}
