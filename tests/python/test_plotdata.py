"""The data files gnuplot reads: series medians leave failed and saturated runs out, the K
sweep's efficiency, the open-loop curves."""

import os

import pytest
from lab import Lab
from scenarios import capacity

from tvtbench.plotdata import write_data


def table(path):
    with open(path) as f:
        head, *rows = [line.rstrip("\n").split("\t") for line in f]
    return [dict(zip(head, r)) for r in rows]


def test_series_median_leaves_out_failed_and_saturated_runs(tmp_path):
    lab = Lab()
    lab.run("async", 100, 0, 1, rps=1000)
    lab.run("async", 100, 0, 2, rps=9e9, saturated=True)
    lab.run("async", 100, 0, 3, rps=5e9, status="failed", failure="x")
    write_data(lab.results(out=str(tmp_path)))
    row = table(tmp_path / "plots" / "data" / "series_async_w0.dat")[0]
    assert float(row["rps"]) == pytest.approx(1000)
    assert row["n_sat"] == "1" and row["n_fail"] == "1"


def test_cores_efficiency(tmp_path):
    lab = Lab()
    for k, rps in ((1, 100000), (2, 180000), (4, 300000)):
        lab.run("async", 1000, 1000, rps=rps, cores_k=k)
    write_data(lab.results(out=str(tmp_path)))
    rows = table(tmp_path / "plots" / "data" / "cores_async.dat")
    eff = {int(r["k"]): float(r["efficiency"]) for r in rows}
    assert eff == {1: pytest.approx(1.0), 2: pytest.approx(0.9), 4: pytest.approx(0.75)}
    # cores runs are not grid runs
    assert not os.path.exists(tmp_path / "plots" / "data" / "series_async_w1000.dat")


def test_hockey_and_capacity_files(tmp_path):
    write_data(capacity().results(out=str(tmp_path)))
    d = tmp_path / "plots" / "data"
    rows = table(d / "hockey_timer_c1000_w1000_async.dat")
    assert [float(r["offered"]) for r in rows] == sorted(float(r["offered"]) for r in rows)
    cap = table(d / "capacity_timer_w1000_thread.dat")
    assert float(cap[0]["capacity"]) == pytest.approx(20000)
    meta = (d / "meta.gp").read_text()
    assert 'hockey_panels = "timer_c1000_w1000"' in meta


def test_a_curve_that_met_no_target_draws_no_capacity_series(tmp_path):
    # gnuplot refuses a series whose every value is undefined: it is left out, and a panel
    # left with none goes too
    lab = Lab()
    for label in ("async", "thread"):
        lab.run(label, 10, 1000, 1, rps=8000,
                capacity={"closed_loop_rps": 8000, "slo_ms": 3.0, "capacity_rps": None,
                          "capacity_bound": None, "steps": []})
    write_data(lab.results(out=str(tmp_path)))
    d = tmp_path / "plots" / "data"
    assert not list(d.glob("capacity_*.dat"))
    assert 'capacity_panels = ""' in (d / "meta.gp").read_text()


def test_stop_and_share_files(tmp_path):
    import scenarios_c7
    lab = scenarios_c7.c7_partly_by_stop()
    write_data(lab.results(out=str(tmp_path)))
    d = tmp_path / "plots" / "data"
    thread = table(d / "stop_thread.dat")
    assert [r["conns"] for r in thread] == ["1000", "10000"]
    assert thread[0]["mark"] == '"100 cut"' and float(thread[0]["unclean_s"]) == 0.05
    assert table(d / "stop_async.dat")[0]["unclean_s"] == "NaN"
    share = {r["name"]: r for r in table(d / "share.dat")}
    assert float(share['"thread"']["ns"]) == 2100
    # the unguarded server on every CPU has no baseline of its own (other CPUs)
    all_cpus = share['"thread, no lock, 2 CPUs"']
    assert all_cpus["cpu0"] == "NaN" and all_cpus["lost_text"] == '"400 lost, 20%"'
    assert 'stop_labels = "async thread"' in (d / "meta.gp").read_text()
