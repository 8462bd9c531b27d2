//! workload.rs: what one request asks of a server (a wait of some kind, CPU
//! work, a body size, an update of the shared table) and its query keys, with
//! the limits of common/workload.h.

pub const WAIT_US_MAX: u32 = 60_000_000; // 60 s: longer is a typo, not a benchmark
pub const WORK_US_MAX: u32 = 10_000_000; // 10 s of CPU per request
pub const BYTES_MAX: u32 = 1 << 20; // 1 MiB: every body comes from one static buffer
pub const FILE_KIB_MIN: u32 = 4;
pub const FILE_KIB_MAX: u32 = 1024;
pub const FILE_KIB_DEFAULT: u32 = 4;
pub const SHARE_US_MAX: u32 = 1_000_000; // 1 s of CPU inside one update of the shared table
pub const SHARE_US_DEFAULT: u32 = 2;
pub const KEY_MAX: usize = 32; // key=: 1..32 characters of [A-Za-z0-9_.-]
pub const KEY_DEFAULT: &str = "-";

/// What a request waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    /// wait_us on a timer (tokio::time::sleep, clock_nanosleep, time.Sleep)
    Timer,
    /// a request to the --upstream backend, which answers after wait_us
    Net,
    /// file_kib KiB read with O_DIRECT at a random aligned offset of --data-file;
    /// wait_us has no part in it: the device's read is the wait
    File,
}

impl Io {
    pub fn parse(s: &str) -> Option<Io> {
        match s {
            "timer" => Some(Io::Timer),
            "net" => Some(Io::Net),
            "file" => Some(Io::File),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Io::Timer => "timer",
            Io::Net => "net",
            Io::File => "file",
        }
    }
}

/// What a request does to the state every connection of the process shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// nothing
    None,
    /// one update of the process's shared table (shared.rs) under the key
    Shared,
}

impl State {
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "none" => Some(State::None),
            "shared" => Some(State::Shared),
            _ => None,
        }
    }
}

/// A key of the shared table, kept inline so that a Workload stays Copy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    len: u8,
    bytes: [u8; KEY_MAX],
}

impl Key {
    /// A valid key: 1..KEY_MAX characters of [A-Za-z0-9_.-]; None otherwise.
    pub fn new(s: &str) -> Option<Key> {
        let ok = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-';
        if s.is_empty() || s.len() > KEY_MAX || !s.bytes().all(ok) {
            return None;
        }
        let mut k = Key {
            len: s.len() as u8,
            bytes: [0; KEY_MAX],
        };
        k.bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(k)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

pub const KEY_RULE: &str = "1 to 32 characters of A-Z a-z 0-9 _ . -";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub wait_us: u32,  // the wait: a timer, or the backend's (io=net)
    pub work_us: u32,  // CPU time the serving thread burns
    pub bytes: u32,    // body length of the answer
    pub io: Io,        // what the wait is
    pub file_kib: u32, // io=file: KiB per read, FILE_KIB_MIN..FILE_KIB_MAX, a multiple of 4
    pub state: State,  // state=shared: update the shared table
    pub share_us: u32, // state=shared: CPU spent inside the update, 0..SHARE_US_MAX
    pub key: Key,      // state=shared: the table's key
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            wait_us: 0,
            work_us: 0,
            bytes: 64,
            io: Io::Timer,
            file_kib: FILE_KIB_DEFAULT,
            state: State::None,
            share_us: SHARE_US_DEFAULT,
            key: Key::new(KEY_DEFAULT).expect("a valid key"),
        }
    }
}

/// A decimal integer of 1..10 digits, at most max; None otherwise (as
/// workload_parse_u32: no sign, no spaces).
pub fn parse_u32(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match s.parse::<u64>() {
        Ok(v) if v <= max as u64 => Some(v as u32),
        _ => None,
    }
}

/// file_kib must be a multiple of 4 KiB (the O_DIRECT alignment) in 4..1024.
pub fn file_kib_ok(v: u32) -> bool {
    (FILE_KIB_MIN..=FILE_KIB_MAX).contains(&v) && v % 4 == 0
}

pub const FILE_KIB_RULE: &str = "a multiple of 4 from 4 to 1024";

