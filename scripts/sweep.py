#!/usr/bin/env python3
"""The sweep behind `make bench`: runs `harness run` over a profile's points, then the
head-of-line case (two `harness load` processes at once) and the hyperfine fixed job.

    scripts/sweep.py --profile smoke|quick|full --out DIR [--bin DIR]

Writes DIR/raw/*.json (one per run), DIR/hol/*.json, DIR/hyperfine/fixed_job.json,
DIR/logs/ and DIR/sweep.json (the plan, what was skipped and why). Every file is
written atomically. A point that fails is data: the harness writes its JSON with
"status": "failed"; if the harness itself dies without writing one, this script
writes one in its place so that the failure still shows up in every table.
Exit codes: 0 done (failed points included), 1 could not run at all, 2 usage,
130 interrupted (what ran so far is kept)."""

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# Axes per profile. `conns` is the log axis of every sweep plot; the thread server's
# 64 KiB stack only changes memory, so it runs at the waits in `stack64_waits` only.
# Budgets (2 cores): smoke < 1 min with the microbenchmarks, quick < 5 min, full < 45.
# Head-of-line (hol): while heavy requests keep the event loop busy, each light connection
# gets one answer per loop pass (heavy_conns x heavy_work_us), so light_rate stays at a
# quarter of light_conns / (heavy_conns x heavy_work_us): the case shows the stall, not a
# queue that an overloaded open loop would build.
PROFILES = {
    "smoke": {
        "conns": [1, 10, 100],
        "waits": [0, 1000],
        "stack64_waits": [0],
        "duration_s": 1.0,
        "warmup_s": 0.3,
        "repeats": 1,
        "bytes": 64,
        "hol": {"duration_s": 1.0, "warmup_s": 0.3, "light_conns": 4, "light_rate": 100,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 10, "requests": 200, "wait_us": 1000, "runs": 3},
    },
    "quick": {
        "conns": [1, 10, 100, 1000, 5000, 10000],
        "waits": [0, 1000, 10000],
        "stack64_waits": [0],
        "duration_s": 2.0,
        "warmup_s": 0.5,
        "repeats": 1,
        "bytes": 64,
        "hol": {"duration_s": 3.0, "warmup_s": 0.5, "light_conns": 10, "light_rate": 250,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 100, "requests": 5000, "wait_us": 1000, "runs": 5},
    },
    "full": {
        "conns": [1, 10, 100, 1000, 5000, 10000, 20000, 30000, 40000],
        "near_fd_limit": True,
        "waits": [0, 1000, 10000],
        "stack64_waits": [0, 10000],
        "duration_s": 5.0,
        "warmup_s": 1.0,
        "repeats": 3,
        "bytes": 64,
        "hol": {"duration_s": 10.0, "warmup_s": 1.0, "light_conns": 10, "light_rate": 250,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 1000, "requests": 50000, "wait_us": 1000, "runs": 10},
    },
}

# Top-level keys of a harness run JSON (issue 3); a stand-in file carries all of them.
RUN_KEYS = ["schema", "impl", "status", "failure", "params", "env", "client", "server",
            "derived", "samples"]

SERVER_READY_TIMEOUT_S = 10.0


def log(msg=""):
    print(msg, flush=True)


def fmt_dur(s):
    s = max(0, int(round(s)))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def write_json_atomic(path, doc):
    """Temp file in the same folder, fsync, rename: a reader never sees half a file."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cpus():
    """(server_cpu, client_cpu): the first two CPUs we may run on; one CPU -> both on it."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def help_text(argv):
    try:
        p = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=10)
        return p.stdout + p.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


def nofile_limit():
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 30


class Child:
    """A process we started, in its own process group so that a timeout or ^C stops it
    and everything it spawned (the harness's server), by its id."""

    live = set()  # every Child not yet reaped, stopped on ^C

    def __init__(self, argv, stdout, stderr, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=stdin,
                                     start_new_session=True)
        Child.live.add(self)

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
            Child.live.discard(self)
            return rc
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        Child.live.discard(self)
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass


