"""The sweep's plan: points, names, think times, estimates on made-up machines."""

import pytest

from tvtbench import profiles


def test_quick_plan_shape():
    pts = profiles.plan("quick", {"nofile": 20000})
    grid = [p for p in pts if p["kind"] == "grid" and p["io"] == "timer"]
    assert {p["label"] for p in grid} == {"async", "thread", "thread-64k", "uring",
                                          "async-lean"}
    assert all(p["wait_us"] == 0 for p in grid if p["label"] in ("thread-64k", "async-lean"))
    lean = [p for p in grid if p["label"] == "async-lean"]
    assert all(p["server_args"] == ["--buffers", "lean"] for p in lean)
    assert min(p["conns"] for p in lean) == 100  # C1's slope starts at 100
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


def test_a_network_wait_counts_two_fds_per_connection():
    """With io=net each connection holds a backend connection too: a contestant (one
    process) runs only where twice its connections fit one process's fd limit."""
    cont = [{"name": "go", "command": "bin/go_server", "query": "query"}]
    pts = profiles.plan("full", {"nofile": 20000}, cont)
    net = [p for p in pts if p["kind"] == "contestant" and p["io"] == "net"]
    timer = [p for p in pts if p["kind"] == "contestant" and p["io"] == "timer"]
    assert net and max(p["conns"] for p in net) * 2 <= 19000
    assert max(p["conns"] for p in timer) == 19000
    assert profiles.fds_per_conn("net") == 2 and profiles.fds_per_conn("file") == 1


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


def test_quick_has_the_kinds_and_one_capacity_curve_per_design():
    pts = profiles.plan("quick", {"nofile": 20000})
    files = {p["label"] for p in pts if p["io"] == "file"}
    assert files == {"async-loop", "async-pool", "async-uring", "uring", "thread"}
    assert {p["label"] for p in pts if p["io"] == "net"} == {"async", "uring", "thread"}
    assert max(p["conns"] for p in pts if p["io"] != "timer") == 1000
    cap = [p for p in pts if p["kind"] == "capacity"]
    assert {(p["label"], p["conns"], p["wait_us"]) for p in cap} == {
        ("async", 1000, 1000), ("uring", 1000, 1000), ("thread", 1000, 1000)}
    assert profiles.run_name(cap[0]).startswith("cap-")


def test_a_series_that_cannot_run_is_left_out():
    pts = profiles.plan("quick", {"nofile": 20000, "skip": {"uring": "no io_uring"}})
    assert "uring" not in {p["label"] for p in pts}


def test_rust_pair_in_quick_only_when_both_are_built():
    tokio = {"name": "tokio-multi", "command": "bin/tokio_server", "query": "query"}
    rt = {"name": "rust-threads", "command": "bin/rust_thread_server", "query": "query"}
    one = profiles.plan("quick", {"nofile": 20000}, [tokio])
    assert not [p for p in one if p["kind"] == "contestant"]
    both = profiles.plan("quick", {"nofile": 20000}, [tokio, rt])
    c = [p for p in both if p["kind"] == "contestant"]
    assert {p["label"] for p in c} == {"tokio-multi", "rust-threads"}
    assert {p["io"] for p in c} == {"timer", "net", "file"}


def test_cores_axis():
    assert profiles.cores_axis(1) == [1]
    assert profiles.cores_axis(2) == [1]
    assert profiles.cores_axis(16) == [1, 2, 4, 8]
    assert profiles.cores_axis(64) == [1, 2, 4, 8, 16, 32]
    pts = profiles.plan("full", {"nofile": 20000, "ncpus": 16})
    ks = {p["k"] for p in pts if p["kind"] == "cores"}
    assert ks == {1, 2, 4, 8}
    assert len({profiles.run_name(p) for p in pts}) == len(pts)  # every file its own