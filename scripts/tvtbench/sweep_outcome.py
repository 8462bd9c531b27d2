"""What the sweep says of each run and at its end: the progress line's result, what it
learns from a run (walls, capacities), and the table of failures. Mixed into sweep.Sweep,
whose state (walls, measured, failures, skipped) it reads and writes."""

import json
import time

from . import profiles


def log(msg=""):
    print(msg, flush=True)


def fmt_dur(s):
    s = max(0, int(round(s)))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def num(v):
    if not isinstance(v, (int, float)):
        return "?"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def us(v):
    if not isinstance(v, (int, float)):
        return "?"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} us"


def stop_text(st):
    """A stop scenario in a few words: the time to the exit, the requests in flight."""
    inf = st.get("inflight") or {}
    t = st.get("signal_to_exit_s")
    return (f"exit {t:.3f} s after SIGTERM" if isinstance(t, (int, float)) else "no exit seen") \
        + (" (killed)" if st.get("killed") else "") \
        + f", in flight {num(inf.get('answered'))} answered, {num(inf.get('cut'))} cut"


class Outcomes:
    def outcome(self, idx, desc, pt, doc):
        """The progress line's result, and what the sweep learns: walls, capacities."""
        ok = doc.get("status") == "ok"
        cl = doc.get("client") or {}
        errs = sum(v for v in (cl.get("errors") or {}).values() if isinstance(v, (int, float)))
        refused = (((doc.get("server") or {}).get("counters") or {})
                   .get("thread_create_failed") or 0)
        key = profiles.series_key(pt)
        srv = doc.get("server") or {}
        if ok and isinstance(doc.get("stop"), dict):
            res = "ok " + stop_text(doc["stop"])
        elif ok:
            lat = (cl.get("latency_us") or {}).get("p99")
            res = f"ok {num(cl.get('rps'))} req/s p99 {us(lat)}"
            sc = srv.get("counters") or {}
            if pt["kind"] == "shared" and isinstance(sc.get("shared_updates"), (int, float)):
                res += (f", {num(sc['shared_updates'])} shared-table updates, "
                        f"{num(sc.get('shared_lost'))} lost")
            if errs:
                res += f", {int(errs)} errors"
                self.failures.append((idx, desc, f"{int(errs)} request errors "
                                      f"{json.dumps(cl.get('errors'))}"))
            if cl.get("saturated"):
                res += ", client saturated"
            good = errs <= 0.01 * max(1, cl.get("requests") or 0) and not refused
            if good and pt["kind"] == "grid":
                hk = (profiles.label(pt), pt.get("io", "timer"), pt["wait_us"])
                self.held_in_grid[hk] = max(self.held_in_grid.get(hk, 0), pt["conns"])
            if good and pt["kind"] == "grid" and isinstance(cl.get("rps"), (int, float)):
                k = (pt["impl"], pt.get("io", "timer"), pt["wait_us"])
                if pt["stack_kib"] is None and (k not in self.measured or
                                                pt["conns"] >= self.measured[k][0]):
                    self.measured[k] = (pt["conns"], cl["rps"])
        else:
            reason = str(doc.get("failure") or "unknown")
            res = f"FAILED: {reason[:90]}"
            self.failures.append((idx, desc, reason))
        if refused:
            # The harness counts errors in the measured window only; the server's counters
            # see the connections it could not give a thread, whenever that happened.
            peak = (doc.get("server") or {}).get("threads_peak")
            res += f"; WALL: {refused} thread creations refused ({peak} threads at peak)"
            self.failures.append((idx, desc, f"the server could not create a thread "
                                  f"{refused} times (answered 503); {peak} threads at peak"))
        if ok and srv.get("stop_clean") is False:
            res += f"; its stop was not clean (it {srv.get('exit') or 'did not exit'})"
        if not ok or refused:
            if key not in self.walls or pt["conns"] < self.walls[key][0]:
                self.walls[key] = (pt["conns"], pt["rep"])
        return res

    def failure_table(self):
        rows = [(str(i), d, r) for i, d, r in self.failures]
        skipped = {}
        for sp in self.skipped:
            if sp["kind"] == "series":
                rows.append(("-", f"{sp['label']} (every point)", sp["reason"]))
                continue
            key = (profiles.label(sp), sp.get("io", "timer"), sp["wait_us"], sp["reason"])
            skipped.setdefault(key, set()).add(sp["conns"])
        rows += [("-", f"{lab}{'' if io == 'timer' else ' io=' + io} wait={w}us "
                  f"conns={','.join(str(c) for c in sorted(cs))}", why)
                 for (lab, io, w, why), cs in skipped.items()]
        rows += [("-", a, b) for a, b in self.phase_errors]
        log(f"sweep: {fmt_dur(time.monotonic() - self.t0)} in all")
        if not rows:
            log("failures: none")
            return
        log(f"failures ({len(rows)}):")
        w = max(len(d) for _, d, _ in rows)
        log(f"  {'run':>4}  {'point':<{w}}  reason")
        for i, d, r in rows:
            log(f"  {i:>4}  {d:<{w}}  {r}")
