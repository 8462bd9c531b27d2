"""C3: throughput, or capacity at a latency target, with a wait."""

import pytest
from helpers import rows, verdict
from lab import Lab, grid
from scenarios import capacity, not_here, partly, repeats_borderline, saturated_and_failed, \
    typical

from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_holds_on_closed_loop_throughput():
    v = verdict(typical(), "C3")
    assert v.outcome == HOLDS and v.ratio == pytest.approx(4.0)
    assert "closed loop" in v.metric and "10000" in v.metric


def test_partly_and_not_here():
    assert verdict(partly(), "C3").outcome == PARTLY
    assert verdict(not_here(), "C3").outcome == NOT_HERE


def test_capacity_decides_when_both_have_a_curve():
    v = verdict(capacity(), "C3")
    assert "capacity" in v.metric
    assert v.ratio == pytest.approx(3.0) and v.outcome == HOLDS
    assert any("closed-loop throughput" in d for d in v.details)


def test_capacity_of_one_design_only_falls_back_to_throughput():
    lab = typical()
    lab.curve("async", 1000, 1000, 60000)
    assert "closed loop" in verdict(lab, "C3").metric


def test_a_curve_that_met_no_target_falls_back_to_throughput_and_says_so():
    # a busy machine: no step of the thread server kept p99 under 3 ms
    lab = typical()
    lab.curve("async", 1000, 1000, 60000)
    lab.run("thread", 1000, 1000, 1, rps=20000,
            capacity={"closed_loop_rps": 20000, "slo_ms": 3.0, "capacity_rps": None,
                      "capacity_bound": None, "steps": []})
    v = verdict(lab, "C3")
    assert "closed loop" in v.metric and v.outcome != NOT_MEASURABLE
    assert any("did not decide" in d and "thread" in d and "3 ms" in d for d in v.details)


def test_borderline_over_repeats():
    v = verdict(repeats_borderline(), "C3")
    assert v.spread == pytest.approx((1.8, 2.4))
    assert v.ratio == pytest.approx(2.2) and v.outcome == HOLDS
    assert v.borderline and "borderline: 1.80-2.40×" in v.text()


def test_no_borderline_flag_when_every_repeat_agrees():
    lab = Lab()
    for rep in (1, 2, 3):
        for c in (100, 1000):
            lab.run("async", c, 1000, rep, rps=50000 + rep)
            lab.run("thread", c, 1000, rep, rps=10000)
    v = verdict(lab, "C3")
    assert v.outcome == HOLDS and not v.borderline and v.qualifier() == ""


def test_saturated_and_failed_runs_never_in_a_median():
    v = verdict(saturated_and_failed(), "C3")
    # 1000 conns: the async runs were generator-bound, so the point is 100 conns
    assert "100 conns" in v.metric
    assert v.task == pytest.approx(30000) and v.ratio == pytest.approx(3.0)


def test_one_failed_repeat_leaves_the_other():
    lab = Lab()
    for rep in (1, 2):
        lab.run("async", 100, 1000, rep, rps=30000)
        lab.run("thread", 100, 1000, rep, rps=10000 if rep == 1 else 1,
                status="ok" if rep == 1 else "failed", failure="crash")
    v = verdict(lab, "C3")
    assert v.thread == pytest.approx(10000) and v.runs == 1


def test_not_measurable_without_a_common_point():
    lab = Lab()
    lab.run("async", 100, 1000)
    lab.run("thread", 100, 1000, status="failed", failure="crash")
    assert verdict(lab, "C3").outcome == NOT_MEASURABLE


def test_a_row_per_wait_kind():
    lab = typical()
    grid(lab, ["async"], io="net", rps=50000, waits=(1000,))
    grid(lab, ["thread"], io="net", rps=20000, waits=(1000,))
    r = rows(lab)
    assert "C3 net" in r and "io=net" in r["C3 net"].verdict.metric
    assert r["C3 net"].verdict.ratio == pytest.approx(2.5)
    assert "C3 file" not in r
