"""The sweep's plan: points, names, think times, estimates on made-up machines."""

import pytest

from tvtbench import profiles


def test_quick_plan_shape():
    pts = profiles.plan("quick", {"nofile": 20000})
    grid = [p for p in pts if p["kind"] == "grid"]
    assert {p["label"] for p in grid} == {"async", "thread", "thread-64k"}
    assert all(p["wait_us"] == 0 for p in grid if p["label"] == "thread-64k")
    # conns ascend within a wait, so a wall at N skips larger N
    a = [p["conns"] for p in grid if p["label"] == "async" and p["wait_us"] == 0]
    assert a == sorted(a)


def test_full_plan_adds_the_fd_limit_point_and_scale_runs():
    pts = profiles.plan("full", {"nofile": 20000})
    assert 19000 in {p["conns"] for p in pts if p["kind"] == "grid"}
    sc = [p for p in pts if p["kind"] == "scale"]
    assert {p["conns"] for p in sc} == {30000, 50000, 100000}
    assert all(p["workers"] == 8 for p in sc)
    assert profiles.scale_workers(profiles.PROFILES["full"], 1 << 20) == 2


def test_contestants_only_where_one_process_holds_them():
    cont = [{"name": "go", "command": "bin/go_server", "query": "query"},
            {"name": "nginx", "command": "x", "query": "fixed"}]
    pts = profiles.plan("full", {"nofile": 5000}, cont)
    c = [p for p in pts if p["kind"] == "contestant"]
    assert max(p["conns"] for p in c) <= 4000
    assert all(p["wait_us"] == 0 for p in c if p["impl"] == "nginx")


def test_names():
    pt = {"kind": "grid", "impl": "thread", "label": "thread-64k", "conns": 10, "wait_us": 0,
          "work_us": 0, "rep": 2, "bytes": 64}
    assert profiles.run_name(pt) == "thread-64k-c10-w0-u0-r2"
    sc = dict(pt, kind="scale", workers=8, label="thread")
    assert profiles.run_name(sc) == "scale-thread-workers8-c10-w0-u0-r2"


def test_think_time_offers_the_fraction_asked():
    think = profiles.think_for(100000, 1000, 90000, 0.5)
    offered = 100000 / (think / 1000 + 0.001)
    assert offered == pytest.approx(45000)
    assert profiles.think_for(10, 1000, 0, 0.5) is None
    assert profiles.think_for(1, 1000, 1e9, 0.5) == 0.0


def test_estimate_stops_the_thread_series_at_its_wall():
    pts = profiles.plan("full", {"nofile": 20000}, only=("scale",))
    est = profiles.estimate(pts, "full", 32768, skip_hol=True, skip_hyperfine=True)
    thread = [p for p in pts if p["impl"] == "thread"]
    assert thread[-1]["est_s"] == 0.0
    assert est == pytest.approx(sum(p["est_s"] for p in pts))
