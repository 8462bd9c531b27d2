//! sys.rs: what /proc says about this process and the machine (the readers of
//! common/procfs.c and common/sysenv.c), and which limit stops thread creation
//! (microbench/wall.c), for tokio_micro's JSON.

use crate::json::{int, string, Json};

/// A process's memory and threads from /proc/self/status, KiB.
#[derive(Clone, Copy, Default)]
pub struct ProcMem {
    pub rss_kib: i64,
    pub vsz_kib: i64,
    pub rss_anon_kib: i64,
    pub threads: i64,
}

/// System-wide kernel memory from /proc/meminfo, KiB.
#[derive(Clone, Copy, Default)]
pub struct SysMem {
    pub kernel_stack_kib: i64,
    pub sunreclaim_kib: i64,
    pub mem_total_kib: i64,
    pub mem_available_kib: i64,
}

fn field(text: &str, key: &str) -> Option<i64> {
    text.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l[key.len() + 1..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn read_status() -> Option<ProcMem> {
    let t = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(ProcMem {
        rss_kib: field(&t, "VmRSS")?,
        vsz_kib: field(&t, "VmSize")?,
        rss_anon_kib: field(&t, "RssAnon").unwrap_or(0),
        threads: field(&t, "Threads")?,
    })
}

pub fn read_meminfo() -> SysMem {
    let t = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    SysMem {
        kernel_stack_kib: field(&t, "KernelStack").unwrap_or(0),
        sunreclaim_kib: field(&t, "SUnreclaim").unwrap_or(0),
        mem_total_kib: field(&t, "MemTotal").unwrap_or(0),
        mem_available_kib: field(&t, "MemAvailable").unwrap_or(0),
    }
}

/// Pss of this process (smaps_rollup), KiB; None where the kernel has none.
pub fn read_pss() -> Option<i64> {
    let t = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    field(&t, "Pss")
}

fn proc_number(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn rlimit(res: libc::__rlimit_resource_t) -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if unsafe { libc::getrlimit(res, &mut rl) } != 0 || rl.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    Some(rl.rlim_cur)
}

fn rlimit_json(res: libc::__rlimit_resource_t) -> Json {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if unsafe { libc::getrlimit(res, &mut rl) } != 0 {
        return Json::Null;
    }
    if rl.rlim_cur == libc::RLIM_INFINITY {
        return string("unlimited");
    }
    int(rl.rlim_cur)
}

fn cpu_model() -> Json {
    let t = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    t.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':').map(|(_, v)| v))
        .map_or(Json::Null, |v| string(v.trim()))
}

fn kernel() -> Json {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return Json::Null;
    }
    let s = |a: &[libc::c_char]| {
        let b: Vec<u8> = a
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    string(&format!(
        "{} {} {}",
        s(&u.sysname),
        s(&u.release),
        s(&u.machine)
    ))
}

/// "2026-01-01T00:00:00Z", UTC.
pub fn date_utc() -> Json {
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::gmtime_r(&now, &mut tm) }.is_null() {
        return Json::Null;
    }
    string(&format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    ))
}

/// sysenv_json()'s keys: machine, limits, versions, date. libev_version is
/// null (no libev here); cc_version is the rustc that built this program.
pub fn env_json() -> Json {
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let mem = read_meminfo().mem_total_kib;
    Json::obj()
        .set("kernel", kernel())
        .set("cpu_model", cpu_model())
        .set("cores", if cores > 0 { int(cores) } else { Json::Null })
        .set("mem_kib", if mem > 0 { int(mem) } else { Json::Null })
        .set(
            "pid_max",
            proc_number("/proc/sys/kernel/pid_max").map_or(Json::Null, int),
        )
        .set(
            "threads_max",
            proc_number("/proc/sys/kernel/threads-max").map_or(Json::Null, int),
        )
        .set("nproc_limit", rlimit_json(libc::RLIMIT_NPROC))
        .set("nofile_limit", rlimit_json(libc::RLIMIT_NOFILE))
        .set(
            "max_map_count",
            proc_number("/proc/sys/vm/max_map_count").map_or(Json::Null, int),
        )
        .set("libev_version", Json::Null)
        .set(
            "cc_version",
            option_env!("TVT_RUSTC_VERSION").map_or(Json::Null, string),
        )
        .set(
            "git_commit",
            option_env!("TVT_VERSION").map_or(Json::Null, string),
        )
        .set("date", date_utc())
        .set(
            "tokio_version",
            option_env!("TVT_TOKIO_VERSION").map_or(Json::Null, string),
        )
}

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

fn limits() -> Vec<Limit> {
    let tasks = system_tasks();
    let root = unsafe { libc::geteuid() } == 0;
    let (cg_max, cg_cur) = cgroup_pair("pids.max", "pids.current");
    let (cm_max, cm_cur) = cgroup_pair("memory.max", "memory.current");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mem = read_meminfo();
    let kib = |v: Option<u64>| v.map(|b| (b / 1024) as i64);
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
        Limit {
            name: "address_space_kib",
            max: kib(rlimit(libc::RLIMIT_AS)),
            used: field(&status, "VmSize"),
            note: Some(if rlimit(libc::RLIMIT_AS).is_some() {
                "this process"
            } else {
                "unlimited"
            }),
            blames: true,
        },
        Limit {
            name: "data_kib",
            max: kib(rlimit(libc::RLIMIT_DATA)),
            used: field(&status, "VmData"),
            note: Some(if rlimit(libc::RLIMIT_DATA).is_some() {
                "this process"
            } else {
                "unlimited"
            }),
            blames: true,
        },
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
