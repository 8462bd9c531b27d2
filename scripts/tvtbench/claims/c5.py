"""C5: tasks are cheap to create."""

from ..fmt import human_n
from ..rules import STRONG, WEAK, Verdict, not_measurable
from ..util import fnum, ratio
from .base import first_task

CID = "C5"
CLAIM = "tasks are cheap to create"
PLOT = "micro_create"
RULE = (f"R = thread ÷ task creation time per unit (spawn microbenchmark, a slope over N; "
        f"default stack; a task waiting on a timer vs a thread waiting on a condition "
        f"variable, or in Rust a Tokio task on tokio::time::sleep vs a std::thread). Holds: "
        f"R ≥ {STRONG:g}. Holds partly: R ≥ {WEAK:g}. Does not hold here: R < {WEAK:g}. Not "
        f"measurable without microbenchmark results.")
# The microbenchmark measures a task and a thread, not a server: one figure for the block,
# in its deciding design's column; the other task designs show none.
PER_DESIGN = False


decider = first_task


def evaluate(res, block, task):
    mi = res.micro
    kt, kh = block.micro["task_spawn"], block.micro["thread_spawn"]
    ta, tl = mi.spawn_slope(kt, "create_ns_per_unit")
    th, hl = mi.spawn_slope(kh, "create_ns_per_unit")
    metric = "creation time per unit (microbenchmark)"
    if ta is None or th is None:
        return not_measurable(CID, metric, f"no spawn microbenchmark results for {kt} and "
                              f"{kh} in micro/", PLOT, lambda v: human_n(v, " ns"))
    details = [f"{tl}: {human_n(ta, ' ns')}, {hl}: {human_n(th, ' ns')} per unit created"]
    tt, _ = mi.spawn_slope(kt, "teardown_ns_per_unit")
    ht, _ = mi.spawn_slope(kh, "teardown_ns_per_unit")
    details.append(f"teardown per unit: task {human_n(tt, ' ns')}, thread {human_n(ht, ' ns')}")
    hf = [x for src, x in res.hyperfine if src.startswith("spawn_")]
    if hf:
        details.append("hyperfine, whole process creating, holding and tearing down N units: "
                       + "; ".join(f"{x.get('command')} {fnum(x.get('mean')) * 1000:.1f} ms"
                                   for x in hf if fnum(x.get("mean")) is not None))
    r = ratio(th, ta)
    metric = f"creation time per unit (microbenchmark: {kt} vs {kh})"
    v = Verdict(CID, metric, ta, th, r, "", show=lambda v: human_n(v, " ns"), plot=PLOT,
                runs=1, details=details, task_label=task, thread_label=block.threads[0])
    v.outcome = v.band.grade(r)
    return v
