"""C5 (creation) and C6 (head-of-line)."""

import pytest
from helpers import verdict
from lab import Lab
from scenarios import not_here, partly, typical

from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_c5_outcomes():
    assert verdict(typical(), "C5").outcome == HOLDS
    assert verdict(partly(), "C5").outcome == PARTLY
    assert verdict(not_here(), "C5").outcome == NOT_HERE


def test_c5_missing_microbenchmarks():
    v = verdict(Lab(), "C5")
    assert v.outcome == NOT_MEASURABLE and "no spawn microbenchmark" in v.details[0]


def test_c5_one_kind_only_is_not_measurable():
    lab = Lab()
    lab.spawn("task-timer", 344, 145)
    assert verdict(lab, "C5").outcome == NOT_MEASURABLE


def test_c5_rests_on_one_run():
    assert "(one run)" in verdict(typical(), "C5").text()


def test_c6_the_loop_stalls():
    v = verdict(typical(), "C6")
    assert v.ratio == pytest.approx(400 / 4700) and v.outcome == NOT_HERE


def test_c6_partly_and_holds():
    assert verdict(partly(), "C6").outcome == PARTLY
    lab = Lab()
    lab.holcase("async", 300, 300)
    lab.holcase("thread", 300, 900)
    assert verdict(lab, "C6").outcome == HOLDS


def test_c6_missing():
    assert verdict(Lab(), "C6").outcome == NOT_MEASURABLE


def test_c5_is_one_figure_per_block_not_per_design(tmp_path):
    """The spawn microbenchmark measures tasks, not servers: the uring column of the C5 row
    shows "–", not the task figure again."""
    from scenarios import with_uring
    from tvtbench.claims import block_rows
    from tvtbench.report import verdict_table
    from tvtbench.blocks import C_BLOCK
    lab = with_uring()
    res = lab.results()
    rows_ = block_rows(res, C_BLOCK)
    c5 = next(r for r in rows_ if r.cid == "C5")
    assert c5.others == {}
    table = verdict_table(res, C_BLOCK, rows_, str(tmp_path))
    assert table[0].split(" | ")[2:4] == ["async", "uring"]
    line = next(x for x in table if x.startswith("| **C5**"))
    cells = [c.strip() for c in line.split("|")]
    assert cells[3] != "–" and cells[4] == "–", line
