"""`make compare`'s command line (scripts/compare.py): the subcommands scripts/compare.sh
calls. Arithmetic lives in compare_stats, printing in compare_text."""

import json
import os
import sys

from .compare_stats import SATURATED_CPU, load_run, parse_wrk, read_index, summarize
from .compare_text import print_extra, print_tables
from .util import write_json_atomic

DOC = """Arithmetic and JSON for scripts/compare.sh (`make compare`); the shell script runs things.

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


def die(code, msg):
    print(f"compare.py: {msg}", file=sys.stderr)
    sys.exit(code)


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


def cmd_harness(argv):
    if len(argv) != 1:
        die(2, "harness takes one FILE")
    _, f = load_run(argv[0])
    rps = f"{f['rps']:.1f}" if f["rps"] else "-"
    err = "-" if f["errors"] is None else str(f["errors"])
    print(f"{rps} {err} {int(bool(f['saturated']))} {f['status']}")
    return 0


def cmd_summary(argv):
    o = opts(argv, ["out"])
    out_dir = o["out"]
    try:
        with open(os.path.join(out_dir, "params.json")) as f:
            params = json.load(f)
        index = read_index(os.path.join(out_dir, "runs", "index.tsv"))
    except (OSError, ValueError) as e:
        die(1, f"cannot read the runs of {out_dir}: {e}")
    doc, why = summarize(out_dir, params, index)
    path = os.path.join(out_dir, "compare.json")
    write_json_atomic(path, doc)
    print_tables(doc)
    print_extra(doc)
    print(f"\nwritten: {path}")
    if why:
        print(f"compare: FAILED to measure: {doc['failure']}", file=sys.stderr)
    return 1 if why else 0


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
        print(DOC)
        return 0 if len(argv) >= 2 else 2
    cmds = {"cpus": cmd_cpus, "wrk": cmd_wrk, "harness": cmd_harness, "summary": cmd_summary,
            "params": cmd_params}
    if argv[1] not in cmds:
        die(2, f"unknown command '{argv[1]}' (try --help)")
    return cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
