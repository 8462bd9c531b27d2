"""tvtbench: the sweep behind `make bench` and the analysis that turns its results into
summary.csv, the plots' data and REPORT.md with a verdict per claim.

Modules, one concern each (pure functions from results to figures to verdicts; files are
read and written at the edges, atomically):
    util        numbers, medians, slopes, atomic writes
    fmt         how a figure is printed (bytes, µs, counts, ratios)
    results     loading and indexing results: the one place that knows the run JSON keys
    micro       the microbenchmarks' JSON (microbench/SCHEMA.md)
    wall        the thread wall: which limit a thread server met, from its runs
    rules       outcomes, thresholds, the Verdict record, borderline spreads
    claims/     one module per claim, each with its rule's text beside its code
    blocks      which designs stand on each side of a verdict block (C, Rust)
    plotdata    the data files gnuplot reads (plotdata_open: the open-loop and K plots)
    summary     summary.csv and hol.csv
    report      REPORT.md (with report_sections, report_scale, and reference: this run
                beside another)
    profiles    the sweep's plan: profiles and the points they make
    procs       processes the sweep starts and stops; syswatch: the machine during scale
    sweep       the sweep's runner; sweep_argv: the harness command of a point;
                sweep_extra: the head-of-line case and hyperfine; machine: what it reads
                of this machine (CPUs, limits, programs, contestants)
    compare_*   `make compare`: statistics apart from the driver
    cli         the command lines (scripts/report.py, sweep.py, compare.py call it)
"""
