#!/usr/bin/env python3
"""Arithmetic and JSON for scripts/compare.sh (`make compare`); the shell script runs things.

    compare.py cpus
        prints "SERVER_CPU CLIENT_CPU": the first two CPUs this process may use
    compare.py wrk --text FILE --out JSON --cpu-s S --wall-s S --duration S --conns N
                   --exit RC --command CMD
        turns one wrk run's text output (and its CPU time, from bash's `time`) into
        JSON like a harness result's "client" block, written atomically; prints
        "RPS ERRORS SATURATED" on stdout
    compare.py harness FILE
        prints "RPS ERRORS SATURATED STATUS" of one harness JSON result ("- ..." if unreadable)
    compare.py params --out DIR KEY=VALUE...
        writes DIR/params.json: VALUE parsed as JSON where it parses, else a string;
        skip.NAME=WHY goes to "skipped", others=a,b,c to a list
    compare.py summary --out DIR
        reads DIR/runs/index.tsv (one line per run compare.sh made) and DIR/params.json,
        prints the tables, writes DIR/compare.json atomically; exit 0 measured,
        1 nothing measurable

Only the standard library. Exit codes: 0 ok, 1 failure, 2 usage."""

import json
import os
import re
import statistics
import sys

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


def die(code, msg):
    print(f"compare.py: {msg}", file=sys.stderr)
    sys.exit(code)


def write_json_atomic(path, doc):
    """Temp file in the same folder, fsync, rename, fsync of the folder."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def opts(argv, names):
    """--name value pairs into a dict; unknown or valueless options are usage errors."""
    out = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--") or a[2:] not in names or i + 1 >= len(argv):
            die(2, f"bad argument '{a}' (try --help)")
        out[a[2:]] = argv[i + 1]
        i += 2
    missing = [n for n in names if n not in out]
    if missing:
        die(2, "missing " + ", ".join("--" + m for m in missing))
    return out


# ---- wrk -------------------------------------------------------------------------------

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


def cmd_wrk(argv):
    o = opts(argv, ["text", "out", "cpu-s", "wall-s", "duration", "conns", "exit", "command"])
    try:
        with open(o["text"], errors="replace") as f:
            text = f.read()
    except OSError as e:
        text = ""
        print(f"compare.py: cannot read {o['text']}: {e.strerror}", file=sys.stderr)
    r = parse_wrk(text)
    cpu_s, wall_s = float(o["cpu-s"]), float(o["wall-s"])
    rc = int(o["exit"])
    ok = rc == 0 and r["rps"] is not None and r["rps"] > 0
    doc = {
        "schema": "tvt-wrk/1",
        "status": "ok" if ok else "failed",
        "failure": None if ok else (f"wrk exited {rc}" if rc else "no Requests/sec in wrk's output"),
        "command": o["command"],
        "params": {"conns": int(o["conns"]), "threads": 1, "duration_s": float(o["duration"])},
        "client": {
            "rps": r["rps"], "requests": r["requests"], "window_s": r["window_s"],
            "bytes_read_text": r["bytes_read_text"], "errors": r["errors"],
            "latency_us": r["latency_us"],
            "latency_from": "wrk's own (closed loop, from the actual send time)",
            "cpu_s": cpu_s, "wall_s": wall_s,
            # one thread: its busy fraction is CPU over wall time
            "cpu_max_thread": cpu_s / wall_s if wall_s > 0 else None,
            "saturated": wall_s > 0 and cpu_s / wall_s > SATURATED_CPU,
        },
        "output": text[-4000:],
    }
    write_json_atomic(o["out"], doc)
    c = doc["client"]
    print(f"{c['rps'] or 0:.1f} {sum(c['errors'].values())} {int(c['saturated'])}")
    return 0 if ok else 1


# ---- reading runs -----------------------------------------------------------------------

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
    return doc, {"rps": rps, "errors": int(nerr), "saturated": bool(c.get("saturated")),
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


def cmd_harness(argv):
    if len(argv) != 1:
        die(2, "harness takes one FILE")
    _, f = load_run(argv[0])
    rps = f"{f['rps']:.1f}" if f["rps"] else "-"
    err = "-" if f["errors"] is None else str(f["errors"])
    print(f"{rps} {err} {int(bool(f['saturated']))} {f['status']}")
    return 0


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


def fnum(x, width=12, prec=1):
    return f"{x:>{width},.{prec}f}" if isinstance(x, (int, float)) else f"{'-':>{width}}"


def fpsi(row, a, b):
    """The two runs' CPU pressure, "a/b" in percent, or "-"."""
    v = [row[k].get("cpu_pressure_pct") for k in (a, b)]
    return "/".join("-" if x is None else f"{x:.0f}" for x in v)


def fratio(x, width=9):
    return f"{x:>{width}.3f}" if isinstance(x, (int, float)) else f"{'-':>{width}}"


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


