"""`make compare`'s statistics: wrk's text parsed, one run's facts, spreads over rounds,
the per-round ratios of a pair and the summary document. Pure functions of what the
driver (scripts/compare.sh) measured; compare_text prints them."""

import json
import os
import re
import statistics

SCHEMA = "tvt-compare/1"
# A generator busier than this fraction of its one core may be what limits the rate,
# the harness's own rule (harness/runner.c, set_saturation).
SATURATED_CPU = 0.9
# A round is "quiet" when both of its runs saw CPU pressure (PSI some) below this percent:
# on a shared machine their median is a second figure, printed next to the plain median.
QUIET_PSI_PCT = 25.0
# Rounds whose ratios spread more than this around their median are called unsteady.
SWING_WARN = 0.15
# Median CPU pressure (percent) above which the machine is called busy in the header.
BUSY_PSI_PCT = 10.0
TARGET_ASYNC_NGINX = 1.0
TARGET_HARNESS_WRK = 1.0
WITHIN_WRK = 0.10


_UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def _dur_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNIT_US[m.group(2)] if m else None


def parse_wrk(text):
    """The figures of wrk 4.x's text output; absent figures stay None."""
    r = {"rps": None, "requests": None, "window_s": None, "bytes_read_text": None,
         "errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0},
         "latency_us": {}}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+\w+) read", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
        r["window_s"] = _dur_us(m.group(2) + m.group(3)) / 1e6
        r["bytes_read_text"] = m.group(4)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        for k, v in zip(("connect", "read", "write", "timeout"), m.groups()):
            r["errors"][k] = int(v)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["errors"]["status"] = int(m.group(1))
    m = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        r["latency_us"]["mean"] = _dur_us(m.group(1))
        r["latency_us"]["stdev"] = _dur_us(m.group(2))
        r["latency_us"]["max"] = _dur_us(m.group(3))
    for p, v in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", text, re.M):
        r["latency_us"]["p" + p] = _dur_us(v)
    return r


def load_run(path):
    """(doc, facts) of one result file; facts has rps, errors, saturated, status, failure."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return None, {"rps": None, "errors": None, "saturated": None, "status": "failed",
                      "failure": f"no result: {getattr(e, 'strerror', None) or e}"}
    c = doc.get("client") or {}
    errs = c.get("errors") or {}
    nerr = sum(v for v in errs.values() if isinstance(v, (int, float)))
    nerr += c.get("conns_failed") or 0
    rps = c.get("rps")
    status = doc.get("status", "failed")
    if not isinstance(rps, (int, float)) or rps <= 0:
        rps = None
        status = "failed"
    lat = c.get("latency_us") or {}
    srv = doc.get("server") or {}
    cpu = [srv.get("cpu_user_s"), srv.get("cpu_sys_s")]
    cap = doc.get("capacity") if isinstance(doc.get("capacity"), dict) else {}
    return doc, {"rps": rps, "capacity_rps": cap.get("capacity_rps"),
                 "slo_ms": cap.get("slo_ms"), "capacity_bound": cap.get("capacity_bound"),
                 "capacity_note": cap.get("capacity_note"), "errors": int(nerr), "saturated": bool(c.get("saturated")),
                 "status": status, "failure": doc.get("failure"),
                 "requests": c.get("requests"), "errors_by_kind": errs,
                 "generator_cpu_s": c.get("cpu_s"), "cpu_max_thread": c.get("cpu_max_thread"),
                 "latency_us": {k: lat.get(k) for k in ("p50", "p90", "p99", "max", "mean")
                                if k in lat},
                 "server_cpu_s": sum(cpu) if all(isinstance(x, (int, float)) for x in cpu)
                 else None,
                 "server_rss_steady_kib": srv.get("rss_steady_kib"),
                 # the server's own CPU per answer: its efficiency whoever the bottleneck is
                 "server_cpu_us_per_request": (doc.get("derived") or {}).get("cpu_us_per_request"),
                 "window_s": c.get("window_s") or c.get("wall_s")}


def add_busy(f, server_cpu_s=None):
    """Server's busy fraction of one core in the measured window, where known."""
    if f.get("server_cpu_s") is None and server_cpu_s is not None:
        f["server_cpu_s"] = server_cpu_s
    w = f.get("window_s")
    f["server_busy"] = f["server_cpu_s"] / w if f.get("server_cpu_s") is not None and w else None
    return f


def flags_of(label, f):
    """Short marks of one run for the table: FAILED, generator SATURATED, N errors."""
    out = []
    if f["status"] == "skipped":
        return out
    if f["status"] != "ok":
        out.append(f"{label} FAILED" + (f" ({f['failure']})" if f.get("failure") else ""))
    if f.get("saturated"):
        out.append(f"{label} generator SATURATED")
    if f.get("errors"):
        out.append(f"{label} {f['errors']} errors")
    return out


