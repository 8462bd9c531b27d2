"""C7's two mechanisms, each a pure function of the results to its ratio, its grade and the
figures printed beside it: the graceful stop (the stop scenario, `harness run --stop`) and
the shared table (`harness run --state shared`). The rule's text is c7.RULE."""

import math

from ..fmt import fmt_ratio, human_n, human_us
from ..results import failure_text
from ..rules import DEFAULT_BAND, NOT_MEASURABLE
from ..util import median, ratio

STOP_FLOOR_S = 0.01   # the harness's connect probe period after the signal
SHARE_US = 2          # the shared point's CPU inside an update, where it ran
NOLOCK = "thread-nolock"
# the runs whose own end (SIGTERM after the load) counts for a design's stop
ORDINARY = ("grid", "contestant", "capacity", "cores", "scale", "shared")


def secs(s):
    return human_us(None if s is None else s * 1e6)


def nsec(x):
    return human_us(None if x is None else x / 1000)


def unmeasured(why, show=secs):
    return {"ratio": None, "grade": NOT_MEASURABLE, "task": None, "thread": None,
            "show": show, "task_text": "n/a", "thread_text": "n/a", "conns": None,
            "summary": f"not measured: {why}", "details": []}


def first_problem(runs):
    """Why the first of these runs gives no figure: its failure and first error."""
    for r in runs:
        why = failure_text(r) if not r.ok else None
        if r.ok and r.stop is not None and r.stop["cut"] is None:
            why = ("its record has no count of the requests in flight answered and cut "
                   "(not measured)")
        if why:
            fe = "; ".join(f"{k}: {v}" for k, v in list(r.first_errors.items())[:2])
            return f"{r.file}: {why}" + (f" (first error: {fe})" if fe else "")
    return None


# ---- the graceful stop ------------------------------------------------------------------
def stop_held(r):
    """The stop scenario ran and recorded what became of the requests in flight."""
    st = r.stop
    return (r.ok and st is not None and st["cut"] is not None
            and (st["exit_s"] is not None or st["killed"]))


def unclean(r):
    """Why a stop-scenario run's stop was not clean ([] when it was). A figure the harness
    did not record counts for nothing either way."""
    st, why = r.stop, []
    if st["killed"]:
        why.append("killed past its grace period")
    elif r.stop_clean is False:
        why.append(r.stop_failure or "a non-zero exit")
    if st["cut"]:
        why.append(f"{int(st['cut'])} of {int(st['inflight'] or 0)} requests in flight cut")
    if st["not_200"]:
        why.append(f"{int(st['not_200'])} requests in flight answered with another status")
    if st["reset"]:
        why.append(f"{int(st['reset'])} idle connections reset, not closed with a FIN")
    if st["still_open"]:
        why.append(f"{int(st['still_open'])} connections still open at its exit")
    return why


def failed_ends(res, label, n):
    """The design's other runs at N' ≤ n whose server did not stop cleanly at their end."""
    return [r for r in res.runs if r.label == label and r.kind in ORDINARY and r.conns <= n
            and r.stop_clean is False]


def stop_fig(res, label, runs, n):
    st = runs[0].stop
    why = [w for r in runs for w in unclean(r)]
    ends = failed_ends(res, label, n)
    why += [f"its server did not stop at the end of a run at {r.conns} conns ({r.file}): "
            f"{r.stop_failure}" for r in ends[:2]]
    return dict(st, t=median([r.stop["exit_s"] for r in runs]), why=why, clean=not why)


