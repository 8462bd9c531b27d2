"""The sweep's steps beside the grid: the head-of-line case (C6: two `harness load`
processes at once against a server the sweep starts) and the hyperfine fixed job."""

import os
import shutil
import time

from . import profiles
from .machine import ROOT
from .procs import Child, Server


def hol_designs(sw):
    """[(label, argv of the server without its taskset)]: the C designs that can run here,
    and the Rust pair when it is built."""
    out = [(x, [os.path.join(sw.bin, f"{x}_server")]) for x in ("async", "uring", "thread")
           if x not in sw.facts.get("skip", {})]
    pair = {c["name"]: c for c in sw.contestants if c["name"] in profiles.RUST_PAIR}
    if len(pair) == len(profiles.RUST_PAIR) and (sw.prof.get("rust") or sw.prof.get("contestants")):
        for name in profiles.RUST_PAIR:
            cmd = pair[name]["command"].replace("{workers}", "1").split()
            args = [a for i, a in enumerate(cmd[1:]) if a != "--port" and
                    (i == 0 or cmd[i] != "--port")]  # Server gives --port 0 itself
            out.append((name, [os.path.join(ROOT, cmd[0]) if not os.path.isabs(cmd[0])
                               else cmd[0]] + args))
    return out


def load_prefix(sw):
    """`harness load` on the client CPU: its own --client-cpu, or taskset."""
    if "--client-cpu" in sw.load_help:
        argv = [sw.harness, "load", "--client-cpu", str(sw.client_cpu)]
    else:
        argv = ["taskset", "-c", str(sw.client_cpu), sw.harness, "load"]
    return argv + (["--quiet"] if "--quiet" in sw.load_help else [])


def load_argv(sw, target, conns, duration, warmup, work_us, out, rate=None):
    argv = load_prefix(sw) + [
        "--target", target, "--conns", str(conns), "--duration", f"{duration:g}",
        "--warmup", f"{warmup:g}", "--wait-us", "0", "--work-us", str(work_us),
        "--bytes", str(sw.prof["bytes"]), "--out", out]
    if rate:
        argv += ["--rate", str(rate)]
    return argv


def run_load(sw, argv, name, timeout):
    logbase = os.path.join(sw.out, "logs", name)
    with open(logbase + ".out", "w") as so, open(logbase + ".err", "w") as se:
        so.write(" ".join(argv) + "\n")
        so.flush()
        return Child(argv, so, se).wait(timeout)


def hol(sw, first_idx, total):
    """Light requests (open loop at a fixed rate, so a stall counts from the intended
    send time) alone, then next to a few closed-loop connections that each burn
    heavy_work_us of CPU per request. One server per design on the server CPU."""
    h = sw.prof["hol"]
    est = profiles.hol_est_s(sw.prof)
    if "--out" not in sw.load_help:
        sw.phase_errors.append(("hol", "harness load has no --out FILE.json; head-of-line "
                                "case not measured"))
        sw.remaining_est -= 2 * est
        print("head-of-line: skipped (harness load has no --out)", flush=True)
        return
    heavy_dur = h["warmup_s"] + h["duration_s"] + 1.0
    timeout = heavy_dur + 30
    for n, (impl, cmd) in enumerate(hol_designs(sw)):
        t = time.monotonic()
        print(f"[{first_idx + n:>3}/{total}] head-of-line {impl:<6} light {h['light_conns']} "
              f"conns at {h['light_rate']} req/s, alone and with {h['heavy_conns']} x "
              f"{h['heavy_work_us']} us CPU ... ", end="", flush=True)
        try:
            srv = Server(cmd[0], sw.server_cpu, cmd[1:],
                         os.path.join(sw.out, "logs", f"hol-{impl}-server.err"))
        except (OSError, RuntimeError) as e:
            sw.phase_errors.append((f"hol {impl}", str(e)))
            sw.step_done(f"FAILED: {e}", time.monotonic() - t, est)
            continue
        try:
            res = []
            alone = os.path.join(sw.out, "hol", f"{impl}-light-alone.json")
            rc = run_load(sw, load_argv(sw, srv.target, h["light_conns"], h["duration_s"],
                                        h["warmup_s"], 0, alone, h["light_rate"]),
                          f"hol-{impl}-light-alone", timeout)
            res.append(("alone", rc, alone))
            heavy = os.path.join(sw.out, "hol", f"{impl}-heavy.json")
            light = os.path.join(sw.out, "hol", f"{impl}-light-with-heavy.json")
            hv = Child(load_argv(sw, srv.target, h["heavy_conns"], heavy_dur, 0,
                                 h["heavy_work_us"], heavy),
                       open(os.path.join(sw.out, "logs", f"hol-{impl}-heavy.out"), "w"),
                       open(os.path.join(sw.out, "logs", f"hol-{impl}-heavy.err"), "w"))
            time.sleep(0.3)  # heavy connections established and busy first
            rc = run_load(sw, load_argv(sw, srv.target, h["light_conns"], h["duration_s"],
                                        h["warmup_s"], 0, light, h["light_rate"]),
                          f"hol-{impl}-light-with-heavy", timeout)
            res.append(("with heavy", rc, light))
            res.append(("heavy", hv.wait(timeout), heavy))
        finally:
            srv.stop()
        bad = [f"{what}: rc={rc}" for what, rc, f in res if rc != 0 or not os.path.exists(f)]
        if bad:
            sw.phase_errors.append((f"hol {impl}", "; ".join(bad)))
        sw.step_done("FAILED " + "; ".join(bad) if bad else "ok", time.monotonic() - t, est)


