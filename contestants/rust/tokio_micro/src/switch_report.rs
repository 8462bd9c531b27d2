//! switch_report.rs: runs the rings of `switch`, prints a table, and builds the
//! JSON of switch_bench with its keys (microbench/SCHEMA.md), plus `runtime`
//! and `label` in each result saying which Rust unit it is about.

use crate::json::{int, real, string, Json};
use crate::switch::{self, Cfg, Mech};
use crate::sys;
use crate::{runtime, Common, PROG};

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
                .set("workers", c.workers_json()),
        )
        .set("env", sys::env_json())
        .set("results", Json::Arr(results))
        .set("ok", Json::Bool(ok));
    c.finish(&doc, rt, ok)
}
