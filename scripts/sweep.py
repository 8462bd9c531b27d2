#!/usr/bin/env python3
"""The sweep behind `make bench`: runs `harness run` over a profile's points (the two C
designs, and in the full profile the contestants and the scale runs), then the head-of-line
case (two `harness load` processes at once) and the hyperfine fixed job.

    scripts/sweep.py --profile smoke|quick|full --out DIR [--bin DIR] [--estimate]

Writes DIR/raw/*.json (one per run), DIR/scale/*.json (the machine during each scale run),
DIR/hol/*.json, DIR/hyperfine/fixed_job.json, DIR/logs/ and DIR/sweep.json (the plan, what
was skipped and why). Every file is written atomically. --estimate prints the plan's
expected seconds and exits. A point that fails is data: the harness writes its JSON with
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
import socket
import subprocess
import sys
import threading
import time

# Axes per profile. `conns` is the log axis of every sweep plot; the thread server's
# 64 KiB stack only changes memory, so it runs at the waits in `stack64_waits` only.
# Budgets (2 cores): smoke < 1 min with the microbenchmarks, quick < 5 min, full < 45.
# Head-of-line (hol): while heavy requests keep the event loop busy, each light connection
# gets one answer per loop pass (heavy_conns x heavy_work_us), so light_rate stays at a
# quarter of light_conns / (heavy_conns x heavy_work_us): the case shows the stall, not a
# queue that an overloaded open loop would build.
# contestants (full): every server `scripts/contestants.sh list` says is ready, at every
# grid point one process can hold (they have no --workers), `repeats` times; a server that
# answers fixed (nginx) at wait 0 only.
# scale (full): both C designs with `workers` processes each (and as many generator
# processes) at `conns`, closed loop with a think time, so that 100,000 connections offer
# a load one CPU can serve; `workers` = 0 picks enough for the largest point under the fd
# limit read at run time (8 at 20000 fds). The thread server stops at its wall and the
# larger points of its series are skipped. `timeout_ms` is generous: a request that waits
# in the queue of a saturated server is latency, one that is never answered is an error.
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
        # past one process's fd limit, the scale runs take over (with workers)
        "conns": [1, 10, 100, 1000, 5000, 10000],
        "near_fd_limit": True,
        "waits": [0, 1000, 10000],
        "stack64_waits": [0],
        "duration_s": 4.0,
        "warmup_s": 1.0,
        "repeats": 3,
        "bytes": 64,
        "contestants": {"repeats": 1},
        "scale": {"conns": [30000, 50000, 100000], "wait_us": 1000, "think_ms": 1000,
                  "duration_s": 30.0, "warmup_s": 5.0, "timeout_ms": 10000, "workers": 0,
                  "designs": ["async", "thread"]},
        "hol": {"duration_s": 10.0, "warmup_s": 1.0, "light_conns": 10, "light_rate": 250,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 1000, "requests": 50000, "wait_us": 1000, "runs": 10},
    },
}

# Seconds a run takes beyond warmup + duration: start, idle baseline, stop; and per
# connection, the ramp and the teardown. Measured on a 2-core VM shared with other work
# (0.4 s; 1.3e-4 s per connection for the async server and the contestants, 3-6e-4 for
# the thread server, which creates and ends a thread per connection), with some margin.
RUN_FIXED_S = 0.6
RUN_PER_CONN_S = {"async": 1.5e-4, "thread": 5e-4}

# The repository: contestants' commands are relative to it (bench.sh runs the sweep there).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Top-level keys of a harness run JSON; a stand-in file carries all of them.
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
    try:
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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


def port_range():
    """Ephemeral ports per source address (net.ipv4.ip_local_port_range), read now."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
        return max(1, hi - lo + 1)
    except (OSError, ValueError):
        return 28232