def stop_line(label, n, f):
    tried = f["tried"]
    return (f"{label} stop with {human_n(n)} conns: SIGTERM to exit {secs(f['t'])}; "
            f"{human_n(f['answered'])} of {human_n(f['inflight'])} requests in flight "
            f"answered ({human_n(f['cut'])} cut, {human_n(f['not_200'])} with another "
            f"status); {human_n(f['idle'])} idle: {human_n(f['fin'])} FIN, "
            f"{human_n(f['reset'])} reset, {human_n(f['still_open'])} still open; "
            + (f"connects after the signal: {human_n(tried)} tried, {human_n(f['refused'])} "
               f"refused, {human_n(f['accepted'])} accepted; " if tried else "")
            + f"server CPU meanwhile {secs(f['cpu_s'])}; "
            + ("clean" if f["clean"] else "not clean: " + "; ".join(f["why"])))


def stop_side(res, task, thread):
    held = {}
    for lab in (task, thread):
        for r in res.stop_runs(lab):
            if stop_held(r):
                held.setdefault(lab, {}).setdefault(r.conns, []).append(r)
    common = sorted(set(held.get(task, {})) & set(held.get(thread, {})))
    if not common:
        runs = res.stop_runs(task) + res.stop_runs(thread)
        return unmeasured(first_problem(runs) or f"no stop scenario that both {task} and "
                          f"{thread} held" + ("" if runs else " (no stop runs)"))
    n = common[-1]
    fa, ft = (stop_fig(res, lab, held[lab][n], n) for lab in (task, thread))
    if fa["clean"] and ft["clean"]:
        r = ratio(max(ft["t"], STOP_FLOOR_S), max(fa["t"], STOP_FLOOR_S))
        how = (f"both stopped cleanly: {thread} in {secs(ft['t'])}, {task} in "
               f"{secs(fa['t'])}")
    elif fa["clean"]:
        r, how = math.inf, f"only {task} stopped cleanly ({thread}: {ft['why'][0]})"
    elif ft["clean"]:
        r, how = 0.0, f"only {thread} stopped cleanly ({task}: {fa['why'][0]})"
    else:
        r, how = 1.0, (f"neither stopped cleanly ({task}: {fa['why'][0]}; {thread}: "
                       f"{ft['why'][0]}): a tie")
    g = DEFAULT_BAND.grade(r)
    by_n = "; ".join(f"{lab}: " + ", ".join(
        f"{human_n(c)} {secs(median([x.stop['exit_s'] for x in rs]))}"
        + ("" if all(not unclean(x) for x in rs) else " (not clean)")
        for c, rs in sorted(held.get(lab, {}).items())) for lab in (task, thread))
    return {"ratio": r, "grade": g, "task": fa["t"], "thread": ft["t"], "show": secs,
            "conns": n, "task_text": secs(fa["t"]) + ("" if fa["clean"] else " (not clean)"),
            "thread_text": secs(ft["t"]) + ("" if ft["clean"] else " (not clean)"),
            "summary": f"R_stop = {fmt_ratio(r)} at {human_n(n)} conns, {g}: {how}",
            "details": [stop_line(task, n, fa), stop_line(thread, n, ft),
                        f"SIGTERM to exit by N, every stop held: {by_n}"]}


# ---- the shared table -------------------------------------------------------------------
def usable_share(r):
    return r.sustained and r.share is not None and r.share["ns"] is not None


def share_points(res, label, k):
    """{(conns, wait, share_us): [runs]} of a design's usable shared-table runs on K CPUs."""
    pts = {}
    for r in res.shared_runs(label):
        if usable_share(r) and r.k == k:
            pts.setdefault((r.conns, r.wait_us, r.share_us), []).append(r)
    return pts


def pick(keys):
    """The shared point: share_us SHARE_US where it ran, else the smallest non-zero one,
    else 0; then the largest N, the smallest wait."""
    us = sorted({k[2] or 0 for k in keys})
    want = SHARE_US if SHARE_US in us else next((u for u in us if u), us[0])
    return max((k for k in keys if (k[2] or 0) == want), key=lambda k: (k[0], -k[1]))


