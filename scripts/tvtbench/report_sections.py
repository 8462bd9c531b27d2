"""Sections of REPORT.md beside the verdicts: effective waits, the contestants, plot
captions, failures and caveats (the scale runs: report_scale)."""

import glob
import json
import os

from . import designs
from .fmt import fmt_ratio, human_bytes, human_n, human_us, md_escape
from .plotdata import spectrum_choice
from .results import MAX_ERROR_FRACTION, capacity_steps
from .util import median
from .wall import thread_wall


def effective_wait(res, io="timer"):
    """Per design, at the smallest conns: p50(wait W) - p50(wait 0): what a requested wait
    became (timer granularity, a backend's round trip, a device read)."""
    rows = []
    base_waits = res.waits("timer")
    for label in res.labels(io):
        waits = res.waits(io, label)
        conns = sorted(set(res.sustained_conns(label, 0, "timer", "lat_p50_us"))) \
            if 0 in base_waits else []
        if not conns:
            continue
        c = conns[0]
        base = res.med(label, 0, c, "lat_p50_us", "timer")
        for w in waits:
            if w == 0 and io == "timer":
                continue
            p = res.med(label, w, c, "lat_p50_us", io)
            if p is None or base is None:
                continue
            rows.append((label, c, w, p - base))
    return rows


def effective_wait_section(res):
    o = ["## Effective wait per design\n"]
    any_rows = False
    for io in res.io_kinds():
        ew = effective_wait(res, io)
        if not ew:
            continue
        any_rows = True
        if io == "timer":
            o.append("What a requested wait became: median latency at wait W minus median "
                     "latency at wait 0 (same connections, timer kind), at the smallest "
                     "connection count. A timer that rounds up to whole milliseconds shows "
                     "here, and it bounds every wait-bound figure (throughput at a wait is at "
                     "most N ÷ effective wait).\n")
        else:
            o.append(f"**io={io}**: the same difference for a wait on "
                     f"{'a backend over TCP (its timer plus a round trip)' if io == 'net' else 'the device (an O_DIRECT read; wait 0: the read alone)'}.\n")
        o.append("| design | kind | conns | requested wait | effective wait | effective ÷ "
                 "requested |\n|---|---|---|---|---|---|")
        for label, c, w, e in ew:
            o.append(f"| {label} | {io} | {c} | {human_us(w)} | {human_us(e)} | "
                     + (f"{e / w:.2f}" if w else "–") + " |")
        o.append("")
    if not any_rows:
        o.append("Not available: the sweep has no wait-0 runs to subtract.\n")
    return o


