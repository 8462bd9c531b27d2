"""The sweep's runner: `harness run` over a profile's points (profiles.plan), then the
head-of-line case and the hyperfine fixed job (sweep_extra). Every file is written
atomically. A point that fails is data: the harness writes its JSON with "status":
"failed"; if the harness itself dies without writing one, a stand-in is written in its
place so that the failure still shows up in every table."""

import os
import shutil
import signal
import subprocess
import time

from . import code_size, profiles
from .procs import Child
from .syswatch import SysWatch, read_int
from .machine import cpus, help_text, list_contestants, nofile_limit, port_range, \
    source_ips_for, default_stack_kib  # noqa: F401
from .sweep_argv import PointCommands
from .sweep_outcome import Outcomes, fmt_dur, log  # noqa: F401 (log: cli.py)
from .sweep_walls import WallSearches
from .util import load_json, write_json_atomic

from .machine import ROOT
# Top-level keys of a harness run JSON; a stand-in file carries all of them.
RUN_KEYS = ["schema", "impl", "name", "status", "failure", "params", "env", "client",
            "server", "derived", "samples"]


class Sweep(PointCommands, Outcomes, WallSearches):
    def __init__(self, args):
        self.args = args
        self.prof = profiles.PROFILES[args.profile]
        if getattr(args, "walls_max", None) and self.prof.get("walls"):
            self.prof = dict(self.prof, walls=dict(self.prof["walls"], max_conns=args.walls_max))
        self.out, self.bin = args.out, args.bin
        self.harness = os.path.join(self.bin, "harness")
        self.server_cpu, self.client_cpu = cpus()
        self.run_help = help_text([self.harness, "run"])
        self.load_help = help_text([self.harness, "load"])
        self.server_help = {i: help_text([os.path.join(self.bin, f"{i}_server")])
                            for i in ("async", "thread", "uring")}
        self.contestants = (list_contestants(self.bin) if self.prof.get("contestants") or
                            self.prof.get("rust") else [])
        self.skipped = []      # points not run, and why
        self.server_k = getattr(args, "server_cpus", None)
        # across hosts: the server on one, the generators on others (harness run --hosts)
        self.hosts = ((os.path.abspath(args.hosts), args.server_on, args.clients_on)
                      if getattr(args, "hosts", None) else None)
        self.data_dir = os.path.join(ROOT, "results", "data")
        self.facts = {"nofile": nofile_limit(), "ncpus": len(os.sched_getaffinity(0))}
        self.kinds_skip = self.capacity_skip = None
        self.kind_skip = {}
        self.facts["skip"] = {} if args.estimate else self.series_skips()
        self.walls = {}        # series key -> (smallest conns that failed, its repeat)
        self.measured = {}     # (impl, io, wait) -> (conns, req/s) of the largest held point
        self.held_in_grid = {}  # (label, io, wait) -> the largest N held in the grid
        self.walls_found = {}  # label -> the wall search's record (sweep.json's walls)
        self.default_stack = default_stack_kib()
        self.probed = set()    # (impl, io, wait) whose capacity basis was measured apart
        self.phase_errors = []  # hol / hyperfine problems, for the failure table
        self.failures = []     # (index, label, reason) for the table at the end
        self.done_est = self.done_real = self.remaining_est = 0.0
        self.t0 = time.monotonic()
        if not args.estimate:
            for sub in ("raw", "hol", "hyperfine", "logs", "scale"):
                os.makedirs(os.path.join(self.out, sub), exist_ok=True)

    def series_skips(self):
        """{series: why} of the series that cannot run here, found before the plan: a
        program or flag missing from this build, or a kernel that refuses io_uring (the
        io_uring server exits 3 with the cause)."""
        from .machine import probe_server
        skip = {}
        if "--impl async|thread|uring" not in self.run_help and "uring" not in self.run_help:
            skip["uring"] = "this harness has no --impl uring"
        elif not os.access(os.path.join(self.bin, "uring_server"), os.X_OK):
            skip["uring"] = f"{self.bin}/uring_server is not built"
        else:
            why = probe_server([os.path.join(self.bin, "uring_server"), "--port", "0"])
            if why:
                skip["uring"] = skip["async-uring"] = why
        if "--buffers" not in self.server_help.get("async", ""):
            skip["async-lean"] = "async_server has no --buffers lean in this build"
        if "--io" not in self.run_help:
            for k in ("async-loop", "async-pool", "async-uring"):
                skip.setdefault(k, "this harness has no --io")
            self.kinds_skip = "this harness has no --io (the wait kinds need it)"
        else:
            self.kinds_skip = None
        self.capacity_skip = (None if "--capacity" in self.run_help else
                              "this harness has no --capacity")
        self.kind_skip = {k: f"this harness has no --{flag}" for k, flag in
                          (("stop", "stop"), ("shared", "state")) if f"--{flag}" not in
                          self.run_help}
        if self.hosts:
            if "--hosts" not in self.run_help:
                raise SystemExit("sweep.py: --hosts: this harness cannot run across hosts")
            # a contestant whose command takes a fixed port is given --target, which a run
            # across hosts does not take: the server's host names the address
            for c in self.contestants:
                if "{port}" in c["command"]:
                    skip[c["name"]] = "its command needs a fixed port (--target): not across hosts"
        if "--lock" not in self.server_help.get("thread", ""):
            skip["thread-nolock"] = "thread_server has no --lock in this build"
        for name, why in skip.items():
            self.skipped.append({"kind": "series", "label": name, "impl": name,
                                 "wait_us": "any", "conns": "all", "reason": why})
        return skip

    def plan(self):
        pts = profiles.plan(self.args.profile, self.facts, self.contestants, self.args.only)
        out = []
        for pt in pts:
            why = (self.kinds_skip if pt.get("io", "timer") != "timer" else None) or \
                (self.capacity_skip if pt["kind"] == "capacity" else None) or \
                self.kind_skip.get(pt["kind"])
            if why and not self.args.estimate:
                self.skipped.append(dict(pt, label=profiles.label(pt), reason=why))
                continue
            out.append(pt)
        return out

    def estimate(self, pts):
        from .sweep_extra import hol_designs
        return profiles.estimate(pts, self.args.profile,
                                 read_int("/proc/sys/kernel/pid_max") or 1 << 22,
                                 self.args.skip_hol, self.args.skip_hyperfine,
                                 len(hol_designs(self)))

    def eta(self, remaining_est):
        scale = self.done_real / self.done_est if self.done_est > 0 else 1.0
        return remaining_est * scale

    def step_done(self, res, real, est):
        """Ends a progress line: result, time taken, elapsed, ETA of what is left."""
        self.done_est += est
        self.done_real += real
        self.remaining_est -= est
        log(f"{res} ({real:.1f} s) | elapsed {fmt_dur(time.monotonic() - self.t0)}, "
            f"ETA {fmt_dur(self.eta(self.remaining_est))}")

    # ---- one harness run --------------------------------------------------------------
    def capacity_basis(self, idx, total, pt):
        """Before a design's wall search: if the grid measured no capacity at the
        search's wait (it did not run, e.g. `--only walls`), closed-loop runs at the largest
        N one process holds, then smaller grid N until one holds (at most three), measure
        it (grid points like the others)."""
        key = (pt["impl"], pt["io"], pt["wait_us"])
        if key in self.measured or key in self.probed:
            return
        self.probed.add(key)
        axis = [c for c in profiles.grid_conns(self.prof, self.facts["nofile"])
                if c <= self.facts["nofile"] - 1000 and c >= 1000]
        for conns in sorted(axis, reverse=True)[:3]:
            probe = dict(pt, kind="grid", conns=conns, think_ms=0, rep=1, workers=None,
                         duration_s=self.prof["duration_s"], warmup_s=self.prof["warmup_s"],
                         label=pt["impl"], stack_kib=None)
            probe.pop("timeout_ms", None)
            if os.path.exists(os.path.join(self.out, "raw", profiles.run_name(probe) + ".json")):
                continue  # the grid ran it and it did not hold
            probe["est_s"] = profiles.est_run_s(probe)  # its own, not the search's it serves
            self.remaining_est += probe["est_s"]
            log(f"[{idx:>3}/{total}] capacity basis for the {pt['impl']} wall search: "
                f"{conns} conns, wait {pt['wait_us']} us, closed loop")
            self.run_point(idx, total, probe)
            if key in self.measured:
                return

    def run_point(self, idx, total, pt):
        name = profiles.run_name(pt)
        out = os.path.join(self.out, "raw", name + ".json")
        reps = (self.prof["repeats"] if pt["kind"] in ("grid", "capacity") else
                (self.prof.get("contestants") or {}).get("repeats", 1)
                if pt["kind"] == "contestant" else 1)
        basis = None
        if pt["kind"] == "scale":
            basis = pt["think_basis"]  # a wall probe: sized by the wall search
        what = {"capacity": "capacity ", "cores": f"K={pt.get('k')} ", "stop": "stop ",
                "shared": f"shared share={pt.get('share_us')}us "
                + (f"K={pt['k']} " if pt.get("k") else "")}.get(pt["kind"], "")
        io = "" if pt.get("io", "timer") == "timer" else f"io={pt['io']} "
        desc = (f"{profiles.label(pt):<13} {what}{io}conns={pt['conns']:<6} "
                f"wait={pt['wait_us']}us "
                + (f"think={pt['think_ms']:.0f}ms " if pt["think_ms"] else "")
                + f"rep {pt['rep']}/{reps}")
        head = f"[{idx:>3}/{total}] {desc}"
        wall = self.walls.get(profiles.series_key(pt))
        grid_wall = min([w[0] for k, w in self.walls.items() if k[0] in ("grid", "contestant")
                         and k[1] == profiles.label(pt)] or [None], key=lambda c: c or 0)
        # A series that failed at N skips larger N, and the same N in later repeats: a
        # wall (thread creation refused, fds) is a limit, not noise, and hitting it again
        # would take every free pid of the machine again. A stop point stays within what
        # its design held in the grid.
        reason = None
        if wall is not None and (pt["conns"] > wall[0] or
                                 (pt["conns"] == wall[0] and pt["rep"] > wall[1])):
            reason = f"skipped: this series failed at {wall[0]} connections"
        elif pt["kind"] == "stop" and grid_wall is not None and pt["conns"] >= grid_wall:
            reason = f"skipped: its grid series failed at {grid_wall} connections"
        if reason:
            self.skipped.append(dict(pt, label=profiles.label(pt), reason=reason))
            self.remaining_est -= pt.get("est_s", profiles.est_run_s(pt))
            log(f"{head} -> {reason}")
            return
        print(f"{head} ... ", end="", flush=True)
        logbase = os.path.join(self.out, "logs", name)
        if os.path.exists(out):
            os.unlink(out)
        # Generous: a large ramp and teardown takes tens of seconds.
        timeout = pt["warmup_s"] + pt["duration_s"] + 30 + pt["conns"] / 500
        t = time.monotonic()
        watch = None
        try:
            argv, rundir = self.argv_for(pt, out)
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            argv, rundir, rc = [self.harness, "run", "(not started)"], None, None
            with open(logbase + ".err", "w") as se:
                se.write(f"could not prepare the run: {e}\n")
        else:
            with open(logbase + ".out", "w") as so, open(logbase + ".err", "w") as se:
                so.write(" ".join(argv) + "\n")
                so.flush()
                child = Child(argv, so, se)
                if pt["kind"] == "scale":
                    # SIGINT: the harness stops its server and load and writes what it has
                    watch = SysWatch(logbase + ".out", probe=pt["impl"] == "thread",
                                     on_wall=lambda: child.proc.send_signal(signal.SIGINT))
                    watch.start()
                rc = child.wait(timeout)
        if watch:
            write_json_atomic(os.path.join(self.out, "scale", name + ".json"),
                              dict(watch.finish(), run=f"raw/{name}.json"))
        if rundir:
            shutil.rmtree(os.path.join(rundir, "tmp"), ignore_errors=True)
        real = time.monotonic() - t
        doc = self.load_or_stand_in(out, argv, rc, logbase + ".err", pt, timeout)
        # what the harness does not record of the point, beside its result
        note = ({"think_ms": pt["think_ms"], "think_basis": basis} if basis else
                {"state": "shared", "share_us": pt["share_us"], "keys": pt["keys"]}
                if pt["kind"] == "shared" else None)
        if note and os.path.exists(out):
            doc["sweep"] = dict(doc.get("sweep") or {}, **note)
            write_json_atomic(out, doc)
        self.step_done(self.outcome(idx, desc, pt, doc), real,
                       pt.get("est_s", profiles.est_run_s(pt)))

    def load_or_stand_in(self, out, argv, rc, errlog, pt, timeout):
        """The harness's JSON if it wrote one; otherwise a stand-in with status failed
        and the reason, so that the point is still a row in summary.csv."""
        if os.path.exists(out):
            doc = load_json(out)
            if isinstance(doc, dict):
                return doc
            reason = "harness wrote unreadable JSON"
        elif rc is None:
            reason = f"harness timed out after {timeout:.0f} s and was stopped"
        else:
            reason = f"harness exited {rc} without writing {os.path.basename(out)}"
        try:
            with open(errlog) as f:
                tail = f.read().strip().splitlines()[-3:]
            if tail:
                reason += ": " + " / ".join(tail)
        except OSError:
            pass
        doc = {k: None for k in RUN_KEYS}
        doc.update(schema="tvt-run-1", impl=pt["impl"], name=profiles.label(pt),
                   status="failed", failure=reason,
                   params={"conns": pt["conns"], "duration_s": pt["duration_s"],
                           "warmup_s": pt["warmup_s"], "wait_us": pt["wait_us"],
                           "work_us": pt["work_us"], "bytes": pt["bytes"], "mode": "closed",
                           "rate": None, "think_ms": pt["think_ms"], "io": pt.get("io"),
                           "stack_kib": pt["stack_kib"], "workers": pt.get("workers"),
                           "server_cpu": self.server_cpu, "client_cpu": self.client_cpu,
                           "threads": None},
                   samples=[], written_by="tvtbench sweep (stand-in: the harness wrote none)",
                   argv=argv)
        write_json_atomic(out, doc)
        return doc

    # ---- the whole thing -------------------------------------------------------------------
    def meta(self, pts, state):
        return {"profile": self.args.profile, "axes": self.prof, "state": state,
                "bin_dir": self.bin, "server_cpu": self.server_cpu,
                "client_cpu": self.client_cpu, "planned_runs": len(pts),
                "grid_conns": profiles.grid_conns(self.prof, self.facts["nofile"]),
                "contestants": self.contestants,
                "port_range": port_range(), "nofile_limit": nofile_limit(),
                "skipped": self.skipped,
                "phase_errors": [{"phase": a, "error": b} for a, b in self.phase_errors],
                "estimated_s": round(self.estimate(pts)),
                "elapsed_s": round(time.monotonic() - self.t0, 1),
                "default_stack_kib": default_stack_kib(),
                "walls": self.walls_found or None,
                "hosts": ({"file": self.hosts[0], "server_on": self.hosts[1],
                           "clients_on": self.hosts[2].split(",")} if self.hosts else None)}

    def save_meta(self, state="running"):
        write_json_atomic(os.path.join(self.out, "sweep.json"), self.meta(self.pts, state))

    def run(self):
        from .sweep_extra import hol, hyperfine
        pts = self.plan()
        if self.args.estimate:
            print(round(self.estimate(pts)))
            return 0
        from .sweep_extra import hol_designs
        nhol = len(hol_designs(self))
        total = len(pts) + (0 if self.args.skip_hol else nhol) + (0 if self.args.skip_hyperfine
                                                                 else 1)
        self.remaining_est = self.estimate(pts)
        kinds = {k: sum(1 for pt in pts if pt["kind"] == k) for k in ("grid", "contestant",
                                                                       "stop", "shared",
                                                                       "wall")}
        extra = "".join(f", {x}" for x, skip in (("head-of-line", self.args.skip_hol),
                                                  ("hyperfine", self.args.skip_hyperfine))
                        if not skip)
        log(f"sweep: profile {self.args.profile}, {total} steps ({kinds['grid']} runs of the "
            f"C designs, {kinds['contestant']} of contestants, "
            f"{kinds['stop']} stops, {kinds['shared']} on a shared table, {kinds['wall']} wall "
            f"searches"
            f"{extra}), about {fmt_dur(self.remaining_est)}; " +
            (f"server on host {self.hosts[1]}, generators on {self.hosts[2]} ({self.hosts[0]})"
             if self.hosts else
             f"server on CPU {self.server_cpu}, client on CPU {self.client_cpu}") +
            f"; results in {self.out}")
        if self.prof.get("contestants"):
            log("sweep: contestants: " + (", ".join(c["name"] for c in self.contestants) or
                                          "none ready (make contestants builds them)"))
        self.pts = pts
        self.save_meta()
        # the servers' source as measured now, so that the report reads it from the folder
        write_json_atomic(os.path.join(self.out, "code.json"), code_size.measure(ROOT))
        state = "interrupted"
        try:
            for i, pt in enumerate(pts):
                if pt["kind"] == "wall":
                    self.wall_search(i + 1, total, pt)
                    continue
                self.run_point(i + 1, total, pt)
            if not self.args.skip_hol:
                hol(self, len(pts) + 1, total)
            if not self.args.skip_hyperfine:
                hyperfine(self, total, total)
            state = "done"
        finally:
            self.save_meta(state)
            self.failure_table()
        return 0
