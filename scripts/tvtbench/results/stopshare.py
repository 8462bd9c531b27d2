"""The keys of the two records claim C7 reads: a stop-scenario run's `stop` object
(`harness run --stop`) and the shared table's exit counters (server.counters of a run with
--state shared). Run (run.py) holds them flattened as Run.stop and Run.share."""

import re

from ..util import fnum

# Before server.stop_s and stop_clean, a server killed at the end of a run failed the run
# with this text, whatever its load: that run served its load, and its stop failed.
OLD_STOP_FAILURE = re.compile(r"did not exit within \d+ ms of SIGTERM")


def stop_figures(st):
    """The `stop` object of a stop-scenario run, flattened; None for any other run. A
    figure the harness did not record stays None (not measured), never 0."""
    if not isinstance(st, dict):
        return None
    inf, idle = st.get("inflight") or {}, st.get("idle") or {}
    ca = st.get("connects_after_signal") or {}
    return {"exit_s": fnum(st.get("signal_to_exit_s")), "killed": bool(st.get("killed")),
            "grace_ms": fnum(st.get("grace_ms")), "settle_s": fnum(st.get("settle_s")),
            "cpu_s": fnum(st.get("server_cpu_s")), "still_open": fnum(st.get("still_open")),
            "inflight": fnum(inf.get("conns")), "answered": fnum(inf.get("answered")),
            "not_200": fnum(inf.get("answered_not_200")), "cut": fnum(inf.get("cut")),
            "idle": fnum(idle.get("conns")), "fin": fnum(idle.get("fin")),
            "reset": fnum(idle.get("reset")), "tried": fnum(ca.get("tried")),
            "refused": fnum(ca.get("refused")), "accepted": fnum(ca.get("accepted")),
            "other": fnum(ca.get("other")), "other_error": ca.get("other_error")}


def share_figures(c):
    """The shared table's exit counters (summed over workers), per update; None when the
    server did not count updates (an old build, or no shared table)."""
    upd = fnum(c.get("shared_updates"))
    if upd is None:
        return None

    def per(k):
        x = fnum(c.get(k))
        return None if x is None or not upd else x / upd

    counted, lost = fnum(c.get("shared_counted")), fnum(c.get("shared_lost"))
    if lost is None and counted is not None:
        lost = upd - counted
    return {"updates": upd, "counted": counted, "lost": lost,
            "lost_frac": None if lost is None or not upd else lost / upd,
            "ns": per("share_ns"), "wait_ns": per("share_wait_ns"),
            "contended": per("lock_contended"), "switches": per("lock_switches")}