def pair_section(rounds, runs, a, b, a_label, b_label, out_dir, b_skipped=False):
    """Per-round a/b ratios; runs maps (round, name) -> index row. With b_skipped, a's
    figures only (b absent: no ratio)."""
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
        ra, rb = facts[a]["rps"], facts[b]["rps"]
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


def cmd_summary(argv):
    o = opts(argv, ["out"])
    out_dir = o["out"]
    try:
        with open(os.path.join(out_dir, "params.json")) as f:
            params = json.load(f)
        index = read_index(os.path.join(out_dir, "runs", "index.tsv"))
    except (OSError, ValueError) as e:
        die(1, f"cannot read the runs of {out_dir}: {e}")
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
    gen = {"skipped": skips.get("wrk"), "target_issue7": TARGET_HARNESS_WRK,
           "within_issue3": WITHIN_WRK}
    if not gen["skipped"]:
        sec, env2 = pair_section(rounds, runs, "harness-load", "wrk", "harness", "wrk", out_dir)
        env = env or env2
        gen.update(sec)
        m = sec["median_ratio"]
        gen["met_issue7"] = m is not None and m >= TARGET_HARNESS_WRK
        gen["within_10pct_issue3"] = m is not None and abs(m - 1.0) <= WITHIN_WRK
    else:
        gen.update({"rounds": [], "median_ratio": None, "met_issue7": None,
                    "within_10pct_issue3": None})

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
    path = os.path.join(out_dir, "compare.json")
    write_json_atomic(path, doc)
    print_tables(doc)
    print(f"\nwritten: {path}")
    if why:
        print(f"compare: FAILED to measure: {doc['failure']}", file=sys.stderr)
    return 1 if why else 0


def verdict(ok, text):
    return f"met ({text})" if ok else f"MISSED ({text})"


def print_tables(doc):
    p, srv, gen = doc["params"], doc["async_vs_nginx"], doc["harness_vs_wrk"]
    la = doc["env"]["loadavg_1m"]
    cores = doc["env"].get("cores") or doc["env"]["cpus_online"]
    print()
    print(f"== make compare: {p['rounds']} rounds of {p['duration_s']:g} s "
          f"(warm-up {p['warmup_s']:g} s), server on CPU {p['server_cpu']}, "
          f"generator on CPU {p['client_cpu']}, wait 0, work 0, {p['bytes']} bytes")
    ps = doc["env"]["cpu_pressure_pct"]
    # PSI says whether tasks waited for a CPU during the runs; the load average lags by a
    # minute and counts blocked tasks too, so it is the fallback only
    busy = ps["median"] > BUSY_PSI_PCT if ps["median"] is not None else \
        bool(la["max_during"] and la["max_during"] > cores)
    print(f"   load average (1 min) {la['start']} at start, {la['end']} at end "
          f"({la['min_during']}..{la['max_during']} during) on {cores} CPUs"
          + ("  << the machine is busy: figures are noisy" if busy else ""))
    if ps["median"] is not None:
        print(f"   CPU pressure (PSI some, system-wide): some task waited for a CPU during "
              f"{ps['median']:.0f}% of a run's time (median; {ps['min']:.0f}..{ps['max']:.0f}%);"
              f" \"cpu wait %\" below is that figure per run (our own server, generator and"
              f" ksoftirqd included)")

    print(f"\n1. async_server vs nginx: harness run, {p['conns']} connections, closed loop")
    if srv["skipped"]:
        print(f"   nginx skipped: {srv['skipped']}; async_server alone:")
    if True:
        print(f"   {'round':<7}{'async req/s':>14}{'nginx req/s':>14}{'async/nginx':>13}"
              f"{'cpu wait %':>12}  flags")
        for r in srv["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['async_rps'], 14)}{fnum(r['nginx_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}{fpsi(r, 'async', 'nginx'):>12}  "
                  f"{'; '.join(r['flags'])}")
        print(f"   {'median':<7}{fnum(srv['median_rps']['async'], 14)}"
              f"{fnum(srv['median_rps']['nginx'], 14)}{fratio(srv['median_ratio'], 13)}"
              f"{'':>12}  "
              + ("no ratio (nginx skipped)" if srv["skipped"] else
                 verdict(srv["met"], f"target >= {TARGET_ASYNC_NGINX:.1f}")))
        if not srv["skipped"]:
            note_cpu(srv, "async", "nginx")
            note_quiet(srv)
            note_swing(srv)

    if doc["others"]:
        print(f"\n   other servers, same settings (req/s per round; median; median of "
              f"per-round ratios to nginx; median server CPU per request)")
        hdr = "".join(f"{'r' + str(i):>11}" for i in range(1, p["rounds"] + 1))
        print(f"   {'server':<15}{hdr}{'median':>12}{'/nginx':>9}{'us/req':>8}  flags")
        for o in doc["others"]:
            cells = "".join(fnum(x["rps"], 11, 0) for x in o["rounds"])
            counts = {}
            for x in o["rounds"]:
                for f in x["flags"]:
                    f = f[len(o["name"]) + 1:] if f.startswith(o["name"] + " ") else f
                    counts[f] = counts.get(f, 0) + 1
            flags = "; ".join(f"{f} ({n}/{len(o['rounds'])} rounds)" for f, n in counts.items())
            print(f"   {o['name']:<15}{cells}{fnum(o['median_rps'], 12)}"
                  f"{fratio(o['median_ratio_to_nginx'])}"
                  f"{fnum(o['median_server_cpu_us_per_request'], 8, 2)}  {flags}")
    for name, why in p.get("skipped", {}).items():
        if name not in ("nginx", "wrk"):
            print(f"   {name}: skipped: {why}")

    print(f"\n2. harness vs wrk: async_server, {p['wrk_conns']} connections, one generator "
          f"thread, {p['duration_s']:g} s each, same server per round")
    if gen["skipped"]:
        print(f"   skipped: {gen['skipped']}")
    else:
        print(f"   {'round':<7}{'harness req/s':>14}{'wrk req/s':>14}{'harness/wrk':>13}"
              f"{'cpu wait %':>12}  flags")
        for r in gen["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['harness_rps'], 14)}{fnum(r['wrk_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}{fpsi(r, 'harness', 'wrk'):>12}  "
                  f"{'; '.join(r['flags'])}")
        m = gen["median_ratio"]
        print(f"   {'median':<7}{fnum(gen['median_rps']['harness'], 14)}"
              f"{fnum(gen['median_rps']['wrk'], 14)}{fratio(m, 13)}{'':>12}  "
              + verdict(gen["met_issue7"], f"issue 7: >= {TARGET_HARNESS_WRK:.1f}") + ", "
              + verdict(gen["within_10pct_issue3"], "issue 3: within 10%"
                        + ("" if m is None or abs(m - 1) <= WITHIN_WRK else
                           f", the harness {'faster' if m > 1 else 'slower'} by "
                           f"{abs(m - 1) * 100:.0f}%")))
        note_quiet(gen)
        note_swing(gen)


