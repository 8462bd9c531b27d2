"""C4: async scales to thousands of connections; threads run out."""

from .. import designs
from ..fmt import human_n
from ..results import failure_text
from ..rules import NOT_HERE, Band, Verdict, not_measurable
from ..util import fnum, ratio
from ..wall import thread_wall
from .base import first_task
from .c4_walls import walls_verdict

CID = "C4"
CLAIM = "async scales to thousands of connections; threads run out"
PLOT = "rss_total"
THOUSANDS = 1000
# R = A ÷ T: above 1 the threads fell short where the tasks held on.
BAND = Band(strong=1.0, weak=1.0, strict=True)
RULE = (f"With a wall search (the full profile): each design's wall, the largest N it "
        f"sustained, found by growing N ×4 from the grid's largest until a probe failed, "
        f"then halving the gap to 5%; each probe offers half the design's capacity and is "
        f"answered at least twice; A and T are the best task and thread series' walls, a "
        f"wall bound by the generator, the machine or the search's ceiling counting as a "
        f"lower bound (≥). Without one: for each design, the largest N such that every run at every N' ≤ N was sustained "
        f"(status ok, ≤ 1% failed requests, no connection refused a thread), over the waits "
        f"both designs ran at: at each wait the design's best series counts (the thread "
        f"server's default or 64 KiB stack), a series run at fewer waits only where it ran, "
        f"and the design's N is the smallest over the waits; when the whole grid held, the "
        f"scale runs (several processes, a think time) extend it as far as they held in "
        f"turn. A = the task design's N, T = the thread design's, R = A ÷ T. Holds: R > 1 "
        f"(a thread run fell short at an N the tasks sustained) and A ≥ {THOUSANDS}. Holds "
        f"partly: R = 1 (both held every N tried, or both stopped at the same N). Does not "
        f"hold here: R < 1, or A < {THOUSANDS}. Not measurable: the sweep stopped below "
        f"{THOUSANDS} connections.")


decider = first_task


def series_held(res, label, wait):
    """(largest N with every run at N' ≤ N sustained or None, first failing run or None,
    largest N tried) of one series at one wait."""
    by_c = res.grid().get(label, {}).get(wait, {})
    held = None
    for c in sorted(by_c):
        bad = [r for r in by_c[c] if not r.sustained]
        if bad:
            return held, min(bad, key=lambda r: (not r.refused, r.repeat)), max(by_c)
        held = c
    return held, None, max(by_c) if by_c else None


def design_held(res, labels, waits):
    """The design's N over `waits` with its series `labels`: (N, binding wait, the series
    that gave N there, first failing run of that series at that wait, per-wait table,
    whether the whole grid held)."""
    table = {}
    for w in waits:
        best = None
        for lab in labels:
            if w not in res.grid().get(lab, {}):
                continue
            h, fail, tried = series_held(res, lab, w)
            cand = (h if h is not None else -1, lab, fail, tried)
            if best is None or cand[0] > best[0]:
                best = cand
        if best is not None:
            table[w] = best
    if not table:
        return None, None, None, None, table, False
    w = min(table, key=lambda x: (table[x][0], x))
    n, lab, fail, _ = table[w]
    whole = all(table[x][2] is None for x in table)
    return (n if n >= 0 else None), w, lab, fail, table, whole


def scale_extend(res, impl, n):
    """The scale runs of impl past n, ascending, as far as each held: (N, first failed)."""
    for r in res.scale_runs(impl):
        if n is not None and r.conns <= n:
            continue
        if not r.sustained:
            return n, r
        n = r.conns
    return n, None


