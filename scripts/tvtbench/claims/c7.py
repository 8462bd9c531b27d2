"""C7: async code is simpler to manage (not measurable: line counts, and it says so)."""

import glob
import os

from ..fmt import human_n
from ..rules import NOT_MEASURABLE, Verdict
from ..util import ratio

CID = "C7"
CLAIM = "async code is simpler to manage"
PLOT = None
RULE = ("Always not measurable: simplicity is a judgement. Shown: non-blank, non-comment "
        "source lines of each server (its own directory; the shared code apart).")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
EXTS = ("c", "h", "rs", "go")


def code_lines(folder):
    """Non-blank lines outside comments of the C, Rust and Go files in folder."""
    n = 0
    in_comment = False
    for ext in EXTS:
        for path in sorted(glob.glob(os.path.join(folder, f"*.{ext}"))):
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
                        if "*/" not in s:
                            in_comment = True
                        continue
                    n += 1
    return n


def lines_of(block, label, root=ROOT):
    dirs = block.code.get(label) or []
    if not dirs or not all(os.path.isdir(os.path.join(root, d)) for d in dirs):
        return None
    return sum(code_lines(os.path.join(root, d)) for d in dirs)


def decider(block, res):
    return block.tasks[0]


def evaluate(res, block, task):
    thread = block.threads[0]
    saved = (res.meta.get("code_lines") or {}) if block.key == "C" else {}
    a = saved.get(task, lines_of(block, task))
    t = saved.get(thread, lines_of(block, thread))
    shared = saved.get("common", lines_of(block, "common"))
    others = [f"{lab} {lines_of(block, lab)} lines" for lab in block.tasks
              if lab != task and lines_of(block, lab) is not None]
    return Verdict("C7", "code lines per server (non-blank, non-comment)", a, t, ratio(a, t),
                   NOT_MEASURABLE, show=human_n, plot=None, task_label=task,
                   thread_label=thread,
                   details=[f"{task} {a} lines, {thread} {t} lines"
                            + (", " + ", ".join(others) if others else "")
                            + f", shared code {shared} lines; fewer lines is not simpler to "
                            f"manage, and what is hard about each (callbacks and state "
                            f"machines vs locks and limits) is not counted"])
