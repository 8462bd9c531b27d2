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


def test_full_plan_adds_the_fd_limit_point_and_a_wall_search_per_design():
    pts = profiles.plan("full", {"nofile": 20000})
    assert 19000 in {p["conns"] for p in pts if p["kind"] == "grid"}
    wl = [p for p in pts if p["kind"] == "wall"]
    assert [p["label"] for p in wl] == ["async-lean", "uring", "thread", "thread-64k"]
    assert wl[0]["server_args"] == ["--buffers", "lean"] and wl[3]["stack_kib"] == 64
    assert pts[-len(wl):] == wl  # last: a search takes every pid the machine has
    assert not [p for p in profiles.plan("quick", {"nofile": 20000}) if p["kind"] == "wall"]


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


def test_the_wall_searches_fit_a_quarter_hour_and_threads_scale_with_pid_max():
    pts = profiles.plan("full", {"nofile": 20000}, only=("walls",))
    est = profiles.estimate(pts, "full", 32768, skip_hol=True, skip_hyperfine=True)
    assert est == pytest.approx(sum(p["est_s"] for p in pts)) and 300 < est <= 15 * 60
    thread = next(p for p in pts if p["label"] == "thread")
    assert profiles.wall_est_s(thread, 4 * 32768) > 2 * thread["est_s"]


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

def test_stop_and_shared_points_per_profile():
    quick = profiles.plan("quick", {"nofile": 20000, "ncpus": 2})
    stop = [p for p in quick if p["kind"] == "stop"]
    assert {(p["label"], p["conns"]) for p in stop} == {
        (x, n) for x in ("async", "uring", "thread") for n in (1000, 10000)}
    shared = [p for p in quick if p["kind"] == "shared"]
    assert {(p["label"], p.get("k")) for p in shared} == {
        ("async", None), ("uring", None), ("thread", None), ("thread-nolock", None),
        ("thread-nolock", 2)}
    nolock = [p for p in shared if p["label"] == "thread-nolock"]
    assert all(p["server_args"] == ["--lock", "none"] and p["impl"] == "thread"
               for p in nolock)
    assert all(p["conns"] == 100 and p["wait_us"] == 0 and p["share_us"] == 2
               for p in shared)
    assert [p.get("overlap") for p in nolock] == [None, True]
    # one CPU: no "all CPUs" point, it would be the same as the other
    one = profiles.plan("quick", {"nofile": 20000, "ncpus": 1})
    assert not [p for p in one if p["kind"] == "shared" and p.get("k")]
    names = [profiles.run_name(p) for p in stop + shared]
    assert "stop-thread-c10000-w500000-u0-r1" in names
    assert "shared-k2-thread-nolock-c100-w0-u0-s2-r1" in names
    assert len(set(names)) == len(names)


def test_full_stops_up_to_one_process_and_sweeps_share_us():
    cont = [{"name": n, "command": f"bin/{n}", "query": "query"}
            for n in ("tokio-multi", "rust-threads", "go")] + [
        {"name": "nginx", "command": "x", "query": "fixed"}]
    pts = profiles.plan("full", {"nofile": 20000, "ncpus": 4}, cont)
    stop = [p for p in pts if p["kind"] == "stop"]
    assert sorted({p["conns"] for p in stop}) == [1000, 5000, 10000, 19000]
    assert {p["label"] for p in stop} == {"async", "uring", "thread", "tokio-multi",
                                          "rust-threads", "go"}
    shared = [p for p in pts if p["kind"] == "shared"]
    assert sorted({p["share_us"] for p in shared}) == [0, 2, 10, 50]
    assert "nginx" not in {p["label"] for p in stop + shared}
    assert {p["k"] for p in shared if p.get("k")} == {4}


def test_smoke_has_one_small_stop_and_one_shared_point_per_design():
    pts = profiles.plan("smoke", {"nofile": 20000, "ncpus": 2})
    stop = [p for p in pts if p["kind"] == "stop"]
    shared = [p for p in pts if p["kind"] == "shared"]
    assert [p["label"] for p in stop] == ["async", "uring", "thread"]
    assert [p["label"] for p in shared] == ["async", "uring", "thread", "thread-nolock"]
    est = sum(profiles.est_run_s(p) for p in stop + shared)
    assert est < 10  # a few seconds in all


def test_only_stop_and_shared():
    pts = profiles.plan("quick", {"nofile": 20000, "ncpus": 2}, only=("stop", "shared"))
    assert {p["kind"] for p in pts} == {"stop", "shared"}
    assert "stop" in profiles.PARTS and "shared" in profiles.PARTS


def test_quick_stays_within_its_budget():
    """The quick sweep's estimate (the harness runs, head-of-line, hyperfine) leaves the
    microbenchmarks and the plots their minute and a half within 5 minutes; the stop and
    shared points take about 30 s of it."""
    pts = profiles.plan("quick", {"nofile": 20000, "ncpus": 2})
    c7 = sum(profiles.est_run_s(p) for p in pts if p["kind"] in ("stop", "shared"))
    assert 15 < c7 < 35
    assert profiles.estimate(pts, "quick", 32768) < 270
