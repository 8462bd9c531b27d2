"""How figures are printed: bytes, microseconds, counts, ratios, Markdown cells."""

import math


def human_bytes(b):
    if b is None:
        return "n/a"
    a = abs(b)
    if a >= 1 << 30:
        return f"{b / (1 << 30):.2f} GiB"
    if a >= 1 << 20:
        return f"{b / (1 << 20):.2f} MiB"
    if a >= 1 << 10:
        return f"{b / 1024:.1f} KiB"
    return f"{b:.0f} B"


def human_us(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} s"
    if v >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs" if v >= 10 else f"{v:.1f} µs"


def human_n(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        s = f"{v / 1e6:.2f}M"
    elif abs(v) >= 1e4:
        s = f"{v / 1e3:.1f}k"
    elif abs(v) >= 100 or float(v).is_integer():
        s = f"{v:.0f}"
    elif abs(v) >= 1:
        s = f"{v:.2f}"
    else:
        s = f"{v:.3g}"
    return s + unit


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if math.isinf(r):
        return "∞"
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def fmt_range(lo, hi):
    """'1.8-2.4×' for a spread of ratios."""
    if lo is None or hi is None:
        return "n/a"
    if math.isinf(hi):
        return f"{fmt_ratio(lo)[:-1]}-∞"
    return f"{fmt_ratio(lo)[:-1]}-{fmt_ratio(hi)}"


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def dat(v):
    """A number for gnuplot: NaN where unknown."""
    return "NaN" if v is None else f"{v:.6g}"


def kib(b):
    return None if b is None else b / 1024


def gp_text(s):
    """A string for gnuplot's enhanced text: an underscore is not a subscript."""
    return s.replace("_", "\\\\_")
