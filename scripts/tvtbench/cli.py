"""The command lines: scripts/report.py, scripts/sweep.py and scripts/compare.py call the
functions here (one argument parser each)."""

import os
import sys

from .results import Results


def report_main(argv=None):
    """report.py data|report DIR [--reference DIR]"""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: report.py data|report DIR [--reference DIR]\n"
              "  data    summary.csv, hol.csv and DIR/plots/data/* (what gnuplot reads)\n"
              "  report  DIR/REPORT.md: environment, verdicts, this run beside the\n"
              "          reference (default results/reference), plots, failures\n"
              "  readme DIR README.md   the README's verdict tables, regenerated from DIR\n"
              "          (between its markers; the reference run's, never by hand)")
        return 0
    ref = None
    if "--reference" in argv:
        i = argv.index("--reference")
        if i + 1 >= len(argv):
            print("report.py: --reference needs a folder", file=sys.stderr)
            return 2
        ref = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) == 3 and argv[0] == "readme":
        return readme_main(argv[1], argv[2])
    if len(argv) != 2 or argv[0] not in ("data", "report"):
        print("usage: report.py data|report DIR [--reference DIR] (try --help)",
              file=sys.stderr)
        return 2
    out = argv[1]
    if not os.path.isdir(os.path.join(out, "raw")):
        print(f"report.py: {out}/raw not found: run scripts/bench.sh (make bench) first",
              file=sys.stderr)
        return 1
    res = Results.load(out)
    if argv[0] == "data":
        from .plotdata import write_data
        from .summary import write_summary
        write_summary(res)
        write_data(res)
        return 0
    from .report import write_report
    blocks = write_report(res, ref)
    width = max(len(row.verdict.outcome) for _, rows in blocks for row in rows)
    for block, rows in blocks:
        print(f"  {block.title}:")
        for row in rows:
            v = row.verdict
            q = v.qualifier()
            print(f"  {row.cid:<8} {v.outcome:<{width}}  {v.task_label or 'task'} {v.a}, "
                  f"{v.thread_label or 'thread'} {v.t}, ratio {v.r}" + (f" {q}" if q else "")
                  + (f" [{v.note}]" if v.note else ""))
    return 0


def readme_main(out, readme):
    from .report import readme_tables, splice_readme
    from .util import write_atomic
    if not os.path.isdir(os.path.join(out, "raw")):
        print(f"report.py: {out}/raw not found", file=sys.stderr)
        return 1
    with open(readme) as f:
        text = f.read()
    try:
        new = splice_readme(text, readme_tables(Results.load(out)))
    except ValueError as e:
        print(f"report.py: {readme}: {e}", file=sys.stderr)
        return 1
    write_atomic(readme, new)
    print(f"report.py: {readme}: verdict tables regenerated from {out}")
    return 0


SWEEP_DOC = """The sweep behind `make bench`: runs `harness run` over a profile's points (the C
designs, and in the full profile the contestants and each design's wall search), then the head-of-line
case (two `harness load` processes at once) and the hyperfine fixed job.

    scripts/sweep.py --profile smoke|quick|full --out DIR [--bin DIR] [--estimate]

Writes DIR/raw/*.json (one per run), DIR/scale/*.json (the machine during each scale run
and wall probe),
DIR/hol/*.json, DIR/hyperfine/fixed_job.json, DIR/logs/, DIR/code.json (each server's lines
and complexity) and DIR/sweep.json (the plan, what was skipped and why, the walls found). Every file is written atomically. --estimate prints the plan's
expected seconds and exits. Exit codes: 0 done (failed points included), 1 could not run at
all, 2 usage, 130 interrupted (what ran so far is kept)."""


def sweep_main(argv=None):
    import argparse
    import signal

    from .procs import Child
    from .profiles import PARTS, PROFILES
    from .sweep import Sweep, log

    ap = argparse.ArgumentParser(description=SWEEP_DOC.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(SWEEP_DOC.splitlines()[2:]))
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", default=os.environ.get("TVT_BIN_DIR", "bin"))
    ap.add_argument("--server-cpus", type=int, default=None, metavar="K",
                    help="CPUs for the server (default: the harness's plan, half of them)")
    ap.add_argument("--hosts", metavar="FILE",
                    help="run every point across the hosts of FILE (harness run --hosts): "
                         "the server on --server-on's host, the generators on --clients-on's")
    ap.add_argument("--server-on", metavar="NAME")
    ap.add_argument("--clients-on", metavar="NAME[,NAME...]")
    ap.add_argument("--skip-hol", action="store_true", help="leave out the head-of-line case")
    ap.add_argument("--skip-hyperfine", action="store_true", help="leave out hyperfine")
    ap.add_argument("--walls-max", type=int, metavar="N",
                    help="the wall search's ceiling in connections (default: the profile's, "
                         "1,000,000 in full); the machine's own ceiling still applies")
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts of the profile to run: grid (the C designs' "
                         "grid), kinds (the network and file waits), capacity, cores, stop "
                         "(the stop scenario), shared (requests on a shared table), "
                         "contestant (the other runtimes, in those parts), scale, walls "
                         "(each design's wall, searched) (default: all the profile has)")
    ap.add_argument("--estimate", action="store_true",
                    help="print the plan's expected seconds and exit")
    args = ap.parse_args(argv)
    args.only = set(x.strip() for x in args.only.split(",") if x.strip())
    if not args.only <= set(PARTS):
        ap.error(f"--only: parts are {', '.join(PARTS)}, not {','.join(sorted(args.only))}")
    if args.walls_max is not None and args.walls_max < 1000:
        ap.error(f"--walls-max {args.walls_max}: the search needs at least 1000 connections")
    if bool(args.hosts) != bool(args.server_on and args.clients_on) or \
            (not args.hosts and (args.server_on or args.clients_on)):
        ap.error("--hosts FILE goes with --server-on NAME and --clients-on NAME[,NAME...]")
    if args.hosts and not os.path.isfile(args.hosts):
        ap.error(f"--hosts {args.hosts}: no such file")
    if args.server_cpus is not None and not args.hosts and \
            not 1 <= args.server_cpus <= len(os.sched_getaffinity(0)):
        ap.error(f"--server-cpus {args.server_cpus}: this process may use "
                 f"{len(os.sched_getaffinity(0))} CPUs")
    harness = os.path.join(args.bin, "harness")
    if not os.access(harness, os.X_OK):
        print(f"sweep.py: {harness} not found or not executable; build it with `make` "
              f"(or point TVT_BIN_DIR at a build's bin/)", file=sys.stderr)
        return 1
    sw = Sweep(args)
    # SIGTERM (a test's timeout, a CI cancel) stops our children as ^C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return sw.run()
    except KeyboardInterrupt:
        for c in list(Child.live):
            c.kill()
        log(f"\nsweep: interrupted; partial results in {args.out} "
            f"(scripts/plots.sh {args.out} plots and reports them)")
        return 130
