"""This run beside the reference (results/reference/: one full run on a named machine):
each verdict and headline figure of both, whether the verdict is the same, the ratio of
the figures, and the differences of environment that could explain a change."""

import os

from .claims import all_blocks
from .fmt import fmt_ratio, md_escape
from .results import Results
from .util import ratio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIR = os.path.join(ROOT, "results", "reference")
ENV_KEYS = ("cores", "cpu_model", "kernel", "mem_kib", "pid_max", "threads_max",
            "nproc_limit", "nofile_limit", "max_map_count", "libev_version", "cc_version")


def compare_rows(blocks, ref_blocks):
    """[(block key, cid, this verdict, reference verdict or None)] over this run's rows."""
    ref = {(b.key, row.cid): row.verdict for b, rows in ref_blocks for row in rows}
    return [(b.key, row.cid, row.verdict, ref.get((b.key, row.cid)))
            for b, rows in blocks for row in rows]


def env_differences(res, ref):
    """[(what, this run, reference)] where the two runs' settings differ."""
    out = []
    a, b = res.env(), ref.env()
    for k in ENV_KEYS:
        if a.get(k) != b.get(k):
            out.append((k, a.get(k), b.get(k)))
    for k in ("profile",):
        if res.meta.get(k) != ref.meta.get(k):
            out.append((k, res.meta.get(k), ref.meta.get(k)))
    ra, rb = res.repeats(), ref.repeats()
    if ra != rb:
        out.append(("repeats per point", ra, rb))
    pa = (res.placement() or {}).get("server_cpus")
    pb = (ref.placement() or {}).get("server_cpus")
    if pa != pb:
        out.append(("server CPUs", pa if pa is not None else res.meta.get("server_cpu"),
                    pb if pb is not None else ref.meta.get("server_cpu")))
    return out


def section(res, blocks, ref_dir=None):
    ref_dir = ref_dir or DEFAULT_DIR
    o = ["## This run beside the reference\n"]
    if not os.path.isdir(os.path.join(ref_dir, "raw")):
        o.append(f"No reference run to compare with (`{ref_dir}` has no raw/ folder).\n")
        return o
    if os.path.realpath(ref_dir) == os.path.realpath(res.out):
        o.append("This is the reference run itself.\n")
        return o
    ref = Results.load(ref_dir)
    rows = compare_rows(blocks, all_blocks(ref))
    same = sum(1 for _, _, v, r in rows if r is not None and r.outcome == v.outcome)
    both = sum(1 for _, _, _, r in rows if r is not None)
    env = ref.env()
    o.append(f"The reference is one full run committed in `results/reference/` (profile "
             f"{ref.meta.get('profile', '?')}, {env.get('cores', '?')} cores, "
             f"{env.get('kernel', '?')}, {env.get('date', '?')}). **{same} of {both} "
             f"verdicts are the same as the reference's.** \"this ÷ ref\" divides this run's "
             f"figure by the reference's (task side, thread side).\n")
    o.append("| block | claim | this run | reference | same? | ratio (this / ref) | "
             "this ÷ ref (task, thread) | measured at |\n|---|---|---|---|---|---|---|---|")
    for key, cid, v, r in rows:
        if r is None:
            o.append(f"| {key} | {cid} | {v.text()} | – | new here | {v.r} / – | – | "
                     f"{md_escape(v.metric)} |")
            continue
        fa, ft = ratio(v.task, r.task), ratio(v.thread, r.thread)
        o.append(f"| {key} | {cid} | {v.text()} | {r.text()} | "
                 f"{'yes' if v.outcome == r.outcome else '**no**'} | {md_escape(v.r)} / "
                 f"{md_escape(r.r)} | {fmt_ratio(fa)}, {fmt_ratio(ft)} | "
                 + ("the same point" if v.metric == r.metric else
                    f"here: {md_escape(v.metric)}; reference: {md_escape(r.metric)}") + " |")
    o.append("")
    diffs = env_differences(res, ref)
    if diffs:
        o.append("What differs between the two runs, and could explain a change:\n")
        o.append("| setting | this run | reference |\n|---|---|---|")
        for k, a, b in diffs:
            o.append(f"| {k} | {md_escape(a)} | {md_escape(b)} |")
        o.append("")
    else:
        o.append("The environments read the same (cores, kernel, limits, profile).\n")
    return o
