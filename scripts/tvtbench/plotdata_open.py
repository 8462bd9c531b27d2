"""Data files of the open-loop plots: the hockey stick (latency against offered rate, one
panel per point) and capacity at SLO against connections."""

import os

from .fmt import dat, human_us
from .results import capacity_of, capacity_steps
from .util import median, write_atomic


def panel_key(io, conns, wait):
    return f"{io}_c{conns}_w{wait}"


def write_open_loop(res, d, meta):
    runs = res.capacity_runs()
    if not runs:
        return
    panels = {}
    for r in runs:
        panels.setdefault(panel_key(r.io, r.conns, r.wait_us), {}).setdefault(r.label, []).append(r)
    keys = sorted(panels, key=lambda k: (k.split("_")[0] != "timer", k))
    for key in keys:
        slo = None
        for label, rs in panels[key].items():
            r = min(rs, key=lambda x: x.repeat)  # one curve per design: the first repeat
            lines = ["offered\tachieved\tp50_ms\tp99_ms\tbehind\tcounted"]
            for st in sorted(capacity_steps(r), key=lambda s: s["offered"] or 0):
                lines.append("\t".join([dat(st["offered"]), dat(st["achieved"]),
                                        dat(st["p50_ms"]), dat(st["p99_ms"]),
                                        "1" if st["behind"] else "0",
                                        "1" if st["counted"] else "0"]))
            write_atomic(os.path.join(d, f"hockey_{key}_{label}.dat"), "\n".join(lines) + "\n")
            slo = slo or capacity_of(r)[1]
        io, c, w = key.split("_")
        meta[f"hockey_labels_{key}"] = " ".join(sorted(panels[key]))
        meta[f"hockey_title_{key}"] = (f"{c[1:]} conns, wait {human_us(int(w[1:]))}"
                                       + ("" if io == "timer" else f", io={io}"))
        meta[f"hockey_slo_{key}"] = slo or 0.0
    meta["hockey_panels"] = " ".join(keys)
    meta["hockey_n"] = len(keys)
    # capacity at SLO against connections, one series per (design, kind, wait)
    series = {}
    for r in runs:
        series.setdefault((r.label, r.io, r.wait_us), {}).setdefault(r.conns, []).append(r)
    cpanels = {}
    for (label, io, wait), by_c in sorted(series.items()):
        lines = ["conns\tcapacity\tlo\thi\tbound"]
        measured = False
        for c in sorted(by_c):
            caps = [capacity_of(r) for r in by_c[c] if r.ok]
            vals = [x[0] for x in caps if x[0] is not None]
            measured = measured or bool(vals)
            bound = any(x[2] in ("generator", "range") for x in caps)
            lines.append("\t".join([str(c), dat(median(vals)), dat(min(vals) if vals else None),
                                    dat(max(vals) if vals else None), "1" if bound else "0"]))
        if not measured:
            continue  # no step of any run met the target: nothing to draw (C3 says why)
        pk = f"{io}_w{wait}"
        write_atomic(os.path.join(d, f"capacity_{pk}_{label}.dat"), "\n".join(lines) + "\n")
        cpanels.setdefault(pk, []).append(label)
    for pk, labels in cpanels.items():
        io, w = pk.split("_")
        meta[f"capacity_labels_{pk}"] = " ".join(labels)
        meta[f"capacity_title_{pk}"] = (f"wait {human_us(int(w[1:]))}"
                                        + ("" if io == "timer" else f", io={io}"))
    meta["capacity_panels"] = " ".join(sorted(cpanels))
    meta["capacity_n"] = len(cpanels)
    conns = [r.conns for r in runs]
    meta["capacity_xmin"], meta["capacity_xmax"] = min(conns) / 2, max(conns) * 2


def write_cores(res, d, meta):
    """The K sweep: per design, req/s, CPU per request and the parallel efficiency
    (req/s at K ÷ (K × req/s at 1)) against the server's CPUs K."""
    runs = res.cores_runs()
    if not runs:
        return
    labels = []
    for label in sorted({r.label for r in runs}):
        by_k = {}
        for r in res.cores_runs(label):
            if r.usable("rps"):
                by_k.setdefault(r.k, []).append(r)
        if not by_k:
            continue
        one = median([r.v["rps"] for r in by_k.get(1, [])])
        lines = ["k\trps\tcpu_pr\tefficiency"]
        for k in sorted(by_k):
            rps = median([r.v["rps"] for r in by_k[k]])
            cpu = median([r.v["cpu_us_per_request"] for r in by_k[k]])
            eff = rps / (k * one) if rps is not None and one else None
            lines.append("\t".join([str(k), dat(rps), dat(cpu), dat(eff)]))
        write_atomic(os.path.join(d, f"cores_{label}.dat"), "\n".join(lines) + "\n")
        labels.append(label)
    if labels:
        r0 = runs[0]
        meta["cores_labels"] = " ".join(labels)
        meta["cores_desc"] = f"{r0.conns} conns, wait {human_us(r0.wait_us)}"
        meta["cores_kmax"] = max(r.k for r in runs)
