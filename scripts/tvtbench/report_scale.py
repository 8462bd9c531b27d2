"""REPORT.md's scale section: the walls the search found, its probes (scale runs) and the
thread wall."""

from .fmt import human_bytes, human_n, human_us
from .results import scale_figures
from .util import fnum
from .claims.c4_walls import BOUND, at_wall, projection
from .wall import RAISABLE, thread_wall


def _cell_rss(f, r):
    if f["rss_kib"] is not None and r.sustained:
        return f"{human_bytes(f['rss_kib'] * 1024)} ({human_bytes(f['rss_pc'])})"
    return f"{human_bytes(f['rss_kib'] * 1024)} at the peak" if f["rss_kib"] else "n/a"


def _cell_kern(f, r):
    if f["kern_kib"] is not None and r.sustained:
        return f"{human_bytes(f['kern_kib'] * 1024)} ({human_bytes(f['kern_pc'])})"
    return f"{human_bytes(f['kern_kib'] * 1024)} at the peak" if f["kern_kib"] else "n/a"


def scale_section(res):
    """## Scale: the scale runs' table and the thread wall, or nothing without scale runs."""
    runs = res.scale_runs()
    w = thread_wall(res)
    walls = {k: v for k, v in (res.meta.get("walls") or {}).items() if isinstance(v, dict)}
    if not runs and not w and not walls:
        return []
    o = ["## Walls: how many connections each design holds here\n" if walls else
         "## Scale: 100,000 connections and the thread wall\n"]
    if walls:
        o += walls_table(res, walls)
    if runs:
        o += scale_table(res, runs)
    if w:
        o += wall_text(res, w)
    return o


def walls_table(res, walls):
    o = ["Each design's wall was searched: N grew from the grid's largest N held until a "
         "probe failed (status failed, > 1% failed requests, a connection refused a thread), "
         "then the gap between the largest N held and the smallest N failed was halved "
         "until it was within the tolerance. A wall met by the generator, the machine or "
         "the search's ceiling is a lower bound (≥) for the design. Memory per connection "
         "at the wall: the server's RSS and the machine's MemAvailable (both ends of each "
         "loopback connection, the generator included).\n",
         "| design | wall | what stopped it | first failed | server RSS / MemAvailable per "
         "conn at the wall | p99 at the wall | probes (time) |\n|---|---|---|---|---|---|---|"]
    for lab, w in walls.items():
        if w.get("state") != "done":
            o.append(f"| {lab} | n/a | {w.get('reason') or w.get('state')} | | | | |")
            continue
        ge = "≥ " if w.get("whose") != "design" else ""
        who = "" if not ge else f" ({BOUND.get(w.get('whose'), w.get('whose'))})"
        p = at_wall(w) or {}
        mem = " / ".join(human_bytes(p[k]) if p.get(k) else "n/a"
                         for k in ("rss_per_conn_bytes", "machine_bytes_per_conn"))
        o.append(f"| {lab} | {ge}{human_n(w.get('wall'))} | {w.get('cause') or 'n/a'}{who} | "
                 f"{human_n(w.get('first_failed')) if w.get('first_failed') else 'none'} | "
                 f"{mem} | {human_us(p['p99_us']) if p.get('p99_us') else 'n/a'} | "
                 f"{len(w.get('probes') or [])} ({human_n(w.get('elapsed_s'))} s) |")
    o.append("")
    for lab, w in walls.items():
        pr = projection(w, res.env()) if w.get("state") == "done" else None
        if pr:
            mem_n = int(pr["mem_available_kib"] * 1024 / pr["bytes_per_conn"])
            o.append(f"With {RAISABLE.get(w.get('limit'), w.get('limit'))} raised, {pr['by']} "
                     f"would stop {lab} near {human_n(pr['conns'])} connections"
                     + ("" if pr["by"] == "memory" else
                        f", before memory (near {human_n(mem_n)})")
                     + f" ({human_bytes(pr['bytes_per_conn'])} of MemAvailable per connection, "
                     f"{human_bytes(pr['mem_available_kib'] * 1024)} available).\n")
    return o