def evaluate(res, block, task):
    wv = walls_verdict(res, block, task, CID, "largest N sustained", BAND, "scale", THOUSANDS)
    if wv:
        return wv
    threads = [t for t in block.threads if t in res.labels()]
    tw = set(res.waits(label=task))
    hw = set().union(*[set(res.waits(label=t)) for t in threads]) if threads else set()
    waits = sorted(tw & hw)
    metric = "largest N sustained (every wait both ran; the scale runs)"
    tried = max([r.conns for r in res.runs if r.label in [task] + threads or
                 r.impl in block.scale_impls.values()] or [0])
    if not waits or tried < THOUSANDS:
        return not_measurable(CID, metric, f"the sweep stopped at {tried} connections, below "
                              f"{THOUSANDS}" if waits else "no wait both designs ran at",
                              PLOT, human_n)
    a, aw, alab, afail, atab, awhole = design_held(res, [task], waits)
    t, twt, tlab, tfail, ttab, twhole = design_held(res, threads, waits)
    ascale = tscale = None
    if awhole:
        a, ascale = scale_extend(res, block.scale_impls["task"], a)
    if twhole:
        t, tscale = scale_extend(res, block.scale_impls["thread"], t)
    if a is None and t is None:
        r = None
    elif a is None:
        r = 0.0
    else:
        r = ratio(a, t) if t else float("inf")
    details = [f"waits both designs ran at: {', '.join(f'{w} µs' for w in waits)}; largest N "
               f"tried: {tried}"]
    for lab, n, w, series, fail, tab, sfail in (
            ("task", a, aw, alab, afail, atab, ascale),
            ("thread", t, twt, tlab, tfail, ttab, tscale)):
        who = designs.name(series) if series else lab
        per_wait = "; ".join(f"wait {x} µs: {human_n(tab[x][0]) if tab[x][0] >= 0 else 'none'}"
                             f" ({tab[x][1]})" for x in sorted(tab))
        details.append(f"the {lab} side sustained {human_n(n)} connections (given by {who}, "
                       f"binding at wait {w} µs); per wait: {per_wait}")
        first = sfail or fail
        if first is not None:
            details.append(f"the {lab} side first fell short at {first.conns} conns "
                           f"({first.label}" + (f" × {first.workers} processes, think "
                                                f"{first.think_ms:g} ms" if first.kind == "scale"
                                                else "")
                           + f", wait {first.wait_us} µs, repeat {first.repeat}): "
                           f"{failure_text(first)}")
        else:
            details.append(f"the {lab} side sustained every run it was given")
    w = thread_wall(res, (block.scale_impls["thread"],))
    if w:
        details.append(f"the thread wall: {human_n(w['threads'])} threads in the server "
                       f"({human_n(w['served'])} connections with a thread) when "
                       f"pthread_create failed with {w['errno']}; limit: {w['limit']}")
    for side_, impl in block.scale_impls.items():
        ok = [x for x in res.scale_runs(impl) if x.sustained]
        if ok:
            x = max(ok, key=lambda x: x.conns)
            details.append(f"scale runs: the {impl} server with {x.workers} processes held "
                           f"{human_n(x.conns)} connections (think {x.think_ms / 1000:g} s, "
                           f"wait {x.wait_us} µs) for {human_n(fnum(x.param('duration_s')))} s "
                           f"with {int(x.errors_total)} errors")
    env = res.env()
    details.append("limits here: " + ", ".join(f"{k} {env.get(k)}" for k in
                                              ("pid_max", "threads_max", "nproc_limit",
                                               "nofile_limit", "max_map_count")))
    if r is None:
        return not_measurable(CID, metric, "neither design sustained a single point", PLOT,
                              human_n)
    v = Verdict(CID, metric, a, t, r, "", band=BAND, show=human_n, plot=PLOT,
                runs=res.repeats(), details=details, task_label=alab or task,
                thread_label=tlab or threads[0])
    v.outcome = BAND.grade(r)
    if v.outcome != NOT_HERE and (a or 0) < THOUSANDS:
        v.outcome = NOT_HERE
        v.note = f"the tasks sustained only {human_n(a)} connections, fewer than {THOUSANDS}"
    if r == 1.0:
        v.details.insert(0, f"both designs sustained {human_n(a)} connections: the threads did "
                            f"not run out before the tasks here")
    if tlab and tlab != threads[0]:
        v.details.insert(0, f"T was given by the {tlab} series")
    return v