def spread(values):
    """min, max, median and (max-min)/median of positive numbers, or Nones."""
    v = [x for x in values if isinstance(x, (int, float)) and x > 0]
    if not v:
        return {"n": 0, "median": None, "min": None, "max": None, "spread": None}
    med = statistics.median(v)
    return {"n": len(v), "median": med, "min": min(v), "max": max(v),
            "spread": (max(v) - min(v)) / med if med else None}


def read_index(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 6 or parts[0] == "round":
                continue
            rows.append({"round": int(parts[0]), "part": parts[1], "name": parts[2],
                         "file": parts[3], "loadavg": parts[4], "command": parts[5],
                         "server_cpu_s": float(parts[6]) if len(parts) > 6 and parts[6]
                         else None,
                         "cpu_pressure_pct": float(parts[7]) if len(parts) > 7 and parts[7]
                         else None})
    return rows


def pair_section(rounds, runs, a, b, a_label, b_label, out_dir, b_skipped=False,
                 metric="rps"):
    """Per-round a/b ratios of `metric` (req/s, or capacity_rps of capacity runs); runs
    maps (round, name) -> index row. With b_skipped, a's figures only (b absent: no
    ratio)."""
    rows, env = [], None
    for r in range(1, rounds + 1):
        row = {"round": r}
        facts = {}
        for name in (a, b):
            ix = runs.get((r, name))
            if ix is None:
                st = "skipped" if name == b and b_skipped else "not run"
                facts[name] = {"rps": None, "errors": None, "saturated": None,
                               "status": st, "failure": st}
                continue
            doc, f = load_run(os.path.join(out_dir, ix["file"]))
            add_busy(f, ix["server_cpu_s"])
            if env is None and doc and isinstance(doc.get("env"), dict):
                env = doc["env"]
            f["file"] = ix["file"]
            f["loadavg_1m"] = float(ix["loadavg"]) if ix["loadavg"] else None
            f["cpu_pressure_pct"] = ix["cpu_pressure_pct"]
            f["command"] = ix["command"]
            facts[name] = f
        ra, rb = facts[a].get(metric), facts[b].get(metric)
        ok = facts[a]["status"] == "ok" and facts[b]["status"] == "ok" and ra and rb
        row[a_label + "_rps"] = ra
        row[b_label + "_rps"] = rb
        row["ratio"] = ra / rb if ok else None
        row["flags"] = flags_of(a_label, facts[a]) + flags_of(b_label, facts[b])
        row[a_label] = facts[a]
        row[b_label] = facts[b]
        rows.append(row)
    ratios = spread([x["ratio"] for x in rows])
    quiet = [x for x in rows if x["ratio"] is not None and
             all(x[k].get("cpu_pressure_pct") is not None and
                 x[k]["cpu_pressure_pct"] < QUIET_PSI_PCT for k in (a_label, b_label))]
    return {
        "quiet_rounds": {"max_cpu_pressure_pct": QUIET_PSI_PCT,
                         "rounds": [x["round"] for x in quiet],
                         "median_ratio": spread([x["ratio"] for x in quiet])["median"]},
        "rounds": rows,
        "median_ratio": ratios["median"], "min_ratio": ratios["min"], "max_ratio": ratios["max"],
        "ratio_spread": ratios["spread"], "rounds_measured": ratios["n"],
        "rounds_flagged": sum(1 for x in rows if x["flags"]),
        "median_rps": {a_label: spread([x[a_label + "_rps"] for x in rows])["median"],
                       b_label: spread([x[b_label + "_rps"] for x in rows])["median"]},
        "median_server_cpu_us_per_request": {
            k: spread([x[k].get("server_cpu_us_per_request") for x in rows])["median"]
            for k in (a_label, b_label)},
        # (max - min) / median of each side's req/s: how much the machine moved under it
        "rps_spread": {a_label: spread([x[a_label + "_rps"] for x in rows])["spread"],
                       b_label: spread([x[b_label + "_rps"] for x in rows])["spread"]},
    }, env


def summarize(out_dir, params, index):
    """The summary document of one sitting: params (params.json), index (read_index of
    runs/index.tsv); the runs' files are read from out_dir. Returns (doc, problems)."""
    rounds = params["rounds"]
    runs = {(x["round"], x["name"]): x for x in index}
    skips = params.get("skipped", {})
    env = None

    # 1. async_server vs nginx, and the other servers next to nginx
    srv = {"skipped": skips.get("nginx"), "target": TARGET_ASYNC_NGINX}
    sec, env = pair_section(rounds, runs, "async", "nginx", "async", "nginx", out_dir,
                            b_skipped=bool(srv["skipped"]))
    srv.update(sec)
    srv["met"] = None if srv["skipped"] else \
        sec["median_ratio"] is not None and sec["median_ratio"] >= TARGET_ASYNC_NGINX
    others = []
    for name in params.get("others", []):
        per, ratios = [], []
        for r in range(1, rounds + 1):
            ix = runs.get((r, name))
            if ix is None:
                per.append({"round": r, "rps": None, "status": "not run", "flags": []})
                ratios.append(None)
                continue
            doc, f = load_run(os.path.join(out_dir, ix["file"]))
            add_busy(f)
            if env is None and doc and isinstance(doc.get("env"), dict):
                env = doc["env"]
            per.append({"round": r, "rps": f["rps"], "status": f["status"], "errors": f["errors"],
                        "saturated": f["saturated"], "file": ix["file"],
                        "server_busy": f["server_busy"], "generator_busy": f["cpu_max_thread"],
                        "latency_us": f["latency_us"],
                        "server_cpu_us_per_request": f["server_cpu_us_per_request"],
                        "loadavg_1m": float(ix["loadavg"]) if ix["loadavg"] else None,
                        "cpu_pressure_pct": ix["cpu_pressure_pct"],
                        "flags": flags_of(name, f), "command": ix["command"]})
            ng = next((x for x in srv["rounds"] if x["round"] == r), None)
            nrps = ng["nginx_rps"] if ng and ng["nginx"]["status"] == "ok" else None
            ratios.append(f["rps"] / nrps if f["status"] == "ok" and f["rps"] and nrps else None)
        s = spread([x["rps"] for x in per if x["status"] == "ok"])
        others.append({"name": name, "rounds": per, "median_rps": s["median"],
                       "median_server_cpu_us_per_request": spread(
                           [x.get("server_cpu_us_per_request") for x in per
                            if x["status"] == "ok"])["median"],
                       "min_rps": s["min"], "max_rps": s["max"], "rps_spread": s["spread"],
                       "ratio_to_nginx": ratios,
                       "median_ratio_to_nginx": spread(ratios)["median"]})

    # 2. the harness vs wrk
    gen = {"skipped": skips.get("wrk"), "target": TARGET_HARNESS_WRK,
           "tolerance": WITHIN_WRK}
    if not gen["skipped"]:
        sec, env2 = pair_section(rounds, runs, "harness-load", "wrk", "harness", "wrk", out_dir)
        env = env or env2
        gen.update(sec)
        m = sec["median_ratio"]
        gen["meets_target"] = m is not None and m >= TARGET_HARNESS_WRK
        gen["within_tolerance"] = m is not None and abs(m - 1.0) <= WITHIN_WRK
    else:
        gen.update({"rounds": [], "median_ratio": None, "meets_target": None,
                    "within_tolerance": None})

    loads = [float(x["loadavg"]) for x in index if x["loadavg"]]
    psi = spread([x["cpu_pressure_pct"] for x in index])
    env = dict(env or {})
    env["loadavg_1m"] = {"start": params.get("loadavg_start"), "end": params.get("loadavg_end"),
                         "min_during": min(loads) if loads else None,
                         "max_during": max(loads) if loads else None}
    # PSI "some": the share of each run's time in which some task on the machine (ours
    # included: server, generator, ksoftirqd) waited for a CPU
    env["cpu_pressure_pct"] = {"scope": "system-wide, per run", "median": psi["median"],
                               "min": psi["min"], "max": psi["max"]}
    env["cpus_online"] = os.cpu_count()

    why = []
    if srv["skipped"] and gen["skipped"]:
        why.append("neither ratio could be measured: nginx and wrk are both missing")
    if not srv["skipped"] and srv["median_ratio"] is None:
        why.append("no round gave an async/nginx ratio (see the flags and logs/)")
    if srv["median_rps"]["async"] is None:
        why.append("async_server gave no result in any round (see logs/)")
    if not gen["skipped"] and gen["median_ratio"] is None:
        why.append("no round gave a harness/wrk ratio (see the flags and logs/)")
    doc = {"schema": SCHEMA, "status": "failed" if why else "ok",
           "failure": "; ".join(why) or None, "params": params,
           "env": env, "async_vs_nginx": srv, "others": others, "harness_vs_wrk": gen}
    if "uring" in params.get("others", []):
        doc["uring_vs_async"], _ = pair_section(rounds, runs, "uring", "async", "uring",
                                                "async", out_dir)
    if params.get("capacity"):
        sec, _ = pair_section(rounds, runs, "cap-async", "cap-nginx", "async", "nginx",
                              out_dir, b_skipped=bool(srv["skipped"]), metric="capacity_rps")
        slos = [x["async"].get("slo_ms") for x in sec["rounds"] if x["async"].get("slo_ms")]
        sec["slo_ms"] = slos[0] if slos else None
        doc["capacity_async_vs_nginx"] = sec
    return doc, why
