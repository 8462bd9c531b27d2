"""Figures read from a run beside the grid's: the scale runs and the machine during them,
the samples, the head-of-line loads, hyperfine, the latency spectrum."""

import re

from .. import designs
from ..util import fnum, get, median


def scale_figures(res, r):
    """What a scale run measured, per connection where that makes sense. A wall run is
    described at its peak (it never reached a steady state): server RSS at the peak and
    the kernel memory the machine held then. `sys` is the sweep's record of the machine
    (DIR/scale/RUN.json), flattened."""
    v, raw = r.v, res.scale_sys.get(r.file) or {}
    n = max(1, r.conns)
    window = fnum(get(r.doc, "server", "window_s"))
    cpu = v["cpu_s"]
    mb, mp = raw.get("meminfo_before") or {}, raw.get("meminfo_at_peak") or {}

    def dm(k):
        return None if mb.get(k) is None or mp.get(k) is None else mp[k] - mb[k]

    sysd = {"pid_max": raw.get("pid_max"), "threads_max": raw.get("threads_max"),
            "tasks_before": raw.get("tasks_before"), "tasks_peak": raw.get("tasks_peak"),
            "probes": raw.get("probes") or [], "stopped_at_wall_t_s":
            raw.get("stopped_at_wall_t_s"), "memavailable_kib": mp.get("memavailable_kib"),
            "memtotal_kib": mp.get("memtotal_kib"), "kstack_kib": dm("kernelstack_kib"),
            "slab_kib": dm("sunreclaim_kib")}
    f = {"conns": r.conns, "workers": r.workers, "procs": r.procs, "think_ms": r.think_ms,
         "wait_us": r.wait_us, "sustained": r.sustained, "rps": v["rps"],
         "offered": n / (r.think_ms / 1000 + r.wait_us / 1e6) if r.think_ms else None,
         "p50": v["lat_p50_us"], "p99": v["lat_p99_us"], "errors": r.errors_total,
         "requests": r.requests, "duration": fnum(r.param("duration_s")),
         "warmup": fnum(r.param("warmup_s")), "timeout_ms": fnum(r.param("timeout_ms")),
         "source_ips": fnum(r.param("source_ips")),
         "think_basis": get(r.doc, "sweep", "think_basis"),
         "rss_kib": v["rss_steady_kib"], "rss_peak_kib": v["rss_peak_kib"],
         "rss_pc": v["rss_per_conn_bytes"], "kern_kib": v["kernel_kib"],
         "kern_pc": v["kernel_per_conn_bytes"], "kstack_pc": v["kstack_per_conn_bytes"],
         "kstack_delta_kib": v["kernel_stack_kib_delta"],
         "cpu_cores": cpu / window if cpu is not None and window else None,
         "cpu_us_per_conn_s": cpu / window / n * 1e6 if cpu is not None and window else None,
         "cpu_us_pr": v["cpu_us_per_request"], "threads_peak": r.threads_peak,
         "threads_idle": fnum(get(r.doc, "server", "threads_idle")),
         "vsz_peak_kib": max([fnum(x.get("vsz_kib")) or 0 for x in r.doc.get("samples") or []]
                             or [0]) or None,
         "sys": sysd, "ramp_s": fnum(get(r.doc, "client", "ramp_s"))}
    f["sys_kstack_kib"], f["sys_slab_kib"] = sysd["kstack_kib"], sysd["slab_kib"]
    if f["rss_kib"] is None:
        f["rss_kib"] = f["rss_peak_kib"]
    if f["kern_kib"] is None and f["sys_kstack_kib"] is not None:
        f["kern_kib"] = f["sys_kstack_kib"] + (f["sys_slab_kib"] or 0)
    return f


def samples(r):
    """[(t_s, rss_kib, vsz_kib, threads)] sampled every 100 ms during the run."""
    return [(fnum(s.get("t_s")), fnum(s.get("rss_kib")), fnum(s.get("vsz_kib")),
             fnum(s.get("threads"))) for s in r.doc.get("samples") or []]


def hol_values(res, label):
    """The head-of-line case of one design: light requests' latency alone and with heavy
    neighbours (DIR/hol/LABEL-*.json, `harness load` files)."""
    a = res.hol.get(f"{label}-light-alone")
    w = res.hol.get(f"{label}-light-with-heavy")
    h = res.hol.get(f"{label}-heavy")

    def lat(doc, k):
        return fnum(get(doc, "client", "latency_us", k)) if doc else None

    return {"alone_p50": lat(a, "p50"), "alone_p90": lat(a, "p90"), "alone_p99": lat(a, "p99"),
            "with_p50": lat(w, "p50"), "with_p90": lat(w, "p90"), "with_p99": lat(w, "p99"),
            "light_count": fnum(get(w, "client", "requests")) if w else None,
            "heavy_rps": fnum(get(h, "client", "rps")) if h else None,
            "light_errors": sum(v for v in (get(w, "client", "errors") or {}).values()
                                if isinstance(v, (int, float))) if w else None,
            "rate": fnum(get(w or a, "params", "rate")) if (w or a) else None,
            "heavy_conns": fnum(get(h, "params", "conns")) if h else None,
            "heavy_work_us": fnum(get(h, "params", "work_us")) if h else None,
            "light_conns": fnum(get(w or a, "params", "conns")) if (w or a) else None}


