"""The sweep's plan: its profiles, and the points a profile makes on a machine. Pure: the
machine comes in as `facts` (fd limit, the series that can run there, the contestants that
are built), so tests can make machines up.

A point is a dict: kind (grid | contestant | capacity | cores | stop | shared | wall; a
wall search's probes are scale points),
label (the series' name in the results), impl (the server: async, thread, uring, or a
contestant's name), io (timer | net | file), conns, wait_us, rep, and how to run it:
server_args (after `--`), stack_kib, command/query (a contestant), workers, think and
timeout (scale), share_us and keys (shared), k and overlap (a point on its own CPUs)."""


from .profiles_parts import (C7_CONTESTANTS, SERIES, STACK_KIB, capacity_points,  # noqa: F401
                             cores_axis, cores_points, fds_per_conn, kind_points, shared_points,
                             stop_points, contestant_point, series_point)

# Budgets (2 cores): smoke < 1 min with the microbenchmarks (make test runs it), quick
# < 5 min all included, full < 90 min. Quick answers every claim at its deciding points
# (C1: N >= 100 at wait 0; C2, C4: up to 10000 at each wait; C3: a capacity curve at 1000
# conns, wait 1 ms; C3 per kind and C8: 100 and 1000 conns); grids belong to full.
# grid: series -> (conns, waits) over which the C designs run; kinds: the network and file
# waits; capacity: open-loop curves at (conns, wait) points; cores: the K sweep at one
# point (K = 1, 2, 4, ... up to half the machine); rust: the Rust pair on the same grid
# points when both are built; contestants (full): every built runtime at every grid point
# one process holds; walls (full): each design's wall searched, many processes, a think
# time chosen at run time.
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
        "stop": {"conns": [100], "wait_us": 200000, "series": ["async", "uring", "thread"]},
        "shared": {"conns": 100, "wait_us": 0, "share_us": [2], "keys": 16,
                   "duration_s": 0.3, "warmup_s": 0.1,
                   "series": ["async", "uring", "thread", "thread-nolock"]},
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
        "stop": {"conns": [1000, 10000], "wait_us": 500000,
                 "series": ["async", "uring", "thread"]},
        "shared": {"conns": 100, "wait_us": 0, "share_us": [2], "keys": 16,
                   "duration_s": 1.0, "warmup_s": 0.3,
                   "series": ["async", "uring", "thread", "thread-nolock"],
                   "all_cpus": ["thread-nolock"]},
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
        # past one process's fd limit the wall search takes over (with workers)
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
        # "grid": every grid N from 1000 up to the largest one process holds
        "stop": {"conns": "grid", "wait_us": 500000, "series": ["async", "uring", "thread"],
                 "contestants": True},
        "shared": {"conns": 100, "wait_us": 0, "share_us": [0, 2, 10, 50], "keys": 16,
                   "duration_s": 1.5, "warmup_s": 0.3,
                   "series": ["async", "uring", "thread", "thread-nolock"],
                   "all_cpus": ["thread-nolock"], "contestants": True},
        "duration_s": 2.5,
        "warmup_s": 0.5,
        "repeats": 3,
        "bytes": 64,
        "contestants": {"repeats": 1},
        # each design's wall, searched (sweep_walls.py): N × grow from the grid's largest
        # N held until a probe fails, then halving to tol; every probe offers `offer` of the
        # design's capacity and is answered at least twice in its window
        "walls": {"designs": ["async-lean", "uring", "thread", "thread-64k"],
                  "wait_us": 1000, "start": 10000, "grow": 4.0, "tol": 0.05,
                  "max_conns": 1000000, "offer": 0.5, "min_window_s": 10.0,
                  "min_timeout_ms": 10000},
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
STOP_SETTLE_MAX_S, STOP_ENDS_S = 0.2, 0.2  # the harness's settle before and after the signal


def grid_conns(prof, nofile):
    """The conns axis; with near_fd_limit, plus the largest N one process can hold."""
    axis = list(prof["grid"]["conns"])
    if prof.get("near_fd_limit"):
        near = (nofile - 1000) // 1000 * 1000
        if axis[0] < near and near not in axis:
            axis = sorted(axis + [near])
    return axis


def label(pt):
    if pt["kind"] == "scale":
        return f"{pt.get('label') or pt['impl']}-workers{pt['workers']}"
    return pt.get("label") or pt["impl"]


def run_name(pt):
    io = "" if pt.get("io", "timer") == "timer" else f"-{pt['io']}"
    share = f"-s{pt['share_us']}" if pt["kind"] == "shared" else ""
    base = (f"{label(pt)}{io}-c{pt['conns']}-w{pt['wait_us']}-u{pt['work_us']}{share}"
            f"-r{pt['rep']}")
    prefix = {"scale": "scale-", "capacity": "cap-", "cores": f"cores-k{pt.get('k')}-",
              "stop": "stop-", "shared": f"shared-k{pt.get('k')}-" if pt.get("k") else
              "shared-"}
    return prefix.get(pt["kind"], "") + base


