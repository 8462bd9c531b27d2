//! counters.rs: what a server counts, printed as one JSON line when it stops,
//! with the key names of common/counters.c (every key, zero where a design
//! cannot meet the event, so that all servers' lines read alike).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctr {
    Accepted,
    Closed,
    Requests, // answered 200
    Status400,
    Status404,
    Status405,
    Status413,
    Status414,
    Status431,
    Status502, // io=net: the backend failed
    Status503, // no thread for a connection
    Status505,
    Aborted,
    IdleTimeouts,
    IoErrors,
    AcceptErrors,
    AcceptEmfile,
    ThreadCreateFailed,
    OutOfMemory,
    UnfinishedAtExit,
    UpstreamErrors, // backend refused, reset, malformed, non-2xx or too slow
    FileErrors,     // io=file: the read failed
    // state=shared (shared.rs)
    SharedUpdates, // updates made, counted here, outside the table
    SharedCounted, // the table's per-key counts summed at exit
    SharedLost,    // shared_updates - shared_counted: updates the table lost
    ShareNs,       // from wanting the table to done with it, summed (monotonic clock)
    ShareWaitNs,   // of share_ns, the wait for the lock
    LockContended, // updates that found the lock taken
    LockSwitches,  // voluntary context switches while blocked on the lock
    SharedFull,    // a new key with every slot taken: answered 503
    // the graceful stop at SIGTERM/SIGINT (stop.rs)
    StopInflight,      // requests in flight at the signal
    StopAnswered,      // of them, answered
    StopCut,           // of them, cut at the end of --grace-ms
    StopIdleClosed,    // idle keep-alive connections closed at the signal
    StopPartialClosed, // connections closed at the signal holding part of a request
    StopMs,            // from the signal to the last connection closed
}

pub const NAMES: [&str; 36] = [
    "accepted",
    "closed",
    "requests",
    "status_400",
    "status_404",
    "status_405",
    "status_413",
    "status_414",
    "status_431",
    "status_502",
    "status_503",
    "status_505",
    "aborted",
    "idle_timeouts",
    "io_errors",
    "accept_errors",
    "accept_emfile",
    "thread_create_failed",
    "out_of_memory",
    "unfinished_at_exit",
    "upstream_errors",
    "file_errors",
    "shared_updates",
    "shared_counted",
    "shared_lost",
    "share_ns",
    "share_wait_ns",
    "lock_contended",
    "lock_switches",
    "shared_full",
    "stop_inflight",
    "stop_answered",
    "stop_cut",
    "stop_idle_closed",
    "stop_partial_closed",
    "stop_ms",
];

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
/// Relaxed atomics: every worker thread bumps them; one process, one set.
static COUNTS: [AtomicU64; NAMES.len()] = [ZERO; NAMES.len()];

impl Ctr {
    /// The counter of an error answer's status (400 for any status not listed).
    pub fn status(status: u16) -> Ctr {
        match status {
            404 => Ctr::Status404,
            405 => Ctr::Status405,
            413 => Ctr::Status413,
            414 => Ctr::Status414,
            431 => Ctr::Status431,
            502 => Ctr::Status502,
            503 => Ctr::Status503,
            505 => Ctr::Status505,
            _ => Ctr::Status400,
        }
    }
}

pub fn add(c: Ctr) {
    COUNTS[c as usize].fetch_add(1, Ordering::Relaxed);
}

pub fn add_n(c: Ctr, n: u64) {
    COUNTS[c as usize].fetch_add(n, Ordering::Relaxed);
}

pub fn set(c: Ctr, v: u64) {
    COUNTS[c as usize].store(v, Ordering::Relaxed);
}

pub fn get(c: Ctr) -> u64 {
    COUNTS[c as usize].load(Ordering::Relaxed)
}

/// {"impl":"tokio-current","accepted":1,...}
pub fn json(impl_name: &str) -> String {
    let mut s = format!("{{\"impl\":\"{}\"", impl_name);
    for (name, v) in NAMES.iter().zip(COUNTS.iter()) {
        s.push_str(&format!(",\"{}\":{}", name, v.load(Ordering::Relaxed)));
    }
    s.push('}');
    s
}

/// The integer fields of one flat JSON line such as json() prints, in order;
/// strings and anything else are skipped. Enough for the lines of our own workers.
pub fn parse_ints(line: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for field in line
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
    {
        let mut kv = field.splitn(2, ':');
        let (k, v) = match (kv.next(), kv.next()) {
            (Some(k), Some(v)) => (k.trim(), v.trim()),
            _ => continue,
        };
        if k.len() >= 2 && k.starts_with('"') && k.ends_with('"') {
            if let Ok(n) = v.parse::<u64>() {
                out.push((k[1..k.len() - 1].to_string(), n));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_once_and_parsed_back() {
        add(Ctr::Status502);
        let line = json("x");
        let ints = parse_ints(&line);
        assert_eq!(ints.len(), NAMES.len());
        assert_eq!(NAMES[Ctr::StopMs as usize], "stop_ms");
        assert_eq!(NAMES[Ctr::SharedUpdates as usize], "shared_updates");
        assert!(ints.iter().any(|(k, v)| k == "status_502" && *v >= 1));
        assert!(line.starts_with("{\"impl\":\"x\","));
        assert_eq!(Ctr::status(502), Ctr::Status502);
        assert_eq!(Ctr::status(418), Ctr::Status400);
    }
}
