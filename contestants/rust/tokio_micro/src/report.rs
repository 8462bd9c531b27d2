//! report.rs: runs the points of `spawn` and the rings of `switch`, prints a
//! table, and builds the JSON of spawn_bench and switch_bench with their keys
//! (microbench/SCHEMA.md), plus `runtime` and `label` saying which Rust unit
//! each file or result is.

use crate::json::{int, real, string, Json};
use crate::spawn::{self, Kind, Outcome};
use crate::switch::{self, Cfg, Mech};
use crate::sys::{self, ProcMem, SysMem};
use crate::{runtime, Common, PROG};

pub struct SpawnOpts {
    pub kind: Kind,
    pub counts: Vec<u64>,
    pub state_bytes: usize,
    pub stack_kib: usize,
    pub hold_ms: u64,
    pub until_failure: bool,
}

impl Default for SpawnOpts {
    fn default() -> SpawnOpts {
        // 256 bytes: what a waiting connection keeps besides its I/O buffers, as
        // spawn_bench's DEFAULT_STATE_BYTES.
        SpawnOpts {
            kind: Kind::TokioTimer,
            counts: Vec::new(),
            state_bytes: 256,
            stack_kib: 0,
            hold_ms: 0,
            until_failure: false,
        }
    }
}

struct Point {
    out: Outcome,
    mem: ProcMem,
    pss: Option<i64>,
    before: SysMem,
    at: SysMem,
    wall: Option<Json>,
}

fn per(total: f64, n: usize) -> f64 {
    if n > 0 {
        total / n as f64
    } else {
        0.0
    }
}

/// Least squares slope of y over x (mbutil.c's mb_slope): one point gives y/x.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    if n == 1 {
        return if x[0] != 0.0 { y[0] / x[0] } else { 0.0 };
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

fn point_json(p: &Point, base: &ProcMem, base_pss: Option<i64>) -> Json {
    let o = &p.out;
    let n = o.created;
    let (d_rss, d_vsz, d_anon) = (
        p.mem.rss_kib - base.rss_kib,
        p.mem.vsz_kib - base.vsz_kib,
        p.mem.rss_anon_kib - base.rss_anon_kib,
    );
    let d_ks = p.at.kernel_stack_kib - p.before.kernel_stack_kib;
    let d_su = p.at.sunreclaim_kib - p.before.sunreclaim_kib;
    let d_pss = match (p.pss, base_pss) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    let failure = match &o.failure {
        None => Json::Null,
        Some((call, errno, _)) => Json::obj()
            .set("call", string(call))
            .set("errno", int(*errno))
            .set(
                "error",
                string(&std::io::Error::from_raw_os_error(*errno).to_string()),
            )
            .set("at_unit", int(n))
            .set(
                "wall",
                match &p.wall {
                    Some(w) => clone(w),
                    None => Json::Null,
                },
            ),
    };
    Json::obj()
        .set("requested", int(o.requested))
        .set("created", int(n))
        .set("ready", int(o.ready))
        .set("torn_down", int(o.torn_down))
        .set("create_ns", int(o.create_ns))
        .set("ready_ns", int(o.ready_ns))
        .set("teardown_ns", int(o.teardown_ns))
        .set("create_ns_per_unit", real(per(o.create_ns as f64, n)))
        .set("ready_ns_per_unit", real(per(o.ready_ns as f64, n)))
        .set("teardown_ns_per_unit", real(per(o.teardown_ns as f64, n)))
        .set("rss_kib", int(p.mem.rss_kib))
        .set("vsz_kib", int(p.mem.vsz_kib))
        .set("pss_kib", p.pss.map_or(Json::Null, int))
        .set("rss_anon_kib", int(p.mem.rss_anon_kib))
        .set("threads", int(p.mem.threads))
        .set("rss_delta_kib", int(d_rss))
        .set("vsz_delta_kib", int(d_vsz))
        .set("pss_delta_kib", d_pss.map_or(Json::Null, int))
        .set("rss_anon_delta_kib", int(d_anon))
        .set("rss_bytes_per_unit", real(per(d_rss as f64 * 1024.0, n)))
        .set("vsz_bytes_per_unit", real(per(d_vsz as f64 * 1024.0, n)))
        .set(
            "pss_bytes_per_unit",
            d_pss.map_or(Json::Null, |d| real(per(d as f64 * 1024.0, n))),
        )
        .set("kernel_stack_delta_kib", int(d_ks))
        .set("sunreclaim_delta_kib", int(d_su))
        .set(
            "kernel_stack_bytes_per_unit",
            real(per(d_ks as f64 * 1024.0, n)),
        )
        .set(
            "sunreclaim_bytes_per_unit",
            real(per(d_su as f64 * 1024.0, n)),
        )
        .set("failure", failure)
}

