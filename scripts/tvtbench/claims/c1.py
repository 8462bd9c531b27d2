"""C1: a thread costs a fixed stack ("about 1 MB"); a task costs only its saved state."""

import math

from .. import designs
from ..fmt import fmt_ratio, human_bytes
from ..rules import HOLDS, PARTLY, STRONG, WEAK, Verdict, not_measurable, spread_of
from ..util import ratio
from .base import first_task, fit_per_conn, lowest_wait

CID = "C1"
CLAIM = "a thread costs a fixed stack (\"about 1 MB\"); a task only its saved state"
PLOT = "mem_per_conn"
ONE_MB_KIB = 512  # "about 1 MB": a thread's resident cost at least half of it
MIN_CONNS = 100   # below, one-off costs (buffers, a malloc arena) swamp the slope
RULE = (f"R = thread ÷ task of (RSS + KernelStack) per connection, each a least-squares "
        f"slope over the sustained runs with N ≥ {MIN_CONNS} at the lowest wait (socket "
        f"memory, equal in both designs and measured system-wide with the client's, is "
        f"shown but left out; memory does not depend on the generator's speed, so runs "
        f"with a saturated generator count). The task side is the lean variant when it "
        f"ran (buffers only while a request is in flight: what the claim describes), with "
        f"the per-connection-buffer variant beside it. Holds: R ≥ {STRONG:g} and a "
        f"thread's resident cost ≥ {ONE_MB_KIB} KiB (the \"about 1 MB\" part). Holds "
        f"partly: R ≥ {WEAK:g}, or R ≥ {STRONG:g} with less resident (the stack is "
        f"mostly untouched address space). Does not hold here: R < {WEAK:g}. Without "
        f"server runs, the spawn microbenchmark's RSS slopes stand in.")


def decider(block, res):
    """The lean variant when it ran: an idle task holding only where it paused."""
    if block.lean and block.lean in res.labels():
        return block.lean
    return first_task(block, res)


def _delta(steady, idle):
    return lambda r: (None if r.v[steady] is None or r.v[idle] is None
                      else r.v[steady] - r.v[idle])


FIGURES = (("rss", _delta("rss_steady_kib", "rss_idle_kib")),
           ("vsz", _delta("vsz_steady_kib", "vsz_idle_kib")),
           ("kstack", lambda r: r.v["kernel_stack_kib_delta"]),
           ("kern", lambda r: r.v["kernel_kib"]))


def per_conn(res, label, wait, repeat=None):
    """{rss, vsz, kstack, kern, total}: bytes per connection of one design; total is
    RSS + kernel stack, what the server itself holds."""
    f = {k: fit_per_conn(res, label, wait, fn, repeat, MIN_CONNS)[0] for k, fn in FIGURES}
    f["total"] = None if f["rss"] is None else f["rss"] + max(0.0, f["kstack"] or 0)
    return f


def _r(task_total, thread_total):
    r = ratio(thread_total, task_total)
    if r is not None and task_total is not None and task_total <= 0:
        r = math.inf
    return r


def evaluate(res, block, task):
    wait = lowest_wait(res)
    thread = block.threads[0]
    metric = f"RSS + kernel stack per connection (slope, N ≥ {MIN_CONNS}, wait {wait} µs)"
    f = {lab: per_conn(res, lab, wait) for lab in
         designs.order({task, *block.threads, *block.tasks, block.lean or task})}
    r = _r(f[task]["total"], f[thread]["total"])
    reps = sorted({x.repeat for x in res.runs if x.label in (task, thread) and x.sustained
                   and x.kind == "grid" and x.conns >= MIN_CONNS and x.wait_us == wait})
    per_rep = [_r(per_conn(res, task, wait, k)["total"], per_conn(res, thread, wait, k)["total"])
               for k in reps] if len(reps) > 1 else []
    details = []
    for lab in f:
        if f[lab]["rss"] is None:
            continue
        details.append(f"{designs.name(lab)}: RSS {human_bytes(f[lab]['rss'])}, kernel stack "
                       f"{human_bytes(f[lab]['kstack'])}, VSZ {human_bytes(f[lab]['vsz'])}; "
                       f"all kernel memory incl. sockets (system-wide, the client's too) "
                       f"{human_bytes(f[lab]['kern'])} per connection")
    conn = block.tasks[0]
    if task != conn and f.get(conn, {}).get("total") is not None and f[task]["total"] is not None:
        details.append(f"holding a read buffer and an answer buffer for every connection, idle "
                       f"or not ({designs.name(conn)}), costs "
                       f"{human_bytes(f[conn]['total'] - f[task]['total'])} more per "
                       f"connection than holding them only while a request is in flight "
                       f"({human_bytes(f[conn]['total'])} vs {human_bytes(f[task]['total'])}; "
                       f"R would be {fmt_ratio(_r(f[conn]['total'], f[thread]['total']))})")
    mi = res.micro
    ta, tl = mi.spawn_slope(block.micro["task_spawn"], "rss_bytes_per_unit")
    th, hl = mi.spawn_slope(block.micro["thread_spawn"], "rss_bytes_per_unit")
    if ta is not None or th is not None:
        tk, _ = mi.spawn_slope(block.micro["thread_spawn"], "kernel_stack_bytes_per_unit")
        tv, _ = mi.spawn_slope(block.micro["thread_spawn"], "vsz_bytes_per_unit")
        details.append(f"microbenchmark (no sockets), RSS per unit (slope): {tl or 'task'} "
                       f"{human_bytes(ta)}, {hl or 'thread'} {human_bytes(th)} (VSZ "
                       f"{human_bytes(tv)}, kernel stack {human_bytes(tk)}); RSS ratio "
                       f"{fmt_ratio(ratio(th, ta))}")
        for doc in mi.spawn:
            if doc.get("unit") == "thread" and doc.get("wall"):
                w = doc["wall"]
                details.append(f"{mi.spawn_label(doc)}: creation stopped at {w.get('created')} "
                               f"threads: {w.get('call')} {w.get('error')} (limit: "
                               f"{w.get('limit_hit')})")
    tot_task, tot_thread, thread_rss = f[task]["total"], f[thread]["total"], f[thread]["rss"]
    source = "server runs"
    if r is None and ta is not None and th is not None:
        tot_task, tot_thread, thread_rss, r = ta, th, th, ratio(th, ta)
        source = "the spawn microbenchmark (no server runs)"
    if r is None:
        return not_measurable(CID, metric, "no sustained runs with N ≥ 100 of both designs "
                              "and no spawn microbenchmark", PLOT, human_bytes)
    v = Verdict(CID, metric, tot_task, tot_thread, r, HOLDS, show=human_bytes, plot=PLOT,
                spread=spread_of(per_rep), runs=max(1, len(reps)) if source == "server runs"
                else 1, details=details, task_label=task, thread_label=thread)
    v.outcome = v.band.grade(r)
    if v.outcome == HOLDS and (thread_rss or 0) < ONE_MB_KIB * 1024:
        v.outcome = PARTLY
        v.note = (f"a thread touches {human_bytes(thread_rss)}, not \"about 1 MB\": its "
                  f"{human_bytes(f[thread]['vsz'])} is reserved address space")
    details.append(f"figures from {source}; the thread figure counts "
                   f"{human_bytes(f[thread]['rss'])} resident of a "
                   f"{human_bytes(f[thread]['vsz'])} address-space reservation per thread")
    return v
