"""REPORT.md: environment, the verdict blocks with their rules and figures, this run
beside the reference, the sections of report_sections, plots, failures and caveats."""

import os

from . import designs, reference, report_scale, report_sections
from .blocks import C_BLOCK
from .claims import all_blocks
from .fmt import human_n, md_escape
from .rules import MAX_ERR_TEXT, STRONG, WEAK
from .util import write_atomic

PLOTS = [
    ("mem_per_conn", "Memory per connection"),
    ("rss_total", "Total server RSS"),
    ("ctx_per_req", "Context switches per request"),
    ("throughput", "Throughput"),
    ("capacity", "Capacity at a latency target"),
    ("hockey", "Latency against offered load (open loop)"),
    ("latency", "Latency p50 and p99"),
    ("latency_spectrum", "Latency percentile spectrum"),
    ("cpu_per_req", "CPU per request"),
    ("kernel_mem", "Kernel memory per connection"),
    ("waits", "Wait kinds: timer, network, file"),
    ("inflight", "Device reads in flight (file waits)"),
    ("cores", "Scaling over server cores"),
    ("ramp", "RSS and threads during the ramp"),
    ("scale", "To the walls: memory and load up to each design's wall"),
    ("hol", "Head-of-line blocking"),
    ("stop", "Graceful stop: SIGTERM to exit"),
    ("share", "Requests on a shared table"),
    ("hyperfine", "hyperfine"),
    ("micro_mem", "Microbenchmark: memory per unit"),
    ("micro_switch", "Microbenchmark: cost of one switch"),
    ("micro_create", "Microbenchmark: creation time per unit"),
]
# the plots that draw the contestants next to the C designs
COMPARED = {"mem_per_conn", "rss_total", "ctx_per_req", "throughput", "latency",
            "latency_spectrum", "cpu_per_req", "kernel_mem"}


def columns(block, res):
    """Task columns of a block's table: its task designs that ran (the first always)."""
    ran = {x for io in res.io_kinds() for x in res.labels(io)}
    return [block.tasks[0]] + [t for t in block.tasks[1:] if t in ran]


def cell(row, col):
    """What a task column shows: the figure of every verdict of the row that belongs there
    (the libev server's variants share the async column), the variant named when it is
    not the column's own, its outcome beside it unless it is the deciding one."""
    parts = []
    for v in row.all():
        if v.task_label is None or designs.column(v.task_label) != col:
            continue
        text = v.a + (f" ({v.task_label})" if v.task_label != col else "")
        if v is not row.verdict:
            text += f" · {v.outcome}"
        parts.append(text)
    if not parts and designs.column(row.verdict.task_label or col) == col:
        parts.append(row.verdict.a)
    return "; ".join(parts) or "–"


def verdict_table(res, block, rows, plots_dir):
    cols = columns(block, res)
    o = [f"| claim | metric | {' | '.join(cols)} | {block.threads[0]} | ratio | verdict | plot |",
         "|---|---|" + "---|" * len(cols) + "---|---|---|---|"]
    for row in rows:
        v = row.verdict
        plot = (f"[{v.plot}](plots/{v.plot}.png)" if v.plot and
                os.path.exists(os.path.join(plots_dir, v.plot + ".png")) else "–")
        note = f" — {v.note}" if v.note else ""
        thread = v.t + (f" ({v.thread_label})" if v.thread_label not in (block.threads[0], None)
                        and v.thread_label in designs.DESIGNS else "")
        o.append(f"| **{row.cid}** {md_escape(row.claim)} | {md_escape(v.metric)} | "
                 + " | ".join(md_escape(cell(row, c)) for c in cols)
                 + f" | {md_escape(thread)} | {md_escape(v.r)} | {v.text()}{md_escape(note)} | "
                 f"{plot} |")
    return o


