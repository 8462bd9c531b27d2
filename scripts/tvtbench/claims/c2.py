"""C2: threads pay for context switches that async avoids."""

from .. import designs
from ..fmt import fmt_ratio, human_n
from ..rules import HOLDS, NOT_HERE, PARTLY, STRONG, WEAK, Verdict, not_measurable
from ..util import ratio
from .base import first_task, point, repeat_ratios

CID = "C2"
CLAIM = "threads pay for context switches that async avoids"
PLOT = "ctx_per_req"
RULE = (f"R = thread ÷ task of server context switches (voluntary + involuntary, every "
        f"thread) per request at the largest N both sustained with a generator that kept "
        f"up (a saturated generator changes how often a server sleeps), at the lowest wait "
        f"that has such a point; S = thread ÷ task ns per switch (microbenchmark, baseline "
        f"subtracted, pinned, smallest ring, the token carried by a pipe or socketpair in "
        f"both; a task figure under 1 ns counts as 1 ns). Holds: R ≥ {STRONG:g} and (S ≥ "
        f"{STRONG:g} or no microbenchmark). Holds partly: R ≥ {WEAK:g}, or S ≥ {WEAK:g} "
        f"(then the note says so). Otherwise does not hold here. Without server runs, S "
        f"alone decides.")


decider = first_task


def evaluate(res, block, task):
    thread = block.threads[0]
    key = "ctx_per_request"
    wait, n = point(res, [task, thread], key)
    a = res.med(task, wait, n, key) if n else None
    t = res.med(thread, wait, n, key) if n else None
    r = ratio(t, a)
    sa, sal = res.micro.switch_ns(block.micro["task_switch"])
    st, stl = res.micro.switch_ns(block.micro["thread_switch"])
    s = ratio(st, None if sa is None else max(sa, 1.0))
    details = []
    if n:
        for lab in (task, thread):
            vol = res.med(lab, wait, n, "ctx_voluntary")
            inv = res.med(lab, wait, n, "ctx_involuntary")
            req = res.med(lab, wait, n, "rps")
            details.append(f"{designs.name(lab)} at {n} conns, wait {wait} µs: {human_n(vol)} "
                           f"voluntary, {human_n(inv)} involuntary switches in the window; "
                           f"{human_n(req)} req/s")
    if sa is not None or st is not None:
        details.append(f"microbenchmark, ns per switch with the baseline subtracted: {sal}: "
                       f"{human_n(sa, ' ns')}; {stl}: {human_n(st, ' ns')}; S = {fmt_ratio(s)}")
        details.append("every mechanism, pinned: " + "; ".join(
            f"{lab.replace(', pinned', '')} {ns:.0f} ns"
            for lab, _, _, _, pinned, ns, _ in res.micro.switch_rows() if pinned))
        for lab, ns in res.micro.perf_rows():
            details.append(f"the kernel's own figure, {lab}: {ns:.0f} ns per switch")
    else:
        details.append("no switch microbenchmark results: S not used")
    metric = (f"context switches per request ({n} conns, wait {wait} µs)" if n
              else "context switches per request")
    if r is None and s is None:
        return not_measurable(CID, metric, "no point both designs sustained with a generator "
                              "that kept up, and no switch microbenchmark", PLOT, human_n)
    rs, spread = repeat_ratios(res, thread, task, wait, n, key) if n else ([], None)
    v = Verdict(CID, metric, a, t, r if r is not None else s, NOT_HERE, show=human_n,
                plot=PLOT, spread=spread if r is not None else None,
                runs=max(1, len(rs)) if r is not None else 1, details=details,
                task_label=task, thread_label=thread,
                ratio_text=(fmt_ratio(r) + (f"; S {fmt_ratio(s)}" if s is not None else ""))
                if r is not None else f"S {fmt_ratio(s)}")
    if r is None:
        v.outcome = v.band.grade(s)
        details.append("no server point: S alone decides")
        return v
    if r >= STRONG and (s is None or s >= STRONG):
        v.outcome = HOLDS
    elif r >= WEAK or (s is not None and s >= WEAK):
        v.outcome = PARTLY
    else:
        v.outcome = NOT_HERE
    g = v.band.grade(r)
    if v.outcome != g:
        v.note = (f"the switch itself costs S = {fmt_ratio(s)} as much in a thread"
                  if v.outcome == PARTLY and g == NOT_HERE else
                  f"a switch costs only S = {fmt_ratio(s)} as much in a thread")
    return v
