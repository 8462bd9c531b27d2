"""Outcomes, thresholds and the Verdict record every claim returns.

One scale serves every ratio, each oriented so that a value above 1 favours the claim:
holds at >= STRONG, holds partly at >= WEAK, does not hold here below WEAK. A claim may
add conditions of its own; when one of them moves the outcome away from what the ratio
alone says, the verdict carries a note saying why, and the report prints it in the row.
"""

import math

from .fmt import fmt_range, fmt_ratio

HOLDS, PARTLY, NOT_HERE, NOT_MEASURABLE = ("holds", "holds partly", "does not hold here",
                                           "not measurable")
RANK = {NOT_HERE: 0, PARTLY: 1, HOLDS: 2}
STRONG = 2.0
WEAK = 1.2
MAX_ERR_TEXT = "its status is ok and at most 1% of its requests failed"


class Band:
    """Thresholds of one ratio: holds at >= strong (> strong when strict), holds partly at
    >= weak, does not hold here below weak."""

    def __init__(self, strong=STRONG, weak=WEAK, strict=False):
        self.strong, self.weak, self.strict = strong, weak, strict

    def grade(self, r):
        if r is None or (isinstance(r, float) and math.isnan(r)):
            return NOT_MEASURABLE
        if r > self.strong or (r == self.strong and not self.strict):
            return HOLDS
        if r >= self.weak:
            return PARTLY
        return NOT_HERE

    def thresholds(self):
        return sorted({self.weak, self.strong})

    def straddles(self, lo, hi):
        """True when the outcome would differ between lo and hi."""
        return lo is not None and hi is not None and self.grade(lo) != self.grade(hi)

    def text(self):
        op = ">" if self.strict else "≥"
        if self.strong == self.weak:
            return f"holds at {op} {self.strong:g}, holds partly at exactly {self.weak:g}"
        return f"holds at {op} {self.strong:g}, holds partly at ≥ {self.weak:g}"


DEFAULT_BAND = Band()


class Verdict:
    """One claim's outcome for one pair of designs, with the figures beside it.

    task, thread: the two figures (numbers; `show` prints them), ratio: the figure the
    outcome is graded on (> 1 favours the claim), band: its thresholds, outcome: the
    verdict, note: why the outcome is not band.grade(ratio) when it is not, spread:
    (lo, hi) of the ratio over repeats, runs: how many runs (repeats) it rests on."""

    def __init__(self, cid, metric, task, thread, ratio, outcome, band=DEFAULT_BAND,
                 show=None, note=None, spread=None, runs=None, details=None, plot=None,
                 task_label=None, thread_label=None, ratio_text=None, task_text=None,
                 thread_text=None):
        self.cid, self.metric = cid, metric
        self.task, self.thread, self.ratio = task, thread, ratio
        self.outcome, self.band, self.note = outcome, band, note
        self.show = show or (lambda v: "n/a" if v is None else f"{v:g}")
        self.spread, self.runs = spread, runs
        self.details = details or []
        self.plot = plot
        self.task_label, self.thread_label = task_label, thread_label
        self.ratio_text = ratio_text
        self.task_text, self.thread_text = task_text, thread_text  # printed instead of show()
        self.how = None  # the mechanism a verdict is about ("with io_uring"), if it names one

    # the figures as printed
    @property
    def a(self):
        return self.task_text or self.show(self.task)

    @property
    def t(self):
        return self.thread_text or self.show(self.thread)

    @property
    def r(self):
        return self.ratio_text or fmt_ratio(self.ratio)

    @property
    def borderline(self):
        return (self.outcome in RANK and self.spread is not None
                and self.band.straddles(*self.spread))

    def qualifier(self):
        """'(borderline: 1.8-2.4×)', '(one run)' or ''."""
        if self.outcome == NOT_MEASURABLE:
            return ""
        if self.borderline:
            return f"(borderline: {fmt_range(*self.spread)})"
        if self.runs == 1:
            return "(one run)"
        return ""

    def text(self):
        """The verdict as the table prints it: '**holds** (borderline: 1.8-2.4×)'."""
        q = self.qualifier()
        return (f"**{self.outcome}**" + (f" {self.how}" if self.how else "")
                + (f" {q}" if q else ""))

    def problems(self):
        """Ways this verdict disagrees with its own figures (empty when consistent): an
        outcome the ratio does not support, a note missing where the outcome departs from
        the ratio's grade, a borderline flag without a spread across a threshold."""
        out = []
        g = self.band.grade(self.ratio)
        if self.outcome == NOT_MEASURABLE:
            return out
        if self.outcome not in RANK:
            return [f"unknown outcome {self.outcome!r}"]
        if g == NOT_MEASURABLE:
            out.append(f"{self.outcome} without a ratio")
        elif self.outcome == HOLDS and g != HOLDS:
            out.append(f"holds with ratio {self.ratio} below {self.band.strong}")
        elif self.outcome != g and not self.note:
            out.append(f"{self.outcome} but the ratio {self.ratio} grades {g}, and no note "
                       f"says why")
        if self.spread is not None:
            lo, hi = self.spread
            if self.ratio is not None and not (lo - 1e-9 <= self.ratio <= hi + 1e-9):
                out.append(f"ratio {self.ratio} outside its spread {lo}..{hi}")
        return out


def not_measurable(cid, metric, why, plot=None, show=None, task_label=None,
                   thread_label=None):
    return Verdict(cid, metric, None, None, None, NOT_MEASURABLE, details=[why], plot=plot,
                   show=show, task_label=task_label, thread_label=thread_label)


def spread_of(ratios):
    """(lo, hi) of the finite ratios of several repeats, None with fewer than two."""
    xs = [x for x in ratios if x is not None]
    return (min(xs), max(xs)) if len(xs) >= 2 else None
