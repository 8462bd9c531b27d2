"""`make compare`'s statistics apart from its driver."""

import json

import pytest

from tvtbench.compare_stats import load_run, parse_wrk, spread

WRK = """Running 3s test @ http://127.0.0.1:8080/
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   273.00us  100.00us   5.00ms   90.00%
  Latency Distribution
     50%  250.00us
     99%    1.20ms
  623412 requests in 3.00s, 90.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec: 207804.00
"""


def test_parse_wrk():
    r = parse_wrk(WRK)
    assert r["rps"] == pytest.approx(207804.0)
    assert r["requests"] == 623412 and r["window_s"] == pytest.approx(3.0)
    assert r["errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 1, "status": 5}
    assert r["latency_us"]["p99"] == pytest.approx(1200.0)
    assert r["latency_us"]["max"] == pytest.approx(5000.0)


def test_parse_wrk_of_nothing():
    r = parse_wrk("")
    assert r["rps"] is None and r["requests"] is None


def test_spread():
    s = spread([1.0, 2.0, 4.0, None, -1])
    assert s == {"n": 3, "median": 2.0, "min": 1.0, "max": 4.0, "spread": 1.5}
    assert spread([])["median"] is None


def test_load_run_flags_a_run_without_throughput(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"status": "ok", "client": {"rps": 0, "errors": {"read": 3}}}))
    _, f = load_run(str(p))
    assert f["status"] == "failed" and f["errors"] == 3
    _, f = load_run(str(tmp_path / "missing.json"))
    assert f["status"] == "failed" and "no result" in f["failure"]
