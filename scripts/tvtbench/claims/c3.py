"""C3: while one task waits, others run; a blocked thread wastes resources."""

from .. import designs
from ..fmt import fmt_ratio, human_n, human_us
from ..rules import STRONG, WEAK, Verdict, not_measurable, spread_of
from ..util import fnum, median, ratio
from .base import first_task, largest_common, repeat_ratios

CID = "C3"
CLAIM = "while one task waits others run; a blocked thread wastes resources"
PLOT = "throughput"
RULE = (f"Decided on capacity at a latency target where both designs have an open-loop "
        f"capacity curve at the same point (N, wait): R = task ÷ thread of the highest "
        f"offered rate whose p99 stayed under the target (steps where the generator fell "
        f"behind do not count). Otherwise on closed-loop throughput: R = task ÷ thread "
        f"req/s at the largest wait, at the largest N both sustained with a generator that "
        f"kept up. Holds: R ≥ {STRONG:g}. Holds partly: R ≥ {WEAK:g}. Does not hold here: "
        f"R < {WEAK:g} (a blocked thread did not cost throughput). One row per wait kind "
        f"(timer, network, file) that both designs ran; closed-loop throughput and server "
        f"CPU per request are shown beside it.")
KIND_NAMES = {"timer": "a timer", "net": "a backend over TCP", "file": "a file read (O_DIRECT)"}


decider = first_task


def capacity_at(res, label, io, wait, conns):
    """Capacities at SLO of one point (one per repeat), the SLO, and whether any was a
    lower bound only (the generator fell behind first)."""
    runs = [r for r in res.capacity_runs(label) if r.io == io and r.wait_us == wait
            and r.conns == conns and r.ok]
    caps = {r.repeat: fnum(r.capacity.get("capacity_rps")) for r in runs}
    slo = median([fnum(r.capacity.get("slo_ms")) for r in runs])
    bound = any(r.capacity.get("capacity_bound") == "generator" for r in runs)
    return {k: v for k, v in caps.items() if v is not None}, slo, bound


def capacity_point(res, task, thread, io):
    """(wait, N) with capacity curves of both designs: the largest wait, then largest N."""
    pts = {(r.wait_us, r.conns) for r in res.capacity_runs(task) if r.io == io} & \
          {(r.wait_us, r.conns) for r in res.capacity_runs(thread) if r.io == io}
    return max(pts) if pts else (None, None)


def evaluate(res, block, task, io="timer"):
    thread = block.threads[0]
    waits = res.waits(io)
    metric_io = "" if io == "timer" else f", io={io}"
    details = []
    cw, cn = capacity_point(res, task, thread, io)
    if cw is not None:
        ca, slo, abound = capacity_at(res, task, io, cw, cn)
        ct, _, tbound = capacity_at(res, thread, io, cw, cn)
        a, t = median(list(ca.values())), median(list(ct.values()))
        r = ratio(a, t)
        reps = sorted(set(ca) & set(ct))
        spread = spread_of([ratio(ca[k], ct[k]) for k in reps])
        closed = {lab: res.med(lab, cw, cn, "rps", io) for lab in (task, thread)}
        details.append(f"capacity at p99 < {slo:g} ms, {cn} conns, wait {human_us(cw)}: "
                       f"{designs.name(task)} {human_n(a)} req/s, {designs.name(thread)} "
                       f"{human_n(t)} req/s; closed-loop throughput at that point "
                       f"{human_n(closed[task])} vs {human_n(closed[thread])} req/s"
                       if slo is not None else "capacity: no SLO recorded")
        if abound or tbound:
            details.append("a lower bound: the generator fell behind before the p99 passed "
                           "the target (" + ", ".join(
                               lab for lab, b in ((task, abound), (thread, tbound)) if b) + ")")
        metric = f"capacity at p99 < {slo:g} ms, req/s ({cn} conns, wait {cw} µs{metric_io})" \
            if slo is not None else f"capacity at SLO ({cn} conns, wait {cw} µs{metric_io})"
        if r is not None:
            v = Verdict(CID, metric, a, t, r, "", show=human_n, plot="capacity",
                        spread=spread, runs=max(1, len(reps)), details=details,
                        task_label=task, thread_label=thread)
            v.outcome = v.band.grade(r)
            _cpu(res, v, task, thread, cw, cn, io)
            return v
        # A curve where no step met the target (a machine too busy for it, or a target too
        # tight) gives no capacity: the rule's second way decides, and says why.
        missing = [designs.name(lab) for lab, c in ((task, a), (thread, t)) if c is None]
        details.append(f"the capacity curves did not decide: no step of {' or '.join(missing)} "
                   f"kept p99 under the target{f' of {slo:g} ms' if slo is not None else ''}; "
                   f"decided on closed-loop throughput")
    wait = waits[-1] if waits else 0
    n = largest_common(res, wait, [task, thread], "rps", io)
    metric = (f"throughput, req/s ({n} conns, wait {wait} µs{metric_io}, closed loop)" if n
              else f"throughput{metric_io}")
    if not n:
        return not_measurable(CID, metric, f"no point at wait {wait} µs both designs sustained "
                              f"with a generator that kept up", PLOT, human_n)
    a, t = res.med(task, wait, n, "rps", io), res.med(thread, wait, n, "rps", io)
    r = ratio(a, t)
    rs, spread = repeat_ratios(res, task, thread, wait, n, "rps", io)
    bound = n / (wait / 1e6) if wait else None
    if bound:
        details.append(f"the wait alone bounds throughput at N ÷ wait = {human_n(bound)} req/s")
    for w in waits:
        m = largest_common(res, w, [task, thread], "rps", io)
        if m:
            details.append(f"wait {w} µs, {m} conns: {task} {human_n(res.med(task, w, m, 'rps', io))}"
                           f" req/s, {thread} {human_n(res.med(thread, w, m, 'rps', io))} req/s")
    v = Verdict(CID, metric, a, t, r, "", show=human_n, plot=PLOT, spread=spread,
                runs=max(1, len(rs)), details=details, task_label=task, thread_label=thread)
    v.outcome = v.band.grade(r)
    _cpu(res, v, task, thread, wait, n, io)
    return v


def _cpu(res, v, task, thread, wait, n, io):
    ca = res.med(task, wait, n, "cpu_us_per_request", io)
    ct = res.med(thread, wait, n, "cpu_us_per_request", io)
    if ca is not None or ct is not None:
        v.details.insert(0, f"server CPU per request at {n} conns, wait {wait} µs (closed "
                            f"loop): {task} {human_n(ca, ' µs')}, {thread} {human_n(ct, ' µs')} "
                            f"(thread ÷ task {fmt_ratio(ratio(ct, ca))})")