def source_ips_for(conns):
    """Source addresses (127.0.0.1..K) for conns connections to one port, or None for one.
    connect() tries the even half of the ephemeral range first; once an address has used
    it up, every further connect scans all of it (about 1 ms each with 14k ports), so each
    address keeps to 40% of the range."""
    k = math.ceil(conns / max(1.0, 0.4 * port_range()))
    return min(k, 254) if k > 1 else None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def list_contestants(bin_dir):
    """[{name, command, query}] that `scripts/contestants.sh list` says are ready: in the
    bench's bin folder first, then in bin/ (where `make contestants` puts them)."""
    found = {}
    script = os.path.join(ROOT, "scripts", "contestants.sh")
    if not os.access(script, os.X_OK):
        return []
    for where in dict.fromkeys([bin_dir, "bin"]):
        try:
            p = subprocess.run([script, "list", "--bin", where], capture_output=True,
                               text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        for line in p.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] not in found:
                found[parts[0]] = {"name": parts[0], "command": parts[1], "query": parts[2]}
    order = ["tokio-current", "tokio-multi", "go", "nginx"]
    return sorted(found.values(), key=lambda c: (order.index(c["name"]) if c["name"] in order
                                                 else len(order), c["name"]))


MEMINFO_KEYS = ("MemTotal", "MemAvailable", "KernelStack", "SUnreclaim", "PageTables",
                "Committed_AS")


def read_meminfo():
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k in MEMINFO_KEYS:
                    out[k.lower() + "_kib"] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return out


