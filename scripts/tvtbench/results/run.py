"""Loading and indexing results: the one place that knows the keys of a run's JSON
(`harness run`, schema tvt-run/1), of the sweep's sweep.json and of the head-of-line,
hyperfine and scale files. Everything else reads Run and Results."""

import glob
import os
import re

from .. import designs
from .micro import Micro
from .stopshare import OLD_STOP_FAILURE, share_figures, stop_figures
from ..util import fnum, get, load_json, median

MAX_ERROR_FRACTION = 0.01  # a run "sustains" N: status ok and at most 1% of requests failed

# Figures a saturated load generator distorts (it, not the server, set the pace): a
# saturated run never enters their medians. Memory held per connection does not depend
# on the generator's speed, so it counts there.
GENERATOR_BOUND = {"rps", "lat_min_us", "lat_p50_us", "lat_p90_us", "lat_p99_us",
                   "lat_p999_us", "lat_max_us", "lat_mean_us", "cpu_us_per_request",
                   "ctx_per_request", "ctx_voluntary", "ctx_involuntary"}

ERROR_KINDS = ("connect", "read", "write", "timeout", "status", "body")
SERVER_KEYS = ("rss_idle_kib", "rss_steady_kib", "rss_peak_kib", "vsz_idle_kib",
               "vsz_steady_kib", "pss_steady_kib", "threads_peak", "ctx_voluntary",
               "ctx_involuntary", "ctx_perf", "cpu_user_s", "cpu_sys_s",
               "kernel_stack_kib_delta", "slab_unreclaim_kib_delta", "sock_tcp_pages_delta")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") / 1024


