//! wall.rs: which limit stops thread creation (microbench/wall.c): every
//! thread limit with its use, the wall object of spawn_bench's JSON, and how
//! many threads may still start with a margin left for the machine.

use crate::json::{int, string, Json};
use crate::sys::{field, proc_number, read_meminfo, rlimit};

/// Threads in the whole system (the kernel's nr_threads, /proc/loadavg).
fn system_tasks() -> Option<i64> {
    let t = std::fs::read_to_string("/proc/loadavg").ok()?;
    t.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()
}

/// Threads of every process of this real uid: what RLIMIT_NPROC counts.
fn user_tasks() -> Option<i64> {
    let me = unsafe { libc::getuid() };
    let mut sum = 0;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name();
        if !name
            .to_string_lossy()
            .starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        let t = match std::fs::read_to_string(e.path().join("status")) {
            Ok(t) => t,
            Err(_) => continue,
        };
        if field(&t, "Uid") == Some(me as i64) {
            sum += field(&t, "Threads").unwrap_or(0);
        }
    }
    Some(sum)
}

fn map_count() -> Option<i64> {
    std::fs::read_to_string("/proc/self/maps")
        .ok()
        .map(|t| t.lines().count() as i64)
}

fn fd_count() -> Option<i64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as i64)
}

/// The v2 cgroup folder of this process, where one is mounted.
fn cgroup_dir() -> Option<String> {
    let t = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = t.lines().find(|l| l.starts_with("0::"))?[3..].to_string();
    let dir = format!("/sys/fs/cgroup{}", if path == "/" { "" } else { &path });
    std::path::Path::new(&format!("{dir}/cgroup.controllers"))
        .exists()
        .then_some(dir)
}

fn cgroup_pair(max_file: &str, cur_file: &str) -> (Option<i64>, Option<i64>) {
    match cgroup_dir() {
        Some(d) => (
            std::fs::read_to_string(format!("{d}/{max_file}"))
                .ok()
                .and_then(|s| s.trim().parse().ok()),
            std::fs::read_to_string(format!("{d}/{cur_file}"))
                .ok()
                .and_then(|s| s.trim().parse().ok()),
        ),
        None => (None, None),
    }
}

/// One limit: its maximum, what is in use, and the share, or nulls.
struct Limit {
    name: &'static str,
    max: Option<i64>,
    used: Option<i64>,
    note: Option<&'static str>,
    blames: bool, // may be named as the wall (RLIMIT_NPROC does not bind root)
}

impl Limit {
    fn ratio(&self) -> Option<f64> {
        match (self.max, self.used) {
            (Some(m), Some(u)) if m > 0 && u >= 0 => Some(u as f64 / m as f64),
            _ => None,
        }
    }

    fn json(&self) -> Json {
        let mut o = Json::obj()
            .set("max", self.max.map_or(Json::Null, int))
            .set("used", self.used.map_or(Json::Null, int))
            .set("ratio", self.ratio().map_or(Json::Null, Json::Real));
        if let Some(n) = self.note {
            o.push("note", string(n));
        }
        o
    }
}

/// A memory rlimit of this process in KiB, beside what it uses (used_kib).
fn memory_rlimit(
    name: &'static str,
    res: libc::__rlimit_resource_t,
    used_kib: Option<i64>,
) -> Limit {
    let max = rlimit(res);
    Limit {
        name,
        max: max.map(|b| (b / 1024) as i64),
        used: used_kib,
        note: Some(if max.is_some() {
            "this process"
        } else {
            "unlimited"
        }),
        blames: true,
    }
}

