//! spawn_points.rs: one point of a `spawn` run (N units made, measured, torn
//! down) and the least-squares slope over the points, as the `points[]` and
//! `slope` of spawn_bench's JSON (microbench/SCHEMA.md).

use crate::json::{int, real, string, Json};
use crate::spawn::Outcome;
use crate::sys::{ProcMem, SysMem};

pub struct Point {
    pub out: Outcome,
    pub mem: ProcMem,
    pub pss: Option<i64>,
    pub before: SysMem,
    pub at: SysMem,
    pub wall: Option<Json>,
}

pub fn per(total: f64, n: usize) -> f64 {
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

pub fn point_json(p: &Point, base: &ProcMem, base_pss: Option<i64>) -> Json {
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
            .set("wall", p.wall.clone().unwrap_or(Json::Null)),
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

pub fn slope_json(pts: &[Point], base: &ProcMem, base_pss: Option<i64>) -> Json {
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
