//! shared.rs: the table every connection of a server process shares
//! (state=shared), as common/shared.c has it: a count per key in a
//! fixed-size open-addressing hash table and a ring of the last keys seen;
//! and one update as a server serves it, measured and counted.
//!
//! The table is plain data: what guards it is the server's choice, and the
//! compiler holds it to one. Tokio's multi-thread runtime and the thread
//! server share an Arc<Mutex<Table>> (taken with lock_counted), Tokio's
//! current-thread runtime an Rc<RefCell<Table>>: one thread, no lock, and
//! an Rc cannot leave that thread. Safe Rust offers no unguarded way to share
//! it between threads, so there is no `--lock none` here (the C thread
//! server's data race on purpose).

use std::ops::DerefMut;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Instant;

use crate::counters::{add, add_n, get, set, Ctr};
use crate::workload::{Workload, KEY_MAX};

pub const SLOTS: usize = 1024; // keys a table holds; a power of two
pub const RING: usize = 64; // the last keys seen

/// The reason of the 503 that a full table answers (common/shared_serve.c's).
pub const FULL_REASON: &str = "the shared table is full: 1024 keys (state=shared with a new key)";

#[derive(Clone, Copy)]
struct Slot {
    len: u8, // 0: empty
    key: [u8; KEY_MAX],
    count: u64,
}

pub struct Table {
    slots: Vec<Slot>,
    keys: usize,
    ring: [u16; RING], // slot index + 1 of the keys seen; 0: none yet
    ring_next: usize,  // where the next key seen goes, mod RING
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

/// The slot a key's probe starts at: FNV-1a (short keys, no adversary).
pub fn home(key: &[u8]) -> usize {
    let mut h: u32 = 2_166_136_261;
    for &c in key {
        h ^= c as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h as usize & (SLOTS - 1)
}

impl Table {
    pub fn new() -> Table {
        Table {
            slots: vec![
                Slot {
                    len: 0,
                    key: [0; KEY_MAX],
                    count: 0
                };
                SLOTS
            ],
            keys: 0,
            ring: [0; RING],
            ring_next: 0,
        }
    }

    /// The slot holding key, by linear probing from its home; else the first
    /// empty slot on the way (where it would go), or None: full, not there.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let start = home(key);
        for i in 0..SLOTS {
            let at = (start + i) & (SLOTS - 1);
            let s = &self.slots[at];
            if s.len == 0 || &s.key[..s.len as usize] == key {
                return Some(at);
            }
        }
        None
    }

    /// One update of key (a valid one: workload::Key): reads its count, calls
    /// work (the CPU a real cache's update spends), writes the count plus one
    /// back and puts the key in the ring. The key's count after it, or None
    /// when the key is new and every slot is taken (nothing changed).
    pub fn update(&mut self, key: &[u8], work: impl FnOnce()) -> Option<u64> {
        let at = self.find(key)?;
        if self.slots[at].len == 0 {
            let s = &mut self.slots[at];
            s.len = key.len() as u8;
            s.key[..key.len()].copy_from_slice(key);
            s.count = 0;
            self.keys += 1;
        }
        // read, work, write back: with a guard nobody can come between
        let n = self.slots[at].count + 1;
        work();
        self.slots[at].count = n;
        self.ring[self.ring_next % RING] = (at + 1) as u16;
        self.ring_next += 1;
        Some(n)
    }

    /// The count of key; 0 when it is not in the table.
    pub fn count(&self, key: &[u8]) -> u64 {
        match self.find(key) {
            Some(at) if self.slots[at].len > 0 => self.slots[at].count,
            _ => 0,
        }
    }

    /// The sum of every key's count: the updates the table kept.
    pub fn counted(&self) -> u64 {
        self.slots.iter().map(|s| s.count).sum()
    }

    /// Keys in the table, 0..SLOTS.
    pub fn keys(&self) -> usize {
        self.keys
    }

    /// The last keys seen, newest first (at most RING).
    pub fn recent(&self) -> Vec<&[u8]> {
        (0..RING.min(self.ring_next))
            .map(|i| self.ring[(self.ring_next - 1 - i) % RING] as usize)
            .filter(|&at| at > 0)
            .map(|at| &self.slots[at - 1].key[..self.slots[at - 1].len as usize])
            .collect()
    }
}

/// The calling thread's voluntary context switches so far.
fn thread_nvcsw() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } == 0 {
        ru.ru_nvcsw as u64
    } else {
        0
    }
}

