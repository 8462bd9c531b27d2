"""The claims, one module each (C1..C8), and the rows of a verdict block: every claim
evaluated for the block's deciding task design against its thread design, and for the
block's other task designs beside it."""

from ..rules import not_measurable
from . import c1, c2, c3, c4, c5, c6, c7, c8

CLAIMS = [c1, c2, c3, c4, c5, c6, c7]


class Row:
    """One line of a verdict table: the deciding verdict and the other task designs'."""

    def __init__(self, cid, claim, rule, verdict, others):
        self.cid, self.claim, self.rule = cid, claim, rule
        self.verdict = verdict  # the deciding pair
        self.others = others    # {task label: Verdict} of the block's other task designs

    def all(self):
        return [self.verdict] + list(self.others.values())


def _row(m, res, block, task, io=None, cid=None, candidates=None):
    kw = {} if io is None else {"io": io}
    if task is None:
        v = not_measurable(m.CID, m.CLAIM, f"no runs of the {block.key} block's task side",
                           m.PLOT)
        return Row(cid or m.CID, m.CLAIM, m.RULE, v, {})
    v = m.evaluate(res, block, task, **kw)
    others = {}
    if not getattr(m, "PER_DESIGN", True):
        candidates = []
    present = block.present(res, io or "timer")[0] if candidates is None else candidates
    for t in (block.tasks if candidates is None else candidates):
        if t != task and t in present:
            others[t] = m.evaluate(res, block, t, **kw)
    if cid:
        v.cid = cid
        for o in others.values():
            o.cid = cid
    return Row(cid or m.CID, m.CLAIM, m.RULE, v, others)


def block_rows(res, block):
    """Every claim's row for one block, C3 once per wait kind both sides ran."""
    rows = []
    for m in CLAIMS:
        rows.append(_row(m, res, block, m.decider(block, res)))
        if m is c3:
            for io in res.io_kinds():
                if io == "timer":
                    continue
                tasks, threads = block.present(res, io)
                if tasks and threads:
                    rows.append(_row(m, res, block, tasks[0], io=io, cid=f"C3 {io}"))
    ftasks = c8.tasks_of(block, res)
    if ftasks and block.threads[0] in res.labels("file"):
        rows.append(_row(c8, res, block, c8.decider(block, res), candidates=ftasks))
    return rows


def all_blocks(res):
    """[(block, rows)] for every block whose two sides ran (the C block always)."""
    from ..blocks import BLOCKS, C_BLOCK
    return [(b, block_rows(res, b)) for b in BLOCKS if b is C_BLOCK or b.ran(res)]