def series_key(pt):
    return (pt["kind"], label(pt), pt.get("io", "timer"), pt["wait_us"], pt["work_us"],
            pt["bytes"], pt.get("k"))


PARTS = ("grid", "kinds", "capacity", "cores", "stop", "shared", "contestant", "walls")


def plan(profile, facts, contestants=(), only=PARTS):
    """Points in run order: repeat outermost so that drift spreads over all points, then
    wait, then conns ascending (a wall found at N skips larger N of that series); the wait
    kinds, the capacity curves, the K sweep; the wall searches last. only: the PARTS to
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
                        pts.append(series_point(base, name, conns=conns, wait_us=wait,
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
                    pts.append(contestant_point(base, c, conns=conns, wait_us=wait, rep=rep))
    others = cont if "contestant" in only else []
    if "kinds" in only:
        pts += kind_points(p, base, skip, others, rust, single)
    if "capacity" in only:
        pts += capacity_points(p, base, skip, others)
    if "cores" in only:
        pts += cores_points(p, base, skip, others, facts.get("ncpus", 1))
    if "stop" in only:
        pts += stop_points(p, base, skip, others, grid_conns(p, facts["nofile"]), single)
    if "shared" in only:
        pts += shared_points(p, base, skip, others, facts.get("ncpus", 1))
    wl = p.get("walls")
    if wl and "walls" in only:
        impls = set()
        for name in wl["designs"]:
            if name not in skip:
                pt = series_point(dict(base, kind="wall", rep=1), name, conns=wl["max_conns"],
                                  wait_us=wl["wait_us"])
                # a second series of one server starts beside the first one's wall
                pt["sibling"] = pt["impl"] in impls
                impls.add(pt["impl"])
                pts.append(pt)
    return pts


def est_run_s(pt):
    """A guess for the ETA: warmup + duration + start/stop + the connection ramp and
    teardown (a contestant costs what the async server does); a capacity curve adds its
    steps; a stop point, its settle, the wait of its requests in flight (a graceful stop
    answers them) and the settle after the exit."""
    per = RUN_PER_CONN_S["thread" if pt["impl"] in ("thread", "rust-threads") else "async"]
    if pt["kind"] == "wall":
        return wall_est_s(pt)
    if pt["kind"] == "stop":
        wait = pt["wait_us"] / 1e6
        return (RUN_FIXED_S + pt["conns"] * per + min(wait / 2, STOP_SETTLE_MAX_S) + wait
                + STOP_ENDS_S)
    est = pt["warmup_s"] + pt["duration_s"] + RUN_FIXED_S + pt["conns"] * per
    if pt["kind"] == "capacity":
        est += pt["steps"] * (pt["step_min_s"] + 0.2)
    return est


# A guess of a wall search's time, for the ETA: the probes of a task design up to the
# ceiling, each a ramp and its teardown (about 1e-4 s a connection with many processes),
# a warm-up and a window of two think times at a capacity of WALL_RPS_GUESS; a thread design meets
# pid_max within WALL_THREAD_PROBES probes, each a ramp to it (ended a second after the wall,
# by the sweep) or a short window.
WALL_RPS_GUESS = 70000  # async-lean at 19,000 conns, wait 1 ms, here: 73.7k
WALL_THREAD_PROBES = 7
WALL_SIBLING_PROBES = 4  # from 0.9 × the first series' wall, ×1.2, halving to 5%


def wall_est_s(pt, pid_max=32768):
    if pt["impl"] in ("thread", "rust-threads"):
        probes = WALL_SIBLING_PROBES if pt.get("sibling") else WALL_THREAD_PROBES
        return probes * (RUN_FIXED_S + 2 + pid_max * RUN_PER_CONN_S["thread"])
    if pt.get("sibling"):
        n = pt["conns"]
        return WALL_SIBLING_PROBES * (RUN_FIXED_S + 20 + n * 1e-4 + 2 * n / (0.5 * WALL_RPS_GUESS))
    est, n = 0.0, pt["conns"]
    while n >= 10000:
        est += RUN_FIXED_S + 20 + n * 1e-4 + 2 * n / (0.5 * WALL_RPS_GUESS)
        n /= 4
    return est


def think_for(conns, wait_us, capacity_rps, offer):
    """The think time (ms) at which conns connections offer `offer` × capacity_rps: each
    asks once per think + wait, so offered = conns ÷ (think + wait)."""
    if not capacity_rps or capacity_rps <= 0:
        return None
    return max(0.0, (conns / (offer * capacity_rps) - wait_us / 1e6) * 1000)


def estimate(pts, profile, pid_max, skip_hol=False, skip_hyperfine=False, hol_designs=2):
    """Seconds for the plan (a thread design's wall search: its probes ramp to pid_max)."""
    est = 0.0
    for pt in pts:
        pt["est_s"] = wall_est_s(pt, pid_max) if pt["kind"] == "wall" else est_run_s(pt)
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