/// Takes m as common/shared_serve.c takes its mutex: try_lock first; when it
/// is taken already, counts a contended take and the calling thread's
/// voluntary switches while it blocks in lock(). A Tokio worker blocks in it
/// as a connection thread does: the lock is std's, not an async one, since
/// nothing awaits while holding it. Counts the wait in share_wait_ns.
pub fn lock_counted(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    let t_want = Instant::now();
    let g = match m.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            add(Ctr::LockContended);
            let before = thread_nvcsw();
            let g = m.lock().unwrap_or_else(|p| p.into_inner());
            add_n(Ctr::LockSwitches, thread_nvcsw().saturating_sub(before));
            g
        }
    };
    add_n(Ctr::ShareWaitNs, t_want.elapsed().as_nanos() as u64);
    g
}

/// One state=shared update of w.key, w.share_us of the thread's CPU spent
/// between reading the key's count and writing it back. take() gets the table
/// (a RefCell's borrow_mut, lock_counted); the table is let go before return.
/// Counts shared_updates (or shared_full) and share_ns, from wanting the
/// table to done with it. The key's count after the update, or None when the
/// table is full (answer 503 with FULL_REASON).
pub fn serve<G: DerefMut<Target = Table>>(w: &Workload, take: impl FnOnce() -> G) -> Option<u64> {
    let t_want = Instant::now();
    let mut t = take();
    let n = t.update(w.key.as_bytes(), || crate::spin::spin(w.share_us));
    add(if n.is_some() {
        Ctr::SharedUpdates
    } else {
        Ctr::SharedFull
    });
    drop(t);
    add_n(Ctr::ShareNs, t_want.elapsed().as_nanos() as u64);
    n
}

/// At exit: the table's count into shared_counted, and shared_lost from it
/// and shared_updates (0 when the table counted more).
pub fn settle(t: &Table) {
    let counted = t.counted();
    set(Ctr::SharedCounted, counted);
    set(
        Ctr::SharedLost,
        get(Ctr::SharedUpdates).saturating_sub(counted),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys whose probes start at the same slot.
    fn colliding(n: usize) -> Vec<String> {
        let want = home(b"k0");
        (0..)
            .map(|i| format!("k{i}"))
            .filter(|k| home(k.as_bytes()) == want)
            .take(n)
            .collect()
    }

    #[test]
    fn counts_per_key_and_recent() {
        let mut t = Table::new();
        let mut worked = 0;
        assert_eq!(t.update(b"a", || worked += 1), Some(1));
        assert_eq!(t.update(b"b", || worked += 1), Some(1));
        assert_eq!(t.update(b"a", || worked += 1), Some(2));
        assert_eq!(worked, 3);
        assert_eq!((t.count(b"a"), t.count(b"b"), t.count(b"c")), (2, 1, 0));
        assert_eq!((t.counted(), t.keys()), (3, 2));
        assert_eq!(t.recent(), vec![&b"a"[..], b"b", b"a"]);
    }

    #[test]
    fn collisions_probe_on() {
        let keys = colliding(3);
        let mut t = Table::new();
        for (i, k) in keys.iter().enumerate() {
            for _ in 0..=i {
                t.update(k.as_bytes(), || {});
            }
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.count(k.as_bytes()), i as u64 + 1, "{k}");
        }
    }

    #[test]
    fn full_table_changes_nothing() {
        let mut t = Table::new();
        for i in 0..SLOTS {
            assert_eq!(t.update(format!("k{i}").as_bytes(), || {}), Some(1));
        }
        let mut worked = false;
        assert_eq!(t.update(b"one-more", || worked = true), None);
        assert!(!worked);
        assert_eq!(t.update(b"k7", || {}), Some(2)); // a key it holds still counts
        assert_eq!((t.counted(), t.keys()), (SLOTS as u64 + 1, SLOTS));
        assert_eq!(t.count(b"one-more"), 0);
    }

    #[test]
    fn ring_keeps_the_last_64() {
        let mut t = Table::new();
        for i in 0..100 {
            t.update(format!("k{i}").as_bytes(), || {});
        }
        let r = t.recent();
        assert_eq!(r.len(), RING);
        assert_eq!((r[0], r[RING - 1]), (&b"k99"[..], &b"k36"[..]));
    }
}
