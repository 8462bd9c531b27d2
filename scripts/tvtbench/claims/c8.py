"""C8: async waits for file I/O without blocking the thread."""

import re

from .. import designs
from ..fmt import human_n
from ..rules import NOT_HERE, PARTLY, RANK, WEAK, Band, Verdict, not_measurable
from ..util import ratio
from .base import largest_common

CID = "C8"
CLAIM = "async waits for file I/O without blocking the thread"
PLOT = "inflight"
KEEP_PACE = 1 / WEAK  # within the partly margin of a thread per connection, or better
BAND = Band(strong=KEEP_PACE, weak=0.5)
OVERLAP = 1.5  # device reads in flight on average: more than one at a time
RULE = (f"For each way a task design reads a file (an event loop reading in the loop, "
        f"handing reads to a pool of threads, or submitting them to io_uring; the Rust "
        f"block's Tokio does what tokio::fs does, a spawn_blocking pool): R = task ÷ thread "
        f"req/s on file waits (io=file: an O_DIRECT read at a random offset, so the device "
        f"is waited on, not the page cache) at the largest N both sustained with a generator "
        f"that kept up. Holds: R ≥ {KEEP_PACE:.2f} (it kept pace with a thread per "
        f"connection, within the partly margin) with its reads overlapped at the device "
        f"(≥ {OVERLAP:g} reads in flight on average: the kernel's summed read time over the "
        f"window, /sys/block/DEV/stat) "
        f"and no thread blocked on a read: io_uring. A pool's reads block its threads "
        f"(threads after all): at most holds partly. A loop that reads in place blocks its "
        f"only thread and every task with it: at most does not hold here. Holds partly: R ≥ "
        f"0.5. Does not hold here: R < 0.5. The row names the mechanism that decided it "
        f"(the best outcome) and shows the others.")
# label -> (how it reads, what the reads block: None, "pool" or "loop")
MECHANISMS = {"async-uring": ("with io_uring", None), "uring": ("on the io_uring server", None),
              "async-pool": ("with a pool of {k} threads", "pool"),
              "async-loop": ("reading in the loop", "loop"),
              "tokio-multi": ("with spawn_blocking (tokio::fs's pool)", "pool"),
              "tokio-current": ("with spawn_blocking (tokio::fs's pool)", "pool")}
FILE_TASKS = {"C": ["async-uring", "uring", "async-pool", "async-loop"],
              "Rust": ["tokio-multi", "tokio-current"]}


def tasks_of(block, res):
    have = set(res.labels("file"))
    return [t for t in FILE_TASKS.get(block.key, []) if t in have]


def pool_threads(res, label):
    for r in res.runs:
        if r.label == label and r.io == "file":
            m = re.search(r"--file-threads[ =](\d+)", str(r.param("server_command") or ""))
            return int(m.group(1)) if m else 4
    return 4


def decider(block, res):
    """The mechanism with the best outcome (then the best ratio)."""
    best = None
    for t in tasks_of(block, res):
        v = evaluate(res, block, t)
        key = (RANK.get(v.outcome, -1), v.ratio or 0)
        if best is None or key > best[0]:
            best = (key, t)
    return best[1] if best else None


def evaluate(res, block, task):
    thread = block.threads[0]
    how, blocks = MECHANISMS.get(task, (task, None))
    how = how.format(k=pool_threads(res, task))
    waits = res.waits("file")
    point = None
    for w in waits:
        n = largest_common(res, w, [task, thread], "rps", "file")
        if n and (point is None or n > point[1]):
            point = (w, n)
    metric = "file waits, req/s (io=file, O_DIRECT reads)"
    if point is None:
        return not_measurable(CID, metric, f"no io=file point both {task} and {thread} "
                              f"sustained", PLOT, human_n, task, thread)
    w, n = point
    a, t = res.med(task, w, n, "rps", "file"), res.med(thread, w, n, "rps", "file")
    ia = res.med(task, w, n, "inflight_mean", "file")
    it = res.med(thread, w, n, "inflight_mean", "file")
    r = ratio(a, t)
    metric = f"file waits, req/s ({n} conns, io=file)"
    details = [f"{designs.name(task)} {how}: {human_n(a)} req/s, {human_n(ia)} device reads "
               f"in flight on average; {designs.name(thread)}: {human_n(t)} req/s, "
               f"{human_n(it)} in flight"]
    for lab in FILE_TASKS.get(block.key, []) + [thread]:
        for c in sorted(res.grid("file").get(lab, {}).get(w, {})):
            x = res.med(lab, w, c, "rps", "file")
            if x is not None and lab in (task, thread):
                details.append(f"{lab} at {c} conns: {human_n(x)} req/s, "
                               f"{human_n(res.med(lab, w, c, 'inflight_mean', 'file'))} "
                               f"reads in flight")
    v = Verdict(CID, metric, a, t, r, "", band=BAND, show=human_n, plot=PLOT,
                runs=max(1, len(res.by_repeat(task, w, n, "rps", "file"))), details=details,
                task_label=task, thread_label=thread)
    v.how = how
    g = BAND.grade(r)
    v.outcome = g
    if blocks == "pool" and RANK[g] > RANK[PARTLY]:
        v.outcome, v.note = PARTLY, "its reads block the pool's threads: threads after all"
    elif blocks == "loop" and RANK[g] > RANK[NOT_HERE]:
        v.outcome, v.note = NOT_HERE, "each read blocks the loop's only thread, every task with it"
    elif blocks is None and RANK[g] == RANK[max(RANK, key=RANK.get)] and (ia or 0) < OVERLAP:
        v.outcome = PARTLY
        v.note = f"its reads did not overlap at the device ({human_n(ia)} in flight)"
    return v
