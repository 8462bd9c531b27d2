"""The wall search (C4): the largest N a design sustains, found rather than gridded. N grows
geometrically until a probe fails, then the gap between the largest N held and the
smallest N failed is halved until it is within a tolerance. Pure: the machine comes in as
facts, each probe's outcome as a bool; the sweep runs the probes (sweep_walls.py)."""

import math

GROW = 4.0   # N × GROW while every probe holds
TOL = 0.05   # stop when (failed − held) ≤ TOL × failed
MAX_PROBES = 14
# Before any probe: bytes per connection on the machine (server, generator, and the kernel
# for both ends of a loopback connection), to plan the first probes within MemAvailable;
# each probe's measured drop in MemAvailable replaces it.
FIRST_GUESS_BYTES = {"thread": 80 * 1024, "other": 12 * 1024}
WARMUP_MAX_S = 5.0
MEM_USE = 0.8     # of MemAvailable a probe may plan to take
FD_RESERVE = 0.05  # of fs.file-max kept for everything else


def nice(n):
    """n rounded to three significant digits (probe sizes a reader can read)."""
    n = max(1, int(round(n)))
    q = 10 ** max(0, int(math.log10(n)) - 2)
    return max(1, int(round(n / q)) * q)


class Search:
    """One design's search. next() gives the N to probe (None: done), record(n, held) its
    outcome. A result that contradicts an earlier one (held above an N that failed) is
    kept, and the bracket becomes the latest pair: the wall moved (noise), and the search
    goes on from what was seen last."""

    def __init__(self, start, ceiling, grow=GROW, tol=TOL, max_probes=MAX_PROBES, held=None):
        """held: an N already known to hold (the grid's), the bracket's floor."""
        if ceiling < 1:
            raise ValueError("the ceiling must be at least 1 connection")
        self.start, self.ceiling = max(1, min(start, ceiling)), ceiling
        self.grow, self.tol, self.max_probes = grow, tol, max_probes
        self.known = held if held and held < self.start else None
        self.held = self.known  # largest N held (below self.failed)
        self.failed = None  # smallest N failed
        self.probes = []    # [(n, held)] in order

    def lower_ceiling(self, ceiling):
        """The machine allows less than planned (a measured memory slope): the search stops
        growing there."""
        self.ceiling = max(1, min(self.ceiling, ceiling))

    def next(self):
        if len(self.probes) >= self.max_probes:
            return None
        if self.failed is None:
            if self.held is None or self.held == self.known and not self.probes:
                return self.start
            if self.held >= self.ceiling:
                return None
            return min(self.ceiling, max(self.held + 1, nice(self.held * self.grow)))
        lo = self.held or 0
        if self.failed - lo <= max(1, self.tol * self.failed):
            return None
        mid = nice((lo + self.failed) / 2)
        if not lo < mid < self.failed:
            mid = (lo + self.failed) // 2
        return mid if lo < mid < self.failed else None

    def record(self, n, held):
        self.probes.append((n, bool(held)))
        if held:
            self.held = n if self.held is None else max(self.held, n)
            if self.failed is not None and n >= self.failed:
                self.failed = None  # the failure above did not repeat: grow again
        else:
            self.failed = n if self.failed is None else min(self.failed, n)
            if self.held is not None and self.held >= n:
                self.held = max([m for m, ok in self.probes if ok and m < n] +
                                [self.known or 0]) or None

    def outcome(self):
        """{wall, first_failed, at_ceiling, probes}: wall is the largest N held (None if
        none), first_failed the smallest N that failed (None if none did)."""
        return {"wall": self.held, "first_failed": self.failed,
                "at_ceiling": self.failed is None and self.held is not None
                and self.held >= self.ceiling, "ceiling": self.ceiling,
                "probes": [{"conns": n, "held": ok} for n, ok in self.probes]}


def ceiling(facts, fds_per_conn=1, per_conn_bytes=None, max_conns=None, thread=False):
    """(N, cause): the most connections this machine can hold with the server and the
    generator both here, and what binds. facts: file_max, files_open, mem_available_kib
    (and nofile, the open-file limit of one process, for the process count). Each
    connection takes fds_per_conn fds in the server and one in the generator."""
    cands = []
    fm, fo = facts.get("file_max"), facts.get("files_open") or 0
    if fm:
        n = int((fm * (1 - FD_RESERVE) - fo) / (fds_per_conn + 1))
        cands.append((n, f"fs.file-max = {fm}: {fds_per_conn + 1} fds a connection (server "
                         f"and generator), {fo} open now, {FD_RESERVE:.0%} kept"))
    ma = facts.get("mem_available_kib")
    if ma:
        guess = per_conn_bytes is None
        b = per_conn_bytes or FIRST_GUESS_BYTES["thread" if thread else "other"]
        n = int(ma * 1024 * MEM_USE / b)
        cands.append((n, f"MemAvailable = {ma // 1024} MiB at {b / 1024:.1f} KiB a connection"
                         + (" (a first guess, before any probe)" if guess else
                            " (measured by the last probe)") + f", {MEM_USE:.0%} of it used"))
    if max_conns:
        cands.append((int(max_conns), f"the search's ceiling ({max_conns} connections, the "
                                      "profile's walls.max_conns)"))
    if not cands:
        return None, "nothing known of the machine"
    return min(cands, key=lambda c: c[0])


def probe_shape(conns, wait_us, capacity_rps, offer, min_window_s, min_timeout_ms):
    """A probe's think time, window, warm-up and timeout: the connections offer at most
    `offer` × the design's capacity (N ÷ (think + wait)), every connection asks at least
    twice in the window, the warm-up lets the ramp's burst settle (a cycle, at most
    WARMUP_MAX_S: the ramp already spread the connections' cycles), and a request may wait
    as long as a think time before it counts as timed out. None without a capacity to size
    it from."""
    if not capacity_rps or capacity_rps <= 0:
        return None
    think_s = max(0.0, conns / (offer * capacity_rps) - wait_us / 1e6)
    cycle = think_s + wait_us / 1e6
    return {"think_ms": round(think_s * 1000, 1), "duration_s": round(max(min_window_s,
                                                                        2 * cycle), 1),
            "warmup_s": round(max(1.0, min(cycle, WARMUP_MAX_S)), 1),
            "timeout_ms": int(max(min_timeout_ms, think_s * 1000))}