def hyperfine(sw, idx, total):
    """M requests over N connections with a wait, as one command per design, timed whole
    by hyperfine against servers started once (their start-up is not timed)."""
    hf = sw.prof["hyperfine"]
    est = profiles.hf_est_s(sw.prof)
    if not shutil.which("hyperfine"):
        sw.phase_errors.append(("hyperfine", "hyperfine not installed (scripts/deps.sh)"))
        sw.remaining_est -= est
        print("hyperfine: not installed, skipped", flush=True)
        return
    print(f"[{idx:>3}/{total}] hyperfine fixed job: {hf['requests']} requests over "
          f"{hf['conns']} conns, wait {hf['wait_us']} us, {hf['runs']} runs per design ... ",
          end="", flush=True)
    t = time.monotonic()
    servers = {}
    try:
        for impl in ("async", "thread"):
            servers[impl] = Server(os.path.join(sw.bin, f"{impl}_server"), sw.server_cpu, [],
                                   os.path.join(sw.out, "logs", f"hf-{impl}-server.err"))
        out = os.path.join(sw.out, "hyperfine", "fixed_job.json")
        tmp = out + f".tmp.{os.getpid()}"
        argv = ["hyperfine", "-N", "--style", "basic", "--warmup", "1",
                "--runs", str(hf["runs"]), "--export-json", tmp]
        for impl, srv in servers.items():
            cmd = (" ".join(load_prefix(sw)) + f" --target {srv.target}"
                   f" --conns {hf['conns']} --requests {hf['requests']} --warmup 0"
                   f" --wait-us {hf['wait_us']} --work-us 0 --bytes {sw.prof['bytes']}")
            argv += ["-n", f"{impl}: {hf['requests']} req / {hf['conns']} conns, "
                     f"wait {hf['wait_us']} us", cmd]
        rc = run_load(sw, argv, "hyperfine-fixed-job", 600)
        if rc == 0 and os.path.exists(tmp):
            os.replace(tmp, out)
            sw.step_done("ok", time.monotonic() - t, est)
        else:
            sw.phase_errors.append(("hyperfine", f"hyperfine exited {rc}; see "
                                    "logs/hyperfine-fixed-job.err"))
            sw.step_done(f"FAILED (rc={rc}, see logs/hyperfine-fixed-job.err)",
                         time.monotonic() - t, est)
    except (OSError, RuntimeError) as e:
        sw.phase_errors.append(("hyperfine", str(e)))
        sw.step_done(f"FAILED: {e}", time.monotonic() - t, est)
    finally:
        for srv in servers.values():
            srv.stop()
        for f in os.listdir(os.path.join(sw.out, "hyperfine")):
            if ".tmp." in f:
                os.unlink(os.path.join(sw.out, "hyperfine", f))