class Server:
    """A server we start ourselves (head-of-line, hyperfine), pinned to one CPU."""

    def __init__(self, binary, cpu, extra, errlog):
        self.err = open(errlog, "w")
        argv = ["taskset", "-c", str(cpu), binary, "--host", "127.0.0.1", "--port", "0"] + extra
        self.child = Child(argv, subprocess.PIPE, self.err)
        self.target = self._wait_ready()

    def _wait_ready(self):
        """Reads `listening on HOST:PORT` (the protocol's ready line) or gives up."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.child.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        buf = b""
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.child.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb"listening on (\S+):(\d+)\n", buf)
            if m:
                return f"{m.group(1).decode()}:{m.group(2).decode()}"
        self.stop()
        raise RuntimeError(f"server {self.child.proc.args[3]} did not print 'listening on' "
                           f"within {SERVER_READY_TIMEOUT_S:.0f} s (stdout: {buf[:200]!r})")

    def stop(self):
        """SIGTERM (the server prints its counters and exits 0), SIGKILL if it hangs."""
        p = self.child.proc
        Child.live.discard(self.child)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
        if p.stdout:
            p.stdout.close()
        self.err.close()


class Sweep:
    def __init__(self, args):
        self.args = args
        self.prof = PROFILES[args.profile]
        self.out = args.out
        self.bin = args.bin
        self.harness = os.path.join(self.bin, "harness")
        self.server_cpu, self.client_cpu = cpus()
        self.run_help = help_text([self.harness, "run"])
        self.load_help = help_text([self.harness, "load"])
        self.server_help = {i: help_text([os.path.join(self.bin, f"{i}_server")])
                            for i in ("async", "thread")}
        self.walls = {}        # series key -> smallest conns that failed
        self.skipped = []      # points not run, and why
        self.phase_errors = []  # hol / hyperfine problems, for the failure table
        self.failures = []     # (index, label, reason) for the table at the end
        self.done_est = 0.0
        self.done_real = 0.0
        self.remaining_est = 0.0
        self.t0 = time.monotonic()
        for sub in ("raw", "hol", "hyperfine", "logs"):
            os.makedirs(os.path.join(self.out, sub), exist_ok=True)

    # ---- the plan -----------------------------------------------------------------
    def plan(self):
        """Points in run order: repeat outermost so that drift spreads over all points,
        then wait, then conns ascending (a wall found at N skips larger N of that series)."""
        p = self.prof
        designs = [("async", None), ("thread", None), ("thread", 64)]
        conns_axis = list(p["conns"])
        if p.get("near_fd_limit"):
            # Just under one process's RLIMIT_NOFILE (read now): the largest N a
            # single-process server and generator can both hold; the next point is past it.
            near = (nofile_limit() - 1000) // 1000 * 1000
            if conns_axis[0] < near < conns_axis[-1] and near not in conns_axis:
                conns_axis = sorted(conns_axis + [near])
        pts = []
        for rep in range(1, p["repeats"] + 1):
            for wait in p["waits"]:
                for conns in conns_axis:
                    for impl, stack in designs:
                        if stack == 64 and wait not in p["stack64_waits"]:
                            continue
                        pts.append({"impl": impl, "stack_kib": stack, "conns": conns,
                                    "wait_us": wait, "work_us": 0, "bytes": p["bytes"],
                                    "rep": rep})
        return pts

    def est_run_s(self, pt):
        """A guess for the ETA: warmup + duration + start/stop + the connection ramp."""
        return self.prof["warmup_s"] + self.prof["duration_s"] + 0.6 + pt["conns"] * 1.2e-4

    def eta(self, remaining_est):
        scale = self.done_real / self.done_est if self.done_est > 0 else 1.0
        return remaining_est * scale

    @staticmethod
    def label(pt):
        if pt["impl"] == "thread":
            return "thread" if pt["stack_kib"] is None else f"thread-{pt['stack_kib']}k"
        return pt["impl"]

    def series_key(self, pt):
        return (self.label(pt), pt["wait_us"], pt["work_us"], pt["bytes"])

    # ---- one harness run --------------------------------------------------------------
    def scale_flags(self, impl, conns):
        """(harness flags, server flags) for more connections than one process has fds:
        the servers' `--workers K` together with a generator that can pass the limit too
        (`harness run --procs K`); one without the other cannot help. Without both the
        point runs as it is, and its failure (the fd limit) is the data."""
        flags, server = [], []
        need = math.ceil(conns / max(1000, nofile_limit() - 1000))
        if (need > 1 and "--procs" in self.run_help
                and "--workers" in self.server_help.get(impl, "")):
            flags += ["--procs", str(need)]
            server += ["--workers", str(need)]
        return flags, server

    def step_done(self, res, real, est):
        """Ends a progress line: result, time taken, elapsed, ETA of what is left."""
        self.done_est += est
        self.done_real += real
        self.remaining_est -= est
        log(f"{res} ({real:.1f} s) | elapsed {fmt_dur(time.monotonic() - self.t0)}, "
            f"ETA {fmt_dur(self.eta(self.remaining_est))}")

    def hol_est_s(self):
        h = self.prof["hol"]
        return 2 * (h["warmup_s"] + h["duration_s"]) + 2.5

    def hf_est_s(self):
        hf = self.prof["hyperfine"]
        return 2 * (hf["runs"] + 1) * (0.1 + hf["requests"] / 20000) + 1

    def run_point(self, idx, total, pt):
        p = self.prof
        name = (f"{self.label(pt)}-c{pt['conns']}-w{pt['wait_us']}-u{pt['work_us']}"
                f"-r{pt['rep']}")
        out = os.path.join(self.out, "raw", name + ".json")
        desc = (f"{self.label(pt):<10} conns={pt['conns']:<6} wait={pt['wait_us']}us "
                f"rep {pt['rep']}/{p['repeats']}")
        head = f"[{idx:>3}/{total}] {desc}"
        wall = self.walls.get(self.series_key(pt))
        if wall is not None and pt["conns"] > wall:
            reason = f"skipped: this series failed at {wall} connections"
            self.skipped.append(dict(pt, reason=reason))
            self.remaining_est -= self.est_run_s(pt)
            log(f"{head} -> {reason}")
            return

        extra, server_extra = self.scale_flags(pt["impl"], pt["conns"])
        argv = [self.harness, "run", "--impl", pt["impl"],
                "--server-cpu", str(self.server_cpu), "--client-cpu", str(self.client_cpu),
                "--conns", str(pt["conns"]), "--duration", f"{p['duration_s']:g}",
                "--warmup", f"{p['warmup_s']:g}", "--wait-us", str(pt["wait_us"]),
                "--work-us", str(pt["work_us"]), "--bytes", str(pt["bytes"]),
                "--out", out] + extra
        if pt["stack_kib"] is not None:
            # the harness's own flag records the stack in params; else straight to the server
            if "--stack-kib" in self.run_help:
                argv += ["--stack-kib", str(pt["stack_kib"])]
            else:
                server_extra = server_extra + ["--stack-kib", str(pt["stack_kib"])]
        if server_extra:
            argv += ["--"] + server_extra
        print(f"{head} ... ", end="", flush=True)
        logbase = os.path.join(self.out, "logs", name)
        if os.path.exists(out):
            os.unlink(out)
        # Generous: a 40k-connection ramp and teardown takes tens of seconds.
        timeout = p["warmup_s"] + p["duration_s"] + 30 + pt["conns"] / 500
        t = time.monotonic()
        with open(logbase + ".out", "w") as so, open(logbase + ".err", "w") as se:
            so.write(" ".join(argv) + "\n")
            so.flush()
            child = Child(argv, so, se)
            rc = child.wait(timeout)
        real = time.monotonic() - t
        doc = self.load_or_stand_in(out, argv, rc, logbase + ".err", pt, timeout)
        ok = doc.get("status") == "ok"
        cl = doc.get("client") or {}
        errs = sum(v for v in (cl.get("errors") or {}).values() if isinstance(v, (int, float)))
        if ok:
            lat = (cl.get("latency_us") or {}).get("p99")
            res = f"ok {num(cl.get('rps'))} req/s p99 {us(lat)}"
            if errs:
                res += f", {int(errs)} errors"
                self.failures.append((idx, desc, f"{int(errs)} request errors "
                                      f"{json.dumps(cl.get('errors'))}"))
            if cl.get("saturated"):
                res += ", client saturated"
        else:
            reason = str(doc.get("failure") or "unknown")
            res = f"FAILED: {reason[:90]}"
            self.failures.append((idx, desc, reason))
            key = self.series_key(pt)
            self.walls[key] = min(self.walls.get(key, pt["conns"]), pt["conns"])
        self.step_done(res, real, self.est_run_s(pt))

    def load_or_stand_in(self, out, argv, rc, errlog, pt, timeout):
        """The harness's JSON if it wrote one; otherwise a stand-in with status failed
        and the reason, so that the point is still a row in summary.csv."""
        if os.path.exists(out):
            try:
                with open(out) as f:
                    return json.load(f)
            except (OSError, ValueError) as e:
                reason = f"harness wrote unreadable JSON ({e})"
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
        doc.update(schema="tvt-run-1", impl=pt["impl"], status="failed", failure=reason,
                   params={"conns": pt["conns"], "duration_s": self.prof["duration_s"],
                           "warmup_s": self.prof["warmup_s"], "wait_us": pt["wait_us"],
                           "work_us": pt["work_us"], "bytes": pt["bytes"], "mode": "closed",
                           "rate": None, "think_ms": None, "stack_kib": pt["stack_kib"],
                           "server_cpu": self.server_cpu, "client_cpu": self.client_cpu,
                           "threads": None},
                   samples=[], written_by="scripts/sweep.py (stand-in: the harness wrote none)",
                   argv=argv)
        write_json_atomic(out, doc)
        return doc

    # ---- head-of-line (C6) ------------------------------------------------------------
    def load_prefix(self):
        """`harness load` on the client CPU: its own --client-cpu, or taskset."""
        if "--client-cpu" in self.load_help:
            argv = [self.harness, "load", "--client-cpu", str(self.client_cpu)]
        else:
            argv = ["taskset", "-c", str(self.client_cpu), self.harness, "load"]
        return argv + (["--quiet"] if "--quiet" in self.load_help else [])

    def load_argv(self, target, conns, duration, warmup, work_us, out, rate=None):
        argv = self.load_prefix() + [
                "--target", target, "--conns", str(conns), "--duration", f"{duration:g}",
                "--warmup", f"{warmup:g}", "--wait-us", "0", "--work-us", str(work_us),
                "--bytes", str(self.prof["bytes"]), "--out", out]
        if rate:
            argv += ["--rate", str(rate)]
        return argv

    def run_load(self, argv, name, timeout):
        logbase = os.path.join(self.out, "logs", name)
        with open(logbase + ".out", "w") as so, open(logbase + ".err", "w") as se:
            so.write(" ".join(argv) + "\n")
            so.flush()
            return Child(argv, so, se).wait(timeout)

    def hol(self, first_idx, total):
        """Light requests (open loop at a fixed rate, so a stall counts from the intended
        send time) alone, then next to a few closed-loop connections that each burn
        heavy_work_us of CPU per request. One server per design on the server CPU."""
        h = self.prof["hol"]
        if "--out" not in self.load_help:
            self.phase_errors.append(("hol", "harness load has no --out FILE.json; "
                                      "head-of-line case not measured"))
            self.remaining_est -= 2 * self.hol_est_s()
            log("head-of-line: skipped (harness load has no --out)")
            return
        heavy_dur = h["warmup_s"] + h["duration_s"] + 1.0
        timeout = heavy_dur + 30
        for n, impl in enumerate(("async", "thread")):
            binary = os.path.join(self.bin, f"{impl}_server")
            t = time.monotonic()
            print(f"[{first_idx + n:>3}/{total}] head-of-line {impl:<6} light {h['light_conns']} conns at {h['light_rate']} req/s, "
                  f"alone and with {h['heavy_conns']} x {h['heavy_work_us']} us CPU ... ",
                  end="", flush=True)
            try:
                srv = Server(binary, self.server_cpu, [],
                             os.path.join(self.out, "logs", f"hol-{impl}-server.err"))
            except (OSError, RuntimeError) as e:
                self.phase_errors.append((f"hol {impl}", str(e)))
                self.step_done(f"FAILED: {e}", time.monotonic() - t, self.hol_est_s())
                continue
            try:
                res = []
                alone = os.path.join(self.out, "hol", f"{impl}-light-alone.json")
                rc = self.run_load(self.load_argv(srv.target, h["light_conns"], h["duration_s"],
                                                  h["warmup_s"], 0, alone, h["light_rate"]),
                                   f"hol-{impl}-light-alone", timeout)
                res.append(("alone", rc, alone))
                heavy = os.path.join(self.out, "hol", f"{impl}-heavy.json")
                light = os.path.join(self.out, "hol", f"{impl}-light-with-heavy.json")
                hv = Child(self.load_argv(srv.target, h["heavy_conns"], heavy_dur, 0,
                                          h["heavy_work_us"], heavy),
                           open(os.path.join(self.out, "logs", f"hol-{impl}-heavy.out"), "w"),
                           open(os.path.join(self.out, "logs", f"hol-{impl}-heavy.err"), "w"))
                time.sleep(0.3)  # heavy connections established and busy first
                rc = self.run_load(self.load_argv(srv.target, h["light_conns"], h["duration_s"],
                                                  h["warmup_s"], 0, light, h["light_rate"]),
                                   f"hol-{impl}-light-with-heavy", timeout)
                res.append(("with heavy", rc, light))
                res.append(("heavy", hv.wait(timeout), heavy))
            finally:
                srv.stop()
            bad = [f"{what}: rc={rc}" for what, rc, f in res if rc != 0 or not os.path.exists(f)]
            if bad:
                self.phase_errors.append((f"hol {impl}", "; ".join(bad)))
            self.step_done("FAILED " + "; ".join(bad) if bad else "ok",
                           time.monotonic() - t, self.hol_est_s())

    # ---- hyperfine: a fixed job per design ------------------------------------------------
    def hyperfine(self, idx, total):
        """M requests over N connections with a wait, as one command per design, timed
        whole by hyperfine against servers started once (their start-up is not timed)."""
        hf = self.prof["hyperfine"]
        if not shutil.which("hyperfine"):
            self.phase_errors.append(("hyperfine", "hyperfine not installed (scripts/deps.sh)"))
            self.remaining_est -= self.hf_est_s()
            log("hyperfine: not installed, skipped")
            return
        if "--requests" not in self.load_help:
            self.phase_errors.append(("hyperfine", "harness load has no --requests"))
            self.remaining_est -= self.hf_est_s()
            log("hyperfine: harness load has no --requests, skipped")
            return
        print(f"[{idx:>3}/{total}] hyperfine fixed job: {hf['requests']} requests over {hf['conns']} conns, "
              f"wait {hf['wait_us']} us, {hf['runs']} runs per design ... ", end="", flush=True)
        t = time.monotonic()
        servers = {}
        try:
            for impl in ("async", "thread"):
                servers[impl] = Server(os.path.join(self.bin, f"{impl}_server"),
                                       self.server_cpu, [],
                                       os.path.join(self.out, "logs", f"hf-{impl}-server.err"))
            out = os.path.join(self.out, "hyperfine", "fixed_job.json")
            tmp = out + f".tmp.{os.getpid()}"
            argv = ["hyperfine", "-N", "--style", "basic", "--warmup", "1",
                    "--runs", str(hf["runs"]), "--export-json", tmp]
            for impl, srv in servers.items():
                cmd = (" ".join(self.load_prefix()) + f" --target {srv.target}"
                       f" --conns {hf['conns']} --requests {hf['requests']} --warmup 0"
                       f" --wait-us {hf['wait_us']} --work-us 0 --bytes {self.prof['bytes']}")
                argv += ["-n", f"{impl}: {hf['requests']} req / {hf['conns']} conns, "
                         f"wait {hf['wait_us']} us", cmd]
            rc = self.run_load(argv, "hyperfine-fixed-job", 600)
            if rc == 0 and os.path.exists(tmp):
                os.replace(tmp, out)
                self.step_done("ok", time.monotonic() - t, self.hf_est_s())
            else:
                self.phase_errors.append(("hyperfine", f"hyperfine exited {rc}; see "
                                          "logs/hyperfine-fixed-job.err"))
                self.step_done(f"FAILED (rc={rc}, see logs/hyperfine-fixed-job.err)",
                               time.monotonic() - t, self.hf_est_s())
        except (OSError, RuntimeError) as e:
            self.phase_errors.append(("hyperfine", str(e)))
            self.step_done(f"FAILED: {e}", time.monotonic() - t, self.hf_est_s())
        finally:
            for srv in servers.values():
                srv.stop()
            for f in os.listdir(os.path.join(self.out, "hyperfine")):
                if ".tmp." in f:
                    os.unlink(os.path.join(self.out, "hyperfine", f))

    # ---- the whole thing -------------------------------------------------------------------
    def meta(self, pts, state):
        return {"profile": self.args.profile, "axes": self.prof, "state": state,
                "bin_dir": self.bin, "server_cpu": self.server_cpu,
                "client_cpu": self.client_cpu, "planned_runs": len(pts),
                "skipped": self.skipped,
                "phase_errors": [{"phase": a, "error": b} for a, b in self.phase_errors],
                "elapsed_s": round(time.monotonic() - self.t0, 1),
                "default_stack_kib": default_stack_kib(),
                "scale_flags_available": {"harness --procs": "--procs" in self.run_help,
                                          "servers --workers": all(
                                              "--workers" in h for h in self.server_help.values())}}

    def run(self):
        pts = self.plan()
        total = len(pts) + (0 if self.args.skip_hol else 2) + (0 if self.args.skip_hyperfine
                                                                 else 1)
        self.remaining_est = sum(self.est_run_s(pt) for pt in pts)
        if not self.args.skip_hol:
            self.remaining_est += 2 * self.hol_est_s()
        if not self.args.skip_hyperfine:
            self.remaining_est += self.hf_est_s()
        log(f"sweep: profile {self.args.profile}, {total} steps ({len(pts)} harness runs, "
            f"head-of-line, hyperfine), about {fmt_dur(self.remaining_est)}; "
            f"server on CPU {self.server_cpu}, "
            f"client on CPU {self.client_cpu}; results in {self.out}")
        meta_path = os.path.join(self.out, "sweep.json")
        write_json_atomic(meta_path, self.meta(pts, "running"))
        state = "interrupted"
        try:
            for i, pt in enumerate(pts):
                self.run_point(i + 1, total, pt)
            if not self.args.skip_hol:
                self.hol(len(pts) + 1, total)
            if not self.args.skip_hyperfine:
                self.hyperfine(total, total)
            state = "done"
        finally:
            write_json_atomic(meta_path, self.meta(pts, state))
            self.failure_table()
        return 0

    def failure_table(self):
        rows = [(str(i), d, r) for i, d, r in self.failures]
        skipped = {}
        for sp in self.skipped:
            key = (self.label(sp), sp["wait_us"], sp["reason"])
            skipped.setdefault(key, set()).add(sp["conns"])
        rows += [("-", f"{lab} wait={w}us conns={','.join(str(c) for c in sorted(cs))}", why)
                 for (lab, w, why), cs in skipped.items()]
        rows += [("-", a, b) for a, b in self.phase_errors]
        log(f"sweep: {fmt_dur(time.monotonic() - self.t0)} in all")
        if not rows:
            log("failures: none")
            return
        log(f"failures ({len(rows)}):")
        w = max(len(d) for _, d, _ in rows)
        log(f"  {'run':>4}  {'point':<{w}}  reason")
        for i, d, r in rows:
            log(f"  {i:>4}  {d:<{w}}  {r}")


def default_stack_kib():
    """The default pthread stack is RLIMIT_STACK's soft limit (glibc), when finite."""
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return None if soft == resource.RLIM_INFINITY else soft // 1024


def num(v):
    if not isinstance(v, (int, float)):
        return "?"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def us(v):
    if not isinstance(v, (int, float)):
        return "?"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} us"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", default=os.environ.get("TVT_BIN_DIR", "bin"))
    ap.add_argument("--skip-hol", action="store_true", help="leave out the head-of-line case")
    ap.add_argument("--skip-hyperfine", action="store_true", help="leave out hyperfine")
    args = ap.parse_args()
    harness = os.path.join(args.bin, "harness")
    if not os.access(harness, os.X_OK):
        print(f"sweep.py: {harness} not found or not executable; build it with `make` "
              f"(or point TVT_BIN_DIR at a build's bin/)", file=sys.stderr)
        return 1
    sw = Sweep(args)
    # SIGTERM (a test's timeout, a CI cancel) stops our children as ^C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return sw.run()
    except KeyboardInterrupt:
        for c in list(Child.live):
            c.kill()
        log(f"\nsweep: interrupted; partial results in {args.out} "
            f"(scripts/plots.sh {args.out} plots and reports them)")
        return 130


if __name__ == "__main__":
    sys.exit(main())
