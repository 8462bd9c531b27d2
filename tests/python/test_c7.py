"""C7: the graceful stop and the shared table, every outcome of the rule, the edge cases,
and the figures printed beside the verdict."""

import math

import pytest
from helpers import RUST_BLOCK, rows, verdict
from lab import Lab
import scenarios_c7 as s7

from tvtbench.claims import c7
from tvtbench.rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY


def test_both_mechanisms_hold():
    v = verdict(s7.c7_holds(), "C7")
    assert v.outcome == HOLDS
    assert v.mechanisms["stop"] == (pytest.approx(10.0), HOLDS)
    assert v.mechanisms["share"] == (pytest.approx(2.5), HOLDS)
    # the weaker mechanism decides, and the note names it
    assert v.ratio == pytest.approx(2.5) and "decided by the shared table" in v.note


def test_a_cut_request_loses_the_stop_outright():
    v = verdict(s7.c7_partly_by_stop(), "C7")
    assert v.mechanisms["stop"][0] == math.inf and v.mechanisms["share"][1] == NOT_HERE
    assert v.outcome == PARTLY and "decided by the graceful stop" in v.note
    assert any("100 of 1000 requests in flight cut" in d for d in v.details)
    assert "(not clean)" in v.t and "(not clean)" not in v.a


def test_the_share_alone_holds_partly():
    v = verdict(s7.c7_partly_by_share(), "C7")
    assert v.mechanisms["share"] == (pytest.approx(1.5), PARTLY)
    assert v.mechanisms["stop"] == (pytest.approx(1.0), NOT_HERE)
    assert v.outcome == PARTLY and v.ratio == pytest.approx(1.5)


def test_neither_mechanism_holds():
    v = verdict(s7.c7_not_here(), "C7")
    assert v.outcome == NOT_HERE
    # both cut what was in flight: a tie, whatever the times
    assert v.mechanisms["stop"] == (1.0, NOT_HERE)
    assert any("neither stopped cleanly" in d for d in v.details)


def test_a_killed_task_server_loses_the_stop():
    v = verdict(s7.c7_task_killed(), "C7")
    assert v.mechanisms["stop"] == (0.0, NOT_HERE)
    assert v.outcome == PARTLY and "killed past its grace" in " ".join(v.details)


def test_servers_that_answer_400_leave_the_share_unmeasured():
    v = verdict(s7.c7_share_400(), "C7")
    assert v.outcome == NOT_MEASURABLE and "shared table" in v.note
    share = next(d for d in v.details if d.startswith("the shared table"))
    assert "HTTP status 400" in share and "does not know state=shared" in share
    # the stop side is still shown, graded
    assert v.mechanisms["stop"] == (pytest.approx(1.0), NOT_HERE)


def test_no_stop_runs_is_not_measurable():
    v = verdict(s7.c7_no_stop(), "C7")
    assert v.outcome == NOT_MEASURABLE and "graceful stop" in v.note


def test_missing_stop_figures_are_not_zero():
    """A stop record without the connections' ends is not a clean stop with 0 cut."""
    v = verdict(s7.c7_stop_ends_missing(), "C7")
    assert v.mechanisms["stop"] == (None, NOT_MEASURABLE)
    assert v.outcome == NOT_MEASURABLE and "not measured" in v.details[0]


def test_old_results_have_neither_mechanism():
    from scenarios import typical
    v = verdict(typical(), "C7")
    assert v.outcome == NOT_MEASURABLE and v.ratio is None
    assert "code.json" in v.details[-1]  # no code figures either: said, not computed here


def test_the_old_killed_stop_is_sustained_for_c4_and_a_failed_stop_for_c7():
    lab = s7.c7_old_killed_stop()
    res = lab.results()
    r = next(x for x in res.runs if x.file == "thread-c19000-w1000-u0-r1.json")
    assert r.ok and r.sustained and r.stop_clean is False and "5000 ms" in r.stop_failure
    c4 = verdict(lab, "C4")
    assert c4.task == c4.thread == 19000
    v = verdict(lab, "C7")
    assert v.mechanisms["stop"][0] == math.inf
    assert any("did not stop at the end of a run at 19000" in d for d in v.details)


def test_a_failed_stop_after_the_load_is_listed_not_failed(tmp_path):
    from test_report import report
    text = report(tmp_path, s7.c7_old_killed_stop())
    fails = text[text.index("## Failures"):]
    assert "served its load; its stop failed" in fails