/// A deep copy (Json holds no Rc: the wall object appears twice).
fn clone(j: &Json) -> Json {
    match j {
        Json::Null => Json::Null,
        Json::Bool(b) => Json::Bool(*b),
        Json::Int(i) => Json::Int(*i),
        Json::Real(f) => Json::Real(*f),
        Json::Str(s) => Json::Str(s.clone()),
        Json::Arr(a) => Json::Arr(a.iter().map(clone).collect()),
        Json::Obj(o) => Json::Obj(o.iter().map(|(k, v)| (k.clone(), clone(v))).collect()),
    }
}

fn slope_json(pts: &[Point], base: &ProcMem, base_pss: Option<i64>) -> Json {
    let used: Vec<&Point> = pts.iter().filter(|p| p.out.created > 0).collect();
    let x: Vec<f64> = used.iter().map(|p| p.out.created as f64).collect();
    let series = |f: &dyn Fn(&Point) -> Option<f64>| -> Json {
        let y: Option<Vec<f64>> = used.iter().map(|p| f(p)).collect();
        match y {
            Some(y) if !x.is_empty() => real(slope(&x, &y)),
            _ => Json::Null,
        }
    };
    Json::obj()
        .set("points_used", int(used.len()))
        .set(
            "rss_bytes_per_unit",
            series(&|p| Some((p.mem.rss_kib - base.rss_kib) as f64 * 1024.0)),
        )
        .set(
            "vsz_bytes_per_unit",
            series(&|p| Some((p.mem.vsz_kib - base.vsz_kib) as f64 * 1024.0)),
        )
        .set(
            "pss_bytes_per_unit",
            series(&|p| Some((p.pss? - base_pss?) as f64 * 1024.0)),
        )
        .set(
            "rss_anon_bytes_per_unit",
            series(&|p| Some((p.mem.rss_anon_kib - base.rss_anon_kib) as f64 * 1024.0)),
        )
        .set(
            "kernel_stack_bytes_per_unit",
            series(&|p| Some((p.at.kernel_stack_kib - p.before.kernel_stack_kib) as f64 * 1024.0)),
        )
        .set(
            "sunreclaim_bytes_per_unit",
            series(&|p| Some((p.at.sunreclaim_kib - p.before.sunreclaim_kib) as f64 * 1024.0)),
        )
        .set(
            "create_ns_per_unit",
            series(&|p| Some(p.out.create_ns as f64)),
        )
        .set(
            "teardown_ns_per_unit",
            series(&|p| Some(p.out.teardown_ns as f64)),
        )
}

fn write_json(c: &Common, doc: &Json) -> bool {
    match &c.json {
        Some(path) => match crate::json::write_file(path, doc) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{PROG}: {e}");
                false
            }
        },
        None => true,
    }
}

