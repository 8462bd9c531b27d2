"""The points of a profile's parts, one builder each: how a C series or a contestant runs
at a point, the wait kinds, the capacity curves, the K sweep, the stop scenario and the
shared table (the grid and the scale runs: profiles.plan)."""

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
    "thread-nolock": ("thread", ["--lock", "none"]),  # the shared table unguarded
}
STACK_KIB = {"thread-64k": 64}

# the contestants that take the stop scenario and the shared table's query keys
C7_CONTESTANTS = ("tokio-multi", "tokio-current", "rust-threads", "go")


def fds_per_conn(io):
    """File descriptors a server process holds per connection: with io=net a backend
    connection beside each client's."""
    return 2 if io == "net" else 1


def series_point(base, name, **kw):
    impl, args = SERIES[name]
    return dict(base, impl=impl, label=name, server_args=list(args),
                stack_kib=STACK_KIB.get(name), **kw)


def contestant_point(base, c, **kw):
    return dict(dict(base, kind="contestant"), impl=c["name"], label=c["name"],
                stack_kib=None, server_args=[], command=c["command"], query=c["query"], **kw)


def cores_axis(ncpus):
    """K = 1, 2, 4, ... up to half the machine (at least 1)."""
    top, ks, k = max(1, ncpus // 2), [], 1
    while k <= top:
        ks.append(k)
        k *= 2
    return ks


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
                        pts.append(series_point(base, name, io=io, conns=conns,
                                                 wait_us=wait, rep=rep,
                                                 file_kib=k.get("file_kib")))
                    # a contestant is one process: the points it can hold with its fds
                    for c in cont if conns * fds_per_conn(io) <= single else []:
                        full = rep <= (p.get("contestants") or {}).get("repeats", 0)
                        if c["query"] == "query" and (full or (c in rust and rep == 1)):
                            pts.append(contestant_point(base, c, io=io, conns=conns,
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
                    pts.append(series_point(base, name, kind="capacity", conns=conns,
                                             wait_us=wait, rep=rep, steps=cap["steps"],
                                             step_min_s=cap["step_min_s"],
                                             step_min_requests=cap.get("step_min_requests")))
            if rep == 1 and cap.get("contestants"):
                for c in cont:
                    if c["query"] == "query" or wait == 0:
                        pts.append(dict(contestant_point(base, c, conns=conns, wait_us=wait,
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
                pts.append(series_point(base, name, kind="cores", k=k, conns=co["conns"],
                                         wait_us=co["wait_us"], rep=1))
        for c in cont if co.get("contestants") else []:
            if c["query"] == "query":
                pts.append(dict(contestant_point(base, c, conns=co["conns"],
                                                  wait_us=co["wait_us"], rep=1),
                                kind="cores", k=k))
    return pts


def stop_points(p, base, skip, cont, axis, single):
    """The stop scenario: each series at each N (in full, the grid's N from 1000 up to what
    one process holds), the C7 contestants where they run (full)."""
    st = p.get("stop")
    if not st:
        return []
    conns = [c for c in axis if 1000 <= c <= single] if st["conns"] == "grid" else st["conns"]
    others = [c for c in cont if c["name"] in C7_CONTESTANTS] if st.get("contestants") else []
    pts = []
    for n in conns:
        pts += [series_point(base, name, kind="stop", conns=n, wait_us=st["wait_us"], rep=1)
                for name in st["series"] if name not in skip]
        pts += [contestant_point(base, c, kind="stop", conns=n, wait_us=st["wait_us"], rep=1)
                for c in others]
    return pts


def shared_points(p, base, skip, cont, ncpus):
    """The shared table: each series at one point for each share_us, the unguarded thread
    server also on every CPU (where there are 2 or more: lost updates need parallelism the
    one-CPU server lacks), the C7 contestants (full)."""
    sh = p.get("shared")
    if not sh:
        return []
    run = dict(base, duration_s=sh.get("duration_s", base["duration_s"]),
               warmup_s=sh.get("warmup_s", base["warmup_s"]))
    others = [c for c in cont if c["name"] in C7_CONTESTANTS] if sh.get("contestants") else []
    pts = []
    for us in sh["share_us"]:
        kw = dict(kind="shared", conns=sh["conns"], wait_us=sh["wait_us"], rep=1,
                  share_us=us, keys=sh.get("keys", 16))
        for name in sh["series"]:
            if name in skip:
                continue
            pts.append(series_point(run, name, **kw))
            if name in sh.get("all_cpus", []) and ncpus >= 2:
                pts.append(series_point(run, name, k=ncpus, overlap=True, **kw))
        pts += [contestant_point(run, c, **kw) for c in others]
    return pts
