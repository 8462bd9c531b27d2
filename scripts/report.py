#!/usr/bin/env python3
"""From a results folder's raw data to summary.csv, the plots' data files and REPORT.md.

    scripts/report.py data DIR     summary.csv, hol.csv, DIR/plots/data/* (what gnuplot reads)
    scripts/report.py report DIR   DIR/REPORT.md: environment, verdicts, plots, failures

Reads DIR/raw/*.json (one `harness run` each: the C designs' grid, the contestants, the
scale runs), DIR/scale/*.json (the machine during each scale run), DIR/hol/*.json (harness
load), DIR/hyperfine/*.json, DIR/micro/*.json (microbench/SCHEMA.md) and DIR/sweep.json.
Every verdict is computed here from those files by the rules in RULES; none is
written by hand. Python 3 standard library only. Every file is written atomically."""

import csv
import errno
import glob
import io
import json
import math
import os
import re
import statistics
import sys

HOLDS, PARTLY, NOT_HERE, NOT_MEASURABLE = ("holds", "holds partly", "does not hold here",
                                           "not measurable")
# One scale for every ratio, each oriented so that > 1 is in the claim's favour.
STRONG = 2.0   # ratio >= STRONG: holds
WEAK = 1.2     # WEAK <= ratio < STRONG: holds partly; below WEAK: does not hold here
ONE_MB_KIB = 512   # "a thread costs about 1 MB": resident cost per thread at least half that
THOUSANDS = 1000   # "async scales to thousands of connections"
MAX_ERROR_FRACTION = 0.01  # a run "sustains" N: status ok and at most 1% of requests failed

LABEL_NAMES = {"async": "async (libev, one loop)", "thread": "thread (default stack)",
               "thread-64k": "thread (64 KiB stack)",
               "tokio-current": "Tokio, current-thread runtime",
               "tokio-multi": "Tokio, multi-thread runtime",
               "go": "Go, a goroutine per connection", "nginx": "nginx, one process"}
C_LABELS = ("async", "thread", "thread-64k")
# The servers of other runtimes the sweep may run next to the C designs, in table order.
CONTESTANTS = ("tokio-current", "tokio-multi", "go", "nginx")

SUMMARY_COLS = [
    "file", "label", "impl", "status", "failure", "conns", "wait_us", "work_us", "bytes",
    "mode", "rate", "think_ms", "stack_kib", "repeat", "requests", "rps", "errors_total",
    "err_connect", "err_read", "err_write", "err_timeout", "err_status", "err_body", "err_other",
    "lat_min_us", "lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_p999_us", "lat_max_us",
    "lat_mean_us", "client_cpu_s", "saturated", "rss_idle_kib", "rss_steady_kib",
    "rss_peak_kib", "vsz_idle_kib", "vsz_steady_kib", "pss_steady_kib", "threads_peak",
    "ctx_voluntary", "ctx_involuntary", "ctx_perf", "cpu_user_s", "cpu_sys_s",
    "kernel_stack_kib_delta", "slab_unreclaim_kib_delta", "sock_tcp_pages_delta",
    "rss_per_conn_bytes", "vsz_per_conn_bytes", "kernel_per_conn_bytes", "ctx_per_request",
    "cpu_us_per_request", "kind", "workers", "procs", "thread_create_failed"]


