"""The microbenchmarks' files (microbench/SCHEMA.md): spawn_*.json, switch_*.json,
perf_sched_pipe.json, from the C benchmarks and the Tokio one alike. A file it does not
recognise is ignored, never fatal."""

import glob
import os

from ..util import fnum, get, load_json

# The pairs the claims compare: C1/C5 a task waiting on a timer vs a thread on a condvar;
# C2 a switch carried by a pipe in both (ev_io in one loop vs read() in a thread). The
# Rust block: a Tokio task on a timer vs a std::thread, a socketpair ring in both.
PAIRS = {
    "C": {"task_spawn": "task-timer", "thread_spawn": "thread-cond",
          "task_switch": "task-io", "thread_switch": "thread-pipe"},
    "Rust": {"task_spawn": "tokio-timer", "thread_spawn": "std-thread",
             "task_switch": "tokio-socketpair", "thread_switch": "std-thread-socketpair"},
}
SPAWN_ORDER = {"task-timer": 0, "task-io": 1, "thread-cond": 2, "thread-pipe": 3,
               "tokio-timer": 4, "tokio-chan": 5, "std-thread": 6}


class Micro:
    def __init__(self, docs):
        self.spawn, self.switch, self.perf = [], [], None
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if doc.get("bench") == "spawn":
                self.spawn.append(doc)
            elif doc.get("bench") == "switch":
                self.switch.append(doc)
            elif doc.get("bench") == "perf_sched_pipe":
                self.perf = doc
        self.spawn.sort(key=lambda d: (SPAWN_ORDER.get(d.get("kind"), 9), str(runtime(d)),
                                       fnum(get(d, "params", "stack_kib")) or 0))

    @classmethod
    def load(cls, folder):
        docs = []
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            doc = load_json(path)
            if isinstance(doc, dict):
                doc["_file"] = os.path.basename(path)
                docs.append(doc)
        return cls(docs)

    @staticmethod
    def spawn_label(doc):
        kind = doc.get("kind") or "?"
        rt = runtime(doc)
        if rt:
            kind = f"{kind} ({rt} runtime)"
        if doc.get("unit") != "thread":
            return kind
        stack = fnum(get(doc, "params", "stack_kib")) or 0
        eff = fnum(get(doc, "params", "stack_kib_effective"))
        if stack:
            return f"{kind}, {int(stack)} KiB stack"
        return f"{kind}, default stack" + (f" ({int(eff)} KiB)" if eff else "")

    def spawn_doc(self, kind, default_stack=True):
        """The first spawn file of that kind (default stack for threads; for Tokio the
        multi-thread runtime first, Tokio's default)."""
        cands = [d for d in self.spawn if d.get("kind") == kind and
                 (not default_stack or not fnum(get(d, "params", "stack_kib")))]
        cands.sort(key=lambda d: runtime(d) != "multi")
        return cands[0] if cands else None

    def spawn_slope(self, kind, key):
        """(per-unit slope of key, label) for that kind at the default stack."""
        doc = self.spawn_doc(kind)
        if doc is None:
            return None, None
        return fnum(get(doc, "slope", key)), self.spawn_label(doc)

    @staticmethod
    def spawn_points(doc):
        """[{created, rss_bytes_per_unit, ..., failed}] of one spawn file, as numbers."""
        keys = ("rss_bytes_per_unit", "vsz_bytes_per_unit", "pss_bytes_per_unit",
                "kernel_stack_bytes_per_unit", "create_ns_per_unit", "teardown_ns_per_unit")
        out = []
        for p in doc.get("points") or []:
            if not isinstance(p, dict) or not fnum(p.get("created")):
                continue
            pt = {k: fnum(p.get(k)) for k in keys}
            pt["created"] = fnum(p.get("created"))
            pt["failed"] = bool(p.get("failure"))
            out.append(pt)
        return out

    @staticmethod
    def stack_kib(doc):
        return int(fnum(get(doc, "params", "stack_kib")) or 0)

    def switch_rows(self):
        """[(label, mechanism, unit, ring, pinned, ns_per_switch, ns_per_hop)], usable only."""
        rows = []
        for doc in self.switch:
            pinned = get(doc, "params", "pin_cpu") is not None
            rt = runtime(doc)
            for it in doc.get("results") or []:
                if not isinstance(it, dict) or it.get("ok") is False:
                    continue
                ns = fnum(it.get("ns_per_switch"))
                if ns is None:
                    continue
                mech, ring = it.get("mechanism", "?"), it.get("ring")
                where = f"{mech}" + (f" ({rt})" if rt else "")
                rows.append((f"{where}, ring {ring}, {'pinned' if pinned else 'unpinned'}",
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


def runtime(doc):
    """The Tokio runtime a file measured ('current' or 'multi'), None for the C ones."""
    return get(doc, "params", "runtime") or doc.get("runtime")
