"""The data files gnuplot reads (DIR/plots/data/): one table per series, the ramp, the
scale runs, head-of-line, hyperfine, the microbenchmarks, and meta.gp, which tells the plot
scripts what to iterate over and how each design is drawn."""

import glob
import math
import os
import statistics

from . import designs
from .fmt import dat, gp_text, human_n, human_us, kib
from .plotdata_c7 import write_share, write_stop
from .plotdata_open import write_cores, write_open_loop
from .results import hol_labels, hol_values, hyperfine_rows, samples, scale_figures, \
    spectrum_points
from .util import median, write_atomic
from .wall import RAISABLE, thread_wall

SERIES_METRICS = [
    ("rps", lambda r: r.v["rps"]),
    ("p50_ms", lambda r: None if r.v["lat_p50_us"] is None else r.v["lat_p50_us"] / 1000),
    ("p99_ms", lambda r: None if r.v["lat_p99_us"] is None else r.v["lat_p99_us"] / 1000),
    ("rss_pc_kib", lambda r: kib(r.v["rss_per_conn_bytes"])),
    ("vsz_pc_kib", lambda r: kib(r.v["vsz_per_conn_bytes"])),
    ("rss_mib", lambda r: None if r.v["rss_steady_kib"] is None else r.v["rss_steady_kib"] / 1024),
    ("rss_peak_mib", lambda r: None if r.v["rss_peak_kib"] is None else r.v["rss_peak_kib"] / 1024),
    ("ctx_pr", lambda r: r.v["ctx_per_request"]),
    ("cpu_pr", lambda r: r.v["cpu_us_per_request"]),
    ("kern_pc_kib", lambda r: kib(r.v["kernel_per_conn_bytes"])),
    ("kstack_pc_kib", lambda r: kib(r.v["kstack_per_conn_bytes"])),
    ("threads", lambda r: r.v["threads_peak"]),
    ("inflight", lambda r: r.v["inflight_mean"]),
]
# the figure of a metric a saturated generator distorts (results.GENERATOR_BOUND)
BOUND_METRICS = {"rps", "p50_ms", "p99_ms", "ctx_pr", "cpu_pr"}
HOL_KEYS = ("alone_p50", "alone_p90", "alone_p99", "with_p50", "with_p90", "with_p99")

# How each design is drawn, the same in every plot: the C designs bold with filled markers,
# the other runtimes light with open ones.
STYLE = {"async": ("#1f77b4", 7), "async-lean": ("#6baed6", 13), "uring": ("#6a3d9a", 11),
         "thread": ("#d62728", 5), "thread-64k": ("#ff7f0e", 9),
         "thread-nolock": ("#fb9a99", 6),
         "async-loop": ("#636363", 3), "async-pool": ("#8c564b", 15),
         "async-uring": ("#bcbd22", 1),
         "tokio-current": ("#4daf4a", 4), "tokio-multi": ("#a1d99b", 8),
         "rust-threads": ("#e377c2", 12), "go": ("#41b6c4", 10), "nginx": ("#c9a26b", 14)}
SHORT = {"async": "async (libev)", "async-lean": "async, lean buffers",
         "uring": "uring (io_uring)", "thread": "thread (default stack)",
         "thread-64k": "thread (64 KiB stack)", "thread-nolock": "thread, no lock",
         "async-loop": "async, files in the loop",
         "async-pool": "async, file thread pool", "async-uring": "async, files on io_uring",
         "tokio-current": "Tokio current-thread", "tokio-multi": "Tokio multi-thread",
         "rust-threads": "Rust std::thread", "go": "Go goroutines", "nginx": "nginx"}
MICRO_COLOURS = {("task-timer", 0): "#1f77b4", ("task-io", 0): "#17becf",
                 ("thread-cond", 0): "#d62728", ("thread-pipe", 0): "#8c2d04",
                 ("thread-cond", 64): "#ff7f0e", ("thread-pipe", 64): "#bcbd22",
                 ("tokio-timer", 0): "#4daf4a", ("tokio-chan", 0): "#a1d99b",
                 ("std-thread", 0): "#e377c2"}


def usable(r, metric):
    return r.sustained and not (r.saturated and metric in BOUND_METRICS)


