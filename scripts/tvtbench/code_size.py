"""What C7 shows of each server's source: non-comment lines, and for C the cyclomatic
complexity of its functions (Debian's pmccabe: the traditional McCabe number, mean and max
per function). The sweep measures it once (measure) into DIR/code.json; the report reads
it from there (Results.code_figures), so that a results folder carries the figures of the
code it ran."""

import glob
import os
import re
import shutil
import subprocess

from .blocks import BLOCKS

C_EXTS = ("c", "h")
OTHER_EXTS = ("rs", "go")
EXTRA = {"go": ["contestants/go"]}  # a contestant outside the blocks
# pmccabe's complexity mode: modified, traditional, statements, first line, lines, where
PMCCABE_LINE = re.compile(r"^(\d+)\t(\d+)\t(\d+)\t(\d+)\t(\d+)\t(.+)\((\d+)\): (.+)$")
# pmccabe -n: CSL, its %, NCSL (non-commented source lines), its %, total lines, file
PMCCABE_N_LINE = re.compile(r"^\s*(\d+)\s+\d+\s+(\d+)\s+\d+\s+(\d+)\s+(\S.*)$")


def code_lines(path):
    """Non-blank lines outside comments of one C, Rust or Go file (// and /* */)."""
    n, in_comment = 0, False
    with open(path, errors="replace") as f:
        for line in f:
            s = line.strip()
            if in_comment:
                if "*/" in s:
                    in_comment = False
                continue
            if not s or s.startswith("//"):
                continue
            if s.startswith("/*"):
                in_comment = "*/" not in s
                continue
            n += 1
    return n


def parse_complexity(text):
    """[(traditional McCabe number, file, line, function)] from pmccabe's default output."""
    out = []
    for line in text.splitlines():
        m = PMCCABE_LINE.match(line)
        if m:
            out.append((int(m.group(2)), m.group(6), int(m.group(7)), m.group(8).strip()))
    return out


def parse_ncsl(text):
    """{file: non-commented source lines} from `pmccabe -n` output."""
    out = {}
    for line in text.splitlines():
        m = PMCCABE_N_LINE.match(line)
        if m and not m.group(4).startswith("(total"):
            out[m.group(4).strip()] = int(m.group(2))
    return out


def figures(files, complexity=None, ncsl=None, why=None):
    """One design's figures from its files, pmccabe's functions and its line counts:
    lines (pmccabe's NCSL for C files, code_lines otherwise), functions, ccn_mean,
    ccn_max, ccn_max_at ("file:function"), why (no complexity: the reason)."""
    ncsl = ncsl or {}
    lines = sum(ncsl[f] if f in ncsl else code_lines(f) for f in files)
    fns = complexity or []
    f = {"lines": lines, "functions": len(fns) or None, "ccn_mean": None, "ccn_max": None,
         "ccn_max_at": None, "why": why}
    if fns:
        top = max(fns, key=lambda x: x[0])
        f.update(ccn_mean=round(sum(x[0] for x in fns) / len(fns), 2), ccn_max=top[0],
                 ccn_max_at=f"{os.path.basename(top[1])}:{top[3]}", why=None)
    return f


def run_pmccabe(args):
    """pmccabe's output, or None when it cannot run."""
    try:
        p = subprocess.run(["pmccabe"] + args, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout if p.returncode == 0 else None


def source_table():
    """{key: [folders]}: every design of every block, the shared code of each block
    ("C:common", "Rust:common"), and the contestants outside them."""
    table = {}
    for b in BLOCKS:
        for label, dirs in b.code.items():
            table[f"{b.key}:common" if label == "common" else label] = dirs
    table.update(EXTRA)
    return table


def measure(root):
    """code.json's document for the source tree at root: {tool, commit, designs: {label or
    BLOCK:common: {dirs, lines, functions, ccn_mean, ccn_max, ccn_max_at, why}}}."""
    have = shutil.which("pmccabe") is not None
    version = run_pmccabe(["-V"]) if have else None
    out = {"tool": ("pmccabe " + version.strip().split()[-1]) if version else None,
           "metric": "traditional McCabe cyclomatic complexity per function; lines: "
                     "non-blank, non-comment", "commit": git_commit(root), "designs": {}}
    for key, dirs in source_table().items():
        if not all(os.path.isdir(os.path.join(root, d)) for d in dirs):
            continue
        cfiles = sorted(p for d in dirs for e in C_EXTS
                        for p in glob.glob(os.path.join(root, d, f"*.{e}")))
        other = sorted(p for d in dirs for e in OTHER_EXTS
                       for p in glob.glob(os.path.join(root, d, f"*.{e}")))
        comp = ncsl = None
        why = None
        if cfiles and have:
            comp = parse_complexity(run_pmccabe(cfiles) or "")
            ncsl = parse_ncsl(run_pmccabe(["-n"] + cfiles) or "")
        elif cfiles:
            why = "pmccabe is not installed (scripts/deps.sh installs it)"
        else:
            why = "pmccabe reads C and C++ only"
        f = figures(cfiles + other, comp, ncsl, why)
        out["designs"][key] = dict(f, dirs=dirs)
    return out


def git_commit(root):
    try:
        p = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() or None
