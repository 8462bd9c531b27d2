"""C1: memory per connection, every outcome and its edge cases."""

import pytest
from helpers import verdict
from lab import Lab, grid
from scenarios import big_stack, lean, micro_only, not_here, partly, typical

from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_holds_when_threads_touch_about_a_megabyte():
    v = verdict(big_stack(), "C1")
    assert v.outcome == HOLDS
    assert v.ratio >= 2 and v.note is None


def test_partly_when_the_stack_is_reserved_not_touched():
    # 16 KiB RSS + 0 kernel stack per thread vs 7 KiB: R = 2.3 but far from "1 MB"
    v = verdict(typical(), "C1")
    assert v.ratio >= 2
    assert v.outcome == PARTLY
    assert "reserved" in v.note


def test_partly_on_the_ratio_alone():
    v = verdict(partly(), "C1")
    assert 1.2 <= v.ratio < 2 and v.outcome == PARTLY and v.note is None


def test_does_not_hold_when_memory_is_equal():
    v = verdict(not_here(), "C1")
    assert v.ratio == pytest.approx(1.0) and v.outcome == NOT_HERE


def test_microbenchmark_stands_in_without_server_runs():
    v = verdict(micro_only(), "C1")
    assert v.ratio == pytest.approx(8500 / 344)
    assert v.outcome == PARTLY  # 8.5 KiB resident per thread: not "about 1 MB"
    assert any("microbenchmark" in d for d in v.details)


def test_not_measurable_without_any_data():
    v = verdict(Lab(), "C1")
    assert v.outcome == NOT_MEASURABLE and v.ratio is None


def test_runs_below_100_connections_do_not_count():
    lab = Lab()
    grid(lab, ["async", "thread"], conns=(1, 10))
    assert verdict(lab, "C1").outcome == NOT_MEASURABLE


def test_lean_variant_decides_and_the_other_stands_beside():
    lab = lean()
    v = verdict(lab, "C1")
    assert v.task_label == "async-lean"
    assert v.task == pytest.approx(900, rel=0.01)
    assert any("more per connection" in d for d in v.details)
    from helpers import rows
    row = rows(lab)["C1"]
    assert "async" in row.others and row.others["async"].task == pytest.approx(7168, rel=0.01)


def test_one_repeat_says_it_rests_on_one_run():
    v = verdict(typical(), "C1")
    assert v.runs == 1 and "(one run)" in v.text()


def test_saturated_runs_still_count_for_memory():
    lab = Lab()
    grid(lab, ["async"], saturated=True)
    grid(lab, ["thread"], saturated=True)
    assert verdict(lab, "C1").outcome != NOT_MEASURABLE


def test_failed_runs_never_enter_the_slope():
    lab = typical()
    # a failed thread run with an absurd memory figure changes nothing
    lab.run("thread", 5000, 0, rss_per_conn=10 * 1024 * 1024, status="failed", failure="x")
    assert verdict(lab, "C1").thread == pytest.approx(verdict(typical(), "C1").thread)
