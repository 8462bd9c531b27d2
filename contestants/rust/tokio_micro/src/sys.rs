//! sys.rs: what /proc says about this process and the machine (the readers of
//! common/procfs.c and common/sysenv.c), for tokio_micro's JSON; which limit
//! stops thread creation is in wall.rs.

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

pub fn field(text: &str, key: &str) -> Option<i64> {
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

pub fn proc_number(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub fn rlimit(res: libc::__rlimit_resource_t) -> Option<u64> {
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
