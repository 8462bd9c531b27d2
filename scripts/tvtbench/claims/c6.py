"""C6: preemption interrupts threads; cooperative tasks yield (and that is better)."""

from .. import designs
from ..fmt import human_n, human_us
from ..results import hol_values
from ..rules import STRONG, WEAK, Verdict, not_measurable
from ..util import ratio

CID = "C6"
CLAIM = "preemption interrupts threads; cooperative tasks yield (and that is better)"
PLOT = "hol"
RULE = (f"R = thread ÷ task p90 latency of light requests while heavy requests burn CPU "
        f"(open loop, latency from the intended send time; p90 rather than p99 because a "
        f"short run has a few hundred light requests, and p99 would rest on a handful). "
        f"Holds (cooperative yielding does at least as well): R ≥ {STRONG:g}. Holds partly: "
        f"R ≥ {WEAK:g}. Does not hold here: R < {WEAK:g}, i.e. the single loop lets heavy "
        f"requests stall light ones.")


def decider(block, res):
    tasks = [t for t in block.tasks if hol_values(res, t)["with_p90"] is not None]
    return tasks[0] if tasks else block.tasks[0]


def evaluate(res, block, task):
    thread = block.threads[0]
    a, t = hol_values(res, task), hol_values(res, thread)
    metric = "light-request p90 latency with heavy neighbours"
    if a["with_p90"] is None or t["with_p90"] is None:
        return not_measurable(CID, metric, f"no head-of-line results for {task} and {thread}",
                              PLOT, human_us)
    details = []
    for lab, h in ((task, a), (thread, t)):
        details.append(f"{designs.name(lab)}: light p50/p90/p99 {human_us(h['alone_p50'])} / "
                       f"{human_us(h['alone_p90'])} / {human_us(h['alone_p99'])} alone, "
                       f"{human_us(h['with_p50'])} / {human_us(h['with_p90'])} / "
                       f"{human_us(h['with_p99'])} with heavy neighbours, over "
                       f"{human_n(h['light_count'])} light requests"
                       + (f" ({int(h['light_errors'])} errors)" if h["light_errors"] else "")
                       + f"; heavy requests served {human_n(h['heavy_rps'])} req/s")
    if a["rate"]:
        details.append(f"light load: {int(a['light_conns'] or 0)} conns, open loop at "
                       f"{a['rate']:.0f} req/s; heavy: {int(a['heavy_conns'] or 0)} closed-loop "
                       f"conns each asking {int(a['heavy_work_us'] or 0)} µs of CPU per request")
    r = ratio(t["with_p90"], a["with_p90"])
    v = Verdict(CID, metric, a["with_p90"], t["with_p90"], r, "", show=human_us, plot=PLOT,
                runs=1, details=details, task_label=task, thread_label=thread)
    v.outcome = v.band.grade(r)
    return v