def note_cpu(sec, a, b):
    c = sec["median_server_cpu_us_per_request"]
    if c.get(a) and c.get(b):
        print(f"   server CPU per request (median): {a} {c[a]:.2f} us, {b} {c[b]:.2f} us; "
              f"{b}/{a} {c[b] / c[a]:.3f} (above 1: {a} spends less CPU per answer, whoever "
              f"the bottleneck)")


def note_quiet(sec):
    q = sec["quiet_rounds"]
    if q["median_ratio"] is not None:
        print(f"   quiet rounds only (cpu wait < {q['max_cpu_pressure_pct']:.0f}% in both runs: "
              f"{', '.join(map(str, q['rounds']))}): median ratio {q['median_ratio']:.3f}")
    else:
        print(f"   no quiet round (cpu wait < {q['max_cpu_pressure_pct']:.0f}% in both runs)")


def note_swing(sec):
    for name, sp in sec["rps_spread"].items():
        if sp is not None and sp > 2 * SWING_WARN:
            print(f"   {name}'s req/s swung by {sp * 100:.0f}% of its median over the rounds: "
                  f"the machine's load changed under the runs")
    s = sec.get("ratio_spread")
    if s is not None and sec["rounds_measured"] > 1 and s > SWING_WARN:
        print(f"   the ratio ranged {sec['min_ratio']:.3f}..{sec['max_ratio']:.3f} over the rounds "
              f"({s * 100:.0f}% of the median): unsteady, read the median loosely")
    if sec["rounds_flagged"]:
        print(f"   {sec['rounds_flagged']} of {len(sec['rounds'])} rounds flagged (see flags); "
              f"they are in the median, not hidden")
    if sec["rounds_measured"] < len(sec["rounds"]):
        print(f"   {len(sec['rounds']) - sec['rounds_measured']} rounds gave no ratio (a run failed)")


def cmd_params(argv):
    if len(argv) < 2 or argv[0] != "--out":
        die(2, "params needs --out DIR first")
    doc = {"skipped": {}, "others": []}
    for kv in argv[2:]:
        k, sep, v = kv.partition("=")
        if not sep:
            die(2, f"params: '{kv}' is not KEY=VALUE")
        if k.startswith("skip."):
            doc["skipped"][k[5:]] = v
        elif k == "others":
            doc["others"] = [x for x in v.split(",") if x]
        else:
            try:
                doc[k] = json.loads(v)
            except ValueError:
                doc[k] = v
    write_json_atomic(os.path.join(argv[1], "params.json"), doc)
    return 0


def cmd_cpus(argv):
    allowed = sorted(os.sched_getaffinity(0))
    print(allowed[0], allowed[1] if len(allowed) > 1 else allowed[0])
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmds = {"cpus": cmd_cpus, "wrk": cmd_wrk, "harness": cmd_harness, "summary": cmd_summary,
            "params": cmd_params}
    if argv[1] not in cmds:
        die(2, f"unknown command '{argv[1]}' (try --help)")
    return cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