def verdict_section(res, blocks, plots_dir):
    o = ["## Verdicts\n"]
    for block, rows in blocks:
        o.append(f"### {block.title[0].upper() + block.title[1:]}\n")
        o += verdict_table(res, block, rows, plots_dir)
        o.append("")
    o.append("### The rules\n")
    o.append(f"Ratios are oriented so that a value above 1 favours the claim. One scale "
             f"serves all of them unless a rule says otherwise: **holds** at ≥ {STRONG:g}, "
             f"**holds partly** at ≥ {WEAK:g}, **does not hold here** below {WEAK:g}; **not "
             f"measurable** when the data is missing or the claim is not a measurement. A "
             f"run counts (\"sustained\") when {MAX_ERR_TEXT}; medians over repeats. Runs "
             f"whose load generator was saturated never enter a median of throughput, "
             f"latency, CPU or switches per request. With repeats, a verdict whose ratio "
             f"ranged across a threshold over the repeats says **borderline** with that "
             f"range; a verdict resting on a single run says so. A note after a verdict "
             f"says why it differs from what its ratio alone would give.\n")
    seen = set()
    for _, rows in blocks:
        for row in rows:
            key = row.cid.split()[0]
            if key not in seen:
                seen.add(key)
                o.append(f"- **{key}**: {row.rule}")
    o.append("")
    o.append("### The figures behind each verdict\n")
    for block, rows in blocks:
        if len(blocks) > 1:
            o.append(f"#### {block.title[0].upper() + block.title[1:]}\n")
        for row in rows:
            v = row.verdict
            q = f" {v.qualifier()}" if v.qualifier() else ""
            thread = block.threads[0]  # a verdict without figures names no sides of its own
            o.append(f"- **{row.cid}** ({v.outcome}{q}; {v.task_label or block.tasks[0]} vs "
                     f"{v.thread_label or thread})")
            for d in v.details:
                o.append(f"  - {md_escape(d)}")
            for lab, x in row.others.items():
                o.append(f"  - {lab} vs {x.thread_label or thread}: {x.a} vs {x.t}, ratio {x.r}: "
                         f"{x.outcome}" + (f" {x.qualifier()}" if x.qualifier() else "")
                         + (f" — {x.note}" if x.note else ""))
        o.append("")
    return o


def environment(res):
    env, meta = res.env(), res.meta
    o = ["## Environment\n", "| item | value |\n|---|---|"]
    for k in ("kernel", "cpu_model", "cores", "mem_kib", "pid_max", "threads_max",
              "nproc_limit", "nofile_limit", "max_map_count", "libev_version", "cc_version",
              "git_commit", "date"):
        o.append(f"| {k} | {md_escape(env.get(k, 'n/a'))} |")
    pl = res.placement()
    if pl:
        def cpus(k):
            xs = pl.get(k) or []
            return ",".join(str(x) for x in xs) or "none"
        o.append(f"| placement | server on CPU {cpus('server_cpus')}, load generator on "
                 f"{cpus('client_cpus')}, backend on {cpus('backend_cpus')}"
                 + ("; **overlapping** (asked for)" if pl.get("overlap") else "")
                 + f" (of {cpus('cpus_allowed')}) |")
    else:
        o.append(f"| placement | server on CPU {meta.get('server_cpu', '?')}, load generator "
                 f"on CPU {meta.get('client_cpu', '?')} |")
    hosts = meta.get("hosts")
    if hosts:
        o.append(f"| hosts | server on {md_escape(hosts.get('server_on'))}, generators on "
                 f"{md_escape(', '.join(hosts.get('clients_on') or []))} (hosts file "
                 f"{md_escape(hosts.get('file'))}; each run's `hosts` has every host's "
                 f"environment and share) |")
    ax = meta.get("axes") or {}
    if ax:
        o.append(f"| sweep | conns {ax.get('conns')}, wait_us {ax.get('waits')}, "
                 f"{ax.get('duration_s')} s measured after {ax.get('warmup_s')} s warm-up, "
                 f"{ax.get('repeats')} repeat(s), {ax.get('bytes')}-byte bodies, closed loop |")
    cont = meta.get("contestants") or []
    if cont or res.contestant_labels():
        o.append("| contestants | "
                 + (", ".join(f"{c['name']} (`{md_escape(c['command'])}`)" for c in cont)
                    or ", ".join(res.contestant_labels())) + " |")
    wl = ax.get("walls")
    if wl:
        o.append(f"| wall search | {', '.join(wl.get('designs', []))}: N ×{wl.get('grow'):g} "
                 f"until a probe fails, then halving to {wl.get('tol', 0):.0%}, up to "
                 f"{human_n(wl.get('max_conns'))} connections; wait {wl.get('wait_us')} µs, "
                 f"think time offering {wl.get('offer'):g} of the capacity measured at a "
                 f"smaller N, a window of at least two think times |")
    sc = ax.get("scale")
    if sc:
        o.append(f"| scale runs | {', '.join(human_n(c) for c in sc.get('conns', []))} conns, "
                 f"{meta.get('scale_workers', '?')} processes per design and as many "
                 f"generator processes, wait {sc.get('wait_us')} µs, think time chosen at run "
                 f"time (offering at most half the capacity measured at a smaller N) |")
    o.append(f"| default thread stack | {meta.get('default_stack_kib', 'n/a')} KiB "
             f"(RLIMIT_STACK) |")
    o.append(f"| sweep time | {meta.get('elapsed_s', 'n/a')} s |\n")
    return o


