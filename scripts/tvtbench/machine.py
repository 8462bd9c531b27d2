"""What the sweep reads of the machine and of the bin folder: CPUs, limits, ephemeral
ports, the default thread stack, the flags a program offers, the contestants built."""

import math
import os
import select
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpus():
    """(server_cpu, client_cpu): the first two CPUs we may run on; one CPU -> both on it."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def help_text(argv):
    try:
        p = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=10)
        return p.stdout + p.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


def nofile_limit():
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 30


def port_range():
    """Ephemeral ports per source address (net.ipv4.ip_local_port_range), read now."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
        return max(1, hi - lo + 1)
    except (OSError, ValueError):
        return 28232


def source_ips_for(conns):
    """Source addresses (127.0.0.1..K) for conns connections to one port, or None for one.
    connect() tries the even half of the ephemeral range first; once an address has used
    it up, every further connect scans all of it (about 1 ms each with 14k ports), so each
    address keeps to 40% of the range."""
    k = math.ceil(conns / max(1.0, 0.4 * port_range()))
    return min(k, 254) if k > 1 else None


def default_stack_kib():
    """The default pthread stack is RLIMIT_STACK's soft limit (glibc), when finite."""
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return None if soft == resource.RLIM_INFINITY else soft // 1024


def list_contestants(bin_dir):
    """[{name, command, query}] that `scripts/contestants.sh list` says are ready: in the
    bench's bin folder first, then in bin/ (where `make contestants` puts them)."""
    found = {}
    script = os.path.join(ROOT, "scripts", "contestants.sh")
    if not os.access(script, os.X_OK):
        return []
    for where in dict.fromkeys([bin_dir, "bin"]):
        try:
            p = subprocess.run([script, "list", "--bin", where], capture_output=True,
                               text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        for line in p.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] not in found:
                found[parts[0]] = {"name": parts[0], "command": parts[1], "query": parts[2]}
    return list(found.values())


def probe_server(argv, timeout_s=5.0):
    """Starts a server with --port 0 and waits for `listening on`: None when it started
    (then it is stopped), else why not: its exit status and last line of stderr."""
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    except OSError as e:
        return f"{argv[0]}: {e.strerror}"
    deadline = time.monotonic() + timeout_s
    line = ""
    try:
        while time.monotonic() < deadline:
            if p.poll() is not None:
                err = (p.stderr.read() or "").strip().splitlines()
                return (f"{os.path.basename(argv[0])} exited {p.returncode}: "
                        + (err[-1] if err else "no message"))
            r, _, _ = select.select([p.stdout], [], [], 0.1)
            if r:
                line = p.stdout.readline()
                if line.startswith("listening on"):
                    return None
        return f"{os.path.basename(argv[0])} did not say `listening on` within {timeout_s:g} s"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        p.stdout.close()
        p.stderr.close()


def file_and_memory():
    """fs.file-max, the files open now and MemAvailable (KiB), from /proc: what the wall
    search plans within."""
    facts = {}
    try:
        with open("/proc/sys/fs/file-nr") as f:
            opened, _, fmax = (int(x) for x in f.read().split()[:3])
        facts.update(file_max=fmax, files_open=opened)
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    facts["mem_available_kib"] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return facts
