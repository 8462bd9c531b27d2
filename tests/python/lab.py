"""Lab: builds the files of a results folder in memory, run by run, with only the keys the
analysis reads; .results() indexes them, .write(dir) puts them on disk."""

import json
import os

from tvtbench.results import Results

ENV = {"kernel": "Linux 6.1 x86_64", "cores": 2, "cpu_model": "test CPU", "mem_kib": 1 << 24,
       "pid_max": 32768, "threads_max": 100000, "nproc_limit": 100000, "nofile_limit": 20000,
       "max_map_count": 65530}


class Lab:
    def __init__(self, env=None, profile="quick"):
        self.docs, self.micro, self.hol, self.scale_sys = {}, [], {}, {}
        self.env = dict(ENV, **(env or {}))
        self.meta = {"profile": profile, "state": "done", "default_stack_kib": 8192}
        self.code = None  # code.json, when a test sets one (code_json)

    def run(self, label, conns, wait=0, rep=1, *, rps=1000.0, rss_idle_kib=2000.0,
            rss_per_conn=None, kstack_per_conn=0.0, ctx_per_req=None, cpu_us=5.0,
            status="ok", errors=0, requests=None, saturated=False, io="timer", think_ms=0,
            workers=1, refused=0, capacity=None, impl=None, p99_us=1000.0, stack_kib=None,
            failure=None, mode="closed", inflight=None, server_command=None, cores_k=None):
        """One `harness run` file. rss_per_conn: bytes per connection over the idle RSS
        (default: 7 KiB for a task design, 16 KiB for a thread one)."""
        impl = impl or label.split("-")[0]
        if rss_per_conn is None:
            rss_per_conn = 16384.0 if "thread" in label else 7168.0
        requests = rps * 2 if requests is None else requests
        ctx = (ctx_per_req if ctx_per_req is not None else
               (1.0 if "thread" in label else 0.001)) * requests
        name = (f"{'scale-' if think_ms else ''}{f'cores-k{cores_k}-' if cores_k else ''}"
                f"{label}-c{conns}-w{wait}-u0-r{rep}"
                + (f"-{io}" if io != "timer" else "") + ("-cap" if capacity else "") + ".json")
        doc = {"schema": "tvt-run/1", "impl": impl, "name": label, "status": status,
               "failure": failure if status != "ok" else None,
               "params": {"conns": conns, "wait_us": wait, "work_us": 0, "bytes": 64,
                          "mode": mode, "think_ms": think_ms, "workers": workers,
                          "procs": workers, "io": io, "stack_kib": stack_kib,
                          "duration_s": 2.0, "warmup_s": 0.5},
               "env": self.env,
               "client": {"requests": requests, "rps": rps, "saturated": saturated,
                          "errors": {"timeout": errors},
                          "latency_us": {"p50": p99_us / 2, "p90": p99_us * 0.8, "p99": p99_us}},
               "server": {"rss_idle_kib": rss_idle_kib,
                          "rss_steady_kib": rss_idle_kib + rss_per_conn * conns / 1024,
                          "vsz_idle_kib": 3000.0,
                          "vsz_steady_kib": 3000.0 + (8192.0 if "thread" in label else 7.0)
                          * conns,
                          "kernel_stack_kib_delta": kstack_per_conn * conns / 1024,
                          "ctx_voluntary": ctx, "ctx_involuntary": 0,
                          "cpu_user_s": cpu_us * requests / 2e6,
                          "cpu_sys_s": cpu_us * requests / 2e6,
                          "threads_peak": conns + 1 if "thread" in label else 1,
                          "counters": {"thread_create_failed": refused}},
               "samples": []}
        if capacity is not None:
            doc["capacity"] = capacity
        if cores_k:
            doc["placement"] = {"server_k": cores_k, "server_cpus": list(range(cores_k))}
        if inflight is not None:
            doc["server"]["device_inflight"] = {"mean": inflight, "max": inflight * 2}
        if server_command:
            doc["params"]["server_command"] = server_command
        self.docs[name] = doc
        return doc

    def stop(self, label, conns, rep=1, *, exit_s=0.05, inflight=None, cut=0, not_200=0,
             reset=0, still_open=0, killed=False, exit_status=0, status="ok", failure=None,
             impl=None, tried=3, recorded=True, ends=True):
        """One stop-scenario run (`harness run --stop`): conns connections, a tenth with a
        request in flight, SIGTERM. recorded=False: no stop object (a stand-in); ends=False:
        the generator's counts of the connections' ends were not recorded."""
        impl = impl or label.split("-")[0]
        inflight = max(1, conns // 10) if inflight is None else inflight
        st = {"signal_to_exit_s": exit_s, "killed": killed, "grace_ms": None,
              "settle_s": 0.2, "server_cpu_s": 0.01,
              "inflight": {"conns": inflight}, "idle": {"conns": conns - inflight},
              "connects_after_signal": {"tried": tried, "refused": tried, "accepted": 0,
                                        "other": 0, "other_error": None}}
        if ends:
            st["inflight"].update(answered=inflight - cut - not_200, answered_not_200=not_200,
                                  cut=cut)
            st["idle"].update(fin=conns - inflight - reset - still_open, reset=reset)
            st["still_open"] = still_open
        doc = {"schema": "tvt-run/1", "impl": impl, "name": label, "status": status,
               "failure": failure if status != "ok" else None,
               "params": {"conns": conns, "wait_us": 500000, "work_us": 0, "bytes": 64,
                          "mode": "closed", "think_ms": 0, "io": "timer", "workers": 1},
               "env": self.env,
               "client": {"requests": 0, "rps": 0.0, "errors": {}, "latency_us": {}},
               "server": {"stop_s": exit_s, "killed": killed,
                          "stop_clean": not killed and exit_status == 0,
                          "exit": "was killed by signal 9 (Killed)" if killed else
                          f"exited with status {exit_status}", "counters": {}},
               "stop": st if recorded else None, "samples": []}
        self.docs[f"stop-{label}-c{conns}-w500000-u0-r{rep}.json"] = doc
        return doc

    def shared(self, label, conns=100, share_us=2, rep=1, *, ns=2100.0, wait_ns=0.0,
               contended=0.0, switches=0.0, lost=0, k=None, status="ok", failure=None,
               counters=True, first_errors=None, cpu_us=6.0, p99_us=800.0, impl=None):
        """One shared-table run (`harness run --state shared`): the server's exit counters
        give ns, wait_ns, contended and switches per update (counters=False: a server that
        kept none); k: the server on k CPUs."""
        before = dict(self.docs)
        doc = self.run(label, conns, 0, rep, status=status, failure=failure, cpu_us=cpu_us,
                       p99_us=p99_us, impl=impl, cores_k=k)
        name = next(n for n, d in self.docs.items() if d is doc)
        del self.docs[name]
        if name in before:  # the grid's run at that point stays what it was
            self.docs[name] = before[name]
        upd = doc["client"]["requests"]
        if counters:
            doc["server"]["counters"].update(
                shared_updates=upd, shared_counted=upd - lost, shared_lost=lost,
                share_ns=ns * upd, share_wait_ns=wait_ns * upd,
                lock_contended=contended * upd, lock_switches=switches * upd)
        if first_errors:
            doc["client"]["first_errors"] = first_errors
        doc["sweep"] = {"state": "shared", "share_us": share_us, "keys": 16}
        kk = f"-k{k}" if k else ""
        self.docs[f"shared{kk}-{label}-c{conns}-w0-u0-s{share_us}-r{rep}.json"] = doc
        return doc

    def code_json(self, lines=None):
        """A code.json as the sweep writes it: {label: lines}, complexity made up."""
        lines = lines or {"async": 1476, "uring": 1678, "thread": 651, "C:common": 2443}
        self.code = {"tool": "pmccabe 2.8", "metric": "traditional McCabe", "commit": "abc",
                     "designs": {k: {"dirs": [k], "lines": n, "functions": n // 20,
                                     "ccn_mean": 3.5, "ccn_max": 12,
                                     "ccn_max_at": "server.c:on_read", "why": None}
                                 for k, n in lines.items()}}

    def curve(self, label, conns, wait, capacity_rps, rep=1, slo_ms=3.0, bound=None):
        """A capacity run (open-loop steps) with its capacity at SLO."""
        cap = {"closed_loop_rps": capacity_rps * 1.2, "slo_ms": slo_ms,
               "capacity_rps": capacity_rps, "capacity_bound": bound,
               "steps": [{"offered_rps": capacity_rps * f, "achieved_rps": capacity_rps * f,
                          "requests": 3000, "p50_us": 100, "p90_us": 200,
                          "p99_us": 300 if f <= 1 else 9000, "p999_us": 400,
                          "generator_behind": False, "counted": True}
                         for f in (0.5, 1.0, 1.5)]}
        return self.run(label, conns, wait, rep, capacity=cap, rps=capacity_rps * 1.2)

    def spawn(self, kind, rss_per_unit, create_ns, unit=None, runtime=None):
        self.micro.append({"bench": "spawn", "kind": kind,
                           "unit": unit or ("thread" if "thread" in kind else "task"),
                           "params": {"runtime": runtime} if runtime else {},
                           "slope": {"rss_bytes_per_unit": rss_per_unit,
                                     "create_ns_per_unit": create_ns,
                                     "teardown_ns_per_unit": create_ns / 2,
                                     "vsz_bytes_per_unit": rss_per_unit * 2,
                                     "kernel_stack_bytes_per_unit": 16384 if "thread" in kind
                                     else 0},
                           "points": [{"created": 1000, "rss_bytes_per_unit": rss_per_unit,
                                       "create_ns_per_unit": create_ns}]})

    def switch(self, results, pinned=True):
        self.micro.append({"bench": "switch", "params": {"pin_cpu": 0 if pinned else None},
                           "results": [{"mechanism": m, "ring": 2, "ns_per_switch": ns,
                                        "unit": "thread" if "thread" in m else "task"}
                                       for m, ns in results.items()]})

    def holcase(self, label, alone_p90, with_p90):
        def doc(p90, conns=10, work=0):
            return {"params": {"conns": conns, "rate": 250, "work_us": work},
                    "client": {"requests": 500, "rps": 250, "errors": {},
                               "latency_us": {"p50": p90 / 2, "p90": p90, "p99": p90 * 2}}}
        self.hol[f"{label}-light-alone"] = doc(alone_p90)
        self.hol[f"{label}-light-with-heavy"] = doc(with_p90)
        self.hol[f"{label}-heavy"] = doc(5000, 2, 5000)

    def results(self, out="."):
        return Results.from_docs(self.docs, self.meta, self.micro, self.hol, self.scale_sys,
                                 out=out, code=self.code)

    def write(self, out):
        """The folder a sweep would leave: raw/, micro/, hol/, sweep.json."""
        for sub in ("raw", "micro", "hol", "scale"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
        for name, doc in self.docs.items():
            with open(os.path.join(out, "raw", name), "w") as f:
                json.dump(doc, f)
        for i, doc in enumerate(self.micro):
            with open(os.path.join(out, "micro", f"{doc['bench']}_{i}.json"), "w") as f:
                json.dump(doc, f)
        for name, doc in self.hol.items():
            with open(os.path.join(out, "hol", name + ".json"), "w") as f:
                json.dump(doc, f)
        with open(os.path.join(out, "sweep.json"), "w") as f:
            json.dump(self.meta, f)
        if self.code is not None:
            with open(os.path.join(out, "code.json"), "w") as f:
                json.dump(self.code, f)
        return out


def grid(lab, labels, conns=(100, 1000, 10000), waits=(0, 1000, 10000), **kw):
    """Every label at every (conns, wait), with the same figures."""
    for label in labels:
        for w in waits:
            for c in conns:
                lab.run(label, c, w, **kw)
    return lab