def plots_section(res, rows, plots_dir):
    o = ["## Plots\n"]
    for stem, title in PLOTS:
        if not os.path.exists(os.path.join(plots_dir, stem + ".png")):
            continue
        o.append(f"### {title}\n")
        o.append(f"![{title}](plots/{stem}.png)\n")
        extra = ""
        if stem in COMPARED and res.contestant_labels():
            extra = (" Thin, light lines with open markers: the other runtimes ("
                     + ", ".join(res.contestant_labels()) + ").")
        o.append(report_sections.plot_sentence(res, stem, rows) + extra
                 + f" ([SVG](plots/{stem}.svg))\n")
    missing = [t for s, t in PLOTS if not os.path.exists(os.path.join(plots_dir, s + ".png"))]
    if missing:
        o.append("Not drawn (no data for them in this run): " + ", ".join(missing) + ".\n")
    return o


def write_report(res, reference_dir=None):
    blocks = all_blocks(res)
    meta = res.meta
    plots_dir = os.path.join(res.out, "plots")
    o = ["# tasks vs threads: report\n"]
    o.append(f"Generated by `scripts/report.py` (package `scripts/tvtbench`) from the raw data "
             f"in this folder (profile **{meta.get('profile', '?')}**, {len(res.runs)} server "
             f"runs, sweep state: {meta.get('state', '?')}). Every verdict below is computed "
             f"from the data by the rules stated with it; re-run `scripts/plots.sh "
             f"{os.path.basename(res.out.rstrip('/'))}` after changing the data and the "
             f"verdicts follow.\n")
    o += environment(res)
    o += verdict_section(res, blocks, plots_dir)
    o += reference.section(res, blocks, reference_dir)
    o += report_sections.effective_wait_section(res)
    o += report_scale.scale_section(res)
    o += report_sections.contestants_section(res)
    o += plots_section(res, dict(blocks).get(C_BLOCK, []), plots_dir)
    o += report_sections.failures_section(res)
    o += report_sections.caveats(res)
    o.append("## Files\n")
    o.append("`raw/*.json` one harness run each (`scale-*`: the scale runs, `cap-*`: "
             "capacity curves, `stop-*`: the stop scenario, `shared-*`: requests on a "
             "shared table); `code.json` each server's lines and complexity; `scale/*.json` the machine during each scale run; "
             "`summary.csv` one row per run (and one per open-loop step of a capacity "
             "curve); `hol/` and `hol.csv` the head-of-line loads; `hyperfine/` "
             "whole-command timings; `micro/` the microbenchmarks; `plots/` PNG and SVG with "
             "`plots/data/` (what gnuplot read); `logs/` each command's output; `sweep.json` "
             "the plan and what was skipped.\n")
    write_atomic(os.path.join(res.out, "REPORT.md"), "\n".join(o))
    return blocks


README_BEGIN = "<!-- verdicts of results/reference: scripts/report.py readme -->"
README_END = "<!-- end of the generated verdicts -->"


def readme_tables(res):
    """The verdict tables of a run, for the README: every block, plot links relative to the
    repository (results/reference/plots/...)."""
    o = []
    for block, rows in all_blocks(res):
        o.append(f"**{block.title[0].upper() + block.title[1:]}**\n")
        o += [line.replace("](plots/", "](results/reference/plots/")
              for line in verdict_table(res, block, rows, os.path.join(res.out, "plots"))]
        o.append("")
    return "\n".join(o)


def splice_readme(text, tables):
    """text with the part between the README markers replaced by tables."""
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"the README has no {README_BEGIN!r} ... {README_END!r} markers")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_BEGIN}\n{tables}\n{README_END}{tail}"
