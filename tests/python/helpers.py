"""Shortcuts for the rule tests: the verdict of one claim in one block."""

from tvtbench.blocks import C_BLOCK, RUST_BLOCK
from tvtbench.claims import all_blocks, block_rows


def rows(lab, block=C_BLOCK):
    return {r.cid: r for r in block_rows(lab.results(), block)}


def verdict(lab, cid, block=C_BLOCK):
    return rows(lab, block)[cid].verdict


def every_verdict(lab):
    """(block key, cid, label, verdict) of every row and every column of every block."""
    out = []
    for b, rs in all_blocks(lab.results()):
        for r in rs:
            out.append((b.key, r.cid, r.verdict.task_label, r.verdict))
            for lab_, v in r.others.items():
                out.append((b.key, r.cid, lab_, v))
    return out


__all__ = ["rows", "verdict", "every_verdict", "C_BLOCK", "RUST_BLOCK"]
