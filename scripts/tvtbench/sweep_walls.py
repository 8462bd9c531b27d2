"""The sweep's wall search (C4): for each design of the profile's `walls`, probes of N
connections chosen by wallsearch.Search, each a scale run (many processes, a think time
that offers half the design's capacity), until the largest N it sustains is known to
within the tolerance or the machine's ceiling is reached. Mixed into sweep.Sweep; what it
found goes into sweep.json's `walls`, rewritten after every probe."""

import math
import os
import time

from . import profiles, wallsearch
from .fmt import human_n
from .machine import file_and_memory, nofile_limit
from .results.run import Results, Run
from .sweep_outcome import fmt_dur, log
from .util import load_json
from .wall import probe_cause


SIBLING_GROW = 1.2


class WallSearches:
    def wall_start(self, pt, wl):
        """(first probe, N known to hold, growth): beside the wall another series of the same
        server met (its own wall, 0.9 × it, growing by SIBLING_GROW); else the grid's
        largest N held by this series at the search's wait, grown once, and that N; else
        the profile's start."""
        sib = [w for w in self.walls_found.values() if w["impl"] == pt["impl"] and
               w.get("state") == "done" and w.get("whose") == "design" and w.get("wall")]
        if sib:
            return wallsearch.nice(0.9 * sib[0]["wall"]), None, SIBLING_GROW
        held = self.held_in_grid.get((pt["label"], pt["io"], pt["wait_us"]))
        return ((wallsearch.nice(held * wl["grow"]) if held else wl["start"]), held,
                wl["grow"])

    def probe_workers(self, conns, io):
        """Server processes (and generator processes) for conns connections: each at 65%
        of its fd limit (SO_REUSEPORT spreads by hash, not evenly)."""
        fds = conns * profiles.fds_per_conn(io)
        return max(1, math.ceil(fds / (0.65 * nofile_limit())))

    def wall_search(self, idx, total, pt):
        wl = self.prof["walls"]
        label, t0 = pt["label"], time.monotonic()
        self.capacity_basis(idx, total, dict(pt, kind="scale"))
        basis = self.measured.get((pt["impl"], pt["io"], pt["wait_us"]))
        fds = profiles.fds_per_conn(pt["io"])
        thread = pt["impl"] in ("thread", "rust-threads")
        n_max, why_max = wallsearch.ceiling(file_and_memory(), fds, None, wl["max_conns"],
                                            thread)
        start, known, grow = self.wall_start(pt, wl)
        start = min(start, n_max or 0)
        rec = {"label": label, "impl": pt["impl"], "io": pt["io"], "wait_us": pt["wait_us"],
               "offer": wl["offer"], "ceiling": n_max, "ceiling_cause": why_max,
               "capacity_basis": {"conns": basis[0], "rps": basis[1]} if basis else None,
               "state": "running", "probes": []}
        self.walls_found[label] = rec
        refuse = None if basis else ("no capacity measured at its wait to size the think "
                                     "time from")
        if not refuse and (not n_max or n_max < wl["start"] / wl["grow"]):
            refuse = f"this machine cannot hold its first probe: {why_max}"
        if refuse:
            rec.update(state="refused", reason=refuse)
            log(f"[{idx:>3}/{total}] wall search {label}: not run: {refuse}")
            self.remaining_est -= pt.get("est_s", 0.0)
            self.save_meta()
            return
        log(f"[{idx:>3}/{total}] wall search {label}: from {human_n(start)} connections, ×"
            f"{grow:g} until a probe fails, then halving to {wl['tol']:.0%}; ceiling "
            f"{human_n(n_max)} ({why_max})")
        s = wallsearch.Search(start, n_max, grow, wl["tol"], held=known)
        n = s.next()
        while n is not None:
            held, probe_rec = self.wall_probe(idx, total, pt, wl, n, basis, len(s.probes) + 1)
            s.record(n, held)
            rec["probes"].append(probe_rec)
            slope = probe_rec.get("machine_bytes_per_conn")
            if slope:  # what the machine gave per connection, plus a tenth
                c, why = wallsearch.ceiling(file_and_memory(), fds, 1.1 * slope,
                                            wl["max_conns"], thread)
                if c and c < s.ceiling:
                    s.lower_ceiling(c)
                    rec.update(ceiling=c, ceiling_cause=why)
            rec.update(s.outcome(), probes=rec["probes"],
                       elapsed_s=round(time.monotonic() - t0, 1))
            self.save_meta()
            n = s.next()
        out = s.outcome()
        first = next((p for p in rec["probes"] if p["conns"] == out["first_failed"]), None)
        if first:
            rec.update(cause=first.get("cause"), whose=first.get("whose"),
                       limit=first.get("limit"), raisable=first.get("raisable"))
        elif out["at_ceiling"]:
            rec.update(cause=rec["ceiling_cause"], whose="search", limit="ceiling")
        rec.update(state="done", elapsed_s=round(time.monotonic() - t0, 1))
        self.remaining_est -= pt.get("est_s", 0.0)  # the probes' own came and went
        self.save_meta()
        bound = ("" if rec.get("whose") == "design" else "≥ ")
        log(f"[{idx:>3}/{total}] wall search {label}: {bound}{human_n(out['wall'])} "
            f"connections ({rec.get('cause') or 'no cause named'}); "
            f"{len(rec['probes'])} probes in {fmt_dur(rec['elapsed_s'])}")

    def wall_probe(self, idx, total, pt, wl, n, basis, k):
        """One probe of N connections: (held, its record)."""
        shape = wallsearch.probe_shape(n, pt["wait_us"], basis[1], wl["offer"],
                                       wl["min_window_s"], wl["min_timeout_ms"])
        workers = self.probe_workers(n, pt["io"])
        # the server's idle timeout is a policy, not a wall: a connection waits out its think
        # time and the ramp of all the others, which at a million takes longer than 60 s
        probe = dict(pt, kind="scale", conns=n, rep=1, workers=workers, offer=wl["offer"],
                     server_args=list(pt.get("server_args") or []) + ["--idle-timeout-ms", "0"],
                     **shape)
        probe["think_basis"] = (f"{pt['label']} at {human_n(n)}: think "
                                f"{shape['think_ms'] / 1000:.2f} s, offering "
                                f"{human_n(n / (shape['think_ms'] / 1000 + pt['wait_us'] / 1e6))}"
                                f" req/s = {wl['offer']:g} × the {human_n(basis[1])} req/s it "
                                f"served at {human_n(basis[0])} conns")
        probe["est_s"] = profiles.est_run_s(probe)
        self.remaining_est += probe["est_s"]
        log(f"[{idx:>3}/{total}] wall search {pt['label']}: probe {k}, {human_n(n)} "
            f"connections, {workers} server and generator processes, think "
            f"{shape['think_ms'] / 1000:.2f} s, window {shape['duration_s']:g} s")
        self.run_point(idx, total, probe)
        name = profiles.run_name(probe)
        doc = load_json(os.path.join(self.out, "raw", name + ".json"), quiet=True) or {}
        sysd = load_json(os.path.join(self.out, "scale", name + ".json"), quiet=True) or {}
        r = Run(name + ".json", doc, self.default_stack, sysd)
        rec = {"conns": n, "held": r.sustained, "run": f"raw/{name}.json",
               "workers": workers, "think_ms": shape["think_ms"],
               "duration_s": shape["duration_s"], "errors": int(r.errors_total),
               "requests": r.requests, "p99_us": r.v.get("lat_p99_us"),
               "rss_per_conn_bytes": r.v.get("rss_per_conn_bytes"),
               "kernel_per_conn_bytes": r.v.get("kernel_per_conn_bytes"),
               "stop_clean": r.stop_clean}
        mb = sysd.get("meminfo_before") or {}
        mp = sysd.get("meminfo_at_low") or sysd.get("meminfo_at_peak") or {}
        if mb.get("memavailable_kib") and mp.get("memavailable_kib"):
            used = (mb["memavailable_kib"] - mp["memavailable_kib"]) * 1024
            rec["machine_bytes_per_conn"] = round(used / n) if used > 0 else None
            rec["mem_available_before_kib"] = mb["memavailable_kib"]
        if not r.sustained:
            cause = probe_cause(Results(self.out, {}, [r], scale_sys={r.file: sysd}), r)
            rec.update(cause=cause["text"], whose=cause["whose"], limit=cause["limit"],
                       raisable=cause["raisable"])
        return r.sustained, rec