def read_tasks():
    """Every thread of every process on the machine: /proc/loadavg's 4th field."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        return None


class SysWatch(threading.Thread):
    """The machine during a scale run, every 100 ms, read from /proc without forking (at
    the thread wall there is no pid left to fork with): the task count, the memory at its
    peak. With probe (the thread server), once the machine is near a task limit it sends
    one request of its own: the thread server answers 503 with pthread_create's error when
    it cannot create a thread, which names the errno. Once it has that answer it waits a
    second more (the peak) and calls on_wall, which ends the run: the wall is found, and
    every other process on the machine needs its pids back."""

    def __init__(self, out_log, probe, on_wall=None):
        super().__init__(daemon=True)
        self.out_log, self.probe_on, self.on_wall = out_log, probe, on_wall
        self.wall_t = None
        self.stop_ev = threading.Event()
        self.t0 = time.monotonic()
        self.pid_max = read_int("/proc/sys/kernel/pid_max")
        self.threads_max = read_int("/proc/sys/kernel/threads-max")
        self.tasks_idle = read_tasks()
        self.mem_idle = read_meminfo()
        self.tasks_peak, self.peak_t, self.mem_peak = self.tasks_idle, 0.0, self.mem_idle
        self.target, self.probes = None, []

    def near_limit(self, tasks):
        return any(lim and tasks >= 0.97 * lim for lim in (self.pid_max, self.threads_max))

    def find_target(self):
        """The harness prints `IMPL HOST:PORT: N connections` once the server is up."""
        try:
            with open(self.out_log) as f:
                m = re.search(r"^\S+ (127\.\d+\.\d+\.\d+):(\d+): \d+ connections", f.read(),
                              re.M)
        except OSError:
            return None
        return (m.group(1), int(m.group(2))) if m else None

    def probe(self):
        """Connects and listens first: a refused connection gets its 503 at once and a
        plain close. (Had we sent a request, the server would close with it unread, which
        resets the connection and can destroy the 503 before we read it.) Silence means it
        got a thread: then a request, and its answer."""
        t = round(time.monotonic() - self.t0, 2)
        try:
            with socket.create_connection(self.target, timeout=3) as s:
                s.settimeout(1.0)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    data = b""
                    s.settimeout(3)
                    s.sendall(b"GET /?wait_us=0&work_us=0&bytes=1 HTTP/1.1\r\n"
                              b"Host: probe\r\nConnection: close\r\n\r\n")
                while len(data) < 8192:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            text = data.decode("utf-8", "replace")
            m = re.match(r"HTTP/1\.\d (\d+)", text)
            body = text.partition("\r\n\r\n")[2].strip()
            self.probes.append({"t_s": t, "status": int(m.group(1)) if m else None,
                                "body": body[:300]})
        except OSError as e:
            self.probes.append({"t_s": t, "status": None, "error": f"{type(e).__name__}: {e}"})

    def run(self):
        while not self.stop_ev.wait(0.1):
            tasks = read_tasks()
            if tasks is None:
                continue
            if tasks > (self.tasks_peak or 0):
                self.tasks_peak, self.peak_t = tasks, time.monotonic() - self.t0
                self.mem_peak = read_meminfo()
            if self.wall_t is not None:
                if self.on_wall and time.monotonic() - self.t0 > self.wall_t + 1.0:
                    self.on_wall()
                    self.on_wall = None
                continue
            if not self.probe_on:
                continue
            if any(p.get("status") == 503 for p in self.probes):
                self.wall_t = time.monotonic() - self.t0
                continue
            if len(self.probes) < 5 and self.near_limit(tasks):
                self.target = self.target or self.find_target()
                if self.target and (not self.probes or
                                    time.monotonic() - self.t0 - self.probes[-1]["t_s"] > 0.5):
                    self.probe()

    def finish(self):
        self.stop_ev.set()
        self.join(timeout=5)
        return {"pid_max": self.pid_max, "threads_max": self.threads_max,
                "tasks_before": self.tasks_idle, "tasks_peak": self.tasks_peak,
                "tasks_peak_t_s": round(self.peak_t, 2), "meminfo_before": self.mem_idle,
                "meminfo_at_peak": self.mem_peak, "probe_target": (
                    f"{self.target[0]}:{self.target[1]}" if self.target else None),
                "probes": self.probes,
                "stopped_at_wall_t_s": (None if self.wall_t is None or self.on_wall
                                        else round(self.wall_t + 1.0, 2)),
                "note": "system-wide: every process's threads; sampled every 100 ms"}


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
                # SIGKILL cannot be refused: wait as long as reaping takes (on an
                # overloaded machine it can exceed any fixed bound).
                self.proc.wait()
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
        self.contestants = list_contestants(self.bin) if self.prof.get("contestants") else []
        self.walls = {}        # series key -> (smallest conns that failed, its repeat)
        self.skipped = []      # points not run, and why
        self.phase_errors = []  # hol / hyperfine problems, for the failure table
        self.failures = []     # (index, label, reason) for the table at the end
        self.done_est = 0.0
        self.done_real = 0.0
        self.remaining_est = 0.0
        self.t0 = time.monotonic()
        if not args.estimate:
            for sub in ("raw", "hol", "hyperfine", "logs", "scale"):
                os.makedirs(os.path.join(self.out, sub), exist_ok=True)

    # ---- the plan -----------------------------------------------------------------
    def grid_conns(self):
        conns_axis = list(self.prof["conns"])
        if self.prof.get("near_fd_limit"):
            # Just under one process's RLIMIT_NOFILE (read now): the largest N a
            # single-process server and generator can both hold.
            near = (nofile_limit() - 1000) // 1000 * 1000
            if conns_axis[0] < near and near not in conns_axis:
                conns_axis = sorted(conns_axis + [near])
        return conns_axis

    def scale_workers(self):
        """Server workers (and generator processes) of the scale runs: the profile's, or
        enough for the largest point with every process at 65% of its fd limit (SO_REUSEPORT
        spreads connections by hash, not evenly, and each process needs fds of its own)."""
        sc = self.prof["scale"]
        if sc.get("workers"):
            return sc["workers"]
        return max(2, math.ceil(max(sc["conns"]) / (0.65 * nofile_limit())))

    def plan(self):
        """Points in run order: repeat outermost so that drift spreads over all points,
        then wait, then conns ascending (a wall found at N skips larger N of that series);
        the contestants next to the C designs at each point of their repeats; the scale runs
        last, each series ascending."""
        p = self.prof
        designs = [("async", None), ("thread", None), ("thread", 64)]
        single = nofile_limit() - 1000  # what one process can hold, with fds to spare
        base = {"work_us": 0, "bytes": p["bytes"], "think_ms": 0, "kind": "grid",
                "duration_s": p["duration_s"], "warmup_s": p["warmup_s"]}
        crep = (p.get("contestants") or {}).get("repeats", 0)
        only = self.args.only
        pts = []
        for rep in range(1, p["repeats"] + 1):
            for wait in p["waits"]:
                for conns in self.grid_conns():
                    for impl, stack in designs:
                        if stack == 64 and wait not in p["stack64_waits"] or "grid" not in only:
                            continue
                        pts.append(dict(base, impl=impl, stack_kib=stack, conns=conns,
                                        wait_us=wait, rep=rep))
                    if rep > crep or conns > single or "contestant" not in only:
                        continue
                    for c in self.contestants:
                        if c["query"] != "query" and wait != 0:
                            continue  # it answers fixed: wait 0 only
                        pts.append(dict(base, impl=c["name"], stack_kib=None, conns=conns,
                                        wait_us=wait, rep=rep, kind="contestant",
                                        command=c["command"], query=c["query"]))
        sc = p.get("scale")
        if sc and "scale" in self.args.only:
            w = self.scale_workers()
            for impl in sc["designs"]:
                for conns in sc["conns"]:
                    pts.append(dict(base, impl=impl, stack_kib=None, conns=conns,
                                    wait_us=sc["wait_us"], think_ms=sc["think_ms"], rep=1,
                                    kind="scale", duration_s=sc["duration_s"],
                                    warmup_s=sc["warmup_s"], timeout_ms=sc["timeout_ms"],
                                    workers=w))
        return pts

    def est_run_s(self, pt):
        """A guess for the ETA: warmup + duration + start/stop + the connection ramp and
        teardown (a contestant costs what the async server does)."""
        per = RUN_PER_CONN_S["thread" if pt["impl"] == "thread" else "async"]
        return pt["warmup_s"] + pt["duration_s"] + RUN_FIXED_S + pt["conns"] * per

    def estimate(self, pts):
        """Seconds for the plan. A thread scale point past pid_max stops at the wall (the
        ramp to it, a second, the teardown); the points after it are skipped."""
        est, walls = 0.0, set()
        pid_max = read_int("/proc/sys/kernel/pid_max") or 1 << 22
        for pt in pts:
            if pt["kind"] == "scale" and pt["impl"] == "thread" and pt["conns"] > pid_max:
                pt["est_s"] = (0.0 if pt["impl"] in walls else
                               RUN_FIXED_S + 2 * pid_max * RUN_PER_CONN_S["thread"])
                walls.add(pt["impl"])
            else:
                pt["est_s"] = self.est_run_s(pt)
            est += pt["est_s"]
        if not self.args.skip_hol:
            est += 2 * self.hol_est_s()
        if not self.args.skip_hyperfine:
            est += self.hf_est_s()
        return est

    def eta(self, remaining_est):
        scale = self.done_real / self.done_est if self.done_est > 0 else 1.0
        return remaining_est * scale

    @staticmethod
    def label(pt):
        if pt["impl"] == "thread" and pt["kind"] == "grid":
            return "thread" if pt["stack_kib"] is None else f"thread-{pt['stack_kib']}k"
        if pt["kind"] == "scale":
            return f"{pt['impl']}-workers{pt['workers']}"
        return pt["impl"]

    def series_key(self, pt):
        return (pt["kind"], self.label(pt), pt["wait_us"], pt["work_us"], pt["bytes"])

    # ---- one harness run --------------------------------------------------------------
    def scale_flags(self, impl, conns):
        """(harness flags, server flags) for more connections than one process has fds:
        the servers' `--workers K` together with a generator that can pass the limit too
        (`harness run --procs K`); one without the other cannot help. Without both the
        point runs as it is, and its failure (the fd limit) is the data."""
        need = math.ceil(conns / max(1000, nofile_limit() - 1000))
        return self.worker_flags(impl, need) if need > 1 else ([], [])

    def worker_flags(self, impl, n):
        flags, server = [], []
        if "--procs" in self.run_help and "--workers" in self.server_help.get(impl, ""):
            flags += ["--procs", str(n)]
            if "--workers" in self.run_help:
                flags += ["--workers", str(n)]  # the harness records it in params
            else:
                server += ["--workers", str(n)]
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

    def run_name(self, pt):
        name = (f"{self.label(pt)}-c{pt['conns']}-w{pt['wait_us']}-u{pt['work_us']}"
                f"-r{pt['rep']}")
        return f"scale-{name}" if pt["kind"] == "scale" else name

    def argv_for(self, pt, out):
        """The harness command of a point, and the nginx-style run folder it needs (or
        None)."""
        argv = [self.harness, "run"]
        rundir = None
        if pt["kind"] == "contestant":
            cmd = pt["command"]
            if "{dir}" in cmd:
                rundir = os.path.join(self.out, "logs", self.run_name(pt) + ".server")
                shutil.rmtree(rundir, ignore_errors=True)
                os.makedirs(rundir)
                cmd = cmd.replace("{dir}", rundir)
            cmd = cmd.replace("{bytes}", str(pt["bytes"]))
            if "{port}" in cmd:
                port = subprocess.run([os.path.join(ROOT, "contestants/nginx/nginx.sh"), "port"],
                                      capture_output=True, text=True, timeout=30).stdout.strip()
                if not port.isdigit():
                    raise RuntimeError("contestants/nginx/nginx.sh port found no free port")
                cmd = cmd.replace("{port}", port)
                argv += ["--target", f"127.0.0.1:{port}"]
            argv += ["--server-cmd", cmd, "--name", pt["impl"]]
        else:
            argv += ["--impl", pt["impl"]]
        argv += ["--server-cpu", str(self.server_cpu), "--client-cpu", str(self.client_cpu),
                 "--conns", str(pt["conns"]), "--duration", f"{pt['duration_s']:g}",
                 "--warmup", f"{pt['warmup_s']:g}", "--wait-us", str(pt["wait_us"]),
                 "--work-us", str(pt["work_us"]), "--bytes", str(pt["bytes"]), "--out", out]
        server_extra = []
        if pt["kind"] == "scale":
            argv += ["--think-ms", f"{pt['think_ms']:g}", "--timeout-ms", str(pt["timeout_ms"])]
            extra, server_extra = self.worker_flags(pt["impl"], pt["workers"])
        elif pt["kind"] == "grid":
            extra, server_extra = self.scale_flags(pt["impl"], pt["conns"])
        else:
            extra = []
        argv += extra
        ips = source_ips_for(pt["conns"])
        if ips and "--source-ips" in self.run_help:
            argv += ["--source-ips", str(ips)]
        if pt["stack_kib"] is not None:
            # the harness's own flag records the stack in params; else straight to the server
            if "--stack-kib" in self.run_help:
                argv += ["--stack-kib", str(pt["stack_kib"])]
            else:
                server_extra = server_extra + ["--stack-kib", str(pt["stack_kib"])]
        if server_extra:
            argv += ["--"] + server_extra
        return argv, rundir

    def run_point(self, idx, total, pt):
        name = self.run_name(pt)
        out = os.path.join(self.out, "raw", name + ".json")
        reps = (self.prof["repeats"] if pt["kind"] == "grid" else
                (self.prof.get("contestants") or {}).get("repeats", 1)
                if pt["kind"] == "contestant" else 1)
        desc = (f"{self.label(pt):<13} conns={pt['conns']:<6} wait={pt['wait_us']}us "
                + (f"think={pt['think_ms']:g}ms " if pt["think_ms"] else "")
                + f"rep {pt['rep']}/{reps}")
        head = f"[{idx:>3}/{total}] {desc}"
        wall = self.walls.get(self.series_key(pt))
        # A series that failed at N skips larger N, and the same N in later repeats: a
        # wall (thread creation refused, fds) is a limit, not noise, and hitting it again
        # would take every free pid of the machine again.
        if wall is not None and (pt["conns"] > wall[0] or
                                 (pt["conns"] == wall[0] and pt["rep"] > wall[1])):
            reason = f"skipped: this series failed at {wall[0]} connections"
            self.skipped.append(dict(pt, reason=reason))
            self.remaining_est -= pt.get("est_s", self.est_run_s(pt))
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
        ok = doc.get("status") == "ok"
        cl = doc.get("client") or {}
        errs = sum(v for v in (cl.get("errors") or {}).values() if isinstance(v, (int, float)))
        refused = (((doc.get("server") or {}).get("counters") or {})
                   .get("thread_create_failed") or 0)
        key = self.series_key(pt)
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
        if refused:
            # The harness counts errors in the measured window only; the server's counters
            # see the connections it could not give a thread, whenever that happened.
            peak = (doc.get("server") or {}).get("threads_peak")
            res += f"; WALL: {refused} thread creations refused ({peak} threads at peak)"
            self.failures.append((idx, desc, f"the server could not create a thread "
                                  f"{refused} times (answered 503); {peak} threads at peak"))
        if not ok or refused:
            if key not in self.walls or pt["conns"] < self.walls[key][0]:
                self.walls[key] = (pt["conns"], pt["rep"])
        self.step_done(res, real, pt.get("est_s", self.est_run_s(pt)))

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
                   params={"conns": pt["conns"], "duration_s": pt["duration_s"],
                           "warmup_s": pt["warmup_s"], "wait_us": pt["wait_us"],
                           "work_us": pt["work_us"], "bytes": pt["bytes"], "mode": "closed",
                           "rate": None, "think_ms": pt["think_ms"],
                           "stack_kib": pt["stack_kib"], "workers": pt.get("workers"),
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
                "grid_conns": self.grid_conns(),
                "contestants": self.contestants,
                "scale_workers": self.scale_workers() if self.prof.get("scale") else None,
                "port_range": port_range(), "nofile_limit": nofile_limit(),
                "skipped": self.skipped,
                "phase_errors": [{"phase": a, "error": b} for a, b in self.phase_errors],
                "estimated_s": round(self.estimate(pts)),
                "elapsed_s": round(time.monotonic() - self.t0, 1),
                "default_stack_kib": default_stack_kib(),
                "scale_flags_available": {"harness --procs": "--procs" in self.run_help,
                                          "servers --workers": all(
                                              "--workers" in h for h in self.server_help.values())}}

    def run(self):
        pts = self.plan()
        if self.args.estimate:
            print(round(self.estimate(pts)))
            return 0
        total = len(pts) + (0 if self.args.skip_hol else 2) + (0 if self.args.skip_hyperfine
                                                                 else 1)
        self.remaining_est = self.estimate(pts)
        kinds = {k: sum(1 for pt in pts if pt["kind"] == k) for k in ("grid", "contestant",
                                                                       "scale")}
        extra = "".join(f", {x}" for x, skip in (("head-of-line", self.args.skip_hol),
                                                  ("hyperfine", self.args.skip_hyperfine))
                        if not skip)
        log(f"sweep: profile {self.args.profile}, {total} steps ({kinds['grid']} runs of the "
            f"C designs, {kinds['contestant']} of contestants, {kinds['scale']} scale runs"
            f"{extra}), about {fmt_dur(self.remaining_est)}; "
            f"server on CPU {self.server_cpu}, "
            f"client on CPU {self.client_cpu}; results in {self.out}")
        if self.prof.get("contestants"):
            log("sweep: contestants: " + (", ".join(c["name"] for c in self.contestants) or
                                          "none ready (make contestants builds them)"))
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
    ap.add_argument("--only", default="grid,contestant,scale",
                    help="comma-separated parts of the profile to run: grid (the C designs), "
                         "contestant, scale (default: all the profile has)")
    ap.add_argument("--estimate", action="store_true",
                    help="print the plan's expected seconds and exit")
    args = ap.parse_args()
    args.only = set(x.strip() for x in args.only.split(",") if x.strip())
    if not args.only <= {"grid", "contestant", "scale"}:
        ap.error(f"--only: parts are grid, contestant and scale, not {','.join(args.only)}")
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