fn limits() -> Vec<Limit> {
    let tasks = system_tasks();
    let root = unsafe { libc::geteuid() } == 0;
    let (cg_max, cg_cur) = cgroup_pair("pids.max", "pids.current");
    let (cm_max, cm_cur) = cgroup_pair("memory.max", "memory.current");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mem = read_meminfo();
    vec![
        Limit {
            name: "pid_max",
            max: proc_number("/proc/sys/kernel/pid_max"),
            used: tasks,
            note: Some("system-wide: every thread of every process takes a pid"),
            blames: true,
        },
        Limit {
            name: "threads_max",
            max: proc_number("/proc/sys/kernel/threads-max"),
            used: tasks,
            note: None,
            blames: true,
        },
        Limit {
            name: "nproc",
            max: rlimit(libc::RLIMIT_NPROC).map(|v| v as i64),
            used: user_tasks(),
            note: Some(if root {
                "not enforced for root"
            } else {
                "this user's threads, all processes"
            }),
            blames: !root,
        },
        Limit {
            name: "max_map_count",
            max: proc_number("/proc/sys/vm/max_map_count"),
            used: map_count(),
            note: Some("this process; about four maps per Rust thread"),
            blames: true,
        },
        Limit {
            name: "cgroup_pids",
            max: cg_max,
            used: cg_cur,
            note: cg_max.is_none().then_some("no limit found"),
            blames: true,
        },
        Limit {
            name: "cgroup_memory_kib",
            max: cm_max.map(|b| b / 1024),
            used: cm_cur.map(|b| b / 1024),
            note: cm_max.is_none().then_some("no limit found"),
            blames: true,
        },
        Limit {
            name: "nofile",
            max: rlimit(libc::RLIMIT_NOFILE).map(|v| v as i64),
            used: fd_count(),
            note: Some("this process"),
            blames: true,
        },
        memory_rlimit(
            "address_space_kib",
            libc::RLIMIT_AS,
            field(&status, "VmSize"),
        ),
        memory_rlimit("data_kib", libc::RLIMIT_DATA, field(&status, "VmData")),
        Limit {
            name: "memory_kib",
            max: Some(mem.mem_total_kib),
            used: Some(mem.mem_total_kib - mem.mem_available_kib),
            note: Some("used = MemTotal - MemAvailable"),
            blames: true,
        },
    ]
}

/// The wall object of microbench/wall.h: every limit, and limit_hit, the one
/// nearest its maximum (named `hit` when the caller already knows it).
pub fn wall_json(errno: i32, hit: Option<&str>) -> Json {
    let ls = limits();
    let mut o = Json::obj();
    let mut best = (0.97, "unknown");
    for l in &ls {
        if let (Some(r), true) = (l.ratio(), l.blames) {
            if r >= best.0 {
                best = (r, l.name);
            }
        }
        o.push(l.name, l.json());
    }
    let overcommit = proc_number("/proc/sys/vm/overcommit_memory");
    o.push("overcommit_memory", overcommit.map_or(Json::Null, int));
    o.push("errno", int(errno));
    o.push(
        "error",
        string(&std::io::Error::from_raw_os_error(errno).to_string()),
    );
    o.push("limit_hit", string(hit.unwrap_or(best.1)));
    o
}

/// How many more threads this process may start while leaving `margin` of
/// every thread limit free for the rest of the machine, and the limit that
/// sets it: pid_max and threads-max (system-wide), RLIMIT_NPROC (this user;
/// not for root), the pids cgroup, max_map_count (four maps per Rust thread:
/// its stack and guard page, and the signal stack std sets up in every thread,
/// with its own guard page; measured). Past max_map_count a new Rust thread
/// cannot map its signal stack and std aborts the whole process, so stopping
/// below the limits is the only way to see the wall and live.
pub fn thread_headroom() -> (i64, &'static str, i64) {
    let mut best = (i64::MAX, "none", 0);
    for l in limits() {
        let per_thread = match l.name {
            "pid_max" | "threads_max" | "nproc" | "cgroup_pids" => 1,
            "max_map_count" => 4,
            _ => continue,
        };
        if !l.blames {
            continue;
        }
        if let (Some(max), Some(used)) = (l.max, l.used) {
            let margin = (max / 32).max(1024); // a few percent stay for everyone else
            let room = (max - used - margin).max(0) / per_thread;
            if room < best.0 {
                best = (room, l.name, max);
            }
        }
    }
    best
}