def test_a_guarded_table_that_lost_updates_loses():
    v = verdict(s7.c7_guarded_lost(), "C7")
    assert v.mechanisms["share"] == (0.0, NOT_HERE)
    assert any("async lost 5" in d for d in v.details)


def test_stops_under_the_floor_tie():
    v = verdict(s7.c7_tiny_stops(), "C7")
    assert v.mechanisms["stop"] == (pytest.approx(1.0), NOT_HERE)


def test_lost_updates_without_a_lock_are_shown_on_one_and_all_cpus():
    v = verdict(s7.c7_holds(), "C7")
    line = next(d for d in v.details if d.startswith("without its lock"))
    assert "on 1 server CPU: 3 of" in line and "on 2 server CPUs: 400 of" in line


def test_with_and_without_sharing_beside_each_other():
    v = verdict(s7.c7_holds(), "C7")
    line = next(d for d in v.details if d.startswith("thread: "))
    assert "6.0 µs per request with the table, 5.0 µs without" in line


def test_the_shared_point_prefers_share_us_2():
    lab = s7.c7_holds()
    lab.shared("async", share_us=50, ns=50000.0)
    lab.shared("thread", share_us=50, ns=50000.0)
    assert verdict(lab, "C7").mechanisms["share"][0] == pytest.approx(2.5)


def test_the_code_figures_are_read_from_the_folder():
    v = verdict(s7.c7_holds(), "C7")
    code = v.details[-1]
    assert "async (async) 1476 lines" in code and "complexity mean 3.50, max 12" in code
    assert "not graded" in code


def test_the_rust_block_by_the_same_rule():
    v = verdict(s7.c7_rust(), "C7", RUST_BLOCK)
    assert v.task_label == "tokio-multi" and v.thread_label == "rust-threads"
    assert v.mechanisms["stop"][0] == math.inf and v.outcome == PARTLY
    assert not any(d.startswith("without its lock") for d in v.details)


def test_uring_beside_async():
    lab = s7.c7_holds()
    from lab import grid
    grid(lab, ["uring"], rps=90000)
    lab.stop("uring", 1000, exit_s=0.04)
    lab.stop("uring", 10000, exit_s=0.04)
    lab.shared("uring", ns=1900.0)
    row = rows(lab)["C7"]
    assert set(row.others) == {"uring"} and row.others["uring"].outcome == HOLDS


@pytest.mark.parametrize("g_stop,g_share,out", [
    (HOLDS, HOLDS, HOLDS), (HOLDS, PARTLY, PARTLY), (HOLDS, NOT_HERE, PARTLY),
    (PARTLY, PARTLY, PARTLY), (NOT_HERE, PARTLY, PARTLY), (NOT_HERE, NOT_HERE, NOT_HERE),
    (NOT_MEASURABLE, HOLDS, NOT_MEASURABLE), (HOLDS, NOT_MEASURABLE, NOT_MEASURABLE)])
def test_combine(g_stop, g_share, out):
    assert c7.combine(g_stop, g_share) == out


def test_the_table_prints_both_mechanisms(tmp_path):
    from tvtbench.blocks import C_BLOCK
    from tvtbench.report import verdict_table
    lab = s7.c7_partly_by_stop()
    res = lab.results(out=str(tmp_path))
    line = next(x for x in verdict_table(res, C_BLOCK, list(rows(lab).values()),
                                         str(tmp_path)) if x.startswith("| **C7**"))
    assert "stop 50.00 ms · share 2.0 µs" in line
    assert "stop ∞ · share 1.05×" in line and "**holds partly**" in line


def test_empty_folder():
    assert verdict(Lab(), "C7").outcome == NOT_MEASURABLE


def test_counters_missing_are_not_measured_never_zero():
    from tvtbench.results.stopshare import share_figures, stop_figures
    assert share_figures({}) is None  # a build without the shared table
    f = share_figures({"shared_updates": 1000, "shared_counted": 990, "share_ns": 2e6})
    assert f["lost"] == 10 and f["lost_frac"] == pytest.approx(0.01)
    assert f["ns"] == pytest.approx(2000) and f["wait_ns"] is None and f["switches"] is None
    assert share_figures({"shared_updates": 0})["ns"] is None
    assert stop_figures(None) is None
    st = stop_figures({"signal_to_exit_s": 0.1, "inflight": {"conns": 10}})
    assert st["cut"] is None and st["reset"] is None and st["exit_s"] == 0.1