def contestants_section(res):
    """## How the runtimes the claims name compare: computed like the rest, from the grid."""
    cont = res.contestant_labels()
    if not cont:
        return []
    labels = res.c_labels() + cont
    g = res.grid()
    o = ["## How the runtimes the claims name compare\n"]
    o.append("The claims were made about Rust's Tokio; Go's goroutines are the other common "
             "answer (thread-style code on an event loop). Each ran here through the same "
             "harness, on the same CPUs, with the same server-side measurements: "
             + ", ".join(f"**{x}** ({designs.name(x)})" for x in cont)
             + ". Medians over the sustained runs of each point; memory per connection is "
             "(steady − idle RSS) ÷ N of the whole server; CPU and context switches are the "
             "server's own, per request.\n")
    conns_all = sorted({c for x in labels for w in g.get(x, {}) for c in g[x][w]})
    want = [c for c in (100, 10000) if c in conns_all] or conns_all[-2:]
    ew = {(x, w): e for x, c, w, e in effective_wait(res)}
    for wait in [w for w in res.waits() if w in (0, 1000)] or res.waits()[:1]:
        rows = [x for x in labels if wait in g.get(x, {})]
        if not rows:
            continue
        o.append(f"### {'No wait' if wait == 0 else f'Wait {human_us(wait)}'}\n")
        head = "| design |"
        for c in want:
            head += f" req/s ({human_n(c)}) | p99 ({human_n(c)}) | RSS/conn ({human_n(c)}) |"
        head += (f" CPU µs/req ({human_n(want[-1])}) | switches/req ({human_n(want[-1])}) |"
                 f" threads ({human_n(want[-1])}) |")
        if wait:
            head += " effective wait |"
        o.append(head)
        o.append("|" + "---|" * (head.count("|") - 1))
        best = {}
        for c in want:
            vals = [(res.med(x, wait, c, "rps"), x) for x in rows]
            vals = [v for v in vals if v[0] is not None]
            if vals:
                best[c] = max(vals)
        flagged = False
        for lab in rows:
            line = f"| {lab} |"
            for c in want:
                rs = res.runs_at(lab, wait, c)
                if rs and not any(r.usable("rps") for r in rs):
                    # no usable run: its own figures, flagged, never a median of good ones
                    flagged = True
                    if not any(r.ok for r in rs):
                        line += " failed | | |"
                        continue
                    own = lambda k: median([r.v.get(k) for r in rs if r.ok])  # noqa: E731
                    line += (f" {human_n(own('rps'))}† | {human_us(own('lat_p99_us'))}† |"
                             f" {human_bytes(own('rss_per_conn_bytes'))} |")
                    continue
                rps = res.med(lab, wait, c, "rps")
                mark = "**" if c in best and best[c][1] == lab else ""
                line += f" {mark}{human_n(rps)}{mark} |"
                line += f" {human_us(res.med(lab, wait, c, 'lat_p99_us'))} |"
                line += f" {human_bytes(res.med(lab, wait, c, 'rss_per_conn_bytes'))} |"
            c = want[-1]
            line += (f" {human_n(res.med(lab, wait, c, 'cpu_us_per_request'))} |"
                     f" {human_n(res.med(lab, wait, c, 'ctx_per_request'))} |"
                     f" {human_n(res.med(lab, wait, c, 'threads_peak'))} |")
            if wait:
                e = ew.get((lab, wait))
                line += f" {human_us(e)} |" if e is not None else " n/a |"
            o.append(line)
        o.append("")
        if flagged:
            o.append("† no run at that point counts (failed, more than 1% errors, or a "
                     "saturated load generator): its own figures, left out of every "
                     "comparison. Bold: the most requests per second at that point.\n")
        for c in want:
            if c not in best:
                continue
            a = res.med("async", wait, c, "rps")
            tk = res.med("tokio-current", wait, c, "rps")
            s = (f"At {human_n(c)} connections the most requests per second came from "
                 f"**{best[c][1]}** ({human_n(best[c][0])})")
            if a is not None and tk:
                s += f"; the C async server did {fmt_ratio(a / tk)} of Tokio current-thread's"
            o.append(s + ".")
        o.append("")
    o.append("nginx's memory per connection reads low because its idle baseline already holds "
             "every connection structure its fd limit allows.\n")
    return o