class Run:
    """One `harness run` JSON, flattened into what the rules, tables and plots use."""

    def __init__(self, path, doc, default_stack=None, sysd=None):
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
        self.io = p.get("io") or "timer"
        self.mode = p.get("mode") or "closed"
        self.think_ms = fnum(p.get("think_ms")) or 0
        self.workers = int(fnum(p.get("workers")) or 1)
        self.procs = int(fnum(p.get("procs")) or 1)
        st = fnum(p.get("stack_kib"))
        self.stack_kib = int(st) if st else None
        self.label = self._label(doc.get("name"), default_stack)
        # what the harness does not record of a shared-table run, the sweep adds (sweep.*)
        sw = doc.get("sweep") if isinstance(doc.get("sweep"), dict) else {}
        self.state = p.get("state") or sw.get("state")
        su = fnum(p.get("share_us") if p.get("share_us") is not None else sw.get("share_us"))
        self.share_us = None if su is None else int(su)
        # scale: closed loop with a think time, many processes, up to 100k conns;
        # capacity: open-loop steps to a latency target; cores: the sweep over the
        # server's CPUs K; stop: the stop scenario (N connections, SIGTERM); shared: every
        # request updates the server's shared table; grid: the C designs' sweep;
        # contestant: another runtime's server on the same grid
        self.kind = ("scale" if self.mode == "closed" and self.think_ms > 0 else
                     "capacity" if isinstance(doc.get("capacity"), dict) or p.get("capacity")
                     or self.file.startswith("cap-") else
                     "cores" if self.file.startswith("cores-") else
                     "stop" if isinstance(doc.get("stop"), dict) or self.file.startswith("stop-")
                     else "shared" if self.state == "shared" or self.file.startswith("shared-")
                     else "grid" if self.label in designs.C_LABELS else "contestant")
        self.k = int(fnum(get(doc, "placement", "server_k")) or 1)
        m = re.search(r"-r(\d+)\.json$", self.file)
        self.repeat = int(m.group(1)) if m else 1
        cl = doc.get("client") or {}
        errs = cl.get("errors") or {}
        self.errors = {k: fnum(errs.get(k)) for k in ERROR_KINDS}
        for k, v in errs.items():  # any kind the harness adds (parse, ...)
            if k not in self.errors and fnum(v) is not None:
                self.errors[k] = fnum(v)
        self.errors_total = sum(v for v in self.errors.values() if v) or 0
        self.requests = fnum(cl.get("requests"))
        self.saturated = bool(cl.get("saturated"))
        fe = cl.get("first_errors")
        self.first_errors = fe if isinstance(fe, dict) else {}  # kind -> its first text
        self.counters = get(doc, "server", "counters") or {}
        self.threads_peak = fnum(get(doc, "server", "threads_peak"))
        self.stop_s, self.stop_clean, self.stop_failure = self._end_stop()
        self.stop = stop_figures(doc.get("stop"))
        self.share = share_figures(self.counters)
        self.refused = 0
        self._wall_check(sysd)
        self.ok = self.status == "ok"
        self.sustained = (self.ok and (self.requests or 0) > 0 and self.errors_total
                          <= MAX_ERROR_FRACTION * max(1.0, self.requests or 0))
        self.v = self._values()

    def _label(self, name, default_stack):
        if name and name != self.impl:
            return name
        if self.impl == "thread" and self.stack_kib and self.stack_kib != default_stack:
            return f"thread-{self.stack_kib}k"
        return self.impl

    def _end_stop(self):
        """How the server stopped after the run: (SIGTERM to reaped in s or None, clean:
        True, False or None when not recorded, why it was not clean). The old form of a
        failed stop (status failed, OLD_STOP_FAILURE) becomes a run that served its load
        (status ok) whose stop failed."""
        s = self.doc.get("server") or {}
        clean = s.get("stop_clean") if isinstance(s.get("stop_clean"), bool) else None
        why = None
        if self.status != "ok" and OLD_STOP_FAILURE.search(str(self.failure or "")):
            why, clean = self.failure, False
            self.status, self.failure = "ok", None
        elif clean is False:
            why = (f"the server did not stop cleanly: it {s.get('exit') or 'did not exit'}"
                   + (" (killed past its wait)" if s.get("killed") else ""))
        return fnum(s.get("stop_s")), clean, why

    def _wall_check(self, sysd):
        """The thread server answers 503 to a connection it cannot give a thread, whenever
        that happens; the harness counts errors in the measured window only. Either way it
        is the wall: the run failed. A server killed before it printed its counters: the
        sweep's own request at the wall (DIR/scale/) still saw the 503."""
        self.refused = int(fnum(self.counters.get("thread_create_failed")) or 0)
        probes503 = [p for p in (sysd or {}).get("probes") or [] if p.get("status") == 503]
        times = f"{self.refused} times"
        if not self.refused and probes503:
            self.refused = len(probes503)
            times = "(its counters were lost; the sweep's own request got the 503)"
        if self.refused:
            peak = "n/a" if self.threads_peak is None else f"{self.threads_peak:.0f}"
            self.status = "failed"
            self.failure = (f"the thread wall: the server could not create a thread {times} "
                            f"(answered 503), {peak} threads at its peak"
                            + (f"; the harness: {self.failure}" if self.failure else ""))

    def _values(self):
        d, n = self.doc, max(1, self.conns)
        s = d.get("server") or {}
        lat = get(d, "client", "latency_us") or {}
        der = d.get("derived") or {}
        v = {"rps": fnum(get(d, "client", "rps")), "client_cpu_s": fnum(get(d, "client", "cpu_s"))}
        for k in ("min", "p50", "p90", "p99", "p999", "max", "mean"):
            v[f"lat_{k}_us"] = fnum(lat.get(k))
        for k in SERVER_KEYS:
            v[k] = fnum(s.get(k))
        req = self.requests

        def derive(key, fallback):
            x = fnum(der.get(key))
            return x if x is not None else fallback

        def diff(a, b):
            return None if a is None or b is None else a - b

        rss_d = diff(v["rss_steady_kib"], v["rss_idle_kib"])
        vsz_d = diff(v["vsz_steady_kib"], v["vsz_idle_kib"])
        kern = kernel_kib(v)
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
        v["cpu_s"] = cpu
        v["rss_delta_kib"] = rss_d
        v["vsz_delta_kib"] = vsz_d
        v["inflight_mean"] = fnum(get(d, "server", "device_inflight", "mean"))
        v["inflight_max"] = fnum(get(d, "server", "device_inflight", "max"))
        v["backend_cpu_us_per_request"] = fnum(get(d, "backend", "cpu_us_per_request"))
        return v

    def usable(self, key):
        """May this run's figure `key` enter a median? Sustained, and for the figures a
        saturated generator distorts, not saturated."""
        return self.sustained and not (self.saturated and key in GENERATOR_BOUND)

    def param(self, *path):
        return get(self.doc, "params", *path)

    @property
    def env(self):
        e = self.doc.get("env")
        return e if isinstance(e, dict) else {}

    @property
    def placement(self):
        p = self.doc.get("placement")
        return p if isinstance(p, dict) else {}

    @property
    def capacity(self):
        c = self.doc.get("capacity")
        return c if isinstance(c, dict) else None


