"""What several claims need: the deciding task design, the point a comparison is made at,
slopes per connection, ratios per repeat."""

from ..rules import spread_of
from ..util import median, ratio, slope


def first_task(block, res):
    """The block's first task design that has runs (its first task design if none has):
    the deciding design of the claims that do not choose otherwise."""
    tasks, _ = block.present(res)
    return tasks[0] if tasks else block.tasks[0]


def lowest_wait(res, io="timer"):
    w = res.waits(io)
    return w[0] if w else 0


def largest_common(res, wait, labels, key=None, io="timer"):
    """The largest N at which every label has a run usable for figure `key`."""
    common = None
    for label in labels:
        s = set(res.sustained_conns(label, wait, io, key))
        common = s if common is None else common & s
    return max(common) if common else None


def point(res, labels, key, io="timer"):
    """(wait, N): the largest N every label sustained with `key` usable, at the lowest wait
    that has it."""
    best = None
    for w in res.waits(io):
        n = largest_common(res, w, labels, key, io)
        if n and (best is None or n > best[1]):
            best = (w, n)
    return best or (None, None)


def repeat_ratios(res, num, den, wait, conns, key, io="timer"):
    """num ÷ den of figure key per repeat present in both, and their (lo, hi) spread."""
    a = res.by_repeat(num, wait, conns, key, io)
    b = res.by_repeat(den, wait, conns, key, io)
    rs = [ratio(a[k], b[k]) for k in sorted(set(a) & set(b))]
    rs = [x for x in rs if x is not None]
    return rs, spread_of(rs)


def fit_per_conn(res, label, wait, key_kib, repeat=None, min_conns=100, io="timer"):
    """Bytes per connection: slope of a server figure (KiB over the idle baseline) over
    sustained runs with N >= min_conns (one repeat, or all), or the largest run's own ratio
    when there is only one N. (slope, distinct N used)."""
    pts = []
    for c, rs in res.grid(io).get(label, {}).get(wait, {}).items():
        for r in rs:
            if not r.sustained or c < min_conns or (repeat is not None and r.repeat != repeat):
                continue
            y = key_kib(r)
            if y is not None:
                pts.append((r.conns, y * 1024))
    s = slope(pts)
    if s is None and pts:
        c, y = max(pts)
        s = y / c
    return s, len({c for c, _ in pts})


def med(xs):
    return median(xs)