def plot_sentence(res, stem, rows):
    v = {row.cid: row.verdict for row in rows}

    def fig(cid, side):
        x = v.get(cid)
        return getattr(x, side) if x else "n/a"

    wait0 = res.waits()[0] if res.waits() else 0
    sentences = {
        "mem_per_conn": (f"Server memory growth per open connection (wait {wait0} µs), "
                         f"log-log: resident (RSS, solid) and address space (VSZ, dashed); at "
                         f"this sweep's slope a thread costs {fig('C1', 't')} and a task "
                         f"{fig('C1', 'a')}, kernel stack included. At 1 and 10 connections "
                         f"one-off costs (buffers, a thread's first malloc arena: 64 MiB of "
                         f"address space) dominate the per-connection figure."),
        "rss_total": (f"The whole server's resident memory at steady state against "
                      f"connections; the largest N each design sustained is task side "
                      f"{fig('C4', 'a')}, thread side {fig('C4', 't')} (crosses mark failed "
                      f"runs)."),
        "ctx_per_req": (f"Server context switches (voluntary + involuntary, all threads) per "
                        f"request, one panel per wait; at the C2 point the task side makes "
                        f"{fig('C2', 'a')} and the thread side {fig('C2', 't')} per request."),
        "throughput": ("Requests per second against connections, one panel per wait (closed "
                       "loop); rings mark points whose load generator was saturated (a bound "
                       "on the server, not its figure)."),
        "capacity": ("Capacity at the latency target (the highest offered rate whose p99 "
                     "stayed under it, open loop) against connections, per design."),
        "hockey": ("p50 (solid) and p99 (dashed) latency from the intended send time against "
                   "the offered rate, one panel per point: the knee is where the design's "
                   "queue starts; open markers: steps where the generator fell behind."),
        "latency": ("Median (solid) and 99th percentile (dashed) latency against connections, "
                    "one panel per wait; in a closed loop latency grows with N once the server "
                    "is saturated (Little's law), whichever design."),
        "cpu_per_req": ("Server CPU time (user + system) per request, one panel per wait; the "
                        "difference between the designs is the cost of their waiting model."),
        "kernel_mem": ("Kernel memory per connection that RSS does not show, from system-wide "
                       "deltas (solid: KernelStack + SUnreclaim + TCP pages; dashed: "
                       "KernelStack alone, the threads' kernel stacks). System-wide: it "
                       "includes the load generator's sockets."),
        "waits": ("Throughput and CPU per request against connections, one panel per wait "
                  "kind: a timer, a backend over TCP, a file read from the device."),
        "inflight": ("Reads in flight at the data file's device (mean over the window: the "
                     "kernel's summed read time, /sys/block/DEV/stat) against connections: a loop that reads in "
                     "place holds one at a time, threads and io_uring many."),
        "cores": ("Requests per second and CPU per request against the server's cores K, per "
                  "design, at one point; and the parallel efficiency (req/s at K ÷ K × req/s "
                  "at 1)."),
        "ramp": ("Server RSS (top) and thread count (bottom) sampled every 100 ms during the "
                 "run with the most connections, per design: the ramp, the steady state, "
                 "the end."),
        "hol": (f"Latency of light requests alone and with heavy CPU-bound neighbours (C6): "
                f"p90 with neighbours is {fig('C6', 'a')} on the task side, {fig('C6', 't')} "
                f"on the thread side."),
        "stop": ("The stop scenario (C7): time from SIGTERM to the server's exit against "
                 "connections, with some requests in flight and the other connections "
                 "idle; a cross marks a stop that was not clean, labelled with what it cut, "
                 "reset or was killed for. The row's figures: task side "
                 f"{fig('C7', 'a')}, thread side {fig('C7', 't')}."),
        "share": ("Requests that update a table every connection shares (C7): server CPU per "
                  "request and p99 latency without the table (the grid's run at the same "
                  "point, same CPUs) and with it, and the time a request spends getting and "
                  "updating it, waiting for the lock included; the thread server without "
                  "its lock, on one server CPU and on all of them, with the updates it "
                  "lost."),
        "hyperfine": ("Whole-command wall time from hyperfine (mean; whiskers min..max): the "
                      "fixed job per design, and the microbenchmark commands when present."),
        "micro_mem": ("Microbenchmark (no sockets): memory per waiting unit against the number "
                      "of units, log-log; RSS solid, VSZ dashed."),
        "micro_switch": ("Microbenchmark: ns per switch for each mechanism, baseline "
                         "subtracted (tasks blue, threads red)."),
        "micro_create": "Microbenchmark: creation time per unit against the number of units.",
    }
    if stem == "latency_spectrum":
        sc = spectrum_choice(res)
        return (f"The latency distribution from min to max at {sc[0]} connections, wait "
                f"{sc[1]} µs; the tail (right) is where stalls show.")
    if stem == "scale":
        w = thread_wall(res)
        return ("The scale runs (several processes per design, closed loop with a think "
                "time): the server's RSS and the system-wide kernel memory (left), requests "
                "per second served against what the connections offered (right), against "
                "connections" + (f"; the cross marks the thread wall ({human_n(w['threads'])} "
                                 f"threads, {w['errno']})" if w else "") + ".")
    return sentences.get(stem, "")


def failures(res):
    out = []
    for r in sorted(res.runs, key=lambda r: (r.label, r.io, r.wait_us, r.conns, r.repeat)):
        what = None
        if not r.ok:
            what = f"failed: {r.failure}"
        elif r.kind == "stop":  # no load to sustain: how it stopped is C7's
            pass
        elif not r.sustained:
            what = (f"{int(r.errors_total)} errors of {int(r.requests or 0)} requests "
                    f"{json.dumps({k: int(v) for k, v in r.errors.items() if v})}")
        elif r.errors_total:
            what = f"{int(r.errors_total)} errors (within {MAX_ERROR_FRACTION:.0%})"
        if r.stop_clean is False and r.kind != "stop":
            what = ((what + "; ") if what else "") + (f"served its load; its stop failed "
                                                      f"({r.stop_failure}): C7 counts it")
        if r.saturated:
            what = ((what + "; ") if what else "") + ("load generator saturated (> 90% of a "
                                                      "core): not in throughput medians")
        behind = [st for st in capacity_steps(r) if st["behind"]]
        if behind:
            causes = sorted({st["cause"] or "the generator" for st in behind})
            what = ((what + "; ") if what else "") + (
                f"{len(behind)} capacity step(s) fell behind their schedule ({', '.join(causes)}"
                f"): not counted")
        if what:
            out.append((r.file, r.label, r.conns, r.wait_us, r.repeat, what))
    return out


