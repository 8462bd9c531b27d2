"""C7: async code is simpler to manage, "especially when handling shared resources or
ensuring proper shutdown": the two mechanisms the claim names, measured (c7_mech.py), and
the code's size and complexity shown beside them."""

from ..fmt import fmt_ratio, human_n
from ..rules import HOLDS, NOT_HERE, NOT_MEASURABLE, PARTLY, STRONG, WEAK, Verdict
from .c7_mech import SHARE_US, STOP_FLOOR_S, share_side, stop_side

CID = "C7"
CLAIM = "async code is simpler to manage (shared resources, proper shutdown)"
PLOT = "stop"
RULE = (f"The two mechanisms the claim names, each graded on its own ratio with the suite's "
        f"band (holds at ≥ {STRONG:g}, holds partly at ≥ {WEAK:g}). Shared resources: R_share "
        f"= thread ÷ task of the time a request spends getting and updating the table every "
        f"connection shares (share_ns per update, waiting for the lock included), at the "
        f"shared point (the largest N both ran, wait 0, share_us {SHARE_US} where it ran, "
        f"else the smallest that did), the server on the same CPUs; the thread server guards "
        f"the table with a mutex, a task design needs no lock (one loop; W workers keep a "
        f"table each). The unguarded thread server's lost updates, on one server CPU and on "
        f"all of them, are shown beside it. A guarded design that lost updates loses the "
        f"mechanism outright (R_share = ∞ when only the thread design did, 0 when only the "
        f"task design did, 1 when both did). Proper shutdown: R_stop = thread ÷ task of the "
        f"time from SIGTERM to the server's exit in the stop scenario (N connections, some "
        f"with a request in flight, the rest idle) at the largest N both designs held, each "
        f"time taken as at least {STOP_FLOOR_S * 1000:g} ms (the harness probes every 10 ms: "
        f"shorter differences are not ones a client sees). A stop is clean when the server "
        f"exited 0 without being killed, answered every request in flight with a 200 (none "
        f"cut), closed its idle connections with a FIN (none reset, none left open), and no "
        f"other run of that design at N' ≤ N failed to stop (killed, or a non-zero exit). An "
        f"unclean stop loses the mechanism outright: R_stop = ∞ when only the thread design's "
        f"stop was unclean, 0 when only the task design's was, 1 when both were (a tie: "
        f"neither shows a proper shutdown). Verdict: holds when both mechanisms hold; holds "
        f"partly when at least one holds at least partly; does not hold here when neither "
        f"does; not measurable without both mechanisms' data. The ratio graded is the "
        f"deciding mechanism's (the weaker when both hold, the stronger when neither does, "
        f"otherwise the one that holds partly, or the one that holds), and the note names "
        f"it. Simplicity of code itself stays a judgement: each server's non-comment lines "
        f"and cyclomatic complexity (pmccabe: mean and max per function) are shown, not "
        f"graded.")
NAMES = {"stop": "the graceful stop", "share": "the shared table"}


def decider(block, res):
    for t in block.tasks:
        if res.stop_runs(t) or res.shared_runs(t):
            return t
    return block.tasks[0]


def combine(g_stop, g_share):
    """The verdict from the two mechanisms' grades."""
    if NOT_MEASURABLE in (g_stop, g_share):
        return NOT_MEASURABLE
    if g_stop == HOLDS and g_share == HOLDS:
        return HOLDS
    if {g_stop, g_share} & {HOLDS, PARTLY}:
        return PARTLY
    return NOT_HERE


def deciding(outcome, mech):
    """The mechanism whose ratio is graded: {name: (ratio, grade)} -> name."""
    if outcome == HOLDS:
        return min(mech, key=lambda k: mech[k][0])
    if outcome == NOT_HERE:
        return max(mech, key=lambda k: mech[k][0])
    partly = [k for k in mech if mech[k][1] == PARTLY]
    if partly:
        return min(partly, key=lambda k: mech[k][0])
    return next(k for k in mech if mech[k][1] == HOLDS)


def code_details(res, block, task):
    """The code's figures from code.json: lines and complexity per server."""
    labels = [task] + [t for t in block.tasks if t != task] + [block.threads[0]]
    parts = []
    for key in labels + [f"{block.key}:common"]:
        f = res.code_figures(key)
        if not f:
            continue
        name = "shared code" if key.endswith(":common") else key
        s = f"{name} ({', '.join(f.get('dirs') or [])}) {human_n(f['lines'])} lines"
        if f.get("ccn_max") is not None:
            s += (f", {human_n(f['functions'])} functions, complexity mean "
                  f"{f['ccn_mean']:.2f}, max {f['ccn_max']} ({f['ccn_max_at']})")
        elif f.get("why"):
            s += f" (no complexity: {f['why']})"
        parts.append(s)
    if not parts:
        return ["code: this results folder has no code.json (the sweep writes it, with "
                "each server's lines and complexity)"]
    tool = res.code.get("tool") or "no pmccabe"
    return [f"code ({tool}, {res.code.get('metric') or ''}; source at "
            f"{res.code.get('commit') or '?'}): " + "; ".join(parts)
            + ". Fewer lines or branches is not simpler to manage, and what is hard about "
            "each (callbacks and state machines vs locks and limits) is not counted: a "
            "judgement, not graded"]


def evaluate(res, block, task):
    thread = block.threads[0]
    stop = stop_side(res, task, thread)
    share = share_side(res, block, task, thread)
    mech = {"stop": stop, "share": share}
    g = {k: m["grade"] for k, m in mech.items()}
    outcome = combine(g["stop"], g["share"])
    metric = ("graceful stop: SIGTERM to exit"
              + (f" ({human_n(stop['conns'])} conns)" if stop["conns"] else "")
              + "; shared table: time per update"
              + (f" ({human_n(share['conns'])} conns)" if share["conns"] else ""))

    def side(which):
        return (f"stop {stop[which + '_text']} · share {share[which + '_text']}")
    details = [f"{NAMES[k]}: {m['summary']}" for k, m in mech.items()]
    details += stop["details"] + share["details"] + code_details(res, block, task)
    ratio_text = (f"stop {fmt_ratio(stop['ratio'])} · share {fmt_ratio(share['ratio'])}")
    v = Verdict(CID, metric, None, None, None, outcome, show=human_n, plot=PLOT,
                details=details, task_label=task, thread_label=thread, ratio_text=ratio_text,
                task_text=side("task"), thread_text=side("thread"), runs=1)
    v.mechanisms = {k: (m["ratio"], m["grade"]) for k, m in mech.items()}
    if outcome == NOT_MEASURABLE:
        missing = [NAMES[k] for k in mech if g[k] == NOT_MEASURABLE]
        v.note = f"no data for {' and '.join(missing)}"
        return v
    d = deciding(outcome, {k: (m["ratio"], m["grade"]) for k, m in mech.items()})
    other = "share" if d == "stop" else "stop"
    v.task, v.thread, v.ratio = mech[d]["task"], mech[d]["thread"], mech[d]["ratio"]
    v.show = mech[d]["show"]
    v.note = (f"decided by {NAMES[d]} ({fmt_ratio(mech[d]['ratio'])}: {g[d]}); "
              f"{NAMES[other]}: {fmt_ratio(mech[other]['ratio'])}, {g[other]}")
    return v