def series_text(by_conns, floor):
    """One table per series: medians over the runs that may enter them, min/max, and
    marker columns: <metric>_fail, where failed runs go (their own value, else the
    series' last good value, else floor[metric], the panel's lowest value); <metric>_err,
    the own value of runs with more than 1% errors."""
    cols = ["conns", "n_ok", "n_fail", "n_err", "n_sat"]
    for m, _ in SERIES_METRICS:
        cols += [m, f"{m}_lo", f"{m}_hi", f"{m}_fail", f"{m}_err"]
    lines = ["\t".join(cols)]
    last = {}
    for conns in sorted(by_conns):
        rs = by_conns[conns]
        failed = [r for r in rs if not r.ok]
        errs = [r for r in rs if r.ok and not r.sustained]
        row = [str(conns), str(sum(1 for r in rs if r.sustained)), str(len(failed)),
               str(len(errs)), str(sum(1 for r in rs if r.saturated))]
        for m, f in SERIES_METRICS:
            good = [f(r) for r in rs if usable(r, m) and f(r) is not None]
            # a point whose every run was generator-bound keeps its own figure, drawn with
            # the saturation ring (never a median beside good ones)
            sat = [f(r) for r in rs if r.sustained and r.saturated and f(r) is not None]
            vals = good or sat
            med = statistics.median(vals) if vals else None
            failv = None
            if failed:
                failv = median([f(r) for r in failed])
                if failv is None:
                    failv = last.get(m, floor.get(m))
            row += [dat(med), dat(min(vals) if vals else None), dat(max(vals) if vals else None),
                    dat(failv), dat(median([f(r) for r in errs]))]
            if med is not None:
                last[m] = med
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def style_functions(labels):
    """gnuplot functions col(l), ptype(l), name(l) for every label that may be drawn."""
    def chain(fn, default):
        parts = [f'l eq "{lab}" ? {fn(lab)}' for lab in labels]
        return " : ".join(parts + [default])
    return [f"col(l) = {chain(lambda x: chr(34) + STYLE.get(x, ('#9e9e9e', 6))[0] + chr(34), chr(34) + '#9e9e9e' + chr(34))}",
            f"ptype(l) = {chain(lambda x: STYLE.get(x, ('#9e9e9e', 6))[1], '6')}",
            f"name(l) = {chain(lambda x: chr(34) + gp_text(SHORT.get(x, x)) + chr(34), 'l')}"]


def write_data(res):
    d = os.path.join(res.out, "plots", "data")
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*")):
        os.unlink(f)
    meta = {}
    waits = res.waits()
    g = res.grid()
    all_conns = [r.conns for r in res.runs if r.conns > 0 and r.kind in ("grid", "contestant")]
    for io in res.io_kinds():
        gi = res.grid(io)
        suffix = "" if io == "timer" else f"_{io}"
        for label, by_wait in gi.items():
            for wait, by_conns in by_wait.items():
                floor = {}
                for m, f in SERIES_METRICS:
                    vals = [f(r) for lab in gi for rs in gi[lab].get(wait, {}).values()
                            for r in rs]
                    vals = [v for v in vals if v is not None and v > 0]
                    if vals:
                        floor[m] = min(vals)
                write_atomic(os.path.join(d, f"series{suffix}_{label}_w{wait}.dat"),
                             series_text(by_conns, floor))
        if io != "timer":
            iw = res.waits(io)
            meta[f"waits{suffix}"] = " ".join(str(w) for w in iw)
            meta[f"labels{suffix}"] = " ".join(res.labels(io))
            meta[f"nwaits{suffix}"] = len(iw)
    for wait in waits:
        # the C designs (bold) and the contestants (thin, light), drawn apart
        meta[f"labels_w{wait}"] = " ".join(x for x in res.c_labels() if wait in g.get(x, {}))
        meta[f"cont_w{wait}"] = " ".join(x for x in res.contestant_labels()
                                         if wait in g.get(x, {}))
        # has_<metric>_w<wait>: something positive to draw on a log axis; else the plot
        # scripts draw an empty panel saying so (gnuplot refuses a plot with no points)
        for m, f in SERIES_METRICS:
            vals = [f(r) for x in g for rs in g[x].get(wait, {}).values() for r in rs]
            meta[f"has_{m}_w{wait}"] = int(any(v is not None and v > 0 for v in vals))
    meta["waits"] = " ".join(str(w) for w in waits)
    write_kinds(res, d, meta)
    meta["labels_all"] = " ".join(res.c_labels())
    meta["cont_all"] = " ".join(res.contestant_labels())
    meta["nwaits"] = len(waits)
    meta["mem_wait"] = str(waits[0]) if waits else "0"
    meta["xmin"] = min(all_conns) / 1.6 if all_conns else 0.5
    meta["xmax"] = max(all_conns) * 1.6 if all_conns else 10
    meta["repeats"] = res.repeats()
    ks = sorted({r.k for r in res.runs if r.kind == "grid"}) or [1]
    meta["server_cpus_text"] = ("server on one CPU" if ks == [1] else
                                f"server on {'/'.join(str(k) for k in ks)} CPUs")
    write_spectrum(res, d, meta)
    write_ramp(res, d, meta)
    write_scale(res, d, meta)
    write_hol(res, d, meta)
    write_hyperfine(res, d, meta)
    write_micro(res, d, meta)
    write_open_loop(res, d, meta)
    write_cores(res, d, meta)
    write_stop(res, d, meta)
    write_share(res, d, meta)
    lines = ["# written by tvtbench.plotdata: what the plot scripts iterate over"]
    lines += style_functions(list(STYLE) + sorted(set(res.labels()) - set(STYLE)))
    for k, v in meta.items():
        lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v:.6g}"
                     if isinstance(v, float) else f"{k} = {v}")
    write_atomic(os.path.join(d, "meta.gp"), "\n".join(lines) + "\n")


