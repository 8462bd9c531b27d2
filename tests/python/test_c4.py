"""C4: the largest N each design sustained, and the bug it must never show again."""

import pytest
from helpers import verdict
from lab import Lab, grid
from scenarios import c4_equal, c4_fewer_waits, c4_threads_more, c4_wall_in_scale, \
    small_sweep

from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_a_series_run_at_fewer_waits_counts_only_where_it_ran():
    v = verdict(c4_fewer_waits(), "C4")
    # thread-64k held 10000 at wait 0, but the thread server fell short at 10000 at wait
    # 10 ms, where only the default stack ran: T is below that first failing N
    assert v.thread == 5000 and v.task == 10000
    assert v.ratio == pytest.approx(2.0) and v.outcome == HOLDS
    assert any("first fell short at 10000" in d for d in v.details)


def test_equal_largest_n_is_partly_never_holds():
    v = verdict(c4_equal(), "C4")
    assert v.task == v.thread == 10000
    assert v.ratio == pytest.approx(1.0) and v.outcome == PARTLY
    assert any("did not run out" in d for d in v.details)


def test_a_wall_found_only_in_the_scale_runs():
    v = verdict(c4_wall_in_scale(), "C4")
    assert v.task == 100000 and v.thread == 30000
    assert v.outcome == HOLDS


def test_threads_sustaining_more():
    v = verdict(c4_threads_more(), "C4")
    assert v.task == 1000 and v.thread == 10000
    assert v.outcome == NOT_HERE and v.ratio < 1


def test_not_measurable_below_a_thousand():
    assert verdict(small_sweep(), "C4").outcome == NOT_MEASURABLE


def test_tasks_below_a_thousand_do_not_hold():
    lab = Lab()
    grid(lab, ["thread"], conns=(100, 500, 1000), waits=(0,), status="failed",
         failure="crash")
    for c in (100, 500):
        lab.run("async", c, 0)
    lab.run("async", 1000, 0, status="failed", failure="crash")
    v = verdict(lab, "C4")
    assert v.task == 500 and v.thread is None
    assert v.outcome == NOT_HERE and "fewer than" in v.note


def test_the_best_stack_counts_at_a_wait():
    lab = Lab()
    grid(lab, ["async"], waits=(0,))
    for c in (100, 1000, 10000):
        lab.run("thread", c, 0, status="failed" if c == 10000 else "ok", failure="x")
        lab.run("thread-64k", c, 0, stack_kib=64)
    v = verdict(lab, "C4")
    assert v.thread == 10000 and v.thread_label == "thread-64k"
    assert any("thread-64k series" in d for d in v.details)


def test_errors_over_one_percent_are_a_shortfall():
    lab = Lab()
    grid(lab, ["async"], waits=(0,))
    lab.run("thread", 100, 0)
    lab.run("thread", 1000, 0, errors=25, requests=2000)  # 1.25%
    lab.run("thread", 10000, 0)
    assert verdict(lab, "C4").thread == 100


def test_a_refused_thread_is_a_shortfall():
    lab = Lab()
    grid(lab, ["async"], waits=(0,))
    lab.run("thread", 100, 0)
    lab.run("thread", 1000, 0, refused=3)
    lab.run("thread", 10000, 0)
    assert verdict(lab, "C4").thread == 100


def test_repeats_all_count():
    lab = Lab()
    for rep in (1, 2, 3):
        for c in (100, 1000, 10000):
            lab.run("async", c, 0, rep)
            lab.run("thread", c, 0, rep, status="failed" if (c == 1000 and rep == 3)
                    else "ok", failure="x")
    v = verdict(lab, "C4")
    assert v.thread == 100 and v.runs == 3 and v.qualifier() == ""


def test_a_failed_capacity_or_cores_run_is_not_a_grid_shortfall():
    """A capacity curve or a K point that failed before writing its own file leaves a
    stand-in without a capacity object: it is still that kind of run, and never counts
    as a grid point the design fell short at."""
    from scenarios import c4_equal as base
    lab = base()
    stand_in = lab.run("thread", 1000, 1000, rep=9, status="failed", failure="harness exited 2")
    lab.docs["cap-thread-c1000-w1000-u0-r1.json"] = lab.docs.pop("thread-c1000-w1000-u0-r9.json")
    assert stand_in is lab.docs["cap-thread-c1000-w1000-u0-r1.json"]
    v = verdict(lab, "C4")
    assert v.task == v.thread == 10000 and v.outcome == PARTLY
    kinds = {r.file: r.kind for r in lab.results().runs}
    assert kinds["cap-thread-c1000-w1000-u0-r1.json"] == "capacity"


def test_a_server_killed_at_its_stop_still_sustained_its_load():
    """Serving and stopping are apart: the old form ("failed", the server did not exit
    within 5000 ms of SIGTERM) and the new one (status ok, stop_clean false) both count as
    sustained for C4; the stop failure is kept for C7."""
    lab = Lab()
    grid(lab, ["async"], waits=(0,))
    lab.run("thread", 100, 0)
    old = lab.run("thread", 1000, 0, status="failed",
                  failure="the server did not exit within 5000 ms of SIGTERM (killed)")
    new = lab.run("thread", 10000, 0)
    new["server"].update(stop_s=10.0, stop_clean=False, killed=True,
                         exit="was killed by signal 9 (Killed)")
    v = verdict(lab, "C4")
    assert v.thread == 10000 and v.outcome == PARTLY
    runs = {r.file: r for r in lab.results().runs}
    o, n = runs["thread-c1000-w0-u0-r1.json"], runs["thread-c10000-w0-u0-r1.json"]
    assert o.ok and o.failure is None and o.stop_clean is False and o.stop_s is None
    assert "did not exit within" in o.stop_failure
    assert n.stop_s == 10.0 and "killed" in n.stop_failure
    assert old["status"] == "failed"  # the file itself is never rewritten


def test_another_failure_is_still_a_failure():
    lab = Lab()
    grid(lab, ["async"], waits=(0,))
    lab.run("thread", 100, 0)
    lab.run("thread", 1000, 0, status="failed", failure="the server exited early")
    r = [x for x in lab.results().runs if x.conns == 1000 and x.label == "thread"][0]
    assert not r.ok and r.stop_clean is None and verdict(lab, "C4").thread == 100
