//! stop.rs: the graceful stop at SIGTERM/SIGINT, what every Rust server
//! counts of it (the C servers' stop_* counters); how a server reaches its
//! connections is its own (a watch channel to every task, a registry of
//! threads).
//!
//! The stop: the listener goes at once (new connects are refused); a
//! connection waiting for a request is closed (a FIN: nothing unread is left
//! behind), counted idle, or partial when part of a request was in; a request
//! in flight is answered with `Connection: close`, and then its connection
//! closes; past --grace-ms what is left is cut. Then the counters, exit 0.

use std::time::{Duration, Instant};

use crate::counters::{add, set, Ctr};

/// After the cut: how long connections get to end before the counters are
/// printed; those still busy (burning work_us, which nothing can interrupt)
/// are counted in unfinished_at_exit and end with the process.
pub const CUT_DRAIN: Duration = Duration::from_secs(1);

/// Where a server is in its life. Ordered: a phase implies the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// the signal came: answer what is in flight, close the rest
    Stopping,
    /// the grace is over: what is still in flight is cut
    Cut,
}

impl Phase {
    pub fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Running,
            1 => Phase::Stopping,
            _ => Phase::Cut,
        }
    }
}

/// How one request ended, for the serving loop and the stop's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// answered; the connection is kept
    Keep,
    /// answered; the connection closes
    Done,
    /// not answered: the write failed (counted as the client's doing)
    Failed,
    /// not answered: the stop's grace ran out
    Cut,
}

/// A request that ended during the stop was in flight at the signal:
/// answered or cut (or neither, when the client went away).
pub fn request_ended(e: End) {
    add(Ctr::StopInflight);
    match e {
        End::Keep | End::Done => add(Ctr::StopAnswered),
        End::Cut => add(Ctr::StopCut),
        End::Failed => {}
    }
}

/// A connection the stop found waiting for a request, closed by it; mid:
/// holding part of one.
pub fn read_closed(mid: bool) {
    add(if mid {
        Ctr::StopPartialClosed
    } else {
        Ctr::StopIdleClosed
    });
}

/// Every connection has closed (or the cut's drain is over): stop_ms.
pub fn finished(t_sig: Instant) {
    set(Ctr::StopMs, t_sig.elapsed().as_millis() as u64);
}