pub fn clip(s: &str, n: usize) -> &str {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Applies "wait_us=2000&bytes=64&io=net&state=shared&key=k07" over w. Unknown keys are errors so
/// that a typo cannot silently run the default (as workload_parse_query
/// does); out-of-range values are errors, never clamped.
pub fn parse_query(q: &str, w: &mut Workload) -> Result<(), String> {
    let mut next = *w;
    for pair in q.split('&') {
        if pair.is_empty() {
            continue; // "a=1&&b=2": tolerated
        }
        let (key, value) = match pair.find('=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => return Err(format!("query parameter '{}' has no value", clip(pair, 32))),
        };
        let (field, max) = match key {
            "wait_us" => (&mut next.wait_us, WAIT_US_MAX),
            "work_us" => (&mut next.work_us, WORK_US_MAX),
            "bytes" => (&mut next.bytes, BYTES_MAX),
            "share_us" => (&mut next.share_us, SHARE_US_MAX),
            "state" => {
                next.state = State::parse(value).ok_or_else(|| {
                    format!("state must be none or shared, not '{}'", clip(value, 16))
                })?;
                continue;
            }
            "key" => {
                next.key = Key::new(value).ok_or_else(|| format!("key must be {}", KEY_RULE))?;
                continue;
            }
            "io" => {
                next.io = Io::parse(value).ok_or_else(|| {
                    format!("io must be timer, net or file, not '{}'", clip(value, 32))
                })?;
                continue;
            }
            "file_kib" => {
                match parse_u32(value, FILE_KIB_MAX) {
                    Some(v) if file_kib_ok(v) => next.file_kib = v,
                    _ => return Err(format!("file_kib must be {}", FILE_KIB_RULE)),
                }
                continue;
            }
            _ => {
                return Err(format!(
                    "unknown query parameter '{}' (known: wait_us, work_us, bytes, io, \
                     file_kib, state, share_us, key)",
                    clip(key, 32)
                ))
            }
        };
        *field = parse_u32(value, max)
            .ok_or_else(|| format!("{} must be an integer from 0 to {}", key, max))?;
    }
    *w = next;
    Ok(())
}

/// What a server was started with for the io kinds: a request of a kind the
/// server cannot serve gets 400 naming the missing flag.
pub fn capable(w: &Workload, has_upstream: bool, has_data_file: bool) -> Result<(), &'static str> {
    match w.io {
        Io::Net if !has_upstream => {
            Err("io=net needs the server started with --upstream HOST:PORT")
        }
        Io::File if !has_data_file => Err("io=file needs the server started with --data-file PATH"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_over_defaults() {
        let mut w = Workload::default();
        parse_query("wait_us=5&&io=net&file_kib=8", &mut w).unwrap();
        assert_eq!((w.wait_us, w.io, w.file_kib, w.bytes), (5, Io::Net, 8, 64));
        assert_eq!(
            (w.state, w.share_us, w.key.as_bytes()),
            (State::None, 2, &b"-"[..])
        );
        let long = "a".repeat(KEY_MAX);
        parse_query(&format!("state=shared&share_us=1000000&key={long}"), &mut w).unwrap();
        assert_eq!(
            (w.state, w.share_us, w.key.as_bytes()),
            (State::Shared, 1_000_000, long.as_bytes())
        );
        parse_query("key=A-z_0.9", &mut w).unwrap();
        assert_eq!(w.key.as_bytes(), b"A-z_0.9");
    }

    #[test]
    fn errors_leave_w_alone() {
        let mut w = Workload::default();
        for q in [
            "io=disk",
            "file_kib=6",
            "file_kib=0",
            "file_kib=1028",
            "file_kib=+4",
            "nope=1",
            "bytes",
            "wait_us=60000001",
            "work_us=-1",
            "bytes=99999999999",
            "state=global",
            "state=",
            "share_us=1000001",
            "share_us=-1",
            "key=",
            "key=a/b",
            "key=%41",
            "key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // 33 characters
        ] {
            assert!(parse_query(q, &mut w).is_err(), "{}", q);
        }
        // each error names its key
        for (q, key) in [
            ("state=x", "state"),
            ("share_us=2000000", "share_us"),
            ("key=a b", "key"),
        ] {
            assert!(
                parse_query(q, &mut w).unwrap_err().starts_with(key),
                "{}",
                q
            );
        }
        assert!(parse_query("wait_us=9&io=x", &mut w).is_err());
        assert_eq!(w, Workload::default());
    }

    #[test]
    fn capability() {
        let mut w = Workload::default();
        assert!(capable(&w, false, false).is_ok());
        w.io = Io::Net;
        assert!(capable(&w, false, true).unwrap_err().contains("--upstream"));
        w.io = Io::File;
        assert!(capable(&w, true, false)
            .unwrap_err()
            .contains("--data-file"));
        assert!(capable(&w, false, true).is_ok());
    }
}
