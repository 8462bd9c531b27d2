"""The sweep's plan: its profiles, and the points a profile makes on a machine. Pure: the
machine comes in as `facts` (fd limit, the series that can run there, the contestants that
are built), so tests can make machines up.

A point is a dict: kind (grid | contestant | capacity | cores | scale), label (the series'
name in the results), impl (the server: async, thread, uring, or a contestant's name), io
(timer | net | file), conns, wait_us, rep, and how to run it: server_args (after `--`),
stack_kib, command/query (a contestant), workers, think and timeout (scale)."""

import math

# How each C series runs: (impl, server args); the file-mode series read files only.
SERIES = {
    "async": ("async", []),
    "async-lean": ("async", ["--buffers", "lean"]),
    "uring": ("uring", []),
    "thread": ("thread", []),
    "thread-64k": ("thread", []),  # --stack-kib 64 through the harness
    "async-loop": ("async", ["--file-io", "loop"]),
    "async-pool": ("async", ["--file-io", "pool"]),
    "async-uring": ("async", ["--file-io", "uring"]),
}
STACK_KIB = {"thread-64k": 64}

# Budgets (2 cores): smoke < 1 min with the microbenchmarks (make test runs it), quick
# < 5 min all included, full < 90 min. Quick answers every claim at its deciding points
# (C1: N >= 100 at wait 0; C2, C4: up to 10000 at each wait; C3: a capacity curve at 1000
# conns, wait 1 ms; C3 per kind and C8: 100 and 1000 conns); grids belong to full.
# grid: series -> (conns, waits) over which the C designs run; kinds: the network and file
# waits; capacity: open-loop curves at (conns, wait) points; cores: the K sweep at one
# point (K = 1, 2, 4, ... up to half the machine); rust: the Rust pair on the same grid
# points when both are built; contestants (full): every built runtime at every grid point
# one process holds; scale (full): many processes, think time chosen at run time.
# Head-of-line (hol): while heavy requests keep an event loop busy, each light connection
# gets one answer per loop pass (heavy_conns x heavy_work_us), so light_rate stays at a
# quarter of light_conns / (heavy_conns x heavy_work_us): the case shows the stall, not a
# queue an overloaded open loop would build.
PROFILES = {
    "smoke": {
        "grid": {"conns": [1, 100], "waits": [0, 1000],
                 "series": {"async": None, "thread": None, "uring": None,
                            "thread-64k": [0], "async-lean": [0]},
                 "only_conns": {"thread-64k": [100], "async-lean": [100]}},
        "kinds": {"net": {"conns": [10], "waits": [1000], "series": ["async", "thread"]},
                  "file": {"conns": [10], "waits": [0],
                           "series": ["async-uring", "thread"], "file_kib": 4}},
        "data_size_mib": 16,
        "capacity": {"points": [[10, 1000]], "series": ["async", "thread"], "steps": 8,
                     "step_min_s": 0.15, "step_min_requests": 500},
        "duration_s": 0.5,
        "warmup_s": 0.2,
        "repeats": 1,
        "bytes": 64,
        "hol": {"duration_s": 0.6, "warmup_s": 0.2, "light_conns": 4, "light_rate": 100,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 10, "requests": 200, "wait_us": 1000, "runs": 3},
    },
    "quick": {
        "grid": {"conns": [1, 100, 1000, 10000], "waits": [0, 1000],
                 "series": {"async": None, "thread": None, "uring": None,
                            "thread-64k": [0], "async-lean": [0]},
                 "only_conns": {"thread-64k": [100, 1000, 10000],
                                "async-lean": [100, 1000, 10000]}},
        "kinds": {"net": {"conns": [100, 1000], "waits": [1000],
                          "series": ["async", "uring", "thread"]},
                  "file": {"conns": [100, 1000], "waits": [0],
                           "series": ["async-loop", "async-pool", "async-uring", "uring",
                                      "thread"], "file_kib": 4}},
        "data_size_mib": 1024,
        "capacity": {"points": [[1000, 1000]], "series": ["async", "uring", "thread"],
                     "steps": 8, "step_min_s": 0.4},
        "rust": {"conns": [100, 1000], "waits": [0, 1000],
                 "series": ["tokio-multi", "rust-threads"]},
        "duration_s": 1.5,
        "warmup_s": 0.4,
        "repeats": 1,
        "bytes": 64,
        "hol": {"duration_s": 2.0, "warmup_s": 0.3, "light_conns": 10, "light_rate": 250,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 100, "requests": 5000, "wait_us": 1000, "runs": 3},
    },
    "full": {
        "grid": {"conns": [1, 10, 100, 1000, 5000, 10000], "waits": [0, 1000, 10000],
                 "series": {"async": None, "thread": None, "uring": None,
                            "thread-64k": [0], "async-lean": [0, 1000]}},
        # past one process's fd limit the scale runs take over (with workers)
        "near_fd_limit": True,
        "kinds": {"net": {"conns": [1, 100, 1000, 10000], "waits": [1000],
                          "series": ["async", "uring", "thread"]},
                  "file": {"conns": [1, 100, 1000, 10000], "waits": [0],
                           "series": ["async-loop", "async-pool", "async-uring", "uring",
                                      "thread"], "file_kib": 4}},
        "data_size_mib": 1024,
        "capacity": {"points": [[1000, 0], [1000, 1000], [10000, 1000]],
                     "series": ["async", "async-lean", "uring", "thread"], "steps": 10,
                     "step_min_s": 0.5, "contestants": True},
        "cores": {"conns": 1000, "wait_us": 1000,
                  "series": ["async", "uring", "thread"], "contestants": True},
        "duration_s": 2.5,
        "warmup_s": 0.5,
        "repeats": 3,
        "bytes": 64,
        "contestants": {"repeats": 1},
        "scale": {"conns": [30000, 50000, 100000], "wait_us": 1000, "think_ms": 1000,
                  "offer": 0.5, "duration_s": 30.0, "warmup_s": 5.0, "timeout_ms": 10000,
                  "workers": 0, "designs": ["async", "thread"]},
        "hol": {"duration_s": 10.0, "warmup_s": 1.0, "light_conns": 10, "light_rate": 250,
                "heavy_conns": 2, "heavy_work_us": 5000},
        "hyperfine": {"conns": 1000, "requests": 20000, "wait_us": 1000, "runs": 5},
    },
}

