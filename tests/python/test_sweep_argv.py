"""The harness command of a point: the stop scenario and the shared table, on a made-up
harness whose help lists every flag."""

from tvtbench import profiles
from tvtbench.sweep_argv import PointCommands

HELP = ("--server-cpus K --allow-overlap --stop --stop-inflight --state --share-us --keys "
        "--procs --workers --source-ips --stack-kib --capacity --io")


class Fake(PointCommands):
    harness, run_help, server_k, out, data_dir = "bin/harness", HELP, None, "/tmp/x", "/d"
    server_help = {"async": "", "thread": "--lock", "uring": ""}
    prof = profiles.PROFILES["quick"]


def argv(pt):
    return Fake().argv_for(pt, "/tmp/x/raw/p.json")[0]


def points(kind):
    return [p for p in profiles.plan("quick", {"nofile": 20000, "ncpus": 2})
            if p["kind"] == kind]


def test_a_stop_point_runs_the_stop_scenario_without_a_window():
    a = argv(next(p for p in points("stop") if p["label"] == "thread"))
    assert "--stop" in a and "--duration" not in a and "--warmup" not in a
    assert a[a.index("--wait-us") + 1] == "500000" and a[a.index("--impl") + 1] == "thread"


def test_a_shared_point_asks_for_the_table_and_the_unguarded_server_on_every_cpu():
    sh = points("shared")
    a = argv(next(p for p in sh if p["label"] == "async"))
    assert a[a.index("--state") + 1] == "shared" and a[a.index("--share-us") + 1] == "2"
    assert "--keys" in a and "--allow-overlap" not in a and "--" not in a
    nl = [argv(p) for p in sh if p["label"] == "thread-nolock"]
    assert all(x[-3:] == ["--", "--lock", "none"] for x in nl)
    assert all(x[x.index("--name") + 1] == "thread-nolock" for x in nl)
    assert "--allow-overlap" in nl[1] and nl[1][nl[1].index("--server-cpus") + 1] == "2"
    assert "--server-cpus" not in nl[0]
