//! counters.rs: what the server counts, printed as one JSON line when it stops,
//! with the key names of common/counters.c.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy)]
pub enum Ctr {
    Accepted,
    Closed,
    Requests,
    Status400,
    Status404,
    Status405,
    Status413,
    Status414,
    Status431,
    Status505,
    Aborted,
    IoErrors,
    AcceptErrors,
    AcceptEmfile,
}

const NAMES: [&str; 14] = [
    "accepted",
    "closed",
    "requests",
    "status_400",
    "status_404",
    "status_405",
    "status_413",
    "status_414",
    "status_431",
    "status_505",
    "aborted",
    "io_errors",
    "accept_errors",
    "accept_emfile",
];

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
/// Relaxed atomics: the multi-thread runtime bumps them from every worker.
static COUNTS: [AtomicU64; 14] = [ZERO; 14];

impl Ctr {
    pub fn status(status: u16) -> Ctr {
        match status {
            404 => Ctr::Status404,
            405 => Ctr::Status405,
            413 => Ctr::Status413,
            414 => Ctr::Status414,
            431 => Ctr::Status431,
            505 => Ctr::Status505,
            _ => Ctr::Status400,
        }
    }
}

pub fn add(c: Ctr) {
    COUNTS[c as usize].fetch_add(1, Ordering::Relaxed);
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