def scale_table(res, runs):
    o = []
    r0 = runs[0]
    f0 = scale_figures(res, r0)
    srcs = max([f0["source_ips"] or 0] + [scale_figures(res, r)["source_ips"] or 0
                                          for r in runs]) or None
    impls = sorted({r.impl for r in runs})
    o.append(f"{'The designs' if len(impls) > 1 else 'The ' + impls[0] + ' server'} with "
             f"{r0.workers}{'+' if len({r.workers for r in runs}) > 1 else ''} server processes (`--workers`, one SO_REUSEPORT listener each) "
             f"and {r0.procs} load-generator processes (each process has its own fd limit, "
             f"{res.env().get('nofile_limit', '?')} here), closed loop with a think time "
             f"between an answer and the next request, wait {r0.wait_us} µs, measured for "
             f"{human_n(f0['duration'])} s after {human_n(f0['warmup'])} s of warm-up, a "
             f"request timing out after {human_us((f0['timeout_ms'] or 0) * 1000)}"
             + (f"; connections come from up to {srcs:.0f} loopback source addresses"
                if srcs else "") + ". The think time of each point is chosen at run time so "
             "that the connections offer at most half the capacity the design measured at a "
             "smaller N: latency at 100,000 connections then shows the cost of holding them, "
             "not a queue. One run per point. Memory per connection is (steady − idle) ÷ N; "
             "kernel memory is system-wide (KernelStack + SUnreclaim + TCP pages), so it "
             "holds both ends of each loopback connection; CPU is the server's user + system "
             "time in the window.\n")
    o.append("| design | conns | think | result | req/s (offered) | p50 / p99 | errors | "
             "server RSS (per conn) | kernel, system-wide (per conn) | server CPU (per conn) "
             "| threads |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        f = scale_figures(res, r)
        result = ("held" if r.sustained else "**thread wall**" if r.refused else
                  "**failed**" if not r.ok else "**errors > 1%**")
        cpu = (f"{f['cpu_cores'] * 100:.0f}% of a CPU ({human_n(f['cpu_us_per_conn_s'])} µs/s)"
               if f["cpu_cores"] is not None and r.sustained else "n/a")
        measured = bool(r.requests)
        o.append(f"| {r.label} × {r.workers} | {human_n(r.conns)} | {r.think_ms / 1000:.2f} s | "
                 f"{result} | {human_n(f['rps']) if measured else '–'} "
                 f"({human_n(f['offered'])}) | "
                 + (f"{human_us(f['p50'])} / {human_us(f['p99'])}" if measured else "–")
                 + f" | {int(r.errors_total)} | {_cell_rss(f, r)} | {_cell_kern(f, r)} | {cpu} |"
                 f" {human_n(f['threads_peak'])} |")
    o.append("")
    bases = sorted({str(scale_figures(res, r)["think_basis"]) for r in runs
                    if scale_figures(res, r)["think_basis"]})
    if bases:
        o.append("Think times: " + "; ".join(bases) + ".\n")
    o.append("\"offered\" is what the connections would ask of a server that answered at once "
             "(N ÷ (think + wait)); a closed loop asks less of a slower server, so the "
             "difference is the server's queueing, seen in the latency. CPU per connection is "
             "µs of server CPU per second per open connection.\n")
    ok = [r for r in res.scale_runs("async") if r.sustained]
    if ok:
        big = max(ok, key=lambda r: r.conns)
        f = scale_figures(res, big)
        o.append(f"At {human_n(big.conns)} connections the async server (×{big.workers}) held "
                 f"every connection for {human_n(f['duration'])} s with "
                 f"{int(big.errors_total)} errors, answering {human_n(f['rps'])} req/s (p99 "
                 f"{human_us(f['p99'])}): {human_bytes(f['rss_pc'])} of RSS, "
                 f"{human_bytes(f['kern_pc'])} of kernel memory (both socket ends) and "
                 f"{human_n(f['cpu_us_per_conn_s'])} µs of CPU per second per connection "
                 f"({human_n(f['cpu_us_pr'])} µs per request).\n")
        small = [r for r in res.runs if r.label == "async" and r.kind == "grid" and
                 r.conns == 1000 and r.wait_us == big.wait_us and r.usable("lat_p99_us")]
        p99k = min([r.v["lat_p99_us"] for r in small if r.v["lat_p99_us"]] or [None],
                   key=lambda x: x or 0)
        if p99k and f["p99"]:
            o.append(f"Its p99 at {human_n(big.conns)} connections is {human_us(f['p99'])} "
                     f"against {human_us(p99k)} at 1,000 connections in the grid (same wait, "
                     f"closed loop without think time): ×{f['p99'] / p99k:.1f}.\n")
    return o


def wall_text(res, w):
    o = []
    f, r = w["figures"], w["run"]
    o.append("### The thread wall\n")
    o.append(f"Asked for {human_n(w['conns'])} connections"
             + (f" with {r.workers} processes" if r.workers > 1 else "")
             + f", the thread server reached **{human_n(w['threads'])} threads** "
             f"({human_n(w['served'])} connections with a thread of their own), then "
             f"pthread_create failed with **{w['errno']}** (\"{w['error_text']}\") "
             f"{human_n(w['refused'])} times; each of those connections got a 503 and was "
             f"closed. The limit: **{w['limit']}**. Evidence: {w['evidence']}.\n")
    sysd = f["sys"]
    kst = (f["sys_kstack_kib"] if f["sys_kstack_kib"] is not None else f["kstack_delta_kib"])
    rows = [("tasks on the machine at the peak (all processes' threads)",
             f"{human_n(w['tasks_peak'])} (before the run: "
             f"{human_n(fnum(sysd.get('tasks_before')))}; pid_max {sysd.get('pid_max') or 'n/a'})"
             if w["tasks_peak"] is not None else "n/a (no record of the machine)"),
            ("server threads at the peak", human_n(w["threads"])),
            ("server RSS at the peak", human_bytes((f["rss_peak_kib"] or 0) * 1024)
             if f["rss_peak_kib"] else "n/a"),
            ("server address space (VSZ) at the peak", human_bytes(f["vsz_peak_kib"] * 1024)
             if f["vsz_peak_kib"] else "n/a"),
            ("kernel stacks, system-wide, rise during the run",
             human_bytes(kst * 1024) if kst is not None else "n/a"),
            ("unreclaimable slab (sockets etc.), system-wide, rise",
             human_bytes(f["sys_slab_kib"] * 1024) if f["sys_slab_kib"] is not None else "n/a"),
            ("memory still available on the machine",
             human_bytes(sysd["memavailable_kib"] * 1024) if sysd.get("memavailable_kib")
             else "n/a")]
    o.append("| at the wall | |\n|---|---|")
    o += [f"| {k} | {v} |" for k, v in rows]
    o.append("")
    skipped = [s for s in res.meta.get("skipped") or [] if s.get("kind") == "scale"
               and s.get("impl") == "thread"]
    ma, mt = sysd.get("memavailable_kib"), sysd.get("memtotal_kib")
    if w["limit"].startswith("kernel.pid_max") and ma and mt and ma > 0.2 * mt:
        o.append(f"Memory was not the limit: {human_bytes(ma * 1024)} of "
                 f"{human_bytes(mt * 1024)} was still available while every pid was taken.")
    o.append(("The sweep ended that run a second after the wall showed (every other process "
              "on the machine needs pids too)" if sysd.get("stopped_at_wall_t_s") else
              "The sweep went on after the wall")
             + (f" and skipped the larger points of the series "
                f"({', '.join(human_n(s['conns']) for s in skipped)} connections)."
                if skipped else ".") + "\n")
    return o