# Seconds a run takes beyond warmup + duration: start, idle baseline, stop; and per
# connection, the ramp and the teardown. Measured on a 2-core VM shared with other work
# (0.4 s; 1.3e-4 s per connection for the async server and the contestants, 3-6e-4 for
# the thread server, which creates and ends a thread per connection), with some margin.
RUN_FIXED_S = 0.6
RUN_PER_CONN_S = {"async": 1.5e-4, "thread": 5e-4}
CONTESTANT_ORDER = ["tokio-current", "tokio-multi", "rust-threads", "go", "nginx"]
RUST_PAIR = ("tokio-multi", "rust-threads")


def grid_conns(prof, nofile):
    """The conns axis; with near_fd_limit, plus the largest N one process can hold."""
    axis = list(prof["grid"]["conns"])
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


def cores_axis(ncpus):
    """K = 1, 2, 4, ... up to half the machine (at least 1)."""
    top, ks, k = max(1, ncpus // 2), [], 1
    while k <= top:
        ks.append(k)
        k *= 2
    return ks


def label(pt):
    if pt["kind"] == "scale":
        return f"{pt['impl']}-workers{pt['workers']}"
    return pt.get("label") or pt["impl"]


def run_name(pt):
    io = "" if pt.get("io", "timer") == "timer" else f"-{pt['io']}"
    base = f"{label(pt)}{io}-c{pt['conns']}-w{pt['wait_us']}-u{pt['work_us']}-r{pt['rep']}"
    prefix = {"scale": "scale-", "capacity": "cap-", "cores": f"cores-k{pt.get('k')}-"}
    return prefix.get(pt["kind"], "") + base


def series_key(pt):
    return (pt["kind"], label(pt), pt.get("io", "timer"), pt["wait_us"], pt["work_us"],
            pt["bytes"], pt.get("k"))


def _series_point(base, name, **kw):
    impl, args = SERIES[name]
    return dict(base, impl=impl, label=name, server_args=list(args),
                stack_kib=STACK_KIB.get(name), **kw)


def _contestant_point(base, c, **kw):
    return dict(base, impl=c["name"], label=c["name"], stack_kib=None, server_args=[],
                kind="contestant", command=c["command"], query=c["query"], **kw)


PARTS = ("grid", "kinds", "capacity", "cores", "contestant", "scale")


def plan(profile, facts, contestants=(), only=PARTS):
    """Points in run order: repeat outermost so that drift spreads over all points, then
    wait, then conns ascending (a wall found at N skips larger N of that series); the wait
    kinds, the capacity curves, the K sweep; the scale runs last. only: the PARTS to
    plan (the contestants join the grid, kinds, capacity and cores that are). facts: {"nofile": soft
    RLIMIT_NOFILE, "ncpus": CPUs this process may use, "skip": {series: why}}."""
    p = PROFILES[profile]
    skip = facts.get("skip") or {}
    single = facts["nofile"] - 1000  # what one process can hold, with fds to spare
    base = {"work_us": 0, "bytes": p["bytes"], "think_ms": 0, "kind": "grid",
            "duration_s": p["duration_s"], "warmup_s": p["warmup_s"], "io": "timer"}
    crep = (p.get("contestants") or {}).get("repeats", 0)
    cont = sorted(contestants, key=lambda c: (CONTESTANT_ORDER.index(c["name"])
                                              if c["name"] in CONTESTANT_ORDER else 99,
                                              c["name"]))
    rust = [c for c in cont if c["name"] in (p.get("rust") or {}).get("series", [])]
    if len(rust) < 2:
        rust = []  # the pair or nothing: one side alone decides no verdict
    g = p["grid"]
    pts = []
    for rep in range(1, p["repeats"] + 1):
        for wait in g["waits"]:
            for conns in grid_conns(p, facts["nofile"]):
                if "grid" in only:
                    for name, waits in g["series"].items():
                        if name in skip or (waits is not None and wait not in waits):
                            continue
                        oc = (g.get("only_conns") or {}).get(name)
                        if oc is not None and conns not in oc:
                            continue
                        pts.append(_series_point(base, name, conns=conns, wait_us=wait,
                                                 rep=rep))
                if "contestant" not in only or conns > single:
                    continue
                r = p.get("rust") or {}
                for c in cont:
                    full = rep <= crep
                    pair = c in rust and rep == 1 and conns in r.get("conns", []) and \
                        wait in r.get("waits", [])
                    if not (full or pair) or (c["query"] != "query" and wait != 0):
                        continue  # a server that answers fixed (nginx): wait 0 only
                    pts.append(_contestant_point(base, c, conns=conns, wait_us=wait, rep=rep))
    others = cont if "contestant" in only else []
    if "kinds" in only:
        pts += kind_points(p, base, skip, others, rust, single)
    if "capacity" in only:
        pts += capacity_points(p, base, skip, others)
    if "cores" in only:
        pts += cores_points(p, base, skip, others, facts.get("ncpus", 1))
    sc = p.get("scale")
    if sc and "scale" in only:
        w = scale_workers(p, facts["nofile"])
        for impl in sc["designs"]:
            for conns in sc["conns"]:
                pts.append(dict(base, impl=impl, label=impl, stack_kib=None, server_args=[],
                                conns=conns, wait_us=sc["wait_us"], think_ms=sc["think_ms"],
                                rep=1, kind="scale", duration_s=sc["duration_s"],
                                warmup_s=sc["warmup_s"], timeout_ms=sc["timeout_ms"],
                                workers=w, offer=sc.get("offer", 0.5)))
    return pts


def fds_per_conn(io):
    """File descriptors a server process holds per connection: with io=net a backend
    connection beside each client's."""
    return 2 if io == "net" else 1


def kind_points(p, base, skip, cont, rust, single):
    """The network and file waits: the C series of each kind, the contestants too in full
    (they speak the kinds), the Rust pair in quick."""
    pts = []
    for io, k in (p.get("kinds") or {}).items():
        for rep in range(1, p["repeats"] + 1):
            for wait in k["waits"]:
                for conns in k["conns"]:
                    for name in k["series"]:
                        if name in skip:
                            continue
                        pts.append(_series_point(base, name, io=io, conns=conns,
                                                 wait_us=wait, rep=rep,
                                                 file_kib=k.get("file_kib")))
                    # a contestant is one process: the points it can hold with its fds
                    for c in cont if conns * fds_per_conn(io) <= single else []:
                        full = rep <= (p.get("contestants") or {}).get("repeats", 0)
                        if c["query"] == "query" and (full or (c in rust and rep == 1)):
                            pts.append(_contestant_point(base, c, io=io, conns=conns,
                                                         wait_us=wait, rep=rep,
                                                         file_kib=k.get("file_kib")))
    return pts


def capacity_points(p, base, skip, cont):
    cap = p.get("capacity")
    if not cap:
        return []
    pts = []
    for rep in range(1, p["repeats"] + 1):
        for conns, wait in cap["points"]:
            for name in cap["series"]:
                if name not in skip:
                    pts.append(_series_point(base, name, kind="capacity", conns=conns,
                                             wait_us=wait, rep=rep, steps=cap["steps"],
                                             step_min_s=cap["step_min_s"],
                                             step_min_requests=cap.get("step_min_requests")))
            if rep == 1 and cap.get("contestants"):
                for c in cont:
                    if c["query"] == "query" or wait == 0:
                        pts.append(dict(_contestant_point(base, c, conns=conns, wait_us=wait,
                                                          rep=rep), kind="capacity",
                                        steps=cap["steps"], step_min_s=cap["step_min_s"],
                                        step_min_requests=cap.get("step_min_requests")))
    return pts


def cores_points(p, base, skip, cont, ncpus):
    co = p.get("cores")
    if not co:
        return []
    pts = []
    for k in cores_axis(ncpus):
        for name in co["series"]:
            if name not in skip:
                pts.append(_series_point(base, name, kind="cores", k=k, conns=co["conns"],
                                         wait_us=co["wait_us"], rep=1))
        for c in cont if co.get("contestants") else []:
            if c["query"] == "query":
                pts.append(dict(_contestant_point(base, c, conns=co["conns"],
                                                  wait_us=co["wait_us"], rep=1),
                                kind="cores", k=k))
    return pts


def est_run_s(pt):
    """A guess for the ETA: warmup + duration + start/stop + the connection ramp and
    teardown (a contestant costs what the async server does); a capacity curve adds its
    steps."""
    per = RUN_PER_CONN_S["thread" if pt["impl"] in ("thread", "rust-threads") else "async"]
    est = pt["warmup_s"] + pt["duration_s"] + RUN_FIXED_S + pt["conns"] * per
    if pt["kind"] == "capacity":
        est += pt["steps"] * (pt["step_min_s"] + 0.2)
    return est


def think_for(conns, wait_us, capacity_rps, offer):
    """The think time (ms) at which conns connections offer `offer` × capacity_rps: each
    asks once per think + wait, so offered = conns ÷ (think + wait)."""
    if not capacity_rps or capacity_rps <= 0:
        return None
    return max(0.0, (conns / (offer * capacity_rps) - wait_us / 1e6) * 1000)


def estimate(pts, profile, pid_max, skip_hol=False, skip_hyperfine=False, hol_designs=2):
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
        est += hol_designs * hol_est_s(PROFILES[profile])
    if not skip_hyperfine:
        est += hf_est_s(PROFILES[profile])
    return est


def hol_est_s(prof):
    h = prof["hol"]
    return 2 * (h["warmup_s"] + h["duration_s"]) + 2.5


def hf_est_s(prof):
    hf = prof["hyperfine"]
    return 2 * (hf["runs"] + 1) * (0.1 + hf["requests"] / 20000) + 1
