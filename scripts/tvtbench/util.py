"""Numbers, medians, slopes and atomic file writes shared by every module."""

import json
import math
import os
import statistics
import sys


def get(d, *path):
    """d[path[0]][path[1]]..., None where a level is missing or not a dict."""
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def fnum(v):
    """A finite float, or None (bools, strings that are not numbers, NaN, inf)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    try:
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(num, den):
    """num/den; inf when only the denominator is 0; None when unknown."""
    if num is None or den is None:
        return None
    if den == 0:
        return math.inf if num > 0 else None
    return num / den


def slope(points):
    """Least-squares slope of [(x, y)], None with fewer than two distinct x."""
    pts = [(x, y) for x, y in points if x is not None and y is not None]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def write_atomic(path, text):
    """Temp file in the same folder, fsync, rename: a reader never sees half a file."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path, doc):
    write_atomic(path, json.dumps(doc, indent=2) + "\n")


def load_json(path, quiet=False):
    """The parsed file, or None (and a line on stderr) when it cannot be read."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        if not quiet:
            print(f"tvtbench: skipping {path}: {e}", file=sys.stderr)
        return None
