"""C2: context switches per request and per switch."""

import pytest
from helpers import verdict
from lab import Lab, grid
from scenarios import micro_only, not_here, partly, typical

from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_holds_with_both_figures():
    v = verdict(typical(), "C2")
    assert v.outcome == HOLDS and v.ratio >= 2
    assert "S" in v.r


def test_partly():
    v = verdict(partly(), "C2")
    assert v.outcome == PARTLY and 1.2 <= v.ratio < 2


def test_does_not_hold_here():
    v = verdict(not_here(), "C2")
    assert v.outcome == NOT_HERE


def test_switch_cost_alone_lifts_to_partly_with_a_note():
    lab = Lab()
    grid(lab, ["async", "thread"], ctx_per_req=1.0)
    lab.switch({"task-io": 100, "thread-pipe": 600})
    v = verdict(lab, "C2")
    assert v.ratio == pytest.approx(1.0)
    assert v.outcome == PARTLY and "S =" in v.note


def test_cheap_thread_switch_holds_it_back():
    lab = Lab()
    grid(lab, ["async"], ctx_per_req=0.001)
    grid(lab, ["thread"], ctx_per_req=1.0)
    lab.switch({"task-io": 500, "thread-pipe": 600})
    v = verdict(lab, "C2")
    assert v.ratio >= 2 and v.outcome == PARTLY and v.note


def test_microbenchmark_alone():
    v = verdict(micro_only(), "C2")
    assert v.outcome == HOLDS and v.ratio == pytest.approx(600 / 160)


def test_not_measurable_without_data():
    assert verdict(Lab(), "C2").outcome == NOT_MEASURABLE


def test_saturated_generator_moves_the_point():
    lab = Lab()
    # at wait 0 every run is generator-bound; at wait 1000 they are not
    grid(lab, ["async"], waits=(0,), saturated=True, ctx_per_req=0.5)
    grid(lab, ["thread"], waits=(0,), saturated=True, ctx_per_req=1.0)
    grid(lab, ["async"], waits=(1000,), ctx_per_req=0.01)
    grid(lab, ["thread"], waits=(1000,), ctx_per_req=1.0)
    v = verdict(lab, "C2")
    assert "wait 1000" in v.metric and v.ratio == pytest.approx(100)
