"""C4 from the wall search (sweep.json's `walls`): each design's wall with what stopped it.
A wall met by the generator, the machine or the search's ceiling is a lower bound for the
design ("≥ N"); a limit the user can raise (pid_max, max_map_count) gets a projection of
the next wall from the memory each connection took."""

from .. import designs
from ..fmt import human_bytes, human_n
from ..rules import NOT_HERE, PARTLY, Verdict
from ..wall import RAISABLE

BOUND = {"search": "the search's ceiling", "generator": "the generator",
         "machine": "the machine"}


def done_walls(res, labels):
    walls = res.meta.get("walls") or {}
    return {lab: w for lab, w in walls.items()
            if lab in labels and w.get("state") == "done" and w.get("wall")}


def lower_bound(w):
    return w.get("whose") != "design"


def at_wall(w):
    """The largest probe that held: its figures per connection."""
    held = [p for p in w.get("probes") or [] if p.get("held")]
    return max(held, key=lambda p: p["conns"]) if held else None


def projection(w, env=None):
    """With the limit raised, what would stop the design next: memory (MemAvailable before
    the largest probe held ÷ the machine's memory per connection then) or the other task
    limit (with pid_max raised, threads-max; and the other way round), whichever is lower.
    {conns, by, bytes_per_conn, mem_available_kib} or None."""
    p = at_wall(w)
    if not (w.get("raisable") and w.get("whose") == "design" and p):
        return None
    slope, avail = p.get("machine_bytes_per_conn"), p.get("mem_available_before_kib")
    if not slope or not avail:
        return None
    out = {"conns": int(avail * 1024 / slope), "by": "memory", "bytes_per_conn": slope,
           "mem_available_kib": avail}
    other = {"pid_max": "threads_max", "threads_max": "pid_max"}.get(w.get("limit"))
    n = (env or {}).get(other) if other else None
    if isinstance(n, (int, float)) and 0 < n < out["conns"]:
        out.update(conns=int(n), by=RAISABLE[other])
    return out


def wall_text(lab, w, env=None):
    n = human_n(w["wall"])
    if lower_bound(w):
        who = BOUND.get(w.get("whose"), w.get("whose") or "not the design")
        head = f"≥ {n} (bound by {who}: {w.get('cause') or 'not named'})"
    else:
        head = f"{n} ({w.get('cause') or 'cause not named'})"
    o = [f"the wall of {designs.name(lab)}: {head}; {len(w.get('probes') or [])} probes in "
         f"{w.get('elapsed_s', 0):.0f} s; first failed: "
         + (human_n(w["first_failed"]) if w.get("first_failed") else "none")]
    p = at_wall(w)
    if p:
        per = [f"{human_bytes(p[k])} {what}" for k, what in (
            ("rss_per_conn_bytes", "server RSS"), ("kernel_per_conn_bytes", "kernel memory"),
            ("machine_bytes_per_conn", "of MemAvailable")) if p.get(k)]
        o.append(f"at {human_n(p['conns'])} connections ({designs.name(lab)}): "
                 + (", ".join(per) + " per connection; " if per else "")
                 + f"{p.get('errors', 0)} errors, p99 "
                 + (f"{p['p99_us'] / 1000:.1f} ms" if p.get("p99_us") else "n/a"))
    pr = projection(w, env)
    if pr:
        mem_n = int(pr["mem_available_kib"] * 1024 / pr["bytes_per_conn"])
        o.append(f"with {RAISABLE.get(w.get('limit'), w.get('limit'))} raised, {pr['by']} "
                 f"would stop {designs.name(lab)} near {human_n(pr['conns'])} connections"
                 + ("" if pr["by"] == "memory" else f", before memory (near {human_n(mem_n)})")
                 + f" ({human_bytes(pr['bytes_per_conn'])} of MemAvailable per connection, "
                 f"{human_bytes(pr['mem_available_kib'] * 1024)} available)")
    return o


def walls_verdict(res, block, task, cid, metric, band, plot, thousands):
    """The C4 verdict of the task series `task` from the walls (the block's lean series
    stands in for its first task series), or None when the search did not run on both
    sides. T: the thread series with the highest wall."""
    tw = done_walls(res, block.tasks + ([block.lean] if block.lean else []))
    hw = done_walls(res, block.threads)
    tlab = (task if task in tw else block.lean if task == block.tasks[0] and
            block.lean in tw else None)
    if not tlab or not hw:
        return None
    hlab = max(hw, key=lambda k: hw[k]["wall"])
    a, t = tw[tlab]["wall"], hw[hlab]["wall"]
    r = a / t
    details = []
    for lab, w in list(tw.items()) + list(hw.items()):
        details += wall_text(lab, w, res.env())
    ge_a, ge_t = lower_bound(tw[tlab]), lower_bound(hw[hlab])
    v = Verdict(cid, metric + " (the wall search)", a, t, r, "", band=band, show=human_n,
                plot=plot, runs=1, details=details, task_label=tlab, thread_label=hlab,
                task_text=("≥ " if ge_a else "") + human_n(a),
                thread_text=("≥ " if ge_t else "") + human_n(t))
    v.outcome = band.grade(r)
    if ge_t and not ge_a:
        v.ratio_text = f"≤ {r:.3g}×"
    elif ge_a and not ge_t:
        v.ratio_text = f"≥ {r:.3g}×"
    notes = [f"{designs.name(lab)}: {'≥ ' if lower_bound(w) else ''}{human_n(w['wall'])}, "
             f"{w.get('limit') or 'ceiling'}" for lab, w in ((tlab, tw[tlab]), (hlab, hw[hlab]))]
    v.note = "; ".join(notes)
    if ge_a and ge_t:
        v.outcome = PARTLY if r >= 1 else NOT_HERE
        v.note += ": neither wall is a design's, so R is not a ratio of walls"
    if a < thousands:
        v.outcome = NOT_HERE
        v.note = f"the tasks sustained only {human_n(a)} connections, fewer than {thousands}"
    return v