# ---- small helpers -------------------------------------------------------------------------
def get(d, *path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def fnum(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    try:
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"report.py: skipping {path}: {e}", file=sys.stderr)
        return None


def human_bytes(b):
    if b is None:
        return "n/a"
    a = abs(b)
    if a >= 1 << 30:
        return f"{b / (1 << 30):.2f} GiB"
    if a >= 1 << 20:
        return f"{b / (1 << 20):.2f} MiB"
    if a >= 1 << 10:
        return f"{b / 1024:.1f} KiB"
    return f"{b:.0f} B"


def human_us(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} s"
    if v >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs" if v >= 10 else f"{v:.1f} µs"


def human_n(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        s = f"{v / 1e6:.2f}M"
    elif abs(v) >= 1e4:
        s = f"{v / 1e3:.1f}k"
    elif abs(v) >= 100 or float(v).is_integer():
        s = f"{v:.0f}"
    elif abs(v) >= 1:
        s = f"{v:.2f}"
    else:
        s = f"{v:.3g}"
    return s + unit


def ratio(num, den):
    """num/den; inf when only the denominator is 0; None when unknown."""
    if num is None or den is None:
        return None
    if den == 0:
        return math.inf if num > 0 else None
    return num / den


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if math.isinf(r):
        return "∞"
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def scale_verdict(r):
    if r is None:
        return NOT_MEASURABLE
    if r >= STRONG:
        return HOLDS
    if r >= WEAK:
        return PARTLY
    return NOT_HERE


def dat(v):
    """A number for gnuplot: NaN where unknown."""
    return "NaN" if v is None else f"{v:.6g}"


def slope(points):
    """Least-squares slope of [(x, y)], None with fewer than two distinct x."""
    pts = [(x, y) for x, y in points if x is not None and y is not None]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


# ---- the runs ------------------------------------------------------------------------------
class Run:
    """One harness run JSON, flattened into what the tables and plots use."""

    def __init__(self, path, doc, default_stack, sysd=None):
        self.file = os.path.basename(path)
        self.doc = doc
        p = doc.get("params") or {}
        self.impl = doc.get("impl") or "?"
        self.status = doc.get("status") or "failed"
        self.failure = doc.get("failure")
        self.conns = int(fnum(p.get("conns")) or 0)
        self.wait_us = int(fnum(p.get("wait_us")) or 0)
        self.work_us = int(fnum(p.get("work_us")) or 0)
        self.bytes = int(fnum(p.get("bytes")) or 0)
        self.mode = p.get("mode") or "closed"
        self.think_ms = fnum(p.get("think_ms")) or 0
        self.workers = int(fnum(p.get("workers")) or 1)
        self.procs = int(fnum(p.get("procs")) or 1)
        # grid: the C designs' sweep; contestant: another runtime's server on the same
        # grid; scale: closed loop with a think time, many processes, up to 100k conns
        self.kind = ("scale" if self.mode == "closed" and self.think_ms > 0 else
                     "grid" if self.impl in ("async", "thread") else "contestant")
        st = fnum(p.get("stack_kib"))
        self.stack_kib = int(st) if st else None
        if self.impl == "thread" and self.kind == "grid":
            default = self.stack_kib is None or self.stack_kib == default_stack
            self.label = "thread" if default else f"thread-{self.stack_kib}k"
        else:
            self.label = self.impl
        m = re.search(r"-r(\d+)\.json$", self.file)
        self.repeat = int(m.group(1)) if m else 1
        cl = doc.get("client") or {}
        errs = cl.get("errors") or {}
        # the harness's six kinds of request error, plus any it adds (e.g. parse)
        self.errors = {k: fnum(errs.get(k)) for k in
                       ("connect", "read", "write", "timeout", "status", "body")}
        for k, v in errs.items():
            if k not in self.errors and fnum(v) is not None:
                self.errors[k] = fnum(v)
        self.errors_total = sum(v for v in self.errors.values() if v) or 0
        self.requests = fnum(cl.get("requests"))
        self.saturated = bool(cl.get("saturated"))
        self.counters = get(doc, "server", "counters") or {}
        # The thread server answers 503 to a connection it cannot give a thread, whenever
        # that happens; the harness counts errors in the measured window only. Either way
        # it is the wall: the run failed.
        self.refused = int(fnum(self.counters.get("thread_create_failed")) or 0)
        self.threads_peak = fnum(get(doc, "server", "threads_peak"))
        # a server killed before it printed its counters: the sweep's own request at the
        # wall (DIR/scale/) still saw the 503
        probes503 = [p for p in (sysd or {}).get("probes") or [] if p.get("status") == 503]
        times = f"{self.refused} times"
        if not self.refused and probes503:
            self.refused = len(probes503)
            times = "(its counters were lost; the sweep's own request got the 503)"
        if self.refused:
            self.status = "failed"
            self.failure = (f"the thread wall: the server could not create a thread "
                            f"{times} (answered 503), "
                            f"{human_n(self.threads_peak)} threads at its peak"
                            + (f"; the harness: {self.failure}" if self.failure else ""))
        self.ok = self.status == "ok"
        self.sustained = (self.ok and (self.requests or 0) > 0 and self.errors_total
                          <= MAX_ERROR_FRACTION * max(1.0, self.requests or 0))
        self.v = self.values()

    def values(self):
        d, n = self.doc, max(1, self.conns)
        s = d.get("server") or {}
        lat = get(d, "client", "latency_us") or {}
        der = d.get("derived") or {}
        v = {"rps": fnum(get(d, "client", "rps")),
             "client_cpu_s": fnum(get(d, "client", "cpu_s"))}
        for k in ("min", "p50", "p90", "p99", "p999", "max", "mean"):
            v[f"lat_{k}_us"] = fnum(lat.get(k))
        for k in ("rss_idle_kib", "rss_steady_kib", "rss_peak_kib", "vsz_idle_kib",
                  "vsz_steady_kib", "pss_steady_kib", "threads_peak", "ctx_voluntary",
                  "ctx_involuntary", "ctx_perf", "cpu_user_s", "cpu_sys_s",
                  "kernel_stack_kib_delta", "slab_unreclaim_kib_delta", "sock_tcp_pages_delta"):
            v[k] = fnum(s.get(k))
        req = self.requests

        def derive(key, fallback):
            x = fnum(der.get(key))
            return x if x is not None else fallback

        def diff(a, b):
            return None if a is None or b is None else a - b

        rss_d = diff(v["rss_steady_kib"], v["rss_idle_kib"])
        vsz_d = diff(v["vsz_steady_kib"], v["vsz_idle_kib"])
        kern = self.kernel_kib(v)
        ctx = (None if v["ctx_voluntary"] is None or v["ctx_involuntary"] is None
               else v["ctx_voluntary"] + v["ctx_involuntary"])
        cpu = (None if v["cpu_user_s"] is None or v["cpu_sys_s"] is None
               else v["cpu_user_s"] + v["cpu_sys_s"])
        v["rss_per_conn_bytes"] = derive("rss_per_conn_bytes",
                                         None if rss_d is None else rss_d * 1024 / n)
        v["vsz_per_conn_bytes"] = derive("vsz_per_conn_bytes",
                                         None if vsz_d is None else vsz_d * 1024 / n)
        v["kernel_per_conn_bytes"] = derive("kernel_per_conn_bytes",
                                            None if kern is None else kern * 1024 / n)
        v["ctx_per_request"] = derive("ctx_per_request",
                                      None if ctx is None or not req else ctx / req)
        v["cpu_us_per_request"] = derive("cpu_us_per_request",
                                         None if cpu is None or not req else cpu * 1e6 / req)
        v["kstack_per_conn_bytes"] = (None if v["kernel_stack_kib_delta"] is None
                                      else v["kernel_stack_kib_delta"] * 1024 / n)
        v["kernel_kib"] = kern
        return v

    @staticmethod
    def kernel_kib(v):
        """KernelStack + SUnreclaim + TCP socket pages, deltas (system-wide)."""
        parts = (v["kernel_stack_kib_delta"], v["slab_unreclaim_kib_delta"],
                 v["sock_tcp_pages_delta"])
        if all(x is None for x in parts):
            return None
        page_kib = os.sysconf("SC_PAGE_SIZE") / 1024
        return ((parts[0] or 0) + (parts[1] or 0) + (parts[2] or 0) * page_kib)

    def row(self):
        r = {"file": self.file, "label": self.label, "impl": self.impl, "status": self.status,
             "failure": self.failure or "", "conns": self.conns, "wait_us": self.wait_us,
             "work_us": self.work_us, "bytes": self.bytes, "mode": self.mode,
             "rate": get(self.doc, "params", "rate"), "think_ms": get(self.doc, "params", "think_ms"),
             "stack_kib": self.stack_kib, "repeat": self.repeat, "requests": self.requests,
             "errors_total": self.errors_total, "saturated": int(self.saturated),
             "kind": self.kind, "workers": self.workers, "procs": self.procs,
             "thread_create_failed": self.refused}
        for k, x in self.errors.items():
            if f"err_{k}" in SUMMARY_COLS:
                r[f"err_{k}"] = x
            elif x:
                r["err_other"] = (r.get("err_other") or 0) + x
        for k in SUMMARY_COLS:
            if k not in r:
                r[k] = self.v.get(k)
        def cell(x):
            if x is None:
                return ""
            if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
                return int(x)
            return round(x, 6) if isinstance(x, float) else x

        return {k: cell(r.get(k)) for k in SUMMARY_COLS}


class Results:
    def __init__(self, out):
        self.out = out
        self.meta = load_json(os.path.join(out, "sweep.json")) or {}
        self.default_stack = self.meta.get("default_stack_kib")
        # the sweep's record of the machine during each scale run, by run file
        self.scale_sys = {}
        for path in sorted(glob.glob(os.path.join(out, "scale", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                self.scale_sys[os.path.basename(str(doc.get("run") or path))] = doc
        self.runs = []
        for path in sorted(glob.glob(os.path.join(out, "raw", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                self.runs.append(Run(path, doc, self.default_stack,
                                     self.scale_sys.get(os.path.basename(path))))
        self.hol = {}
        for path in sorted(glob.glob(os.path.join(out, "hol", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                self.hol[os.path.basename(path)[:-5]] = doc
        self.hyperfine = []
        for path in sorted(glob.glob(os.path.join(out, "hyperfine", "*.json"))):
            doc = load_json(path)
            for r in (doc or {}).get("results", []):
                self.hyperfine.append((os.path.basename(path)[:-5], r))
        self.micro = Micro(os.path.join(out, "micro"))
        self._grid = None

    def grid(self):
        """label -> wait -> conns -> [runs], over the sweep's grid (work 0, closed loop)."""
        if self._grid is None:
            self._grid = {}
            for r in self.runs:
                if r.work_us == 0 and r.mode == "closed" and r.kind != "scale":
                    (self._grid.setdefault(r.label, {}).setdefault(r.wait_us, {})
                     .setdefault(r.conns, []).append(r))
        return self._grid

    def labels(self):
        """Every design of the grid: the C designs first, then the contestants."""
        order = list(C_LABELS) + list(CONTESTANTS)
        found = {r.label for r in self.runs if r.kind != "scale"}
        return [x for x in order if x in found] + sorted(found - set(order))

    def c_labels(self):
        return [l for l in self.labels() if l in C_LABELS]

    def contestant_labels(self):
        return [l for l in self.labels() if l not in C_LABELS]

    def scale_runs(self, impl=None):
        return sorted((r for r in self.runs if r.kind == "scale" and
                       (impl is None or r.impl == impl)), key=lambda r: (r.impl, r.conns))

    def waits(self):
        return sorted({r.wait_us for r in self.runs if r.work_us == 0 and r.kind == "grid"})

    def sustained_conns(self, label, wait):
        return sorted({c for c, rs in self.grid().get(label, {}).get(wait, {}).items()
                       if any(r.sustained for r in rs)})

    def med(self, label, wait, conns, key):
        rs = self.grid().get(label, {}).get(wait, {}).get(conns, [])
        return median([r.v.get(key) for r in rs if r.sustained])

    def env(self):
        for r in self.runs:
            if isinstance(r.doc.get("env"), dict) and r.ok:
                return r.doc["env"]
        for r in self.runs:
            if isinstance(r.doc.get("env"), dict):
                return r.doc["env"]
        return {}


# ---- microbenchmarks (microbench/SCHEMA.md) -------------------------------------------------
class Micro:
    """The microbenchmarks' files (microbench/SCHEMA.md): spawn_*.json, switch_*.json,
    perf_sched_pipe.json. A file it does not recognise is ignored, never fatal."""

    # The pair C1/C5 compare (a task with a timer vs a thread on a condvar) and the pair C2
    # compares (a switch carried by a pipe in both: ev_io in one loop vs read() in a thread).
    TASK_SPAWN, THREAD_SPAWN = "task-timer", "thread-cond"
    TASK_SWITCH, THREAD_SWITCH = "task-io", "thread-pipe"

    def __init__(self, folder):
        self.spawn, self.switch, self.perf = [], [], None
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            doc = load_json(path)
            if not isinstance(doc, dict):
                continue
            doc["_file"] = os.path.basename(path)
            if doc.get("bench") == "spawn":
                self.spawn.append(doc)
            elif doc.get("bench") == "switch":
                self.switch.append(doc)
            elif doc.get("bench") == "perf_sched_pipe":
                self.perf = doc
        order = {"task-timer": 0, "task-io": 1, "thread-cond": 2, "thread-pipe": 3}
        self.spawn.sort(key=lambda d: (order.get(d.get("kind"), 9),
                                       fnum(get(d, "params", "stack_kib")) or 0))

    @staticmethod
    def spawn_label(doc):
        kind = doc.get("kind") or "?"
        if doc.get("unit") != "thread":
            return kind
        stack = fnum(get(doc, "params", "stack_kib")) or 0
        eff = fnum(get(doc, "params", "stack_kib_effective"))
        if stack:
            return f"{kind}, {int(stack)} KiB stack"
        return f"{kind}, default stack" + (f" ({int(eff)} KiB)" if eff else "")

    def spawn_doc(self, kind, default_stack=True):
        for doc in self.spawn:
            if doc.get("kind") == kind and (not default_stack or
                                            not fnum(get(doc, "params", "stack_kib"))):
                return doc
        return None

    def spawn_slope(self, kind, key):
        """(per-unit slope of key, label) for that kind at the default stack."""
        doc = self.spawn_doc(kind)
        if doc is None:
            return None, None
        v = fnum(get(doc, "slope", key))
        return v, self.spawn_label(doc)

    def switch_rows(self):
        """[(label, mechanism, unit, ring, pinned, ns_per_switch, ns_per_hop)], usable only."""
        rows = []
        for doc in self.switch:
            pinned = get(doc, "params", "pin_cpu") is not None
            for it in doc.get("results") or []:
                if not isinstance(it, dict) or it.get("ok") is False:
                    continue
                ns = fnum(it.get("ns_per_switch"))
                if ns is None:
                    continue
                mech, ring = it.get("mechanism", "?"), it.get("ring")
                rows.append((f"{mech}, ring {ring}, {'pinned' if pinned else 'unpinned'}",
                             mech, it.get("unit") or ("thread" if "thread" in mech else "task"),
                             ring, pinned, ns, fnum(it.get("ns_per_hop"))))
        return rows

    def switch_ns(self, mech):
        """ns per switch of a mechanism: pinned to one CPU (as the servers are), smallest
        ring; (ns, label)."""
        rows = [r for r in self.switch_rows() if r[1] == mech]
        if not rows:
            return None, None
        r = min(rows, key=lambda r: (not r[4], r[3] or 0))
        return r[5], r[0]

    def perf_rows(self):
        if not self.perf or not self.perf.get("available"):
            return []
        return [(f"perf bench sched pipe (2 processes), {r.get('placement')}",
                 fnum(r.get("ns_per_switch"))) for r in self.perf.get("runs") or []
                if fnum(r.get("ns_per_switch")) is not None]


# ---- data files for gnuplot --------------------------------------------------------------
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
]


def kib(b):
    return None if b is None else b / 1024


def series_text(by_conns, floor):
    """One table per series: medians over sustained runs, min/max, and marker columns:
    <metric>_fail, where failed runs (status failed) go: their own value if they have one,
    else the series' last good value (the point sits where its line stopped), else
    floor[metric], the panel's lowest value; <metric>_err, the own value of runs that
    finished with more than 1% errors (not in the median either)."""
    cols = ["conns", "n_ok", "n_fail", "n_err", "n_sat"]
    for m, _ in SERIES_METRICS:
        cols += [m, f"{m}_lo", f"{m}_hi", f"{m}_fail", f"{m}_err"]
    lines = ["\t".join(cols)]
    last = {}
    for conns in sorted(by_conns):
        rs = by_conns[conns]
        good = [r for r in rs if r.sustained]
        failed = [r for r in rs if not r.ok]
        errs = [r for r in rs if r.ok and not r.sustained]
        row = [str(conns), str(len(good)), str(len(failed)), str(len(errs)),
               str(sum(1 for r in rs if r.saturated))]
        for m, f in SERIES_METRICS:
            vals = [f(r) for r in good if f(r) is not None]
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


def spectrum_points(doc):
    """[(percentile, latency_us)] from client.latency_us and an optional
    client.percentiles (object {"p99.99": us} or list of [pct, us] / {p, us})."""
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


def spectrum_choice(res):
    """The conns count for the percentile spectrum: both designs sustained it at the middle
    wait; the one closest to 1000 on a log scale (enough connections to matter, not the
    largest, which may sit at a wall)."""
    waits = res.waits()
    if not waits:
        return None, None
    wait = waits[len(waits) // 2]
    common = set(res.sustained_conns("async", wait)) & set(res.sustained_conns("thread", wait))
    if not common:
        return None, wait
    return min(common, key=lambda c: (abs(math.log10(c) - 3), -c)), wait


def ramp_runs(res, label):
    """[(key, run)]: the sustained run with the most connections for that design (the
    scale runs included; lowest wait first, so both designs show the same workload), and
    a failed one with more connections still, if any (the ramp into the wall)."""
    cands = [r for r in res.runs if r.label == label and r.doc.get("samples")]
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


def hol_values(res, impl):
    a = res.hol.get(f"{impl}-light-alone")
    w = res.hol.get(f"{impl}-light-with-heavy")
    h = res.hol.get(f"{impl}-heavy")

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


HOL_KEYS = ("alone_p50", "alone_p90", "alone_p99", "with_p50", "with_p90", "with_p99")


def write_data(res):
    d = os.path.join(res.out, "plots", "data")
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*")):
        os.unlink(f)
    g = res.grid()
    meta = {}
    all_conns = [r.conns for r in res.runs if r.conns > 0 and r.kind != "scale"]
    waits = res.waits()
    for label, by_wait in g.items():
        for wait, by_conns in by_wait.items():
            floor = {}
            for m, f in SERIES_METRICS:
                vals = [f(r) for l in g for rs in g[l].get(wait, {}).values() for r in rs]
                vals = [v for v in vals if v is not None and v > 0]
                if vals:
                    floor[m] = min(vals)
            write_atomic(os.path.join(d, f"series_{label}_w{wait}.dat"),
                         series_text(by_conns, floor))
    for wait in waits:
        # the C designs (bold) and the contestants (thin, light), drawn apart
        meta[f"labels_w{wait}"] = " ".join(l for l in res.c_labels() if wait in g.get(l, {}))
        meta[f"cont_w{wait}"] = " ".join(l for l in res.contestant_labels()
                                         if wait in g.get(l, {}))
        # has_<metric>_w<wait>: something positive to draw on a log axis; else the plot
        # scripts draw an empty panel saying so (gnuplot refuses a plot with no points)
        for m, f in SERIES_METRICS:
            vals = [f(r) for l in g for r in (x for rs in g[l].get(wait, {}).values()
                                              for x in rs)]
            meta[f"has_{m}_w{wait}"] = int(any(v is not None and v > 0 for v in vals))
    meta["waits"] = " ".join(str(w) for w in waits)
    meta["labels_all"] = " ".join(res.c_labels())
    meta["cont_all"] = " ".join(res.contestant_labels())
    meta["nwaits"] = len(waits)
    meta["mem_wait"] = str(waits[0]) if waits else "0"
    meta["xmin"] = min(all_conns) / 1.6 if all_conns else 0.5
    meta["xmax"] = max(all_conns) * 1.6 if all_conns else 10
    reps = max([r.repeat for r in res.runs] or [1])
    meta["repeats"] = reps

    # Latency spectrum at one conns count, both designs.
    sc, sw = spectrum_choice(res)
    if sc:
        blocks = []
        for label in ["async", "thread"] + res.contestant_labels():
            rs = [r for r in g.get(label, {}).get(sw, {}).get(sc, []) if r.sustained]
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
        meta["spectrum_labels"] = " ".join(l for l, _ in blocks if l in C_LABELS)
        meta["spectrum_cont"] = " ".join(l for l, _ in blocks if l not in C_LABELS)
        meta["spectrum_conns"] = sc
        meta["spectrum_wait"] = sw

    # Ramp: samples of the largest run per design (and of the first failed one above it).
    ramp_labels = []
    for label in ("async", "thread"):
        for key, r in ramp_runs(res, label):
            lines = ["t_s\trss_mib\tvsz_mib\tthreads"]
            for s in r.doc.get("samples") or []:
                kibs = [fnum(s.get(k)) for k in ("rss_kib", "vsz_kib")]
                lines.append("\t".join(dat(x) for x in (
                    fnum(s.get("t_s")), *(None if x is None else x / 1024 for x in kibs),
                    fnum(s.get("threads")))))
            write_atomic(os.path.join(d, f"ramp_{key}.dat"), "\n".join(lines) + "\n")
            ramp_labels.append(key)
            short = "thread (64 KiB stack)" if r.label == "thread-64k" else r.impl
            meta[f"ramp_title_{key.replace('-', '_')}"] = (
                short + (f" × {r.workers} processes" if r.workers > 1 else "")
                + f", {human_n(r.conns)} conns, wait {human_us(r.wait_us) if r.wait_us else 0}"
                + (f", think {r.think_ms / 1000:g} s" if r.think_ms else "")
                + ("" if r.sustained else ": the thread wall" if r.refused
                   else ": FAILED" if not r.ok else ": errors > 1%"))
    meta["ramp_labels"] = " ".join(ramp_labels)

    write_scale_data(res, d, meta)

    # Head-of-line: light requests' latency alone and with heavy neighbours.
    rows = []
    for impl in ("async", "thread"):
        h = hol_values(res, impl)
        if any(h[k] is None for k in HOL_KEYS):
            continue  # a histogram needs every bar; the failure table says what is missing
        rows.append(f'"{impl}"\t' + "\t".join(dat(h[k] / 1000) for k in HOL_KEYS))
    if rows:
        write_atomic(os.path.join(d, "hol.dat"),
                     "design\t" + "\t".join(f"{k}_ms" for k in HOL_KEYS) + "\n"
                     + "\n".join(rows) + "\n")
        h = hol_values(res, "async")
        meta["hol_desc"] = (f"{int(h['light_conns'] or 0)} light conns at "
                            f"{int(h['rate'] or 0)} req/s; heavy: {int(h['heavy_conns'] or 0)} "
                            f"conns x {int(h['heavy_work_us'] or 0)} µs CPU")

    # hyperfine: every exported result, fixed job and microbenchmarks.
    if res.hyperfine:
        lines = ["name\tmean_s\tmin_s\tmax_s\tstddev_s\tthread"]
        for src, r in res.hyperfine:
            name = str(r.get("command", "?")).replace('"', "'")
            if len(name) > 48:
                name = name[:45] + "..."
            lines.append(f'"{name}"\t' + "\t".join(dat(fnum(r.get(k))) for k in
                                                    ("mean", "min", "max", "stddev"))
                         + ("\t1" if "thread" in name else "\t0"))
        write_atomic(os.path.join(d, "hyperfine.dat"), "\n".join(lines) + "\n")
        meta["hf_n"] = len(res.hyperfine)
        mins = [fnum(r.get("min")) for _, r in res.hyperfine if fnum(r.get("min"))]
        meta["hf_xmin"] = min(mins) / 3 if mins else 1e-3

    write_micro_data(res, d, meta)

    lines = ["# written by scripts/report.py: what the plot scripts iterate over"]
    for k, v in meta.items():
        lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v:.6g}"
                     if isinstance(v, float) else f"{k} = {v}")
    write_atomic(os.path.join(d, "meta.gp"), "\n".join(lines) + "\n")


MICRO_COLOURS = {("task-timer", 0): "#1f77b4", ("task-io", 0): "#17becf",
                 ("thread-cond", 0): "#d62728", ("thread-pipe", 0): "#8c2d04",
                 ("thread-cond", 64): "#ff7f0e", ("thread-pipe", 64): "#bcbd22"}


# ---- scale runs: 100,000 connections and the thread wall -----------------------------------
ERRNO_NAMES = {os.strerror(e): name for e, name in errno.errorcode.items()}


def scale_figures(res, r):
    """What a scale run measured, per connection where that makes sense. A wall run is
    described at its peak (it never reached a steady state): server RSS at the peak and
    the kernel memory the machine held then."""
    v, sysd = r.v, res.scale_sys.get(r.file) or {}
    n = max(1, r.conns)
    window = fnum(get(r.doc, "server", "window_s"))
    cpu = (None if v["cpu_user_s"] is None or v["cpu_sys_s"] is None
           else v["cpu_user_s"] + v["cpu_sys_s"])
    f = {"conns": r.conns, "workers": r.workers, "procs": r.procs, "think_ms": r.think_ms,
         "wait_us": r.wait_us, "sustained": r.sustained, "rps": v["rps"],
         "offered": n / (r.think_ms / 1000 + r.wait_us / 1e6) if r.think_ms else None,
         "p50": v["lat_p50_us"], "p99": v["lat_p99_us"], "errors": r.errors_total,
         "requests": r.requests, "duration": fnum(get(r.doc, "params", "duration_s")),
         "rss_kib": v["rss_steady_kib"], "rss_peak_kib": v["rss_peak_kib"],
         "rss_pc": v["rss_per_conn_bytes"], "kern_kib": v["kernel_kib"],
         "kern_pc": v["kernel_per_conn_bytes"], "kstack_pc": v["kstack_per_conn_bytes"],
         "cpu_cores": cpu / window if cpu is not None and window else None,
         "cpu_us_per_conn_s": cpu / window / n * 1e6 if cpu is not None and window else None,
         "cpu_us_pr": v["cpu_us_per_request"], "threads_peak": r.threads_peak,
         "threads_idle": fnum(get(r.doc, "server", "threads_idle")),
         "vsz_peak_kib": max([fnum(x.get("vsz_kib")) or 0 for x in r.doc.get("samples") or []]
                             or [0]) or None,
         "sys": sysd, "ramp_s": fnum(get(r.doc, "client", "ramp_s"))}
    mb, mp = sysd.get("meminfo_before") or {}, sysd.get("meminfo_at_peak") or {}

    def dm(k):
        return None if mb.get(k) is None or mp.get(k) is None else mp[k] - mb[k]

    f["sys_kstack_kib"], f["sys_slab_kib"] = dm("kernelstack_kib"), dm("sunreclaim_kib")
    if f["rss_kib"] is None:
        f["rss_kib"] = f["rss_peak_kib"]
    if f["kern_kib"] is None and f["sys_kstack_kib"] is not None:
        f["kern_kib"] = f["sys_kstack_kib"] + (f["sys_slab_kib"] or 0)
    return f


def wall_of(res, r):
    """For a run that met the thread wall: connections that got a thread, the errno, the
    limit that was hit and how the machine looked. None for any other run."""
    if not r.refused:
        return None
    f = scale_figures(res, r)
    sysd = f["sys"]
    env = r.doc.get("env") or res.env()
    idle = f["threads_idle"] or 0
    w = {"run": r, "conns": r.conns, "threads": f["threads_peak"], "refused": r.refused,
         "served": None if f["threads_peak"] is None else f["threads_peak"] - idle,
         "errno": None, "error_text": None, "evidence": None, "limit": None,
         "tasks_peak": sysd.get("tasks_peak"), "figures": f}
    for pr in sysd.get("probes") or []:
        m = re.search(r"pthread_create: (.+)$", pr.get("body") or "")
        if pr.get("status") == 503 and m:
            w["error_text"] = m.group(1).strip()
            w["errno"] = ERRNO_NAMES.get(w["error_text"])
            w["evidence"] = (f"a request of the sweep's own at the wall was answered "
                             f"\"503 {pr['body'][:120]}\"")
            break
    if w["errno"] is None:
        w["evidence"] = ("the server's counters (thread_create_failed) without the error's "
                         "text; the thread server creates threads with pthread_create, whose "
                         "only resource error is EAGAIN")
        w["errno"], w["error_text"] = "EAGAIN", os.strerror(errno.EAGAIN)
    pid_max = sysd.get("pid_max") or fnum(env.get("pid_max"))
    threads_max = sysd.get("threads_max") or fnum(env.get("threads_max"))
    tasks, seen = w["tasks_peak"], "tasks on the machine at the peak"
    if tasks is None and w["threads"] is not None:
        # no record of the machine: the server's own threads are a lower bound
        tasks, seen = w["threads"], "threads in the server alone at the peak"
    if pid_max and tasks is not None and tasks >= 0.95 * pid_max:
        w["limit"] = (f"kernel.pid_max = {int(pid_max)}: every thread takes a pid, system-wide "
                      f"({human_n(tasks)} {seen})")
    elif threads_max and tasks is not None and tasks >= 0.95 * threads_max:
        w["limit"] = (f"kernel.threads-max = {int(threads_max)} ({human_n(tasks)} {seen})")
    else:
        w["limit"] = (f"not identified: {human_n(tasks)} tasks on the machine, pid_max "
                      f"{pid_max}, threads-max {threads_max}, RLIMIT_NPROC "
                      f"{env.get('nproc_limit')}, max_map_count {env.get('max_map_count')}")
    return w


def thread_wall(res):
    """The first wall the thread server met (fewest connections), scale runs first."""
    walls = [r for r in res.runs if r.refused and r.impl == "thread"]
    if not walls:
        return None
    return wall_of(res, min(walls, key=lambda r: (r.kind != "scale", r.conns, r.repeat)))


def write_scale_data(res, d, meta):
    names = []
    for impl in ("async", "thread"):
        runs = res.scale_runs(impl)
        if not runs:
            continue
        lines = ["conns\tok\trss_mib\tkern_mib\trps\toffered\tp99_ms\tthreads\tfail_rss"
                 "\tfail_kern\tfail_rps"]
        for r in runs:
            f = scale_figures(res, r)
            mib = lambda k: None if f[k] is None else f[k] / 1024  # noqa: E731
            good = r.sustained
            lines.append("\t".join([str(r.conns), "1" if good else "0"] + [dat(x) for x in (
                mib("rss_kib") if good else None, mib("kern_kib") if good else None,
                f["rps"] if good else None, f["offered"],
                None if f["p99"] is None or not good else f["p99"] / 1000, f["threads_peak"],
                None if good else mib("rss_kib"), None if good else mib("kern_kib"),
                None if good else f["rps"])]))
        write_atomic(os.path.join(d, f"scale_{impl}.dat"), "\n".join(lines) + "\n")
        names.append(impl)
        meta[f"scale_workers_{impl}"] = runs[0].workers
    if names:
        meta["scale_labels"] = " ".join(names)
        all_c = [r.conns for r in res.scale_runs()]
        meta["scale_xmin"], meta["scale_xmax"] = min(all_c) / 1.5, max(all_c) * 1.5
        # a log axis over less than a decade shows no labels of its own
        meta["scale_xtics"] = ", ".join(f"'{c / 1000:g}k' {c}" if c >= 1000 else f"'{c}' {c}"
                                        for c in sorted(set(all_c)))
        r0 = res.scale_runs()[0]
        meta["scale_desc"] = (f"closed loop, think {r0.think_ms / 1000:g} s, wait "
                              f"{human_us(r0.wait_us)}, {r0.workers} server processes, "
                              f"{r0.procs} generator processes")
        w = thread_wall(res)
        if w and w["run"].kind == "scale":
            # the line at the connections that had a thread; the failed run's own cross
            # stays at the connections it asked for
            meta["wall_x"] = w["served"] or w["threads"] or w["conns"]
            meta["wall_text"] = (f"thread wall: {human_n(w['threads'])} threads, "
                                 f"{w['errno']}")



def write_micro_data(res, d, meta):
    mi = res.micro
    names = []
    for i, doc in enumerate(mi.spawn):
        pts = [p for p in doc.get("points") or [] if fnum(p.get("created"))]
        if not pts:
            continue
        name = f"micro_spawn_{i}"
        lines = ["n\trss_pu\tvsz_pu\tpss_pu\tkstack_pu\tcreate_ns_pu\tteardown_ns_pu\tfailed"]
        for p in pts:
            lines.append("\t".join([dat(fnum(p.get("created")))] + [dat(fnum(p.get(k))) for k in (
                "rss_bytes_per_unit", "vsz_bytes_per_unit", "pss_bytes_per_unit",
                "kernel_stack_bytes_per_unit", "create_ns_per_unit", "teardown_ns_per_unit")]
                + ["1" if p.get("failure") else "0"]))
        write_atomic(os.path.join(d, name + ".dat"), "\n".join(lines) + "\n")
        names.append(name)
        stack = int(fnum(get(doc, "params", "stack_kib")) or 0)
        meta[f"title_{name}"] = mi.spawn_label(doc)
        meta[f"colour_{name}"] = MICRO_COLOURS.get((doc.get("kind"), stack), "#7f7f7f")
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


def write_summary(res):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUMMARY_COLS, lineterminator="\n")
    w.writeheader()
    for r in sorted(res.runs, key=lambda r: (r.label, r.wait_us, r.conns, r.repeat)):
        w.writerow(r.row())
    write_atomic(os.path.join(res.out, "summary.csv"), buf.getvalue())
    if res.hol:
        buf = io.StringIO()
        cols = ["file", "conns", "rate", "work_us", "requests", "rps", "errors_total",
                "lat_p50_us", "lat_p99_us", "lat_p999_us", "lat_max_us"]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for name, doc in sorted(res.hol.items()):
            cl = doc.get("client") or {}
            lat = cl.get("latency_us") or {}
            errs = sum(v for v in (cl.get("errors") or {}).values() if isinstance(v, (int, float)))
            w.writerow([name, get(doc, "params", "conns"), get(doc, "params", "rate"),
                        get(doc, "params", "work_us"), cl.get("requests"), cl.get("rps"), errs,
                        lat.get("p50"), lat.get("p99"), lat.get("p999"), lat.get("max")])
        write_atomic(os.path.join(res.out, "hol.csv"), buf.getvalue())


# ---- verdicts --------------------------------------------------------------------------------
RULES = {
    "C1": (f"R = thread ÷ async of (RSS + KernelStack) per connection, each a least-squares "
           f"slope over the sustained runs with N ≥ 100 at the lowest wait (socket memory, "
           f"equal in both designs and measured system-wide with the client's, is shown but "
           f"left out). Holds: R ≥ {STRONG:g} "
           f"and a thread's resident cost ≥ {ONE_MB_KIB} KiB (the \"about 1 MB\" part). Holds "
           f"partly: R ≥ {WEAK:g} (threads cost more, but the stack is mostly untouched address "
           f"space). Does not hold here: R < {WEAK:g}."),
    "C2": (f"R = thread ÷ async of server context switches (voluntary + involuntary) per request "
           f"at the largest N both sustained at the lowest wait; S = thread ÷ task ns per switch "
           f"(microbenchmark, baseline subtracted, pinned, ring of 2, a pipe carrying the token "
           f"in both: thread-pipe vs task-io; a task figure under 1 ns counts as 1 ns). Holds: R ≥ {STRONG:g} and (S ≥ "
           f"{STRONG:g} or no microbenchmark). Holds partly: R or S ≥ {WEAK:g}. Otherwise does not "
           f"hold here."),
    "C3": (f"R = async ÷ thread throughput at the largest wait, at the largest N both sustained. "
           f"Holds: R ≥ {STRONG:g}. Holds partly: R ≥ {WEAK:g}. Does not hold here: R < {WEAK:g} "
           f"(a blocked thread did not cost throughput)."),
    "C4": (f"A, T = the largest N at which each design sustained every run (every wait and "
           f"repeat of the grid, or a scale run with several processes and a think time; "
           f"status ok, ≤ {MAX_ERROR_FRACTION:.0%} failed requests, no connection refused a "
           f"thread; T: the better stack size), R = A ÷ T. Holds: A ≥ {THOUSANDS} and a thread run fell short at an "
           f"N ≤ A. Holds partly: A ≥ {THOUSANDS} but no thread run fell "
           f"short at or below A (no wall reached, or both stopped at the same limit). Does not hold here: "
           f"threads sustained more. Not measurable: the sweep stopped below {THOUSANDS}."),
    "C5": (f"R = thread ÷ task creation time per unit (microbenchmark, slope over N; default "
           f"stack). Holds: R ≥ {STRONG:g}. Holds partly: R ≥ {WEAK:g}. Does not hold here: "
           f"R < {WEAK:g}. Not measurable without microbenchmark results."),
    "C6": (f"R = thread ÷ async p90 latency of light requests while heavy requests burn CPU "
           f"(open loop, latency from the intended send time; p90 rather than p99 because a "
           f"short run has a few hundred light requests, and p99 would rest on a handful). Holds (cooperative yielding does "
           f"at least as well): R ≥ {STRONG:g}. Holds partly: R ≥ {WEAK:g}. Does not hold here: "
           f"R < {WEAK:g}, i.e. the single loop lets heavy requests stall light ones."),
    "C7": "Always not measurable: simplicity is a judgement. Shown: non-blank, non-comment "
          "source lines of each server (its own directory; common/ is shared).",
}

CLAIMS = {
    "C1": "a thread costs a fixed stack (\"about 1 MB\"); a task only its saved state",
    "C2": "threads pay for context switches that async avoids",
    "C3": "while one task waits for I/O others run; a blocked thread wastes resources",
    "C4": "async scales to thousands of connections; threads run out",
    "C5": "tasks are cheap to create",
    "C6": "preemption interrupts threads; cooperative tasks yield (and that is better)",
    "C7": "async code is simpler to manage",
}


class Verdict:
    def __init__(self, cid, metric, a, t, r, verdict, plot, details):
        self.cid, self.metric, self.a, self.t, self.r = cid, metric, a, t, r
        self.verdict, self.plot, self.details = verdict, plot, details


def largest_common(res, wait, labels=("async", "thread")):
    common = None
    for l in labels:
        s = set(res.sustained_conns(l, wait))
        common = s if common is None else common & s
    return max(common) if common else None


def fit_per_conn(res, label, wait, key_kib):
    """Bytes per connection: slope of a server figure (KiB, minus the idle baseline)
    over sustained runs with N >= 100, or the largest run's own ratio if only one N."""
    runs = [r for c, rs in res.grid().get(label, {}).get(wait, {}).items() for r in rs
            if r.sustained and c >= 100]
    pts = []
    for r in runs:
        y = key_kib(r)
        if y is not None:
            pts.append((r.conns, y * 1024))
    s = slope(pts)
    if s is None and pts:
        c, y = max(pts)
        s = y / c
    return s, len({c for c, _ in pts})


def c1(res):
    wait = res.waits()[0] if res.waits() else 0

    def delta(steady, idle):
        return lambda r: (None if r.v[steady] is None or r.v[idle] is None
                          else r.v[steady] - r.v[idle])

    figures = (("rss", delta("rss_steady_kib", "rss_idle_kib")),
               ("vsz", delta("vsz_steady_kib", "vsz_idle_kib")),
               ("kstack", lambda r: r.v["kernel_stack_kib_delta"]),
               ("kern", lambda r: r.v["kernel_kib"]))
    f = {l: {k: fit_per_conn(res, l, wait, fn)[0] for k, fn in figures}
         for l in ("async", "thread", "thread-64k")}
    # RSS plus the kernel stacks: what the server itself holds per connection. Socket
    # memory (SUnreclaim, TCP pages) is left out of the ratio: it is the same in both
    # designs and the system-wide deltas include the load generator's half of each socket.
    tot = {l: (None if f[l]["rss"] is None else f[l]["rss"] + max(0.0, f[l]["kstack"] or 0))
           for l in f}
    r = ratio(tot["thread"], tot["async"])
    if r is not None and tot["async"] is not None and tot["async"] <= 0:
        r = math.inf
    v = scale_verdict(r)
    if v == HOLDS and (f["thread"]["rss"] or 0) < ONE_MB_KIB * 1024:
        v = PARTLY
    details = []
    for l in ("async", "thread", "thread-64k"):
        if f[l]["rss"] is None:
            continue
        details.append(f"{LABEL_NAMES[l]}: RSS {human_bytes(f[l]['rss'])}, kernel stack "
                       f"{human_bytes(f[l]['kstack'])}, VSZ {human_bytes(f[l]['vsz'])}; all "
                       f"kernel memory incl. sockets (system-wide, client's too) "
                       f"{human_bytes(f[l]['kern'])} per connection")
    mi = res.micro
    ta, tl = mi.spawn_slope(Micro.TASK_SPAWN, "rss_bytes_per_unit")
    th, hl = mi.spawn_slope(Micro.THREAD_SPAWN, "rss_bytes_per_unit")
    if ta is not None or th is not None:
        tk, _ = mi.spawn_slope(Micro.THREAD_SPAWN, "kernel_stack_bytes_per_unit")
        tv, _ = mi.spawn_slope(Micro.THREAD_SPAWN, "vsz_bytes_per_unit")
        details.append(f"microbenchmark (no sockets), RSS per unit (slope): {tl or 'task'} "
                       f"{human_bytes(ta)}, {hl or 'thread'} {human_bytes(th)} (VSZ "
                       f"{human_bytes(tv)}, kernel stack {human_bytes(tk)}); RSS ratio "
                       f"{fmt_ratio(ratio(th, ta))}")
        for doc in mi.spawn:
            if doc.get("unit") == "thread" and doc.get("wall"):
                w = doc["wall"]
                details.append(f"{mi.spawn_label(doc)}: creation stopped at {w.get('created')} "
                               f"threads: {w.get('call')} {w.get('error')} (limit: "
                               f"{w.get('limit_hit')})")
    if r is None and ta is not None and th is not None:
        # No server figures: fall back on the microbenchmark's own slopes.
        tot["async"], tot["thread"], r = ta, th, ratio(th, ta)
        v = scale_verdict(r)
        if v == HOLDS and th < ONE_MB_KIB * 1024:
            v = PARTLY
    details.append(f"the thread figure counts {human_bytes(f['thread']['rss'])} resident of a "
                   f"{human_bytes(f['thread']['vsz'])} address-space reservation per thread; "
                   f"the \"about 1 MB\" is the reservation, not what is touched")
    return Verdict("C1", f"RSS + kernel stack per connection (slope, N ≥ 100, wait {wait} µs)",
                   human_bytes(tot["async"]), human_bytes(tot["thread"]), fmt_ratio(r), v,
                   "mem_per_conn", details)


def c2(res):
    wait = res.waits()[0] if res.waits() else 0
    n = largest_common(res, wait)
    a = res.med("async", wait, n, "ctx_per_request") if n else None
    t = res.med("thread", wait, n, "ctx_per_request") if n else None
    r = ratio(t, a)
    sa, sal = res.micro.switch_ns(Micro.TASK_SWITCH)
    st, stl = res.micro.switch_ns(Micro.THREAD_SWITCH)
    # A task switch can cost less than the clock resolves (even "negative" after the
    # baseline); floor it at 1 ns so that the ratio stays finite and conservative.
    s = ratio(st, None if sa is None else max(sa, 1.0))
    if r is None:
        v = scale_verdict(s)
    elif r >= STRONG and (s is None or s >= STRONG):
        v = HOLDS
    elif r >= WEAK or (s is not None and s >= WEAK):
        v = PARTLY
    else:
        v = NOT_HERE
    details = []
    if n:
        for l in ("async", "thread"):
            vol = res.med(l, wait, n, "ctx_voluntary")
            inv = res.med(l, wait, n, "ctx_involuntary")
            req = res.med(l, wait, n, "rps")
            details.append(f"{LABEL_NAMES[l]} at {n} conns: {human_n(vol)} voluntary, "
                           f"{human_n(inv)} involuntary switches in the window; "
                           f"{human_n(req)} req/s")
    if sa is not None or st is not None:
        details.append(f"microbenchmark, ns per switch with the baseline subtracted, a pipe "
                       f"carrying the token in both: {sal}: {human_n(sa, ' ns')}; {stl}: "
                       f"{human_n(st, ' ns')}; S = {fmt_ratio(s)}")
        details.append("every mechanism, pinned: " + "; ".join(
            f"{lab.replace(', pinned', '')} {ns:.0f} ns"
            for lab, _, _, _, pinned, ns, _ in res.micro.switch_rows() if pinned))
        for lab, ns in res.micro.perf_rows():
            details.append(f"the kernel's own figure, {lab}: {ns:.0f} ns per switch")
    else:
        details.append("no switch microbenchmark results: S not used")
    return Verdict("C2", f"context switches per request ({n} conns, wait {wait} µs)"
                   if n else "context switches per request", human_n(a), human_n(t),
                   fmt_ratio(r) + (f"; S {fmt_ratio(s)}" if s is not None else ""), v,
                   "ctx_per_req", details)


def c3(res):
    waits = res.waits()
    wait = waits[-1] if waits else 0
    n = largest_common(res, wait)
    a = res.med("async", wait, n, "rps") if n else None
    t = res.med("thread", wait, n, "rps") if n else None
    r = ratio(a, t)
    details = []
    if n:
        ca = res.med("async", wait, n, "cpu_us_per_request")
        ct = res.med("thread", wait, n, "cpu_us_per_request")
        details.append(f"server CPU per request at that point: async {human_n(ca, ' µs')}, "
                       f"thread {human_n(ct, ' µs')} (thread ÷ async {fmt_ratio(ratio(ct, ca))})")
        bound = n / (wait / 1e6) if wait else None
        if bound:
            details.append(f"the wait alone bounds throughput at N ÷ wait = {human_n(bound)} req/s")
        for w in waits:
            m = largest_common(res, w)
            if m:
                details.append(f"wait {w} µs, {m} conns: async {human_n(res.med('async', w, m, 'rps'))}"
                               f" req/s, thread {human_n(res.med('thread', w, m, 'rps'))} req/s")
    return Verdict("C3", f"throughput, req/s ({n} conns, wait {wait} µs)" if n else "throughput",
                   human_n(a), human_n(t), fmt_ratio(r), scale_verdict(r), "throughput", details)


def c4(res):
    g = res.grid()

    def held(labels):
        """Largest N at which every run of one of these designs (all waits, all repeats)
        was sustained, and the runs at N or below that were not: (N, [runs])."""
        best, broke = None, []
        for l in labels:
            by_conns = {}
            for by_c in g.get(l, {}).values():
                for c, rs in by_c.items():
                    by_conns.setdefault(c, []).extend(rs)
            for c, rs in sorted(by_conns.items()):
                if all(r.sustained for r in rs):
                    best = c if best is None else max(best, c)
                else:
                    broke += [r for r in rs if not r.sustained]
        return best, sorted(broke, key=lambda r: (r.conns, r.wait_us, r.label))

    a, abroke = held(["async"])
    t, tbroke = held([l for l in res.c_labels() if l.startswith("thread")])
    # The scale runs (many processes, a think time) go further: their largest sustained N
    # counts, and their failures are where a design fell short.
    for impl in ("async", "thread"):
        rs = res.scale_runs(impl)
        best = max([r.conns for r in rs if r.sustained] or [0]) or None
        broke = [r for r in rs if not r.sustained]
        if impl == "async":
            a = max(x for x in (a, best) if x is not None) if (a or best) else None
            abroke = sorted(abroke + broke, key=lambda r: (r.conns, r.wait_us, r.label))
        else:
            t = max(x for x in (t, best) if x is not None) if (t or best) else None
            tbroke = sorted(tbroke + broke, key=lambda r: (r.conns, r.wait_us, r.label))
    tried = max([r.conns for r in res.runs if r.impl in ("async", "thread")] or [0])
    r = ratio(a, t)
    wall_at_or_below_a = [x for x in tbroke if a is not None and x.conns <= a]
    if a is None or tried < THOUSANDS:
        v = NOT_MEASURABLE
    elif a >= THOUSANDS and wall_at_or_below_a:
        v = HOLDS
    elif a >= THOUSANDS and (t is None or t <= a):
        v = PARTLY
    else:
        v = NOT_HERE
    details = [f"largest N tried: {tried}"]

    def why(x):
        if not x.ok:
            return f"failed: {x.failure}"
        errs = {k: int(v) for k, v in x.errors.items() if v}
        return f"{int(x.errors_total)} of {int(x.requests or 0)} requests failed {errs}"

    for name, broke in (("thread server", tbroke), ("async server", abroke)):
        if broke:
            x = broke[0]
            details.append(f"the {name} first fell short at {x.conns} conns ({x.label}"
                           + (f" x {x.workers} processes, think {x.think_ms:g} ms" if
                              x.kind == "scale" else "")
                           + f", wait {x.wait_us} µs): {why(x)}")
        else:
            details.append(f"the {name} sustained every run")
    w = thread_wall(res)
    if w:
        details.append(f"the thread wall: {human_n(w['threads'])} threads in the server "
                       f"({human_n(w['served'])} connections with a thread) when "
                       f"pthread_create failed with {w['errno']}; limit: {w['limit']}")
    for impl in ("async", "thread"):
        ok = [x for x in res.scale_runs(impl) if x.sustained]
        if ok:
            x = max(ok, key=lambda x: x.conns)
            details.append(f"scale runs: the {impl} server with {x.workers} processes held "
                           f"{human_n(x.conns)} connections (think {x.think_ms / 1000:g} s, "
                           f"wait {x.wait_us} µs) for "
                           f"{human_n(fnum(get(x.doc, 'params', 'duration_s')))} s with "
                           f"{int(x.errors_total)} errors")
    env = res.env()
    details.append("limits here: " + ", ".join(f"{k} {env.get(k)}" for k in
                                              ("pid_max", "threads_max", "nproc_limit",
                                               "nofile_limit", "max_map_count")))
    return Verdict("C4", "largest N sustained (every wait of the grid; the scale runs)",
                   human_n(a), human_n(t),
                   fmt_ratio(r), v, "rss_total", details)


def c5(res):
    mi = res.micro
    ta, tl = mi.spawn_slope(Micro.TASK_SPAWN, "create_ns_per_unit")
    th, hl = mi.spawn_slope(Micro.THREAD_SPAWN, "create_ns_per_unit")
    r = ratio(th, ta)
    details = []
    if ta is None and th is None:
        details.append("no spawn microbenchmark results in micro/")
    else:
        details.append(f"{tl}: {human_n(ta, ' ns')}, {hl}: {human_n(th, ' ns')} per unit created")
        tt, _ = mi.spawn_slope(Micro.TASK_SPAWN, "teardown_ns_per_unit")
        ht, _ = mi.spawn_slope(Micro.THREAD_SPAWN, "teardown_ns_per_unit")
        details.append(f"teardown per unit: task {human_n(tt, ' ns')}, thread {human_n(ht, ' ns')}")
    hf = [x for src, x in res.hyperfine if src.startswith("spawn_")]
    if hf:
        details.append("hyperfine, whole process creating, holding and tearing down N units: "
                       + "; ".join(f"{x.get('command')} {fnum(x.get('mean')) * 1000:.1f} ms"
                                   for x in hf if fnum(x.get("mean")) is not None))
    return Verdict("C5", "creation time per unit (microbenchmark)",
                   human_n(ta, " ns"), human_n(th, " ns"), fmt_ratio(r),
                   scale_verdict(r), "micro_create", details)


def c6(res):
    a, t = hol_values(res, "async"), hol_values(res, "thread")
    r = ratio(t["with_p90"], a["with_p90"])
    details = []
    for l, h in (("async", a), ("thread", t)):
        if h["with_p90"] is None:
            continue
        details.append(f"{l}: light p50/p90/p99 {human_us(h['alone_p50'])} / "
                       f"{human_us(h['alone_p90'])} / {human_us(h['alone_p99'])} alone, "
                       f"{human_us(h['with_p50'])} / {human_us(h['with_p90'])} / "
                       f"{human_us(h['with_p99'])} with heavy neighbours, over "
                       f"{human_n(h['light_count'])} light requests"
                       + (f" ({int(h['light_errors'])} errors)" if h["light_errors"] else "")
                       + f"; heavy requests served {human_n(h['heavy_rps'])} req/s")
    if a["rate"]:
        details.append(f"light load: {int(a['light_conns'] or 0)} conns, open loop at "
                       f"{a['rate']:.0f} req/s; heavy: {int(a['heavy_conns'] or 0)} closed-loop "
                       f"conns each asking {int(a['heavy_work_us'] or 0)} µs of CPU per request")
    return Verdict("C6", "light-request p90 latency with heavy neighbours",
                   human_us(a["with_p90"]), human_us(t["with_p90"]), fmt_ratio(r),
                   scale_verdict(r), "hol", details)


def code_lines(folder):
    n = 0
    in_comment = False
    for path in sorted(glob.glob(os.path.join(folder, "*.[ch]"))):
        with open(path, errors="replace") as f:
            for line in f:
                s = line.strip()
                if in_comment:
                    if "*/" in s:
                        in_comment = False
                    continue
                if not s or s.startswith("//"):
                    continue
                if s.startswith("/*"):
                    if "*/" not in s:
                        in_comment = True
                    continue
                n += 1
    return n


def c7(res):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = res.meta.get("code_lines") or {
        "async": code_lines(os.path.join(root, "async_impl")),
        "thread": code_lines(os.path.join(root, "thread_impl")),
        "common": code_lines(os.path.join(root, "common"))}
    a, t = lines.get("async"), lines.get("thread")
    return Verdict("C7", "code lines per server (non-blank, non-comment)",
                   human_n(a), human_n(t), fmt_ratio(ratio(a, t)), NOT_MEASURABLE, None,
                   [f"async_impl/ {a} lines, thread_impl/ {t} lines, shared common/ "
                    f"{lines.get('common')} lines; fewer lines is not simpler to manage, and "
                    f"what is hard about each (callbacks and state machines vs locks and "
                    f"limits) is not counted"])


def verdicts(res):
    return [c1(res), c2(res), c3(res), c4(res), c5(res), c6(res), c7(res)]


# ---- REPORT.md -----------------------------------------------------------------------------
PLOTS = [
    # (file stem, title, sentence function)
    ("mem_per_conn", "Memory per connection"),
    ("rss_total", "Total server RSS"),
    ("ctx_per_req", "Context switches per request"),
    ("throughput", "Throughput"),
    ("latency", "Latency p50 and p99"),
    ("latency_spectrum", "Latency percentile spectrum"),
    ("cpu_per_req", "CPU per request"),
    ("kernel_mem", "Kernel memory per connection"),
    ("ramp", "RSS and threads during the ramp"),
    ("scale", "Scale runs: to 100,000 connections and the thread wall"),
    ("hol", "Head-of-line blocking"),
    ("hyperfine", "hyperfine"),
    ("micro_mem", "Microbenchmark: memory per unit"),
    ("micro_switch", "Microbenchmark: cost of one switch"),
    ("micro_create", "Microbenchmark: creation time per unit"),
]


# the plots that draw the contestants next to the C designs
COMPARED = {"mem_per_conn", "rss_total", "ctx_per_req", "throughput", "latency",
            "latency_spectrum", "cpu_per_req", "kernel_mem"}


def plot_sentence(res, stem, vs):
    v = {x.cid: x for x in vs}
    wait0 = res.waits()[0] if res.waits() else 0
    waits = res.waits()
    if stem == "mem_per_conn":
        return (f"Server memory growth per open connection (wait {wait0} µs), log-log: "
                f"resident (RSS, solid) and address space (VSZ, dashed); at this sweep's slope "
                f"a thread costs {v['C1'].t} and a task {v['C1'].a}, kernel stack included. "
                f"At 1 and 10 connections one-off costs (buffers, a thread's first malloc "
                f"arena: 64 MiB of address space) dominate the per-connection figure.")
    if stem == "rss_total":
        return (f"The whole server's resident memory at steady state against connections, up "
                f"to what one process holds; with the scale runs, the largest N each design "
                f"sustained is async {v['C4'].a}, thread {v['C4'].t} (crosses mark failed "
                f"runs).")
    if stem == "ctx_per_req":
        return (f"Server context switches (voluntary + involuntary, all threads) per request, "
                f"one panel per wait; at the C2 point async makes {v['C2'].a} and thread "
                f"{v['C2'].t} per request.")
    if stem == "throughput":
        return (f"Requests per second against connections, one panel per wait (closed loop): "
                f"at the C3 point async {v['C3'].a}, thread {v['C3'].t} req/s.")
    if stem == "latency":
        return ("Median (solid) and 99th percentile (dashed) latency against connections, one "
                "panel per wait; in a closed loop latency grows with N once the server is "
                "saturated (Little's law), whichever design.")
    if stem == "latency_spectrum":
        sc = spectrum_choice(res)
        return (f"The latency distribution from min to max at {sc[0]} connections, wait "
                f"{sc[1]} µs, both designs; the tail (right) is where stalls show.")
    if stem == "cpu_per_req":
        return ("Server CPU time (user + system) per request, one panel per wait; the "
                "difference between the designs is the cost of their waiting model.")
    if stem == "kernel_mem":
        return ("Kernel memory per connection that RSS does not show, from system-wide deltas "
                "(solid: KernelStack + SUnreclaim + TCP pages; dashed: KernelStack alone, the "
                "threads' kernel stacks). System-wide: it includes the load generator's sockets.")
    if stem == "scale":
        w = thread_wall(res)
        return ("The scale runs (several processes per design, closed loop with a think "
                "time): the server's RSS and the system-wide kernel memory (left), requests "
                "per second served against what the connections offered (right), against "
                "connections" + (f"; the cross marks the thread wall ({human_n(w['threads'])} "
                                 f"threads, {w['errno']})" if w else "") + ".")
    if stem == "ramp":
        return ("Server RSS (top) and thread count (bottom) sampled every 100 ms during the run "
                "with the most connections, per design: the ramp, the steady state, the end.")
    if stem == "hol":
        return (f"Latency of light requests alone and with heavy CPU-bound neighbours "
                f"(C6): p90 with neighbours is async {v['C6'].a}, thread {v['C6'].t}.")
    if stem == "hyperfine":
        return ("Whole-command wall time from hyperfine (mean; whiskers min..max): the fixed job "
                "per design, and the microbenchmark commands when present.")
    if stem == "micro_mem":
        return ("Microbenchmark (no sockets): memory per waiting unit against the number of "
                "units, log-log; RSS solid, VSZ dashed.")
    if stem == "micro_switch":
        return ("Microbenchmark: ns per switch for each mechanism, baseline subtracted "
                "(tasks blue, threads red).")
    if stem == "micro_create":
        return "Microbenchmark: creation time per unit against the number of units."
    return ""


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def effective_wait(res):
    """Per design (contestants too), at the smallest conns: p50(wait W) - p50(wait 0): what a
    requested wait became, timer granularity included."""
    rows = []
    waits = res.waits()
    if 0 not in waits:
        return rows
    for label in ["async", "thread"] + res.contestant_labels():
        conns = sorted(set(res.sustained_conns(label, 0)))
        if not conns:
            continue
        c = conns[0]
        base = res.med(label, 0, c, "lat_p50_us")
        for w in waits:
            if w == 0:
                continue
            p = res.med(label, w, c, "lat_p50_us")
            if p is None or base is None:
                continue
            rows.append((label, c, w, p - base))
    return rows


def scale_section(res):
    """## Scale: the scale runs' table and the thread wall, or nothing without scale runs."""
    runs = res.scale_runs()
    w = thread_wall(res)
    if not runs and not w:
        return []
    o = ["## Scale: 100,000 connections and the thread wall\n"]
    if runs:
        r0 = runs[0]
        srcs = max([fnum(get(r.doc, "params", "source_ips")) or 0 for r in runs]) or None
        impls = sorted({r.impl for r in runs})
        o.append(f"{'Both designs' if len(impls) > 1 else 'The ' + impls[0] + ' server'} "
                 f"with {r0.workers} server processes (`--workers`, one "
                 f"SO_REUSEPORT listener each, all pinned to the server CPU) and "
                 f"{r0.procs} load-generator processes (each process has its own fd limit, "
                 f"{res.env().get('nofile_limit', '?')} here), closed loop with a think time "
                 f"of {r0.think_ms / 1000:g} s between an answer and the next request, wait "
                 f"{r0.wait_us} µs, measured for "
                 f"{human_n(fnum(get(r0.doc, 'params', 'duration_s')))} s after "
                 f"{human_n(fnum(get(r0.doc, 'params', 'warmup_s')))} s of warm-up, a request "
                 f"timing out after {human_us((fnum(get(r0.doc, 'params', 'timeout_ms')) or 0) * 1000)}"
                 + (f"; connections come from up to {srcs:.0f} loopback source addresses"
                    if srcs else "") + ". One run per point. Memory per connection is "
                 "(steady − idle) ÷ N; kernel memory is system-wide (KernelStack + SUnreclaim + "
                 "TCP pages), so it holds both ends of each loopback connection; CPU is the "
                 "server's user + system time in the window.\n")
        o.append("| design | conns | result | req/s (offered) | p50 / p99 | errors | server RSS "
                 "(per conn) | kernel, system-wide (per conn) | server CPU (per conn) | "
                 "threads |\n|---|---|---|---|---|---|---|---|---|---|")
        for r in runs:
            f = scale_figures(res, r)
            if r.sustained:
                result = "held"
            elif r.refused:
                result = "**thread wall**"
            else:
                result = "**failed**" if not r.ok else "**errors > 1%**"
            rss = (f"{human_bytes(f['rss_kib'] * 1024)} ({human_bytes(f['rss_pc'])})"
                   if f["rss_kib"] is not None and r.sustained else
                   f"{human_bytes(f['rss_kib'] * 1024)} at the peak" if f["rss_kib"] else "n/a")
            kern = (f"{human_bytes(f['kern_kib'] * 1024)} ({human_bytes(f['kern_pc'])})"
                    if f["kern_kib"] is not None and r.sustained else
                    f"{human_bytes(f['kern_kib'] * 1024)} at the peak" if f["kern_kib"]
                    else "n/a")
            cpu = (f"{f['cpu_cores'] * 100:.0f}% of a CPU ({human_n(f['cpu_us_per_conn_s'])} "
                   f"µs/s)" if f["cpu_cores"] is not None and r.sustained else "n/a")
            measured = bool(r.requests)
            o.append(f"| {r.impl} × {r.workers} | {human_n(r.conns)} | {result} | "
                     f"{human_n(f['rps']) if measured else '–'} ({human_n(f['offered'])}) | "
                     + (f"{human_us(f['p50'])} / {human_us(f['p99'])}" if measured else "–")
                     + f" | {int(r.errors_total)} | "
                     f"{rss} | {kern} | {cpu} | {human_n(f['threads_peak'])} |")
        o.append("")
        o.append("\"offered\" is what the connections would ask of a server that answered at "
                 "once (N ÷ (think + wait)); a closed loop asks less of a slower server, so the "
                 "difference is the server's queueing, seen in the latency. CPU per connection "
                 "is µs of server CPU per second per open connection.\n")
        big = max([r for r in res.scale_runs("async") if r.sustained] or [None],
                  key=lambda r: r.conns if r else 0)
        if big:
            f = scale_figures(res, big)
            o.append(f"At {human_n(big.conns)} connections the async server (×{big.workers}) "
                     f"held every connection for {human_n(f['duration'])} s with "
                     f"{int(big.errors_total)} errors, answering {human_n(f['rps'])} req/s "
                     f"(p99 {human_us(f['p99'])}): {human_bytes(f['rss_pc'])} of RSS, "
                     f"{human_bytes(f['kern_pc'])} of kernel memory (both socket ends) and "
                     f"{human_n(f['cpu_us_per_conn_s'])} µs of CPU per second per connection "
                     f"({human_n(f['cpu_us_pr'])} µs per request).\n")
    if w:
        f = w["figures"]
        r = w["run"]
        o.append("### The thread wall\n")
        o.append(f"Asked for {human_n(w['conns'])} connections"
                 + (f" with {r.workers} processes" if r.workers > 1 else "")
                 + f", the thread server reached **{human_n(w['threads'])} threads** "
                 f"({human_n(w['served'])} connections with a thread of their own), then "
                 f"pthread_create failed with **{w['errno']}** (\"{w['error_text']}\") "
                 f"{human_n(w['refused'])} times; each of those connections got a 503 and was "
                 f"closed. The limit: **{w['limit']}**. Evidence: {w['evidence']}.\n")
        sysd = f["sys"]
        mp = sysd.get("meminfo_at_peak") or {}
        rows = [("tasks on the machine at the peak (all processes' threads)",
                 f"{human_n(w['tasks_peak'])} (before the run: "
                 f"{human_n(sysd.get('tasks_before'))}; pid_max {sysd.get('pid_max', 'n/a')})"
                 if w["tasks_peak"] is not None else "n/a (no record of the machine)"),
                ("server threads at the peak", human_n(w["threads"])),
                ("server RSS at the peak", human_bytes((f["rss_peak_kib"] or 0) * 1024)
                 if f["rss_peak_kib"] else "n/a"),
                ("server address space (VSZ) at the peak", human_bytes(f["vsz_peak_kib"] * 1024)
                 if f["vsz_peak_kib"] else "n/a"),
                ("kernel stacks, system-wide, rise during the run",
                 human_bytes(f["sys_kstack_kib"] * 1024) if f["sys_kstack_kib"] is not None
                 else human_bytes(r.v["kernel_stack_kib_delta"] * 1024)
                 if r.v["kernel_stack_kib_delta"] is not None else "n/a"),
                ("unreclaimable slab (sockets etc.), system-wide, rise",
                 human_bytes(f["sys_slab_kib"] * 1024) if f["sys_slab_kib"] is not None
                 else "n/a"),
                ("memory still available on the machine",
                 human_bytes(mp["memavailable_kib"] * 1024) if mp.get("memavailable_kib")
                 else "n/a")]
        o.append("| at the wall | |\n|---|---|")
        o += [f"| {k} | {v} |" for k, v in rows]
        o.append("")
        stopped = sysd.get("stopped_at_wall_t_s")
        skipped = [s for s in res.meta.get("skipped") or [] if s.get("kind") == "scale"
                   and s.get("impl") == "thread"]
        if (w["limit"].startswith("kernel.pid_max") and mp.get("memavailable_kib") and
                mp.get("memtotal_kib") and mp["memavailable_kib"] > 0.2 * mp["memtotal_kib"]):
            o.append(f"Memory was not the limit: {human_bytes(mp['memavailable_kib'] * 1024)} "
                     f"of {human_bytes(mp['memtotal_kib'] * 1024)} was still available while "
                     f"every pid was taken.")
        o.append(("The sweep ended that run a second after the wall showed (every other "
                  "process on the machine needs pids too)" if stopped else
                  "The sweep went on after the wall")
                 + (f" and skipped the larger points of the series "
                    f"({', '.join(human_n(s['conns']) for s in skipped)} connections)."
                    if skipped else ".") + "\n")
    return o


def contestants_section(res):
    """## How the runtimes the claims name compare: computed like the rest, from the grid."""
    cont = res.contestant_labels()
    if not cont:
        return []
    labels = ["async", "thread"] + cont
    g = res.grid()
    o = ["## How the runtimes the claims name compare\n"]
    o.append("The claims were made about Rust's Tokio; Go's goroutines are the other common "
             "answer (thread-style code on an event loop). Each ran here through the same "
             "harness, on the same CPU, with the same server-side measurements: "
             + ", ".join(f"**{l}** ({LABEL_NAMES.get(l, l)})" for l in cont)
             + ". Medians over the sustained runs of each point; memory per connection is "
             "(steady − idle RSS) ÷ N of the whole server; CPU and context switches are the "
             "server's own, per request.\n")
    conns_all = sorted({c for l in labels for w in g.get(l, {}) for c in g[l][w]})
    want = [c for c in (100, 10000) if c in conns_all] or conns_all[-2:]
    ew = {(l, w): e for l, c, w, e in effective_wait(res)}
    for wait in [w for w in res.waits() if w in (0, 1000)] or res.waits()[:1]:
        rows = [l for l in labels if wait in g.get(l, {})]
        if not rows:
            continue
        o.append(f"### {'No wait' if wait == 0 else f'Wait {human_us(wait)}'}\n")
        head = "| design |"
        for c in want:
            head += f" req/s ({human_n(c)}) | p99 ({human_n(c)}) | RSS/conn ({human_n(c)}) |"
        head += (f" CPU µs/req ({human_n(want[-1])}) | switches/req ({human_n(want[-1])}) |"
                 f" threads ({human_n(want[-1])}) |")
        if wait:
            head += " effective wait |"
        o.append(head)
        o.append("|" + "---|" * (head.count("|") - 1))
        best = {}
        for c in want:
            vals = [(res.med(l, wait, c, "rps"), l) for l in rows]
            vals = [v for v in vals if v[0] is not None]
            if vals:
                best[c] = max(vals)
        flagged = False
        for l in rows:
            line = f"| {l} |"
            for c in want:
                rs = g.get(l, {}).get(wait, {}).get(c, [])
                if rs and not any(r.sustained for r in rs):
                    # no sustained run: its own figures, flagged, never a median of good ones
                    flagged = True
                    if not any(r.ok for r in rs):
                        line += " failed | | |"
                        continue
                    own = lambda k: median([r.v.get(k) for r in rs if r.ok])  # noqa: E731
                    line += (f" {human_n(own('rps'))}† | {human_us(own('lat_p99_us'))}† |"
                             f" {human_bytes(own('rss_per_conn_bytes'))}† |")
                    continue
                rps = res.med(l, wait, c, "rps")
                mark = "**" if c in best and best[c][1] == l else ""
                line += f" {mark}{human_n(rps)}{mark} |"
                line += f" {human_us(res.med(l, wait, c, 'lat_p99_us'))} |"
                line += f" {human_bytes(res.med(l, wait, c, 'rss_per_conn_bytes'))} |"
            c = want[-1]
            rs = g.get(l, {}).get(wait, {}).get(c, [])
            if rs and not any(r.sustained for r in rs):
                def fig(k, rs=rs):
                    v = median([r.v.get(k) for r in rs if r.ok])
                    return f"{human_n(v)}†" if v is not None else "n/a"
            else:
                def fig(k, c=c):
                    return human_n(res.med(l, wait, c, k))
            line += (f" {fig('cpu_us_per_request')} | {fig('ctx_per_request')} |"
                     f" {fig('threads_peak')} |")
            if wait:
                e = ew.get((l, wait))
                line += f" {human_us(e)} |" if e is not None else " n/a |"
            o.append(line)
        o.append("")
        if flagged:
            o.append("† more than 1% of that point's requests failed (not sustained): its own "
                     "figures, left out of every comparison. Bold: the most requests per "
                     "second at that point.\n")
        # a computed sentence per point: who served most, and the C async server against
        # the runtime the claims name
        for c in want:
            if c not in best:
                continue
            a = res.med("async", wait, c, "rps")
            tk = res.med("tokio-current", wait, c, "rps")
            s = (f"At {human_n(c)} connections the most requests per second came from "
                 f"**{best[c][1]}** ({human_n(best[c][0])})")
            if a is not None and tk:
                s += f"; the C async server did {fmt_ratio(a / tk)} of Tokio current-thread's"
            o.append(s + ".")
        o.append("")
    if ew:
        o.append("Effective waits of every design are in the table above (\"Effective wait "
                 "per design\"): a runtime whose timer rounds a 1 ms wait up to about 2 ms "
                 "halves its wait-bound throughput.\n")
    o.append("nginx's memory per connection reads low because its idle baseline already holds "
             "every connection structure its fd limit allows.\n")
    return o


def failures(res):
    out = []
    for r in sorted(res.runs, key=lambda r: (r.label, r.wait_us, r.conns, r.repeat)):
        what = None
        if not r.ok:
            what = f"failed: {r.failure}"
        elif not r.sustained:
            what = (f"{int(r.errors_total)} errors of {int(r.requests or 0)} requests "
                    f"{json.dumps({k: int(v) for k, v in r.errors.items() if v})}")
        elif r.errors_total:
            what = f"{int(r.errors_total)} errors (within {MAX_ERROR_FRACTION:.0%})"
        if r.saturated:
            what = (what + "; " if what else "") + "load generator saturated (> 90% of a core)"
        if what:
            out.append((r.file, r.label, r.conns, r.wait_us, r.repeat, what))
    return out


def write_report(res):
    vs = verdicts(res)
    env = res.env()
    meta = res.meta
    plots_dir = os.path.join(res.out, "plots")
    o = []
    o.append("# tasks vs threads: report\n")
    o.append(f"Generated by `scripts/report.py` from the raw data in this folder "
             f"(profile **{meta.get('profile', '?')}**, {len(res.runs)} server runs, sweep "
             f"state: {meta.get('state', '?')}). Every verdict below is computed from the data "
             f"by the rules stated with it; re-run `scripts/plots.sh {os.path.basename(res.out.rstrip('/'))}` "
             f"after changing the data and the verdicts follow.\n")
    o.append("## Environment\n")
    o.append("| item | value |\n|---|---|")
    for k in ("kernel", "cpu_model", "cores", "mem_kib", "pid_max", "threads_max",
              "nproc_limit", "nofile_limit", "max_map_count", "libev_version", "cc_version",
              "git_commit", "date"):
        o.append(f"| {k} | {md_escape(env.get(k, 'n/a'))} |")
    o.append(f"| placement | server on CPU {meta.get('server_cpu', '?')}, load generator on CPU "
             f"{meta.get('client_cpu', '?')} |")
    ax = meta.get("axes") or {}
    if ax:
        o.append(f"| sweep | conns {ax.get('conns')}, wait_us {ax.get('waits')}, "
                 f"{ax.get('duration_s')} s measured after {ax.get('warmup_s')} s warm-up, "
                 f"{ax.get('repeats')} repeat(s), {ax.get('bytes')}-byte bodies, closed loop; "
                 f"64 KiB thread stacks at wait {ax.get('stack64_waits')} |")
    cont = meta.get("contestants") or []
    if cont or res.contestant_labels():
        crep = (ax.get("contestants") or {}).get("repeats", 1)
        o.append(f"| contestants | "
                 + (", ".join(f"{c['name']} (`{md_escape(c['command'])}`)" for c in cont)
                    or ", ".join(res.contestant_labels()))
                 + f"; {crep} run(s) per point, up to what one process holds"
                 f" ({human_n(max(meta.get('grid_conns') or [0]))} conns); a server that "
                 f"answers fixed (nginx) at wait 0 only |")
    sc = ax.get("scale")
    if sc:
        o.append(f"| scale runs | {', '.join(human_n(c) for c in sc.get('conns', []))} conns, "
                 f"{meta.get('scale_workers', '?')} processes per design and as many "
                 f"generator processes, think {sc.get('think_ms', 0) / 1000:g} s, wait "
                 f"{human_us(sc.get('wait_us'))}, {sc.get('duration_s'):g} s after "
                 f"{sc.get('warmup_s'):g} s warm-up, request timeout "
                 f"{sc.get('timeout_ms', 0) / 1000:g} s; "
                 f"{', '.join(sc.get('designs', []))} |")
    o.append(f"| default thread stack | {meta.get('default_stack_kib', 'n/a')} KiB "
             f"(RLIMIT_STACK) |")
    o.append(f"| sweep time | {meta.get('elapsed_s', 'n/a')} s |\n")

    o.append("## Verdicts\n")
    o.append("| claim | metric | async | thread | ratio | verdict | plot |\n"
             "|---|---|---|---|---|---|---|")
    for v in vs:
        plot = (f"[{v.plot}](plots/{v.plot}.png)" if v.plot and
                os.path.exists(os.path.join(plots_dir, v.plot + ".png")) else "–")
        o.append(f"| **{v.cid}** {md_escape(CLAIMS[v.cid])} | {md_escape(v.metric)} | "
                 f"{md_escape(v.a)} | {md_escape(v.t)} | {md_escape(v.r)} | **{v.verdict}** | "
                 f"{plot} |")
    o.append("")
    o.append("### The rules\n")
    o.append(f"Ratios are oriented so that a value above 1 favours the claim. One scale "
             f"serves all of them: **holds** at ≥ {STRONG:g}, **holds partly** at ≥ {WEAK:g}, "
             f"**does not hold here** below {WEAK:g}; **not measurable** when the data is "
             f"missing or the claim is not a measurement. A run counts (\"sustained\") when "
             f"its status is ok and at most {MAX_ERROR_FRACTION:.0%} of its requests failed; "
             f"medians over repeats.\n")
    for v in vs:
        o.append(f"- **{v.cid}**: {RULES[v.cid]}")
    o.append("")
    o.append("### The figures behind each verdict\n")
    for v in vs:
        o.append(f"- **{v.cid}** ({v.verdict})")
        for d in v.details:
            o.append(f"  - {md_escape(d)}")
    o.append("")

    o.append("## Effective wait per design\n")
    ew = effective_wait(res)
    if ew:
        o.append("What a requested wait became: median latency at wait W minus median latency "
                 "at wait 0, at the smallest connection count. The async server waits on a "
                 "libev timer (kept precise by a timerfd), the thread server sleeps in "
                 "clock_nanosleep, Tokio and Go on their runtimes' timers; a timer that rounds "
                 "up to whole milliseconds shows here, and it bounds every wait-bound figure "
                 "(throughput at a wait is at most N ÷ effective wait).\n")
        o.append("| design | conns | requested wait | effective wait | effective ÷ requested |\n"
                 "|---|---|---|---|---|")
        for label, c, w, e in ew:
            o.append(f"| {label} | {c} | {human_us(w)} | {human_us(e)} | {e / w:.2f} |")
    else:
        o.append("Not available: the sweep has no wait-0 runs to subtract.")
    o.append("")

    o += scale_section(res)
    o += contestants_section(res)

    o.append("## Plots\n")
    for stem, title in PLOTS:
        if not os.path.exists(os.path.join(plots_dir, stem + ".png")):
            continue
        o.append(f"### {title}\n")
        o.append(f"![{title}](plots/{stem}.png)\n")
        extra = ""
        if stem in COMPARED and res.contestant_labels():
            extra = (" Thin, light lines with open markers: the other runtimes ("
                     + ", ".join(res.contestant_labels()) + "), one run per point.")
        o.append(plot_sentence(res, stem, vs) + extra + f" ([SVG](plots/{stem}.svg))\n")
    missing = [t for s, t in PLOTS if not os.path.exists(os.path.join(plots_dir, s + ".png"))]
    if missing:
        o.append("Not drawn (no data for them in this run): " + ", ".join(missing) + ".\n")

    o.append("## Failures\n")
    fl = failures(res)
    skipped = meta.get("skipped") or []
    phase = list(meta.get("phase_errors") or [])
    for path in sorted(glob.glob(os.path.join(res.out, "logs", "*.failed"))):
        with open(path, errors="replace") as f:
            phase.append({"phase": os.path.basename(path)[:-7], "error": f.read().strip()})
    if not fl and not skipped and not phase:
        o.append("None: every run sustained its load, nothing was skipped.\n")
    if fl:
        o.append("Failed runs, runs with errors and runs whose load generator was saturated. "
                 "They are marked in the plots (cross: failed, open diamond: more than 1% errors, ring: "
                 "generator saturated) and never averaged into a median.\n")
        o.append("| run | design | conns | wait | repeat | what |\n|---|---|---|---|---|---|")
        for f, l, c, w, rep, what in fl:
            o.append(f"| {f} | {l} | {c} | {w} µs | {rep} | {md_escape(what)} |")
        o.append("")
    if skipped:
        groups = {}
        for s in skipped:
            lab = ("thread" if s.get("impl") == "thread" and not s.get("stack_kib") else
                   f"thread-{s.get('stack_kib')}k" if s.get("impl") == "thread" else s.get("impl"))
        if s.get("kind") == "scale":
            lab = f"{s.get('impl')} × {s.get('workers')} (scale)"
            k = (lab, s.get("wait_us"), s.get("reason"))
            groups.setdefault(k, set()).add(s.get("conns"))
        o.append("Points not run because their series had already failed at a smaller N:\n")
        o.append("| design | wait | conns | why |\n|---|---|---|---|")
        for (lab, w, why), cs in sorted(groups.items(), key=lambda x: str(x[0])):
            o.append(f"| {lab} | {w} µs | {', '.join(str(c) for c in sorted(cs))} | "
                     f"{md_escape(why)} |")
        o.append("")
    if phase:
        o.append("Other steps that did not complete:\n")
        for p in phase:
            o.append(f"- {p.get('phase')}: {md_escape(p.get('error'))}")
        o.append("")

    o.append("## Caveats\n")
    o.append("- **Closed loop.** The sweep is closed-loop: each connection sends its next "
             "request only after the answer, so a slow server is offered less load and its "
             "latency looks better than an open-loop client would see (coordinated omission). "
             "The head-of-line case uses an open loop at a fixed rate, latency counted from the "
             "intended send time.")
    o.append("- **Loopback.** Client and server talk over 127.0.0.1: no NIC, no interrupts, "
             "no network latency; socket costs are the kernel's alone.")
    o.append(f"- **{env.get('cores', '?')} cores.** The server is pinned to one CPU and the "
             f"load generator to another, so both designs get exactly one CPU. The thread "
             f"server could use more cores unpinned; the event loop could not without more "
             f"loops. A saturated generator (marked) understates the server.")
    o.append("- **Virtual machine.** Timer and wake-up latencies of a VM (waking a thread on "
             "the other CPU costs 10-25 µs on the 2-core VM the suite was built on, about 3 µs "
             "on the same CPU) are larger and noisier than bare metal.")
    o.append("- **Timer granularity.** The designs wait differently (libev timer vs a blocking "
             "sleep); the effective-wait table above shows what each made of the requested "
             "wait, and throughput at a wait is bounded by N ÷ effective wait.")
    o.append("- **Kernel memory is system-wide.** KernelStack, SUnreclaim and TCP-page deltas "
             "include the load generator's sockets and anything else running on the machine; "
             "both designs pay the same client share.")
    o.append("- **Small N.** Per-connection figures at 1 and 10 connections are dominated by "
             "the noise of the idle baseline; the C1 slope uses N ≥ 100.")
    o.append(f"- **Repeats.** {ax.get('repeats', '?')} repeat(s) per point; with one, "
             f"differences of a few percent are noise.")
    o.append("- **A task here** is a C struct with its libev watchers, what an async runtime's "
             "future compiles to; Tokio's or Go's runtimes add their own costs (scheduler, "
             "timer wheel, allocator), which the contestants' rows show where they ran.")
    if res.contestant_labels():
        crep = max([r.repeat for r in res.runs if r.kind == "contestant"] or [1])
        o.append(f"- **Contestants.** {crep} run(s) per point (the C designs: "
                 f"{ax.get('repeats', '?')}); pinned to one CPU like the C servers, so a "
                 f"runtime that sizes its worker pool by the CPUs it may use (Tokio's "
                 f"multi-thread runtime, Go's GOMAXPROCS) gets one worker (the threads "
                 f"column above shows what each process held); they have no "
                 f"--workers, so they run up to what one process's fd limit holds. nginx "
                 f"answers a fixed body without waiting: wait 0 only, and its idle baseline "
                 f"already holds every connection structure it will use, so its memory per "
                 f"connection reads low.")
    o.append("")
    o.append("## Files\n")
    o.append("`raw/*.json` one harness run each (`scale-*`: the scale runs); `scale/*.json` "
             "the machine during each scale run (tasks, memory, the request sent at the "
             "wall); `summary.csv` one row per run; `hol/` and "
             "`hol.csv` the head-of-line loads; `hyperfine/` whole-command timings; `micro/` "
             "the microbenchmarks; `plots/` PNG and SVG with `plots/data/` (what gnuplot read); "
             "`logs/` each command's output; `sweep.json` the plan and what was skipped.\n")
    write_atomic(os.path.join(res.out, "REPORT.md"), "\n".join(o))
    return vs


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("data", "report"):
        print("usage: report.py data|report DIR", file=sys.stderr)
        return 2
    out = sys.argv[2]
    if not os.path.isdir(os.path.join(out, "raw")):
        print(f"report.py: {out}/raw not found: run scripts/bench.sh first", file=sys.stderr)
        return 1
    res = Results(out)
    if sys.argv[1] == "data":
        write_summary(res)
        write_data(res)
        return 0
    vs = write_report(res)
    w = max(len(v.verdict) for v in vs)
    for v in vs:
        print(f"  {v.cid}  {v.verdict:<{w}}  async {v.a}, thread {v.t}, ratio {v.r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
