"""summary.csv (one row per run) and hol.csv (one row per head-of-line load)."""

import csv
import io
import os

from .results import capacity_steps, hol_rows
from .util import write_atomic

SUMMARY_COLS = [
    "file", "label", "impl", "status", "failure", "conns", "wait_us", "work_us", "bytes",
    "mode", "rate", "think_ms", "stack_kib", "repeat", "requests", "rps", "errors_total",
    "err_connect", "err_read", "err_write", "err_timeout", "err_status", "err_body", "err_other",
    "lat_min_us", "lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_p999_us", "lat_max_us",
    "lat_mean_us", "client_cpu_s", "saturated", "rss_idle_kib", "rss_steady_kib",
    "rss_peak_kib", "vsz_idle_kib", "vsz_steady_kib", "pss_steady_kib", "threads_peak",
    "ctx_voluntary", "ctx_involuntary", "ctx_perf", "cpu_user_s", "cpu_sys_s",
    "kernel_stack_kib_delta", "slab_unreclaim_kib_delta", "sock_tcp_pages_delta",
    "rss_per_conn_bytes", "vsz_per_conn_bytes", "kernel_per_conn_bytes", "ctx_per_request",
    "cpu_us_per_request", "kind", "workers", "procs", "thread_create_failed",
    "io", "inflight_mean", "inflight_max", "backend_cpu_us_per_request",
    "server_cpus", "client_cpus", "overlap", "capacity_rps", "slo_ms", "capacity_bound",
    "step", "offered_rps"]
HOL_COLS = ["file", "conns", "rate", "work_us", "requests", "rps", "errors_total",
            "lat_p50_us", "lat_p99_us", "lat_p999_us", "lat_max_us"]


def cell(x):
    if x is None:
        return ""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return round(x, 6) if isinstance(x, float) else x


def cpus_text(xs):
    return " ".join(str(x) for x in xs) if isinstance(xs, list) else ""


def run_row(r):
    row = {"file": r.file, "label": r.label, "impl": r.impl, "status": r.status,
           "failure": r.failure or "", "conns": r.conns, "wait_us": r.wait_us,
           "work_us": r.work_us, "bytes": r.bytes, "mode": r.mode, "rate": r.param("rate"),
           "think_ms": r.param("think_ms"), "stack_kib": r.stack_kib, "repeat": r.repeat,
           "requests": r.requests, "errors_total": r.errors_total, "saturated": r.saturated,
           "kind": r.kind, "workers": r.workers, "procs": r.procs,
           "thread_create_failed": r.refused, "io": r.io,
           "server_cpus": cpus_text(r.placement.get("server_cpus")),
           "client_cpus": cpus_text(r.placement.get("client_cpus")),
           "overlap": r.placement.get("overlap")}
    for k, x in r.errors.items():
        if f"err_{k}" in SUMMARY_COLS:
            row[f"err_{k}"] = x
        elif x:
            row["err_other"] = (row.get("err_other") or 0) + x
    cap = r.capacity
    if cap:
        row.update(capacity_rps=cap.get("capacity_rps"), slo_ms=cap.get("slo_ms"),
                   capacity_bound=cap.get("capacity_bound"))
    for k in SUMMARY_COLS:
        if k not in row:
            row[k] = r.v.get(k)
    return {k: cell(row.get(k)) for k in SUMMARY_COLS}


def step_rows(r):
    """One row per open-loop step of a capacity run, beside the run's own row."""
    out = []
    for i, st in enumerate(capacity_steps(r), 1):
        row = {k: "" for k in SUMMARY_COLS}

        def us(k):
            return None if st[k] is None else st[k] * 1000
        row.update(file=r.file, label=r.label, impl=r.impl, status=r.status, conns=r.conns,
                   wait_us=r.wait_us, work_us=r.work_us, bytes=r.bytes, mode="open",
                   kind="capacity-step", io=r.io, repeat=r.repeat, step=i,
                   offered_rps=cell(st["offered"]), rps=cell(st["achieved"]),
                   rate=cell(st["offered"]), requests=cell(st["requests"]),
                   lat_p50_us=cell(us("p50_ms")), lat_p90_us=cell(us("p90_ms")),
                   lat_p99_us=cell(us("p99_ms")), lat_p999_us=cell(us("p999_ms")),
                   saturated=cell(st["behind"]))
        out.append(row)
    return out


def write_summary(res):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUMMARY_COLS, lineterminator="\n")
    w.writeheader()
    for r in sorted(res.runs, key=lambda r: (r.label, r.io, r.wait_us, r.conns, r.repeat)):
        w.writerow(run_row(r))
        for row in step_rows(r):  # a capacity curve's steps follow its run's row
            w.writerow(row)
    write_atomic(os.path.join(res.out, "summary.csv"), buf.getvalue())
    if res.hol:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(HOL_COLS)
        for row in hol_rows(res):
            w.writerow(row)
        write_atomic(os.path.join(res.out, "hol.csv"), buf.getvalue())
