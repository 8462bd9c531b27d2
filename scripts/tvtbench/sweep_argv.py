"""The harness command of a sweep point: the run's flags, its placement, the workers and
generator processes a point past one process's fd limit needs, and a contestant's command
with its run folder and port. Mixed into sweep.Sweep, whose state (the harness's help
text, the profile, the data folder) it reads."""

import math
import os
import shutil
import subprocess

from . import profiles
from .machine import ROOT, nofile_limit, source_ips_for


class PointCommands:
    def worker_flags(self, impl, n):
        """(harness flags, server flags) for n server processes and as many generator
        processes: the servers' `--workers` with `harness run --procs`; one without the
        other cannot help. Without both the point runs as it is, and its failure (the fd
        limit) is the data."""
        flags, server = [], []
        if "--procs" in self.run_help and "--workers" in self.server_help.get(impl, ""):
            flags += ["--procs", str(n)]
            if "--workers" in self.run_help:
                flags += ["--workers", str(n)]  # the harness records it in params
            else:
                server += ["--workers", str(n)]
        return flags, server

    def scale_flags(self, impl, conns, io="timer"):
        """Workers enough for conns connections (two fds each with io=net) within each
        process's fd limit, with 1000 to spare."""
        fds = conns * profiles.fds_per_conn(io)
        need = math.ceil(fds / max(1000, nofile_limit() - 1000))
        return self.worker_flags(impl, need) if need > 1 else ([], [])

    def argv_for(self, pt, out):
        """The harness command of a point, and the nginx-style run folder it needs."""
        argv = [self.harness, "run"]
        rundir = None
        if pt.get("command"):  # another runtime's server: on the grid, a capacity curve, a K
            cmd = pt["command"]
            if "{dir}" in cmd:
                rundir = os.path.join(self.out, "logs", profiles.run_name(pt) + ".server")
                shutil.rmtree(rundir, ignore_errors=True)
                os.makedirs(rundir)
                cmd = cmd.replace("{dir}", rundir)
            cmd = cmd.replace("{bytes}", str(pt["bytes"]))
            if getattr(self, "hosts", None) and "{host}" not in cmd and "--host" not in cmd:
                cmd += " --host {host}"  # the harness puts the server host's address there
            # the wait kinds: the harness substitutes the backend and the data file it made
            if pt.get("io") == "net" and "{upstream}" not in cmd:
                cmd += " --upstream {upstream}"
            if pt.get("io") == "file" and "{data_file}" not in cmd:
                cmd += " --data-file {data_file}"
            if "{port}" in cmd:
                port = subprocess.run([os.path.join(ROOT, "contestants/nginx/nginx.sh"), "port"],
                                      capture_output=True, text=True, timeout=30).stdout.strip()
                if not port.isdigit():
                    raise RuntimeError("contestants/nginx/nginx.sh port found no free port")
                cmd = cmd.replace("{port}", port)
                argv += ["--target", f"127.0.0.1:{port}"]
            argv += ["--server-cmd", cmd, "--name", pt["impl"]]
        else:
            argv += ["--impl", pt["impl"]]
            name = pt.get("label") if pt["kind"] == "scale" else profiles.label(pt)
            if name and name != pt["impl"]:
                argv += ["--name", name]
        argv += self.placement_flags(pt)
        argv += ["--conns", str(pt["conns"])]
        if pt["kind"] == "stop":  # its own scenario: no measured window
            argv += ["--stop"]
        else:
            argv += ["--duration", f"{pt['duration_s']:g}", "--warmup", f"{pt['warmup_s']:g}"]
        argv += ["--wait-us", str(pt["wait_us"]), "--work-us", str(pt["work_us"]),
                 "--bytes", str(pt["bytes"]), "--out", out]
        if pt["kind"] == "shared":
            argv += ["--state", "shared", "--share-us", str(pt["share_us"]),
                     "--keys", str(pt["keys"])]
        if pt.get("io", "timer") != "timer":
            argv += ["--io", pt["io"]]
            if pt["io"] == "file":
                argv += ["--data-dir", self.data_dir,
                         "--data-size-mib", str(self.prof.get("data_size_mib", 1024))]
                if pt.get("file_kib"):
                    argv += ["--file-kib", str(pt["file_kib"])]
        if pt["kind"] == "capacity":
            argv += ["--capacity", "--steps", str(pt["steps"]),
                     "--step-min-s", f"{pt['step_min_s']:g}"]
            if pt.get("step_min_requests"):
                argv += ["--step-min-requests", str(pt["step_min_requests"])]
        server_extra = []
        if pt["kind"] == "scale":
            argv += ["--think-ms", f"{pt['think_ms']:g}", "--timeout-ms", str(pt["timeout_ms"])]
            extra, server_extra = self.worker_flags(pt["impl"], pt["workers"])
        elif pt["kind"] in ("grid", "capacity", "cores", "stop", "shared"):
            extra, server_extra = self.scale_flags(pt["impl"], pt["conns"], pt.get("io", "timer"))
        else:
            extra = []
        argv += extra
        if getattr(self, "hosts", None):
            hosts, server_on, clients_on = self.hosts
            argv += ["--hosts", hosts, "--server-on", server_on, "--clients-on", clients_on]
        ips = source_ips_for(pt["conns"])
        if ips and "--source-ips" in self.run_help and not getattr(self, "hosts", None):  # loopback only
            argv += ["--source-ips", str(ips)]
        if pt["stack_kib"] is not None:
            if "--stack-kib" in self.run_help:
                argv += ["--stack-kib", str(pt["stack_kib"])]
            else:
                server_extra = server_extra + ["--stack-kib", str(pt["stack_kib"])]
        server_extra = list(pt.get("server_args") or []) + server_extra
        if server_extra:
            argv += ["--"] + server_extra
        return argv, rundir

    def placement_flags(self, pt):
        """The server's CPUs: K of them (a cores point, or a shared point on every CPU: its
        own K, sharing them with the generator when it asks to), the harness plans the
        rest; a harness without --server-cpus gets the first two CPUs, as before."""
        k = pt.get("k") if pt["kind"] == "cores" or pt.get("k") else self.server_k
        if "--server-cpus" in self.run_help:
            # across hosts the server's host is its own: nothing to overlap with
            overlap = pt.get("overlap") and not getattr(self, "hosts", None)
            return (["--server-cpus", str(k)] if k else []) + (
                ["--allow-overlap"] if overlap else [])
        return ["--server-cpu", str(self.server_cpu), "--client-cpu", str(self.client_cpu)]