def failures_section(res):
    meta = res.meta
    o = ["## Failures\n"]
    fl = failures(res)
    skipped = meta.get("skipped") or []
    phase = list(meta.get("phase_errors") or [])
    for path in sorted(glob.glob(os.path.join(res.out, "logs", "*.failed"))):
        with open(path, errors="replace") as f:
            phase.append({"phase": os.path.basename(path)[:-7], "error": f.read().strip()})
    if not fl and not skipped and not phase:
        o.append("None: every run sustained its load, nothing was skipped.\n")
    if fl:
        o.append("Failed runs, runs with errors and runs whose load generator was saturated. "
                 "They are marked in the plots (cross: failed, open diamond: more than 1% "
                 "errors, ring: generator saturated) and never averaged into a median.\n")
        o.append("| run | design | conns | wait | repeat | what |\n|---|---|---|---|---|---|")
        for f, lab, c, w, rep, what in fl:
            o.append(f"| {f} | {lab} | {c} | {w} µs | {rep} | {md_escape(what)} |")
        o.append("")
    if skipped:
        groups = {}
        for s in skipped:
            lab = s.get("label") or s.get("impl")
            if s.get("kind") == "scale":
                lab = f"{s.get('impl')} × {s.get('workers')} (scale)"
            k = (lab, s.get("wait_us"), s.get("reason"))
            groups.setdefault(k, set()).add(s.get("conns"))
        o.append("Points not run, and why:\n")
        o.append("| design | wait | conns | why |\n|---|---|---|---|")
        for (lab, w, why), cs in sorted(groups.items(), key=lambda x: str(x[0])):
            o.append(f"| {lab} | {w} µs | {', '.join(str(c) for c in sorted(cs, key=str))} | "
                     f"{md_escape(why)} |")
        o.append("")
    if phase:
        o.append("Other steps that did not complete:\n")
        for p in phase:
            o.append(f"- {p.get('phase')}: {md_escape(p.get('error'))}")
        o.append("")
    return o


def caveats(res):
    env, ax = res.env(), res.meta.get("axes") or {}
    o = ["## Caveats\n"]
    o.append("- **Closed loop.** The grid is closed-loop: each connection sends its next "
             "request only after the answer, so a slow server is offered less load and its "
             "latency looks better than an open-loop client would see (coordinated omission). "
             "The capacity curves and the head-of-line case use an open loop, latency counted "
             "from the intended send time.")
    o.append("- **Loopback.** Client and server talk over 127.0.0.1: no NIC, no interrupts, "
             "no network latency; socket costs are the kernel's alone.")
    o.append(f"- **{env.get('cores', '?')} cores.** The server gets K CPUs and the load "
             f"generator the rest (the placement above). A saturated generator (marked) "
             f"understates the server; its runs are left out of throughput medians.")
    o.append("- **Virtual machine.** Timer and wake-up latencies of a VM (waking a thread on "
             "another CPU costs 10-25 µs on the 2-core VM the suite was built on, about 3 µs "
             "on the same CPU) are larger and noisier than bare metal.")
    o.append("- **Kernel memory is system-wide.** KernelStack, SUnreclaim and TCP-page deltas "
             "include the load generator's sockets and anything else running on the machine; "
             "both designs pay the same client share.")
    o.append("- **Small N.** Per-connection figures at 1 and 10 connections are dominated by "
             "the noise of the idle baseline; the C1 slope uses N ≥ 100.")
    o.append(f"- **Repeats.** {ax.get('repeats', res.repeats())} repeat(s) per point; with "
             f"one, differences of a few percent are noise, and every verdict says it rests "
             f"on one run.")
    o.append("- **A task here** is a C struct with its watchers (or, on io_uring, its pending "
             "operations), what an async runtime's future compiles to; Tokio's or Go's "
             "runtimes add their own costs (scheduler, timer wheel, allocator), which the "
             "contestants' rows show where they ran.")
    o.append("")
    return o
