"""The thread wall: which limit a thread-per-connection server met, from its runs and the
sweep's record of the machine at the time."""

import errno
import os
import re

from .fmt import human_n
from .results import scale_figures
from .util import fnum

ERRNO_NAMES = {os.strerror(e): name for e, name in errno.errorcode.items()}


def wall_of(res, r):
    """For a run that met the thread wall: connections that got a thread, the errno, the
    limit that was hit and how the machine looked. None for any other run."""
    if not r.refused:
        return None
    f = scale_figures(res, r)
    sysd = f["sys"]
    env = r.env or res.env()
    idle = f["threads_idle"] or 0
    w = {"run": r, "conns": r.conns, "threads": f["threads_peak"], "refused": r.refused,
         "served": None if f["threads_peak"] is None else f["threads_peak"] - idle,
         "errno": None, "error_text": None, "evidence": None, "limit": None,
         "tasks_peak": sysd.get("tasks_peak"), "figures": f}
    for pr in sysd.get("probes") or []:
        m = re.search(r"pthread_create: (.+)$", pr.get("body") or "")
        if pr.get("status") == 503 and m:
            w["error_text"] = m.group(1).strip()
            w["errno"] = ERRNO_NAMES.get(w["error_text"])
            w["evidence"] = (f"a request of the sweep's own at the wall was answered "
                             f"\"503 {pr['body'][:120]}\"")
            break
    if w["errno"] is None:
        w["evidence"] = ("the server's counters (thread_create_failed) without the error's "
                         "text; the thread server creates threads with pthread_create, whose "
                         "only resource error is EAGAIN")
        w["errno"], w["error_text"] = "EAGAIN", os.strerror(errno.EAGAIN)
    pid_max = sysd.get("pid_max") or fnum(env.get("pid_max"))
    threads_max = sysd.get("threads_max") or fnum(env.get("threads_max"))
    tasks, seen = w["tasks_peak"], "tasks on the machine at the peak"
    if tasks is None and w["threads"] is not None:
        # no record of the machine: the server's own threads are a lower bound
        tasks, seen = w["threads"], "threads in the server alone at the peak"
    if pid_max and tasks is not None and tasks >= 0.95 * pid_max:
        w["limit"] = (f"kernel.pid_max = {int(pid_max)}: every thread takes a pid, system-wide "
                      f"({human_n(tasks)} {seen})")
    elif threads_max and tasks is not None and tasks >= 0.95 * threads_max:
        w["limit"] = f"kernel.threads-max = {int(threads_max)} ({human_n(tasks)} {seen})"
    else:
        w["limit"] = (f"not identified: {human_n(tasks)} tasks on the machine, pid_max "
                      f"{pid_max}, threads-max {threads_max}, RLIMIT_NPROC "
                      f"{env.get('nproc_limit')}, max_map_count {env.get('max_map_count')}")
    return w


def thread_wall(res, impls=("thread",)):
    """The first wall a thread server met (fewest connections), scale runs first."""
    walls = [r for r in res.runs if r.refused and r.impl in impls]
    if not walls:
        return None
    return wall_of(res, min(walls, key=lambda r: (r.kind != "scale", r.conns, r.repeat)))
