"""The data files of C7's plots: the stop scenario per design (stop_LABEL.dat: SIGTERM to
exit against N, the unclean stops marked) and the shared table at its point (share.dat: CPU
per request and p99 with and without it, time per update, lost updates)."""

import os

from .claims.c7_mech import pick, unclean, usable_share
from .fmt import dat, gp_text, human_n
from .util import median, write_atomic
from . import designs


def quoted(s):
    return '"' + str(s).replace('"', "'") + '"'


def stop_mark(runs):
    """What went wrong at a stop, in a few words: "12 cut", "killed", "3 reset"."""
    parts = []
    for r in runs:
        st = r.stop
        if st["killed"]:
            parts.append("killed")
        for k, word in (("cut", "cut"), ("reset", "reset"), ("still_open", "open")):
            if st[k]:
                parts.append(f"{human_n(st[k])} {word}")
        if not parts and unclean(r):
            parts.append("exit ≠ 0")
    return ", ".join(dict.fromkeys(parts))


def write_stop(res, d, meta):
    labels, unclean_labels = [], []
    for label in designs.order({r.label for r in res.stop_runs()}):
        by_n = {}
        for r in res.stop_runs(label):
            if r.ok and r.stop is not None and r.stop["cut"] is not None:
                by_n.setdefault(r.conns, []).append(r)
        if not by_n:
            continue
        lines = ["conns\texit_s\tunclean_s\tmark"]
        for n in sorted(by_n):
            rs = by_n[n]
            t = median([r.stop["exit_s"] for r in rs])
            bad = any(unclean(r) for r in rs)
            lines.append(f"{n}\t{dat(t)}\t{dat(t if bad else None)}\t"
                         f"{quoted(stop_mark(rs) if bad else '-')}")
        write_atomic(os.path.join(d, f"stop_{label}.dat"), "\n".join(lines) + "\n")
        labels.append(label)
        if any(unclean(r) for rs in by_n.values() for r in rs):
            unclean_labels.append(label)
    if labels:
        meta["stop_labels"] = " ".join(labels)
        # gnuplot 5.4 crashes on a labels plot whose every point is undefined: the crosses
        # and their words are drawn only for the designs that have one
        meta["stop_unclean_labels"] = " ".join(unclean_labels)
        wait = res.stop_runs(labels[0])[0].wait_us
        meta["stop_desc"] = (f"a tenth of the connections with a request in flight (a "
                             f"{wait / 1e6:g} s wait), the rest idle")


def write_share(res, d, meta):
    """One row per design (and per K of the unguarded thread server) at the shared point."""
    keys = {(r.conns, r.wait_us, r.share_us) for r in res.shared_runs() if usable_share(r)}
    if not keys:
        return
    conns, wait, us = key = pick(keys)
    base_k = min(r.k for r in res.shared_runs() if usable_share(r))
    rows = []
    for label in designs.order({r.label for r in res.shared_runs()}):
        for k in sorted({r.k for r in res.shared_runs(label)}):
            rs = [r for r in res.shared_runs(label) if r.k == k and usable_share(r)
                  and (r.conns, r.wait_us, r.share_us) == key]
            if not rs:
                continue
            base = "thread" if label == "thread-nolock" else label
            same = k == base_k  # a baseline on other CPUs is not the same server
            lost = max((r.share["lost"] or 0) for r in rs)
            frac = max((r.share["lost_frac"] or 0) for r in rs)
            name = designs.name(label).split(" (")[0] if label != "thread-nolock" else \
                "thread, no lock"
            name = gp_text(name + (f", {k} CPUs" if k != base_k else ""))
            rows.append("\t".join([
                quoted(label), quoted(name),
                dat(res.med(base, wait, conns, "cpu_us_per_request") if same else None),
                dat(median([r.v["cpu_us_per_request"] for r in rs])),
                dat(res.med(base, wait, conns, "lat_p99_us") if same else None),
                dat(median([r.v["lat_p99_us"] for r in rs])),
                dat(median([r.share["ns"] for r in rs])),
                dat(lost), quoted(f"{human_n(lost)} lost, {100 * frac:.2g}%" if lost
                                  else "-")]))
    if not rows:
        return
    write_atomic(os.path.join(d, "share.dat"),
                 "label\tname\tcpu0\tcpu\tp990_us\tp99_us\tns\tlost\tlost_text\n"
                 + "\n".join(rows) + "\n")
    meta["share_n"] = len(rows)
    meta["share_desc"] = (f"{human_n(conns)} conns, wait {wait} µs, {us} µs of CPU inside "
                          f"each update")
