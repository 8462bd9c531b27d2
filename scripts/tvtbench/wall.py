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


# What stopped a probe of the wall search, read from the errors' own text first (the
# generator's first error of each kind, the harness's failure), then from the limits the
# harness read at the ramp's end. (pattern, limit, whose, text): whose is "design" when the
# server met it, "generator" or "machine" when the load or the box did, and then the wall
# is only a lower bound for the design.
ERROR_CAUSES = (
    (r"Too many open files in system", "file_max", "machine",
     "fs.file-max: the machine ran out of open files (ENFILE)"),
    (r"Cannot assign requested address", "ports", "generator",
     "ephemeral ports: a source address ran out of ports (EADDRNOTAVAIL)"),
    (r"Too many open files", "nofile", "generator",
     "RLIMIT_NOFILE of a generator process (EMFILE)"),
    (r"Cannot allocate memory|Out of memory|SIGKILL|signal 9", "memory", "design",
     "memory: an allocation failed or the kernel's OOM killer stepped in"),
    (r"Connection refused|Connection reset", "accept_queue", "design",
     "the accept queue: connections refused or reset while the server fell behind"),
)
RAISABLE = {"pid_max": "kernel.pid_max", "threads_max": "kernel.threads-max",
            "max_map_count": "vm.max_map_count", "file_max": "fs.file-max",
            "nofile": "RLIMIT_NOFILE", "ports": "net.ipv4.ip_local_port_range"}


def _texts(r):
    return [str(r.failure or "")] + [f"{k}: {v}" for k, v in r.first_errors.items()]


def probe_cause(res, r):
    """Why run r, a probe that did not hold, failed: {limit, whose, text, raisable}."""
    out = {"limit": None, "whose": "design", "text": None, "raisable": False}
    w = wall_of(res, r)
    if w:
        limit = ("pid_max" if w["limit"].startswith("kernel.pid_max") else "threads_max"
                 if w["limit"].startswith("kernel.threads-max") else "threads")
        return dict(out, limit=limit, raisable=limit in RAISABLE,
                    text=f"pthread_create failed with {w['errno']}: {w['limit']}")
    for pat, limit, whose, text in ERROR_CAUSES:
        hit = next((t for t in _texts(r) if re.search(pat, t)), None)
        if hit:
            return dict(out, limit=limit, whose=whose, raisable=limit in RAISABLE,
                        text=f"{text} (\"{hit[:100]}\")")
    lim = r.doc.get("limits") if isinstance(r.doc.get("limits"), dict) else {}
    env = r.env or res.env()
    fo, fm = fnum(lim.get("files_open")), fnum(lim.get("file_max"))
    maps, mmc = fnum(lim.get("server_maps")), fnum(lim.get("max_map_count"))
    ma, mt = fnum(lim.get("mem_available_kib")), fnum(env.get("mem_kib"))
    if fo and fm and fo >= 0.95 * fm:
        return dict(out, limit="file_max", whose="machine", raisable=True,
                    text=f"fs.file-max: {int(fo)} of {int(fm)} files open at the ramp's end")
    if maps and mmc and maps >= 0.95 * mmc:
        return dict(out, limit="max_map_count", raisable=True,
                    text=f"vm.max_map_count: a server process held {int(maps)} of "
                         f"{int(mmc)} mappings")
    if ma and mt and ma < 0.05 * mt:
        return dict(out, limit="memory",
                    text=f"memory: {int(ma) // 1024} MiB of {int(mt) // 1024} MiB left")
    if r.saturated:
        return dict(out, limit="generator_cpu", whose="generator",
                    text="the generator's CPU: it was saturated, so the load was not offered")
    if not r.ok:
        return dict(out, limit="failed", text=f"the run failed: {r.failure}")
    timeouts = r.errors.get("timeout") or 0
    if timeouts:
        return dict(out, limit="latency", text=f"{int(timeouts)} requests timed out "
                    f"({r.errors_total / max(1.0, r.requests or 0):.1%} failed)")
    return dict(out, limit="errors", text=f"{int(r.errors_total)} failed requests "
                f"({r.errors_total / max(1.0, r.requests or 0):.1%})")
