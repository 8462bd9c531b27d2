"""`make compare`'s tables, printed from the summary document compare_stats builds."""

from .compare_stats import BUSY_PSI_PCT, SWING_WARN, TARGET_ASYNC_NGINX, TARGET_HARNESS_WRK, \
    WITHIN_WRK

def fnum(x, width=12, prec=1):
    return f"{x:>{width},.{prec}f}" if isinstance(x, (int, float)) else f"{'-':>{width}}"


def fpsi(row, a, b):
    """The two runs' CPU pressure, "a/b" in percent, or "-"."""
    v = [row[k].get("cpu_pressure_pct") for k in (a, b)]
    return "/".join("-" if x is None else f"{x:.0f}" for x in v)


def fratio(x, width=9):
    return f"{x:>{width}.3f}" if isinstance(x, (int, float)) else f"{'-':>{width}}"


def verdict(ok, text):
    return f"met ({text})" if ok else f"MISSED ({text})"


def print_tables(doc):
    p, srv, gen = doc["params"], doc["async_vs_nginx"], doc["harness_vs_wrk"]
    la = doc["env"]["loadavg_1m"]
    cores = doc["env"].get("cores") or doc["env"]["cpus_online"]
    print()
    print(f"== make compare: {p['rounds']} rounds of {p['duration_s']:g} s "
          f"(warm-up {p['warmup_s']:g} s), server on CPU {p['server_cpu']}, "
          f"generator on CPU {p['client_cpu']}, wait 0, work 0, {p['bytes']} bytes")
    ps = doc["env"]["cpu_pressure_pct"]
    # PSI says whether tasks waited for a CPU during the runs; the load average lags by a
    # minute and counts blocked tasks too, so it is the fallback only
    busy = ps["median"] > BUSY_PSI_PCT if ps["median"] is not None else \
        bool(la["max_during"] and la["max_during"] > cores)
    print(f"   load average (1 min) {la['start']} at start, {la['end']} at end "
          f"({la['min_during']}..{la['max_during']} during) on {cores} CPUs"
          + ("  << the machine is busy: figures are noisy" if busy else ""))
    if ps["median"] is not None:
        print(f"   CPU pressure (PSI some, system-wide): some task waited for a CPU during "
              f"{ps['median']:.0f}% of a run's time (median; {ps['min']:.0f}..{ps['max']:.0f}%);"
              f" \"cpu wait %\" below is that figure per run (our own server, generator and"
              f" ksoftirqd included)")

    print(f"\n1. async_server vs nginx: harness run, {p['conns']} connections, closed loop")
    if srv["skipped"]:
        print(f"   nginx skipped: {srv['skipped']}; async_server alone:")
    if True:
        print(f"   {'round':<7}{'async req/s':>14}{'nginx req/s':>14}{'async/nginx':>13}"
              f"{'cpu wait %':>12}  flags")
        for r in srv["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['async_rps'], 14)}{fnum(r['nginx_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}{fpsi(r, 'async', 'nginx'):>12}  "
                  f"{'; '.join(r['flags'])}")
        print(f"   {'median':<7}{fnum(srv['median_rps']['async'], 14)}"
              f"{fnum(srv['median_rps']['nginx'], 14)}{fratio(srv['median_ratio'], 13)}"
              f"{'':>12}  "
              + ("no ratio (nginx skipped)" if srv["skipped"] else
                 verdict(srv["met"], f"target >= {TARGET_ASYNC_NGINX:.1f}")))
        if not srv["skipped"]:
            note_cpu(srv, "async", "nginx")
            note_quiet(srv)
            note_swing(srv)

    if doc["others"]:
        print("\n   other servers, same settings (req/s per round; median; median of "
              "per-round ratios to nginx; median server CPU per request)")
        hdr = "".join(f"{'r' + str(i):>11}" for i in range(1, p["rounds"] + 1))
        print(f"   {'server':<15}{hdr}{'median':>12}{'/nginx':>9}{'us/req':>8}  flags")
        for o in doc["others"]:
            cells = "".join(fnum(x["rps"], 11, 0) for x in o["rounds"])
            counts = {}
            for x in o["rounds"]:
                for f in x["flags"]:
                    f = f[len(o["name"]) + 1:] if f.startswith(o["name"] + " ") else f
                    counts[f] = counts.get(f, 0) + 1
            flags = "; ".join(f"{f} ({n}/{len(o['rounds'])} rounds)" for f, n in counts.items())
            print(f"   {o['name']:<15}{cells}{fnum(o['median_rps'], 12)}"
                  f"{fratio(o['median_ratio_to_nginx'])}"
                  f"{fnum(o['median_server_cpu_us_per_request'], 8, 2)}  {flags}")
    for name, why in p.get("skipped", {}).items():
        if name not in ("nginx", "wrk"):
            print(f"   {name}: skipped: {why}")

    print(f"\n2. harness vs wrk: async_server, {p['wrk_conns']} connections, one generator "
          f"thread, {p['duration_s']:g} s each, same server per round")
    if gen["skipped"]:
        print(f"   skipped: {gen['skipped']}")
    else:
        print(f"   {'round':<7}{'harness req/s':>14}{'wrk req/s':>14}{'harness/wrk':>13}"
              f"{'cpu wait %':>12}  flags")
        for r in gen["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['harness_rps'], 14)}{fnum(r['wrk_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}{fpsi(r, 'harness', 'wrk'):>12}  "
                  f"{'; '.join(r['flags'])}")
        m = gen["median_ratio"]
        print(f"   {'median':<7}{fnum(gen['median_rps']['harness'], 14)}"
              f"{fnum(gen['median_rps']['wrk'], 14)}{fratio(m, 13)}{'':>12}  "
              + verdict(gen["meets_target"], f"target: >= {TARGET_HARNESS_WRK:.1f}") + ", "
              + verdict(gen["within_tolerance"], f"within {WITHIN_WRK * 100:.0f}% of wrk"
                        + ("" if m is None or abs(m - 1) <= WITHIN_WRK else
                           f", the harness {'faster' if m > 1 else 'slower'} by "
                           f"{abs(m - 1) * 100:.0f}%")))
        note_quiet(gen)
        note_swing(gen)