pub fn spawn(o: &SpawnOpts, c: &Common) -> i32 {
    let thread = o.kind == Kind::StdThread;
    let stack_eff = if o.stack_kib > 0 {
        o.stack_kib
    } else {
        spawn::default_stack_kib()
    };
    if thread && o.state_bytes > stack_eff * 1024 / 2 {
        eprintln!("{PROG}: --state-bytes {} does not fit a {stack_eff} KiB stack; use at most half the stack", o.state_bytes);
        return 2;
    }
    let rt = if thread { None } else { Some(runtime(c)) };
    let rt_name = if thread {
        None
    } else if c.multi {
        Some("multi")
    } else {
        Some("current")
    };
    let label = match rt_name {
        Some(r) => format!(
            "{}, {}-thread runtime",
            o.kind.name(),
            if r == "multi" { "multi" } else { "current" }
        ),
        None => format!("{}, {} KiB stack", o.kind.name(), stack_eff),
    };
    let base = match sys::read_status() {
        Some(m) => m,
        None => {
            eprintln!("{PROG}: cannot read /proc/self/status (is /proc mounted?)");
            return 1;
        }
    };
    let base_pss = sys::read_pss();
    println!("tokio_micro spawn: {label}, state {} B/unit", o.state_bytes);
    println!(
        "{:>10} {:>10} {:>11} {:>10} {:>10} {:>10} {:>10} {:>11}",
        "N", "created", "create_ns/u", "rss_B/u", "pss_B/u", "vsz_B/u", "kstack_B/u", "teardn_ns/u"
    );
    let mut pts: Vec<Point> = Vec::new();
    let mut ok = true;
    for &n in &o.counts {
        let n = n as usize;
        let mut out = Outcome {
            requested: n,
            ..Default::default()
        };
        let before = sys::read_meminfo();
        let set = if thread {
            let (room, limit, _) = sys::thread_headroom();
            let room = if room == i64::MAX {
                None
            } else {
                Some((room.max(0) as usize, limit))
            };
            spawn::threads_create(n, o.stack_kib, o.state_bytes, room, &mut out)
        } else {
            spawn::tasks_create(
                rt.as_ref().expect("tasks have a runtime"),
                o.kind,
                n,
                o.state_bytes,
                &mut out,
            )
        };
        // Diagnose first: the figures that explain a wall move as soon as anything exits.
        let wall = out
            .failure
            .as_ref()
            .map(|(_, errno, hit)| sys::wall_json(*errno, *hit));
        if o.hold_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(o.hold_ms));
        }
        let mem = sys::read_status().unwrap_or_default();
        let at = sys::read_meminfo();
        let pss = sys::read_pss();
        spawn::teardown(rt.as_ref(), set, &mut out);
        // Give freed memory back so the next point starts near the baseline.
        unsafe { libc::malloc_trim(0) };
        let p = Point {
            out,
            mem,
            pss,
            before,
            at,
            wall,
        };
        let o2 = &p.out;
        println!(
            "{:>10} {:>10} {:>11.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>11.0}",
            n,
            o2.created,
            per(o2.create_ns as f64, o2.created),
            per((p.mem.rss_kib - base.rss_kib) as f64 * 1024.0, o2.created),
            match (p.pss, base_pss) {
                (Some(a), Some(b)) => per((a - b) as f64 * 1024.0, o2.created),
                _ => f64::NAN,
            },
            per((p.mem.vsz_kib - base.vsz_kib) as f64 * 1024.0, o2.created),
            per(
                (p.at.kernel_stack_kib - p.before.kernel_stack_kib) as f64 * 1024.0,
                o2.created
            ),
            per(o2.teardown_ns as f64, o2.created)
        );
        if o2.torn_down != o2.created {
            ok = false;
        }
        let stop = o2.failure.is_some();
        if let Some((call, errno, hit)) = &o2.failure {
            println!(
                "  {call} stopped at unit {} of {}: {} (limit: {})",
                o2.created,
                n,
                std::io::Error::from_raw_os_error(*errno),
                hit.unwrap_or("see wall")
            );
            if !o.until_failure {
                ok = false;
                eprintln!("{PROG}: stopped at {} of {n} threads; use a smaller --count, or --until-failure to look for the wall", o2.created);
            }
        }
        pts.push(p);
        if stop {
            break; // larger N would only hit the same wall
        }
    }
    let created: usize = pts.iter().map(|p| p.out.created).sum();
    let torn: usize = pts.iter().map(|p| p.out.torn_down).sum();
    let sl = slope_json(&pts, &base, base_pss);
    let f = |k: &str| match sl.get(k) {
        Some(Json::Real(v)) => *v,
        _ => f64::NAN,
    };
    println!(
        "slope over {} point(s): rss {:.0} B/unit, pss {:.0} B/unit, kernel stack {:.0} B/unit, create {:.0} ns/unit, teardown {:.0} ns/unit",
        pts.len(),
        f("rss_bytes_per_unit"),
        f("pss_bytes_per_unit"),
        f("kernel_stack_bytes_per_unit"),
        f("create_ns_per_unit"),
        f("teardown_ns_per_unit")
    );
    println!(
        "created {created}, torn down {torn}{}",
        if created == torn { "" } else { "  <- MISMATCH" }
    );
    let wall_pt = pts.iter().find(|p| p.out.failure.is_some());
    let wall = match wall_pt {
        Some(p) => {
            let (call, errno, _) = p.out.failure.as_ref().expect("found above");
            let w = p.wall.as_ref().map_or(Json::Null, clone);
            let hit = match w.get("limit_hit") {
                Some(h) => clone(h),
                None => string("unknown"),
            };
            Json::obj()
                .set("requested", int(p.out.requested))
                .set("created", int(p.out.created))
                .set("call", string(call))
                .set("errno", int(*errno))
                .set(
                    "error",
                    string(&std::io::Error::from_raw_os_error(*errno).to_string()),
                )
                .set("limit_hit", hit)
                .set("limits", w)
        }
        None => Json::Null,
    };
    let all_ok = ok && created == torn;
    let doc = Json::obj()
        .set("bench", string("spawn"))
        .set("kind", string(o.kind.name()))
        .set("unit", string(if thread { "thread" } else { "task" }))
        .set("runtime", rt_name.map_or(Json::Null, string))
        .set("label", string(&label))
        .set(
            "params",
            Json::obj()
                .set(
                    "counts",
                    Json::Arr(o.counts.iter().map(|&n| int(n)).collect()),
                )
                .set("stack_kib", int(o.stack_kib))
                .set(
                    "stack_kib_effective",
                    if thread { int(stack_eff) } else { Json::Null },
                )
                .set("state_bytes", int(o.state_bytes))
                .set("hold_ms", int(o.hold_ms))
                .set("until_failure", Json::Bool(o.until_failure))
                .set("runtime", rt_name.map_or(Json::Null, string))
                .set(
                    "workers",
                    if c.multi && c.workers > 0 {
                        int(c.workers)
                    } else {
                        Json::Null
                    },
                ),
        )
        .set("env", sys::env_json())
        .set(
            "baseline",
            Json::obj()
                .set("rss_kib", int(base.rss_kib))
                .set("vsz_kib", int(base.vsz_kib))
                .set("pss_kib", base_pss.map_or(Json::Null, int))
                .set("rss_anon_kib", int(base.rss_anon_kib))
                .set("threads", int(base.threads)),
        )
        .set(
            "points",
            Json::Arr(pts.iter().map(|p| point_json(p, &base, base_pss)).collect()),
        )
        .set("slope", sl)
        .set(
            "totals",
            Json::obj()
                .set("created", int(created))
                .set("torn_down", int(torn))
                .set("all_torn_down", Json::Bool(created == torn)),
        )
        .set("wall", wall)
        .set("ok", Json::Bool(all_ok));
    let written = write_json(c, &doc);
    if let Some(rt) = rt {
        rt.shutdown_background();
    }
    if all_ok && written {
        0
    } else {
        1
    }
}

