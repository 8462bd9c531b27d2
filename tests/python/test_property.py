"""One property over every scenario: a verdict and the figures printed beside it agree.
No "holds" with a ratio on the wrong side of its threshold; an outcome that differs from
what its ratio alone grades carries a note; a borderline flag only where the repeats'
ratios cross a threshold; and the Markdown row prints exactly those figures."""

import os

import pytest
from helpers import every_verdict
from scenarios import SCENARIOS

from tvtbench.blocks import BLOCKS
from tvtbench.claims import all_blocks
from tvtbench.report import verdict_table
from tvtbench.rules import (DEFAULT_BAND, HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY, RANK,
                            STRONG, WEAK)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_verdict_agrees_with_its_figures(name):
    lab = SCENARIOS[name]()
    found = every_verdict(lab)
    assert found, "every scenario gives rows"
    for block, cid, label, v in found:
        where = f"{name}: {block} {cid} ({label})"
        assert v.problems() == [], f"{where}: {v.problems()}"
        if v.outcome in RANK and v.ratio is not None:
            g = v.band.grade(v.ratio)
            if v.outcome == HOLDS:
                assert g == HOLDS, where
            if v.outcome != g:
                assert v.note, f"{where}: {v.outcome} vs ratio grade {g} without a note"
            if v.outcome == NOT_HERE and g != NOT_HERE:
                assert v.note, where
        if v.borderline:
            lo, hi = v.spread
            assert any(lo < t <= hi or lo <= t < hi for t in v.band.thresholds()), where


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_table_prints_the_verdicts_figures(name, tmp_path):
    res = SCENARIOS[name]().results(out=str(tmp_path))
    os.makedirs(tmp_path / "plots", exist_ok=True)
    for block, rows in all_blocks(res):
        table = verdict_table(res, block, rows, str(tmp_path / "plots"))
        body = table[2:]
        assert len(body) == len(rows)
        for line, row in zip(body, rows):
            v = row.verdict
            cells = [c.strip() for c in line.split(" | ")]
            assert cells[0].startswith(f"| **{row.cid}**"), line
            assert v.text() in line, (name, line)
            assert f"| {v.r.replace('|', chr(92) + '|')} |" in line, (name, line)
            assert v.a in line and v.t in line, (name, line)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_c7_sides_with_both_of_its_ratios(name):
    """C7 grades two ratios: no verdict on the wrong side of either one's band, each grade
    what its ratio gives, and the ratio printed as graded is one of the two."""
    for block, cid, label, v in every_verdict(SCENARIOS[name]()):
        if cid != "C7":
            continue
        where = f"{name}: {block} C7 ({label})"
        mech = v.mechanisms
        for r, g in mech.values():
            assert g == (NOT_MEASURABLE if r is None else DEFAULT_BAND.grade(r)), where
        rs = [r for r, _ in mech.values()]
        if v.outcome == NOT_MEASURABLE:
            assert None in rs and v.ratio is None, where
            continue
        assert None not in rs and v.ratio in rs, where
        if v.outcome == HOLDS:
            assert min(rs) >= STRONG, where
        elif v.outcome == PARTLY:
            assert max(rs) >= WEAK and min(rs) < STRONG, where
        else:
            assert max(rs) < WEAK, where
        assert v.note.startswith("decided by"), where


def test_the_c4_bug_cannot_come_back():
    """1.00× beside "holds" in any scenario would be the bug every reader saw."""
    for name, build in SCENARIOS.items():
        for _, cid, _, v in every_verdict(build()):
            if cid == "C4" and v.outcome == HOLDS:
                assert v.ratio > 1.0 and v.task > v.thread if v.thread else True, name


def test_blocks_are_known():
    assert [b.key for b in BLOCKS] == ["C", "Rust"]


def test_outcomes_are_ordered():
    assert RANK[HOLDS] > RANK[PARTLY] > RANK[NOT_HERE]
