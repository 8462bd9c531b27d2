//! spawn_report.rs: runs the points of `spawn`, prints a table, and builds the JSON
//! of spawn_bench with its keys (microbench/SCHEMA.md), plus `runtime` and
//! `label` saying which Rust unit the file is about.

use crate::json::{int, string, Json};
use crate::spawn::{self, Kind, Outcome};
use crate::spawn_points::{per, point_json, slope_json, Point};
use crate::{runtime, Common, PROG};
use crate::{sys, wall};

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
    let layout = spawn::future_layout(o.kind, o.state_bytes);
    match layout {
        Some((size, align)) => println!(
            "tokio_micro spawn: {label}, state {} B/unit, future {size} B ({align}-byte aligned)",
            o.state_bytes
        ),
        None => println!("tokio_micro spawn: {label}, state {} B/unit", o.state_bytes),
    }
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
            let (room, limit, _) = wall::thread_headroom();
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
            .map(|(_, errno, hit)| wall::wall_json(*errno, *hit));
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
            let w = p.wall.clone().unwrap_or(Json::Null);
            let hit = match w.get("limit_hit") {
                Some(h) => h.clone(),
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
        .set("future_bytes", layout.map_or(Json::Null, |l| int(l.0)))
        .set("future_align", layout.map_or(Json::Null, |l| int(l.1)))
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
                .set("workers", c.workers_json()),
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
    c.finish(&doc, rt, all_ok)
}