def note_cpu(sec, a, b):
    c = sec["median_server_cpu_us_per_request"]
    if c.get(a) and c.get(b):
        print(f"   server CPU per request (median): {a} {c[a]:.2f} us, {b} {c[b]:.2f} us; "
              f"{b}/{a} {c[b] / c[a]:.3f} (above 1: {a} spends less CPU per answer, whoever "
              f"the bottleneck)")


def note_quiet(sec):
    q = sec["quiet_rounds"]
    if q["median_ratio"] is not None:
        print(f"   quiet rounds only (cpu wait < {q['max_cpu_pressure_pct']:.0f}% in both runs: "
              f"{', '.join(map(str, q['rounds']))}): median ratio {q['median_ratio']:.3f}")
    else:
        print(f"   no quiet round (cpu wait < {q['max_cpu_pressure_pct']:.0f}% in both runs)")


def note_swing(sec):
    for name, sp in sec["rps_spread"].items():
        if sp is not None and sp > 2 * SWING_WARN:
            print(f"   {name}'s req/s swung by {sp * 100:.0f}% of its median over the rounds: "
                  f"the machine's load changed under the runs")
    s = sec.get("ratio_spread")
    if s is not None and sec["rounds_measured"] > 1 and s > SWING_WARN:
        print(f"   the ratio ranged {sec['min_ratio']:.3f}..{sec['max_ratio']:.3f} over the rounds "
              f"({s * 100:.0f}% of the median): unsteady, read the median loosely")
    if sec["rounds_flagged"]:
        print(f"   {sec['rounds_flagged']} of {len(sec['rounds'])} rounds flagged (see flags); "
              f"they are in the median, not hidden")
    if sec["rounds_measured"] < len(sec["rounds"]):
        print(f"   {len(sec['rounds']) - sec['rounds_measured']} rounds gave no ratio (a run failed)")


def print_extra(doc):
    """The third design against the libev server, and capacity at the same SLO."""
    u = doc.get("uring_vs_async")
    if u:
        print("\n3. uring_server vs async_server: same runs as 1 (req/s, and server CPU per "
              "request: above 1 in the last column, uring spends less per answer)")
        print(f"   {'round':<7}{'uring req/s':>14}{'async req/s':>14}{'uring/async':>13}  flags")
        for r in u["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['uring_rps'], 14)}{fnum(r['async_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}  {'; '.join(r['flags'])}")
        print(f"   {'median':<7}{fnum(u['median_rps']['uring'], 14)}"
              f"{fnum(u['median_rps']['async'], 14)}{fratio(u['median_ratio'], 13)}")
        note_cpu(u, "uring", "async")
    c = doc.get("capacity_async_vs_nginx")
    if c:
        slo = c.get("slo_ms")
        print(f"\n4. capacity at the same SLO (p99 < {slo if slo else '?'} ms, open loop, "
              f"harness run --capacity): async_server vs nginx")
        print(f"   {'round':<7}{'async cap/s':>14}{'nginx cap/s':>14}{'async/nginx':>13}  flags")
        for r in c["rounds"]:
            print(f"   {r['round']:<7}{fnum(r['async_rps'], 14)}{fnum(r['nginx_rps'], 14)}"
                  f"{fratio(r['ratio'], 13)}  {'; '.join(r['flags'])}")
        print(f"   {'median':<7}{fnum(c['median_rps']['async'], 14)}"
              f"{fnum(c['median_rps']['nginx'], 14)}{fratio(c['median_ratio'], 13)}")
        for r in c["rounds"]:
            for side in ("async", "nginx"):
                f = r.get(side) or {}
                if f.get("status") == "ok" and f.get("capacity_rps") is None:
                    print(f"   round {r['round']}, {side}: {f.get('capacity_note')}")