def kernel_kib(v):
    """KernelStack + SUnreclaim + TCP socket pages, deltas (system-wide)."""
    parts = (v["kernel_stack_kib_delta"], v["slab_unreclaim_kib_delta"],
             v["sock_tcp_pages_delta"])
    if all(x is None for x in parts):
        return None
    return (parts[0] or 0) + (parts[1] or 0) + (parts[2] or 0) * PAGE_KIB


class Results:
    """Every file of one results folder, indexed for the rules. Build it with load(DIR),
    or from documents with from_docs (the tests do)."""

    def __init__(self, out, meta, runs, hol=None, hyperfine=None, micro=None, scale_sys=None,
                 code=None):
        self.out = out
        self.code = code if isinstance(code, dict) else {}
        self.meta = meta or {}
        self.runs = runs
        self.hol = hol or {}
        self.hyperfine = hyperfine or []
        self.micro = micro or Micro([])
        self.scale_sys = scale_sys or {}
        self._grid = {}

    @classmethod
    def load(cls, out):
        meta = load_json(os.path.join(out, "sweep.json"), quiet=True) or {}
        scale_sys = {}
        for path in sorted(glob.glob(os.path.join(out, "scale", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                scale_sys[os.path.basename(str(doc.get("run") or path))] = doc
        runs = []
        for path in sorted(glob.glob(os.path.join(out, "raw", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                runs.append(Run(path, doc, meta.get("default_stack_kib"),
                                scale_sys.get(os.path.basename(path))))
        hol = {}
        for path in sorted(glob.glob(os.path.join(out, "hol", "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                hol[os.path.basename(path)[:-5]] = doc
        hyperfine = []
        for path in sorted(glob.glob(os.path.join(out, "hyperfine", "*.json"))):
            doc = load_json(path)
            for r in (doc or {}).get("results", []):
                hyperfine.append((os.path.basename(path)[:-5], r))
        micro = Micro.load(os.path.join(out, "micro"))
        code = load_json(os.path.join(out, "code.json"), quiet=True)
        return cls(out, meta, runs, hol, hyperfine, micro, scale_sys, code)

    @classmethod
    def from_docs(cls, docs, meta=None, micro_docs=(), hol=None, scale_sys=None, out=".",
                  code=None):
        """docs: {file name: run JSON}. For tests and for folders built in memory."""
        meta = meta or {}
        scale_sys = scale_sys or {}
        runs = [Run(name, doc, meta.get("default_stack_kib"), scale_sys.get(name))
                for name, doc in sorted(docs.items())]
        return cls(out, meta, runs, hol, [], Micro(list(micro_docs)), scale_sys, code)

    # ---- the grid: label -> wait -> conns -> [runs] ------------------------------------
    def grid(self, io="timer"):
        """Closed-loop runs without work (the sweep's grid and the contestants), of one
        wait kind: label -> wait -> conns -> [runs]."""
        if io not in self._grid:
            g = {}
            for r in self.runs:
                if (r.work_us == 0 and r.mode == "closed" and r.kind in ("grid", "contestant")
                        and r.io == io):
                    g.setdefault(r.label, {}).setdefault(r.wait_us, {}).setdefault(
                        r.conns, []).append(r)
            self._grid[io] = g
        return self._grid[io]

    def io_kinds(self):
        kinds = {r.io for r in self.runs if r.kind in ("grid", "contestant")}
        return [k for k in ("timer", "net", "file") if k in kinds] + sorted(
            kinds - {"timer", "net", "file"})

    def labels(self, io="timer"):
        """Every design with runs of that kind: the C designs first, then the others."""
        return designs.order({r.label for r in self.runs
                              if r.kind in ("grid", "contestant") and r.io == io})

    def c_labels(self, io="timer"):
        return [x for x in self.labels(io) if x in designs.C_LABELS]

    def contestant_labels(self, io="timer"):
        return [x for x in self.labels(io) if x not in designs.C_LABELS]

    def waits(self, io="timer", label=None):
        """Waits of the C designs' grid runs of that kind, or of one series' runs (grid or
        contestant) when label is given."""
        return sorted({r.wait_us for r in self.runs if r.work_us == 0 and r.io == io
                       and r.mode == "closed"
                       and (r.kind == "grid" if label is None else
                            r.label == label and r.kind in ("grid", "contestant"))})

    def runs_at(self, label, wait, conns, io="timer"):
        return self.grid(io).get(label, {}).get(wait, {}).get(conns, [])

    def sustained_conns(self, label, wait, io="timer", key=None):
        """Conns at which some run of the series can give figure `key` (any run that
        sustained its load when key is None)."""
        return sorted({c for c, rs in self.grid(io).get(label, {}).get(wait, {}).items()
                       if any(r.usable(key) if key else r.sustained for r in rs)})

    def med(self, label, wait, conns, key, io="timer"):
        """Median of figure `key` over the runs at that point that may enter a median."""
        return median([r.v.get(key) for r in self.runs_at(label, wait, conns, io)
                       if r.usable(key)])

    def by_repeat(self, label, wait, conns, key, io="timer"):
        """{repeat: figure} of the usable runs at one point."""
        return {r.repeat: r.v.get(key) for r in self.runs_at(label, wait, conns, io)
                if r.usable(key) and r.v.get(key) is not None}

    def repeats(self):
        return max([r.repeat for r in self.runs if r.kind == "grid"] or [1])

    def scale_runs(self, impl=None):
        return sorted((r for r in self.runs if r.kind == "scale" and
                       (impl is None or r.impl == impl)), key=lambda r: (r.impl, r.conns))

    def cores_runs(self, label=None):
        return sorted((r for r in self.runs if r.kind == "cores" and
                       (label is None or r.label == label)), key=lambda r: (r.label, r.k))

    def capacity_runs(self, label=None):
        return sorted((r for r in self.runs if r.kind == "capacity" and
                       (label is None or r.label == label)),
                      key=lambda r: (r.label, r.io, r.wait_us, r.conns, r.repeat))

    def stop_runs(self, label=None):
        """The stop scenario's runs, by label and N."""
        return sorted((r for r in self.runs if r.kind == "stop" and
                       (label is None or r.label == label)),
                      key=lambda r: (r.label, r.conns, r.repeat))

    def shared_runs(self, label=None):
        """The shared-table runs, by label, K, N, wait and share_us."""
        return sorted((r for r in self.runs if r.kind == "shared" and
                       (label is None or r.label == label)),
                      key=lambda r: (r.label, r.k, r.conns, r.wait_us, r.share_us or 0,
                                     r.repeat))

    def code_figures(self, label):
        """code.json's figures of one design's source: {dirs, lines, functions, ccn_mean,
        ccn_max, ccn_max_at, why}, or None when the folder has none for it."""
        d = (self.code.get("designs") or {}).get(label)
        if not isinstance(d, dict):
            return None
        return {k: d.get(k) for k in ("dirs", "lines", "functions", "ccn_mean", "ccn_max",
                                      "ccn_max_at", "why")}

    def env(self):
        for r in self.runs:
            if r.env and r.ok:
                return r.env
        for r in self.runs:
            if r.env:
                return r.env
        return {}

    def placement(self):
        """The placement of the runs (a grid run's first: a few runs ask for another K)."""
        for r in sorted(self.runs, key=lambda r: r.kind != "grid"):
            if r.placement:
                return r.placement
        return {}