pub struct SwitchOpts {
    pub mechs: Vec<Mech>,
    pub rings: Vec<u64>,
    pub iters: u64,
    pub warmup: Option<u64>,
    pub pin: Option<usize>,
}

impl Default for SwitchOpts {
    fn default() -> SwitchOpts {
        SwitchOpts {
            mechs: switch::ALL.to_vec(),
            rings: vec![2, 500],
            iters: 100_000,
            warmup: None,
            pin: None,
        }
    }
}

fn pin_cpu(cpu: usize) -> std::io::Result<()> {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn switch(o: &SwitchOpts, c: &Common) -> i32 {
    if let Some(cpu) = o.pin {
        if let Err(e) = pin_cpu(cpu) {
            eprintln!("{PROG}: cannot pin to CPU {cpu}: {e} (pick one of this process's allowed CPUs, see taskset -p $$)");
            return 2;
        }
    }
    let warmup = o.warmup.unwrap_or((o.iters / 10).min(10_000));
    // Made after pinning, so that every worker inherits the CPU.
    let needs_rt = o.mechs.iter().any(|m| !m.is_thread());
    let rt = if needs_rt { Some(runtime(c)) } else { None };
    let rt_name = if c.multi { "multi" } else { "current" };
    match o.pin {
        Some(cpu) => println!("tokio_micro switch: {rt_name}-thread runtime, pinned to CPU {cpu}"),
        None => println!("tokio_micro switch: {rt_name}-thread runtime, unpinned"),
    }
    println!(
        "{:<22} {:>6} {:>10} {:>10} {:>10} {:>10} {:>8} {:>4}",
        "mechanism", "ring", "iters", "ns/hop", "base_ns", "ns/switch", "csw/hop", "ok"
    );
    let mut ok = true;
    let mut results = Vec::new();
    for &m in &o.mechs {
        for &ring in &o.rings {
            let cfg = Cfg {
                ring: ring as usize,
                warmup,
                iters: o.iters,
            };
            let r = if m.is_thread() {
                switch::thread_ring(m, &cfg)
            } else {
                switch::tokio_ring(rt.as_ref().expect("made above"), m, &cfg)
            };
            let mut error = r.error.clone();
            let base = match switch::baseline(m, &cfg) {
                Ok(b) => b,
                Err(e) => {
                    error.get_or_insert(format!("baseline: {e}"));
                    0.0
                }
            };
            let ns_hop = r.elapsed_ns as f64 / cfg.iters as f64;
            let sw_hop = (r.nvcsw + r.nivcsw) as f64 / cfg.iters as f64;
            let counted = r.hops == cfg.warmup + cfg.iters;
            // A thread hop must block its sender (a voluntary switch) in most
            // cases; a task hop need not leave its thread, so only the counted
            // passes prove it ran.
            let verified = counted && (!m.is_thread() || r.nvcsw * 2 >= cfg.iters as i64);
            if error.is_none() && !counted {
                error = Some(format!(
                    "counted {} passes, expected {}",
                    r.hops,
                    cfg.warmup + cfg.iters
                ));
            } else if error.is_none() && !verified {
                error = Some(format!(
                    "only {} voluntary switches for {} passes",
                    r.nvcsw, cfg.iters
                ));
            }
            let good = error.is_none() && r.created == cfg.ring && r.torn_down == r.created;
            if !good && error.is_none() {
                error = Some(format!(
                    "created {} units, tore down {}",
                    r.created, r.torn_down
                ));
            }
            ok &= good;
            println!(
                "{:<22} {:>6} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>8.2} {:>4}",
                m.name(),
                ring,
                cfg.iters,
                ns_hop,
                base,
                ns_hop - base,
                sw_hop,
                if good { "yes" } else { "NO" }
            );
            if let Some(e) = &error {
                eprintln!("{PROG}: {}, ring {ring}: {e}", m.name());
            }
            let unit_rt = if m.is_thread() { None } else { Some(rt_name) };
            let label = match unit_rt {
                Some(r) => format!("{}, {r}-thread runtime", m.name()),
                None => m.name().to_string(),
            };
            results.push(
                Json::obj()
                    .set("mechanism", string(m.name()))
                    .set(
                        "unit",
                        string(if m.is_thread() { "thread" } else { "task" }),
                    )
                    .set("runtime", unit_rt.map_or(Json::Null, string))
                    .set("label", string(&label))
                    .set("ring", int(ring))
                    .set("iters", int(cfg.iters))
                    .set("warmup", int(cfg.warmup))
                    .set("hops_counted", int(r.hops))
                    .set("elapsed_ns", int(r.elapsed_ns))
                    .set("ns_per_hop", real(ns_hop))
                    .set("baseline_ns_per_hop", real(base))
                    .set("ns_per_switch", real(ns_hop - base))
                    .set("nvcsw", int(r.nvcsw))
                    .set("nivcsw", int(r.nivcsw))
                    .set("switches_per_hop", real(sw_hop))
                    .set("verified", Json::Bool(verified))
                    .set("created", int(r.created))
                    .set("torn_down", int(r.torn_down))
                    .set("ok", Json::Bool(good))
                    .set("error", error.as_deref().map_or(Json::Null, string)),
            );
        }
    }
    let doc = Json::obj()
        .set("bench", string("switch"))
        .set("runtime", string(rt_name))
        .set(
            "params",
            Json::obj()
                .set(
                    "mechanisms",
                    Json::Arr(o.mechs.iter().map(|m| string(m.name())).collect()),
                )
                .set(
                    "rings",
                    Json::Arr(o.rings.iter().map(|&r| int(r)).collect()),
                )
                .set("iters", int(o.iters))
                .set("warmup", int(warmup))
                .set("pin_cpu", o.pin.map_or(Json::Null, int))
                .set("runtime", string(rt_name))
                .set(
                    "workers",
                    if c.multi && c.workers > 0 {
                        int(c.workers)
                    } else {
                        Json::Null
                    },
                ),
        )
        .set("env", sys::env_json())
        .set("results", Json::Arr(results))
        .set("ok", Json::Bool(ok));
    let written = write_json(c, &doc);
    if let Some(rt) = rt {
        rt.shutdown_background();
    }
    if ok && written {
        0
    } else {
        1
    }
}