def hol_labels(res):
    return designs.order({k.rsplit("-light-alone", 1)[0] for k in res.hol
                          if k.endswith("-light-alone")})


def hol_rows(res):
    """(file stem, conns, rate, work_us, requests, rps, errors, p50, p99, p999, max) per
    head-of-line load, for hol.csv."""
    rows = []
    for name, doc in sorted(res.hol.items()):
        cl = doc.get("client") or {}
        lat = cl.get("latency_us") or {}
        errs = sum(v for v in (cl.get("errors") or {}).values() if isinstance(v, (int, float)))
        rows.append([name, get(doc, "params", "conns"), get(doc, "params", "rate"),
                     get(doc, "params", "work_us"), cl.get("requests"), cl.get("rps"), errs,
                     lat.get("p50"), lat.get("p99"), lat.get("p999"), lat.get("max")])
    return rows


def hyperfine_rows(res):
    """(source file, command, mean_s, min_s, max_s, stddev_s) of every hyperfine result."""
    return [(src, str(r.get("command", "?")), fnum(r.get("mean")), fnum(r.get("min")),
             fnum(r.get("max")), fnum(r.get("stddev"))) for src, r in res.hyperfine]


def spectrum_points(doc):
    """[(percentile, latency_us)] from client.latency_us and an optional
    client.percentiles, and the max."""
    cl = doc.get("client") or {}
    pts = {}
    lat = cl.get("latency_us") or {}
    if fnum(lat.get("min")) is not None:
        pts[0.0] = fnum(lat["min"])
    for k, v in lat.items():
        p = pct_of_key(k)
        if p is not None and fnum(v) is not None and p < 100:
            pts[p] = fnum(v)
    extra = cl.get("percentiles") or get(cl, "latency_us", "percentiles")
    if isinstance(extra, dict):
        for k, v in extra.items():
            p = fnum(k) if fnum(k) is not None else pct_of_key(str(k))
            if p is not None and fnum(v) is not None and p < 100:
                pts[p] = fnum(v)
    elif isinstance(extra, list):
        for it in extra:
            if isinstance(it, (list, tuple)) and len(it) == 2:
                p, v = fnum(it[0]), fnum(it[1])
            elif isinstance(it, dict):
                p = fnum(it.get("p", it.get("pct", it.get("percentile"))))
                v = fnum(it.get("us", it.get("value", it.get("latency_us"))))
            else:
                continue
            if p is not None and v is not None and p < 100:
                pts[p] = v
    return sorted(pts.items()), fnum(lat.get("max"))


def pct_of_key(k):
    """'p50' -> 50, 'p999' -> 99.9, 'p9999' -> 99.99, 'p99.9' -> 99.9; None otherwise."""
    m = re.fullmatch(r"p(\d+(?:[._]\d+)?)", k)
    if not m:
        return None
    s = m.group(1).replace("_", ".")
    if "." in s:
        return float(s)
    if s == "100":
        return 100.0
    return float(s[:2] + ("." + s[2:] if len(s) > 2 else "")) if len(s) >= 2 else float(s)


def failure_text(r):
    """Why a run did not count, or None when it did."""
    if not r.ok:
        return f"failed: {r.failure}"
    if not r.sustained:
        errs = {k: int(v) for k, v in r.errors.items() if v}
        return f"{int(r.errors_total)} of {int(r.requests or 0)} requests failed {errs}"
    return None


def median_of_runs(runs, key):
    return median([r.v.get(key) for r in runs if r.usable(key)])


def capacity_steps(r):
    """The open-loop steps of a capacity run: [{offered, achieved, p50_ms, p90_ms, p99_ms,
    p999_ms, behind, counted, saturated, errors}] (latency from the intended send time)."""
    out = []
    for st in (r.capacity or {}).get("steps") or []:
        if not isinstance(st, dict):
            continue

        def ms(k):
            x = fnum(st.get(k))
            return None if x is None else x / 1000
        out.append({"offered": fnum(st.get("offered_rps")),
                    "achieved": fnum(st.get("achieved_rps")),
                    "requests": fnum(st.get("requests")),
                    "p50_ms": ms("p50_us"), "p90_ms": ms("p90_us"), "p99_ms": ms("p99_us"),
                    "p999_ms": ms("p999_us"), "behind": bool(st.get("generator_behind")),
                    "counted": st.get("counted", not st.get("generator_behind")),
                    "saturated": bool(st.get("server_saturated")),
                    "error_rate": fnum(st.get("error_rate")),
                    "cause": st.get("behind_cause")})
    return out


def capacity_of(r):
    """(capacity at SLO req/s or None, slo_ms, bound: None|"slo"|"generator"|"range", note)."""
    c = r.capacity or {}
    return (fnum(c.get("capacity_rps")), fnum(c.get("slo_ms")), c.get("capacity_bound"),
            c.get("capacity_note"))
