"""The wall search (C4): the probes it picks, the ceiling the machine allows, the cause it
names, and the C4 verdict the walls give, with its figures."""

import pytest
from helpers import verdict
from lab import Lab, grid

from tvtbench import wallsearch
from tvtbench.results import Results
from tvtbench.rules import HOLDS, PARTLY
from tvtbench.wall import probe_cause


def search(wall, start=76000, ceiling=1000000, held=19000):
    """The probes of a search on a design that holds every N below wall."""
    s = wallsearch.Search(start, ceiling, held=held)
    seq, n = [], s.next()
    while n is not None:
        seq.append(n)
        s.record(n, n < wall)
        n = s.next()
    return seq, s.outcome()


@pytest.mark.parametrize("wall", [20500, 31234, 50000, 123456, 700000])
def test_the_search_brackets_the_wall_to_five_percent(wall):
    seq, out = search(wall)
    assert out["wall"] < wall <= out["first_failed"]
    assert out["first_failed"] - out["wall"] <= 0.05 * out["first_failed"]
    assert len(seq) <= wallsearch.MAX_PROBES and len(set(seq)) == len(seq)


def test_a_design_that_holds_everything_stops_at_the_ceiling():
    seq, out = search(10 ** 9)
    assert seq == [76000, 304000, 1000000]
    assert out["wall"] == 1000000 and out["at_ceiling"] and out["first_failed"] is None


def test_the_grid_floor_is_kept_when_every_probe_fails():
    seq, out = search(1000)
    assert out["wall"] == 19000 and min(seq) > 19000


def test_a_failure_that_does_not_repeat_lets_the_search_grow_again():
    s = wallsearch.Search(10000, 100000)
    s.record(10000, True)
    s.record(40000, False)
    s.record(40000, True)  # noise: the same N held the next time
    assert s.failed is None and s.next() == 100000


def test_the_ceiling_names_what_binds():
    n, why = wallsearch.ceiling({"file_max": 2470000, "files_open": 3000,
                                 "mem_available_kib": 24 * 1024 * 1024}, 1, None, 1000000)
    assert n == 1000000 and "ceiling" in why
    n, why = wallsearch.ceiling({"file_max": 1000000, "files_open": 0}, 1, None, 1000000)
    assert n == 475000 and "fs.file-max" in why
    n, why = wallsearch.ceiling({"file_max": 10 ** 8, "mem_available_kib": 1024 * 1024}, 1,
                                8192, None)
    assert n == int(1024 ** 3 * wallsearch.MEM_USE / 8192) and "measured" in why


def test_a_probe_offers_half_the_capacity_and_is_answered_twice():
    sh = wallsearch.probe_shape(1000000, 1000, 40000, 0.5, 10, 10000)
    think = sh["think_ms"] / 1000
    assert 1000000 / (think + 0.001) == pytest.approx(20000, rel=1e-3)
    assert sh["duration_s"] >= 2 * (think + 0.001) - 0.1
    assert sh["warmup_s"] == wallsearch.WARMUP_MAX_S
    assert sh["timeout_ms"] >= think * 1000 - 1
    small = wallsearch.probe_shape(1000, 1000, 40000, 0.5, 10, 10000)
    assert small["duration_s"] == 10 and small["timeout_ms"] == 10000
    assert wallsearch.probe_shape(1000, 0, None, 0.5, 10, 10000) is None


def cause(lab, name, sysd=None):
    res = lab.results()
    r = next(x for x in res.runs if x.file == name)
    return probe_cause(Results(".", {}, [r], scale_sys={r.file: sysd or {}}), r)


def test_causes_are_named_from_the_errors_and_whose_they_are():
    lab = Lab()
    d = lab.run("async-lean", 500000, 1000, think_ms=20000, status="failed",
                failure="connect: Cannot assign requested address", impl="async")
    c = cause(lab, "scale-async-lean-c500000-w1000-u0-r1.json")
    assert c["limit"] == "ports" and c["whose"] == "generator"
    d["failure"] = "the server exited: Too many open files in system"
    c = cause(lab, "scale-async-lean-c500000-w1000-u0-r1.json")
    assert c["limit"] == "file_max" and c["whose"] == "machine" and c["raisable"]


def test_the_thread_wall_is_the_designs_and_can_be_raised():
    lab = Lab()
    lab.run("thread", 47500, 1000, think_ms=2000, refused=15000)
    sysd = {"tasks_peak": 32700, "pid_max": 32768, "probes": [
        {"status": 503, "body": "no thread: pthread_create: Resource temporarily unavailable"}]}
    c = cause(lab, "scale-thread-c47500-w1000-u0-r1.json", sysd)
    assert c["limit"] == "pid_max" and c["whose"] == "design" and c["raisable"]
    assert "EAGAIN" in c["text"] and "pid_max" in c["text"]


def wall(n, whose, cause, limit, probes, raisable=False, slope=None):
    return {"state": "done", "wall": n, "first_failed": None if whose != "design" else
            int(n * 1.04), "whose": whose, "cause": cause, "limit": limit,
            "raisable": raisable, "elapsed_s": 100.0,
            "probes": [{"conns": c, "held": ok, "errors": 0, "p99_us": 5000,
                        "rss_per_conn_bytes": 500, "machine_bytes_per_conn": slope,
                        "mem_available_before_kib": 24 * 1024 * 1024} for c, ok in probes]}


def walls_lab(task_whose="search"):
    lab = Lab(profile="full")
    grid(lab, ["async", "thread"], conns=(1000, 10000), waits=(1000,))
    lab.meta["walls"] = {
        "async-lean": wall(1000000, task_whose, "the search's ceiling", "ceiling",
                           [(76000, True), (304000, True), (1000000, True)]),
        "thread": wall(30500, "design", "pthread_create failed with EAGAIN: kernel.pid_max",
                       "pid_max", [(76000, False), (30500, True), (31400, False)],
                       raisable=True, slope=86000)}
    return lab


def test_c4_from_the_walls_agrees_with_its_figures():
    v = verdict(walls_lab(), "C4")
    assert v.task == 1000000 and v.thread == 30500
    assert v.ratio == pytest.approx(1000000 / 30500) and v.outcome == HOLDS
    assert v.a == "≥ 1M" or v.a.startswith("≥ 1")
    assert v.t == "30.5k" and v.r.startswith("≥ 32.8")
    assert "pid_max" in v.note and "ceiling" in v.note
    # with pid_max raised: threads-max (100,000 in the lab) before memory (24 GiB ÷ 86 kB)
    proj = [d for d in v.details if "kernel.pid_max raised" in d]
    assert proj and "kernel.threads-max would stop" in proj[0] and "near 100.0k" in proj[0]
    assert "before memory (near 299.6k)" in proj[0]


def test_the_projection_is_memory_when_memory_comes_first():
    lab = walls_lab()
    lab.env["threads_max"] = 10 ** 7
    for d in lab.docs.values():
        d["env"] = lab.env
    v = verdict(lab, "C4")
    proj = [d for d in v.details if "kernel.pid_max raised" in d]
    assert proj and "memory would stop" in proj[0] and "299.6k" in proj[0]


def test_c4_walls_bound_on_both_sides_only_hold_partly():
    lab = walls_lab()
    lab.meta["walls"]["thread"].update(whose="machine", cause="fs.file-max")
    v = verdict(lab, "C4")
    assert v.outcome == PARTLY and "neither wall" in v.note