def share_fig(res, label, runs, conns, wait):
    s = [r.share for r in runs]
    f = {k: median([x[k] for x in s]) for k in ("ns", "wait_ns", "contended", "switches")}
    lost = [x["lost"] for x in s if x["lost"] is not None]
    f.update(lost=max(lost) if lost else None, updates=median([x["updates"] for x in s]),
             cpu=median([r.v["cpu_us_per_request"] for r in runs]),
             p99=median([r.v["lat_p99_us"] for r in runs]),
             cpu0=res.med(label, wait, conns, "cpu_us_per_request"),
             p990=res.med(label, wait, conns, "lat_p99_us"))
    return f


def share_line(label, f):
    return (f"{label}: {nsec(f['ns'])} per update ({nsec(f['wait_ns'])} of it waiting for "
            f"the lock; {human_n(f['contended'])} contended acquisitions and "
            f"{human_n(f['switches'])} switches per update), {human_n(f['lost'])} of "
            f"{human_n(f['updates'])} updates lost; server CPU {human_us(f['cpu'])} per "
            f"request with the table, {human_us(f['cpu0'])} without; p99 "
            f"{human_us(f['p99'])} with, {human_us(f['p990'])} without")


def nolock_line(res, key):
    """The unguarded thread server at the same point, per K: its lost updates."""
    parts = []
    for r in res.shared_runs(NOLOCK):
        if (r.conns, r.wait_us, r.share_us) == key and r.share and r.share["lost"] is not None:
            parts.append(f"on {r.k} server CPU{'s' if r.k > 1 else ''}: "
                         f"{human_n(r.share['lost'])} of {human_n(r.share['updates'])} updates "
                         f"lost ({100 * (r.share['lost_frac'] or 0):.2g}%), "
                         f"{nsec(r.share['ns'])} per update")
    return ("without its lock (--lock none) the thread server " + "; ".join(parts)) \
        if parts else None


def share_side(res, block, task, thread):
    ks = sorted({r.k for r in res.shared_runs(task) if usable_share(r)})
    k = ks[0] if ks else 1
    a, t = share_points(res, task, k), share_points(res, thread, k)
    common = set(a) & set(t)
    if not common:
        runs = res.shared_runs(task) + res.shared_runs(thread)
        why = first_problem(runs)
        if why and "400" in why:
            why += " — a server that does not know state=shared answers 400"
        if not why and runs:
            why = ("the servers kept no shared-table counters (shared_updates): a build "
                   "without the shared table")
        return unmeasured(why or f"no shared-table runs of {task} and {thread}", nsec)
    key = pick(common)
    conns, wait, us = key
    fa, ft = share_fig(res, task, a[key], conns, wait), share_fig(res, thread, t[key], conns,
                                                                   wait)
    bad_a, bad_t = (fa["lost"] or 0) > 0, (ft["lost"] or 0) > 0
    if bad_a or bad_t:
        r = 1.0 if bad_a and bad_t else 0.0 if bad_a else math.inf
        how = "a guarded table lost updates: " + ", ".join(
            f"{lab} lost {human_n(f['lost'])}" for lab, f in ((task, fa), (thread, ft))
            if (f["lost"] or 0) > 0)
    else:
        r = ratio(ft["ns"], fa["ns"])
        how = (f"{thread} {nsec(ft['ns'])} per update with its mutex, {task} "
               f"{nsec(fa['ns'])} without a lock")
    g = DEFAULT_BAND.grade(r)
    details = [share_line(task, fa), share_line(thread, ft)]
    if block.key == "C":
        details.append(nolock_line(res, key) or "the unguarded thread server (--lock none) "
                       "did not run at this point")
    return {"ratio": r, "grade": g, "task": fa["ns"], "thread": ft["ns"], "show": nsec,
            "conns": conns, "task_text": nsec(fa["ns"]), "thread_text": nsec(ft["ns"]),
            "summary": (f"R_share = {fmt_ratio(r)} at {human_n(conns)} conns, wait "
                        f"{human_us(wait) if wait else 0}, share_us {us} on {k} server CPU"
                        f"{'s' if k > 1 else ''}, {g}: {how}"),
            "details": details}