def spectrum_choice(res):
    """The conns count for the percentile spectrum: both C designs sustained it at the
    middle wait; the one closest to 1000 on a log scale (enough connections to matter, not
    the largest, which may sit at a wall)."""
    waits = res.waits()
    if not waits:
        return None, None
    wait = waits[len(waits) // 2]
    common = set(res.sustained_conns("async", wait)) & set(res.sustained_conns("thread", wait))
    if not common:
        return None, wait
    return min(common, key=lambda c: (abs(math.log10(c) - 3), -c)), wait


def write_spectrum(res, d, meta):
    sc, sw = spectrum_choice(res)
    if not sc:
        return
    blocks = []
    for label in res.labels():
        rs = [r for r in res.runs_at(label, sw, sc) if r.sustained]
        if not rs:
            continue
        pts, mx = spectrum_points(rs[0].doc)
        lines = ["pct\tx\tlat_ms\tis_max"]
        lines += [f"{p:g}\t{1 / (1 - p / 100):.6g}\t{v / 1000:.6g}\t0" for p, v in pts]
        if mx is not None:
            lines.append(f"100\t{3e5:g}\t{mx / 1000:.6g}\t1")
        blocks.append((label, "\n".join(lines) + "\n"))
    for label, text in blocks:
        write_atomic(os.path.join(d, f"spectrum_{label}.dat"), text)
    meta["spectrum_labels"] = " ".join(x for x, _ in blocks if x in designs.C_LABELS)
    meta["spectrum_cont"] = " ".join(x for x, _ in blocks if x not in designs.C_LABELS)
    meta["spectrum_conns"] = sc
    meta["spectrum_wait"] = sw


def ramp_runs(res, label):
    """[(key, run)]: the sustained run with the most connections for that design (the
    scale runs included; lowest wait first, so both designs show the same workload), and
    a failed one with more connections still, if any (the ramp into the wall)."""
    cands = [r for r in res.runs if r.label == label and r.doc.get("samples")
             and r.kind not in ("stop", "shared")]  # C7's runs are no ramp into a wall
    done = [r for r in cands if r.sustained]
    out = []
    best = max(done, key=lambda r: (r.conns, -r.wait_us, -r.repeat)) if done else None
    if best:
        out.append((label, best))
    bad = [r for r in cands if not r.sustained and (best is None or r.conns > best.conns)]
    if bad:
        # the wall itself when a run met it, else the first run that fell short
        out.append((f"{label}-failed", min(bad, key=lambda r: (not r.refused, r.conns,
                                                                r.wait_us, r.repeat))))
    return out


def write_ramp(res, d, meta):
    keys = []
    for label in ("async", "thread"):
        for key, r in ramp_runs(res, label):
            lines = ["t_s\trss_mib\tvsz_mib\tthreads"]
            for t, rss, vsz, th in samples(r):
                lines.append("\t".join(dat(x) for x in (
                    t, None if rss is None else rss / 1024, None if vsz is None else vsz / 1024,
                    th)))
            write_atomic(os.path.join(d, f"ramp_{key}.dat"), "\n".join(lines) + "\n")
            keys.append(key)
            short = "thread (64 KiB stack)" if r.label == "thread-64k" else r.impl
            meta[f"ramp_title_{key.replace('-', '_')}"] = (
                short + (f" × {r.workers} processes" if r.workers > 1 else "")
                + f", {human_n(r.conns)} conns, wait {human_us(r.wait_us) if r.wait_us else 0}"
                + (f", think {r.think_ms / 1000:g} s" if r.think_ms else "")
                + ("" if r.sustained else ": the thread wall" if r.refused
                   else ": FAILED" if not r.ok else ": errors > 1%"))
    meta["ramp_labels"] = " ".join(keys)


def scale_labels(res):
    """The series of the scale runs (a wall search's probes), in the plots' order."""
    have = {r.label for r in res.scale_runs()}
    return [x for x in STYLE if x in have] + sorted(have - set(STYLE))


def write_scale(res, d, meta):
    names = scale_labels(res)
    for lab in names:
        runs = sorted((r for r in res.scale_runs() if r.label == lab), key=lambda r: r.conns)
        lines = ["conns\tok\trss_mib\tkern_mib\trps\toffered\tp99_ms\tthreads\tfail_rss"
                 "\tfail_kern\tfail_rps"]
        for r in runs:
            f = scale_figures(res, r)

            def mib(k):
                return None if f[k] is None else f[k] / 1024
            good = r.sustained
            lines.append("\t".join([str(r.conns), "1" if good else "0"] + [dat(x) for x in (
                mib("rss_kib") if good else None, mib("kern_kib") if good else None,
                f["rps"] if good else None, f["offered"],
                None if f["p99"] is None or not good else f["p99"] / 1000, f["threads_peak"],
                None if good else mib("rss_kib"), None if good else mib("kern_kib"),
                None if good else f["rps"])]))
        write_atomic(os.path.join(d, f"scale_{lab}.dat"), "\n".join(lines) + "\n")
    if not names:
        return
    meta["scale_labels"] = " ".join(names)
    all_c = [r.conns for r in res.scale_runs()]
    meta["scale_xmin"], meta["scale_xmax"] = min(all_c) / 1.5, max(all_c) * 1.5
    decades = [10 ** k for k in range(3, 8) if min(all_c) / 1.5 <= 10 ** k <= max(all_c) * 1.5]
    ticks = decades if len(decades) >= 2 else sorted(set(all_c))
    meta["scale_xtics"] = ", ".join(f"'{human_n(c)}' {c}" for c in ticks)
    r0 = res.scale_runs()[0]
    workers = sorted({r.workers for r in res.scale_runs()})
    meta["scale_desc"] = (f"think time offering half the capacity, wait "
                          f"{human_us(r0.wait_us)}, {workers[0]}"
                          + (f"–{workers[-1]}" if len(workers) > 1 else "")
                          + " server and generator processes")
    walls = res.meta.get("walls") or {}
    marks = []
    for lab in names:
        w = walls.get(lab) or {}
        if w.get("state") == "done" and w.get("wall"):
            ge = "≥ " if w.get("whose") != "design" else ""
            marks.append((lab, w["wall"], gp_text(f"{ge}{human_n(w['wall'])}: "
                                                  f"{RAISABLE.get(w.get('limit'), w.get('limit'))}")))
    if marks:
        # one line per design at its wall, labelled with what stopped it
        meta["walls_n"] = len(marks)
        for i, (lab, x, text) in enumerate(marks, 1):
            meta[f"wall_label_{i}"], meta[f"wall_x_{i}"], meta[f"wall_text_{i}"] = lab, x, text
        return
    w = thread_wall(res)
    if w and w["run"].kind == "scale":
        # the line at the connections that had a thread; the failed run's own cross
        # stays at the connections it asked for
        meta["walls_n"] = 1
        meta["wall_label_1"] = w["run"].label
        meta["wall_x_1"] = w["served"] or w["threads"] or w["conns"]
        meta["wall_text_1"] = f"thread wall: {human_n(w['threads'])} threads, {w['errno']}"


def write_hol(res, d, meta):
    rows = []
    labels = [x for x in hol_labels(res) if all(hol_values(res, x)[k] is not None
                                                 for k in HOL_KEYS)]
    for label in labels:
        h = hol_values(res, label)
        rows.append(f'"{label}"\t' + "\t".join(dat(h[k] / 1000) for k in HOL_KEYS))
    if not rows:
        return
    write_atomic(os.path.join(d, "hol.dat"), "design\t" + "\t".join(f"{k}_ms" for k in HOL_KEYS)
                 + "\n" + "\n".join(rows) + "\n")
    h = hol_values(res, labels[0])
    meta["hol_desc"] = (f"{int(h['light_conns'] or 0)} light conns at "
                        f"{int(h['rate'] or 0)} req/s; heavy: {int(h['heavy_conns'] or 0)} "
                        f"conns x {int(h['heavy_work_us'] or 0)} µs CPU")
    meta["hol_n"] = len(rows)


def write_hyperfine(res, d, meta):
    rows = hyperfine_rows(res)
    if not rows:
        return
    lines = ["name\tmean_s\tmin_s\tmax_s\tstddev_s\tthread"]
    for _, name, mean, lo, hi, sd in rows:
        name = name.replace('"', "'")
        if len(name) > 48:
            name = name[:45] + "..."
        lines.append(f'"{name}"\t' + "\t".join(dat(x) for x in (mean, lo, hi, sd))
                     + ("\t1" if "thread" in name else "\t0"))
    write_atomic(os.path.join(d, "hyperfine.dat"), "\n".join(lines) + "\n")
    meta["hf_n"] = len(rows)
    mins = [r[3] for r in rows if r[3]]
    meta["hf_xmin"] = min(mins) / 3 if mins else 1e-3


def write_micro(res, d, meta):
    mi = res.micro
    names = []
    for i, doc in enumerate(mi.spawn):
        pts = mi.spawn_points(doc)
        if not pts:
            continue
        name = f"micro_spawn_{i}"
        cols = ("rss_bytes_per_unit", "vsz_bytes_per_unit", "pss_bytes_per_unit",
                "kernel_stack_bytes_per_unit", "create_ns_per_unit", "teardown_ns_per_unit")
        lines = ["n\trss_pu\tvsz_pu\tpss_pu\tkstack_pu\tcreate_ns_pu\tteardown_ns_pu\tfailed"]
        for p in pts:
            lines.append("\t".join([dat(p["created"])] + [dat(p[k]) for k in cols]
                                   + ["1" if p["failed"] else "0"]))
        write_atomic(os.path.join(d, name + ".dat"), "\n".join(lines) + "\n")
        names.append(name)
        meta[f"title_{name}"] = mi.spawn_label(doc)
        meta[f"colour_{name}"] = MICRO_COLOURS.get((doc.get("kind"), mi.stack_kib(doc)),
                                                   "#7f7f7f")
    if names:
        meta["micro_spawn"] = " ".join(names)
    rows = [(lab, unit, ns) for lab, _, unit, _, _, ns, _ in mi.switch_rows()]
    rows += [(lab, "kernel", ns) for lab, ns in mi.perf_rows()]
    if rows:
        # Tasks first, then threads, then the kernel's own figure; cheapest first in each.
        rank = {"task": 0, "thread": 1, "kernel": 2}
        rows.sort(key=lambda x: (rank.get(x[1], 3), x[2]), reverse=True)
        lines = ["mech\tns\tns_plot\tunit"]
        for lab, unit, ns in rows:
            lines.append(f'"{lab}"\t{ns:.6g}\t{max(ns, 1.0):.6g}\t{rank.get(unit, 3)}')
        write_atomic(os.path.join(d, "micro_switch.dat"), "\n".join(lines) + "\n")
        meta["micro_switch_n"] = len(rows)


def write_kinds(res, d, meta):
    """The wait-kinds plot: one panel per kind that ran (timer at its 1 ms wait when there
    is one), the designs of that kind; series files are series[_IO]_LABEL_wWAIT.dat."""
    kinds = []
    for io in res.io_kinds():
        waits = res.waits(io) if io == "timer" else sorted(
            {w for lab in res.labels(io) for w in res.waits(io, lab)})
        if not waits:
            continue
        w = 1000 if 1000 in waits else waits[-1] if io != "file" else waits[0]
        labels = [x for x in res.labels(io) if w in res.grid(io).get(x, {})]
        if not labels:
            continue
        kinds.append(io)
        meta[f"kind_wait_{io}"] = str(w)
        meta[f"kind_labels_{io}"] = " ".join(labels)
        meta[f"kind_prefix_{io}"] = "series" if io == "timer" else f"series_{io}"
    if len(kinds) > 1:
        # the plot's marker file: it is drawn when two kinds or more ran
        write_atomic(os.path.join(d, "kinds.dat"), "kind\twait\n" + "".join(
            f"{io}\t{meta[f'kind_wait_{io}']}\n" for io in kinds))
        meta["kinds"] = " ".join(kinds)
        meta["nkinds"] = len(kinds)
        meta["kinds_all"] = " ".join(designs.order({x for io in kinds
                                                    for x in meta[f"kind_labels_{io}"].split()}))
    if "file" in kinds:
        meta["inflight_labels"] = meta["kind_labels_file"]
        meta["inflight_wait"] = meta["kind_wait_file"]
