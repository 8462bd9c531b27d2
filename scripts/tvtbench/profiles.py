"""The sweep's plan: its profiles, and the points a profile makes on a machine. Pure: the
machine comes in as `facts` (fd limit, ephemeral ports, pid_max, the contestants that are
built), so tests can make machines up."""

import math

# Axes per profile. `conns` is the log axis of every sweep plot; the thread server's
# 64 KiB stack only changes memory, so it runs at the waits in `stack64_waits` only.
# Budgets (2 cores): smoke < 1 min with the microbenchmarks, quick < 5 min, full < 45.
# Head-of-line (hol): while heavy requests keep the event loop busy, each light connection
# gets one answer per loop pass (heavy_conns x heavy_work_us), so light_rate stays at a
# quarter of light_conns / (heavy_conns x heavy_work_us): the case shows the stall, not a
# queue that an overloaded open loop would build.
# contestants (full): every server `scripts/contestants.sh list` says is ready, at every
# grid point one process can hold, `repeats` times; a server that answers fixed (nginx) at
# wait 0 only.
# scale (full): both C designs with `workers` processes each (and as many generator
# processes) at `conns`, closed loop with a think time chosen at run time: the
# connections offer at most `offer` of the capacity the design measured at the largest
# grid N at that wait (think_ms is the fallback when the grid has no such point);
# `workers` = 0 picks enough for the largest point under the fd limit read at run time
# (8 at 20000 fds). The thread server stops at its wall and the larger points of its
# series are skipped. `timeout_ms` is generous: a request that waits in the queue of a
# saturated server is latency, one that is never answered is an error.
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
                  "offer": 0.5, "duration_s": 30.0, "warmup_s": 5.0, "timeout_ms": 10000,
                  "workers": 0, "designs": ["async", "thread"]},
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
CONTESTANT_ORDER = ["tokio-current", "tokio-multi", "rust-threads", "go", "nginx"]


def grid_conns(prof, nofile):
    """The conns axis; with near_fd_limit, plus the largest N one process can hold."""
    axis = list(prof["conns"])
    if prof.get("near_fd_limit"):
        near = (nofile - 1000) // 1000 * 1000
        if axis[0] < near and near not in axis:
            axis = sorted(axis + [near])
    return axis


def scale_workers(prof, nofile):
    """Server workers (and generator processes) of the scale runs: the profile's, or
    enough for the largest point with every process at 65% of its fd limit (SO_REUSEPORT
    spreads connections by hash, not evenly, and each process needs fds of its own)."""
    sc = prof["scale"]
    if sc.get("workers"):
        return sc["workers"]
    return max(2, math.ceil(max(sc["conns"]) / (0.65 * nofile)))


def label(pt):
    if pt["kind"] == "scale":
        return f"{pt['impl']}-workers{pt['workers']}"
    return pt.get("label") or pt["impl"]


def run_name(pt):
    name = f"{label(pt)}-c{pt['conns']}-w{pt['wait_us']}-u{pt['work_us']}-r{pt['rep']}"
    return f"scale-{name}" if pt["kind"] == "scale" else name


def series_key(pt):
    return (pt["kind"], label(pt), pt.get("io", "timer"), pt["wait_us"], pt["work_us"],
            pt["bytes"])


def plan(profile, facts, contestants=(), only=("grid", "contestant", "scale")):
    """Points in run order: repeat outermost so that drift spreads over all points, then
    wait, then conns ascending (a wall found at N skips larger N of that series); the
    contestants next to the C designs at each point of their repeats; the scale runs last,
    each series ascending. facts: {"nofile": soft RLIMIT_NOFILE}."""
    p = PROFILES[profile]
    designs = [("async", None, "async"), ("thread", None, "thread"),
               ("thread", 64, "thread-64k")]
    single = facts["nofile"] - 1000  # what one process can hold, with fds to spare
    base = {"work_us": 0, "bytes": p["bytes"], "think_ms": 0, "kind": "grid",
            "duration_s": p["duration_s"], "warmup_s": p["warmup_s"], "io": "timer"}
    crep = (p.get("contestants") or {}).get("repeats", 0)
    cont = sorted(contestants, key=lambda c: (CONTESTANT_ORDER.index(c["name"])
                                              if c["name"] in CONTESTANT_ORDER else 99,
                                              c["name"]))
    pts = []
    for rep in range(1, p["repeats"] + 1):
        for wait in p["waits"]:
            for conns in grid_conns(p, facts["nofile"]):
                for impl, stack, lab in designs:
                    if stack == 64 and wait not in p["stack64_waits"] or "grid" not in only:
                        continue
                    pts.append(dict(base, impl=impl, stack_kib=stack, conns=conns,
                                    wait_us=wait, rep=rep, label=lab))
                if rep > crep or conns > single or "contestant" not in only:
                    continue
                for c in cont:
                    if c["query"] != "query" and wait != 0:
                        continue  # it answers fixed: wait 0 only
                    pts.append(dict(base, impl=c["name"], label=c["name"], stack_kib=None,
                                    conns=conns, wait_us=wait, rep=rep, kind="contestant",
                                    command=c["command"], query=c["query"]))
    sc = p.get("scale")
    if sc and "scale" in only:
        w = scale_workers(p, facts["nofile"])
        for impl in sc["designs"]:
            for conns in sc["conns"]:
                pts.append(dict(base, impl=impl, label=impl, stack_kib=None, conns=conns,
                                wait_us=sc["wait_us"], think_ms=sc["think_ms"], rep=1,
                                kind="scale", duration_s=sc["duration_s"],
                                warmup_s=sc["warmup_s"], timeout_ms=sc["timeout_ms"],
                                workers=w, offer=sc.get("offer", 0.5)))
    return pts


def est_run_s(pt):
    """A guess for the ETA: warmup + duration + start/stop + the connection ramp and
    teardown (a contestant costs what the async server does)."""
    per = RUN_PER_CONN_S["thread" if pt["impl"] == "thread" else "async"]
    return pt["warmup_s"] + pt["duration_s"] + RUN_FIXED_S + pt["conns"] * per


def think_for(conns, wait_us, capacity_rps, offer):
    """The think time (ms) at which conns connections offer `offer` × capacity_rps: each
    asks once per think + wait, so offered = conns ÷ (think + wait)."""
    if not capacity_rps or capacity_rps <= 0:
        return None
    return max(0.0, (conns / (offer * capacity_rps) - wait_us / 1e6) * 1000)


def estimate(pts, profile, pid_max, skip_hol=False, skip_hyperfine=False):
    """Seconds for the plan. A thread scale point past pid_max stops at the wall (the
    ramp to it, a second, the teardown); the points after it are skipped."""
    est, walls = 0.0, set()
    for pt in pts:
        if pt["kind"] == "scale" and pt["impl"] == "thread" and pt["conns"] > pid_max:
            pt["est_s"] = (0.0 if pt["impl"] in walls else
                           RUN_FIXED_S + 2 * pid_max * RUN_PER_CONN_S["thread"])
            walls.add(pt["impl"])
        else:
            pt["est_s"] = est_run_s(pt)
        est += pt["est_s"]
    if not skip_hol:
        est += 2 * hol_est_s(PROFILES[profile])
    if not skip_hyperfine:
        est += hf_est_s(PROFILES[profile])
    return est


def hol_est_s(prof):
    h = prof["hol"]
    return 2 * (h["warmup_s"] + h["duration_s"]) + 2.5


def hf_est_s(prof):
    hf = prof["hyperfine"]
    return 2 * (hf["runs"] + 1) * (0.1 + hf["requests"] / 20000) + 1
