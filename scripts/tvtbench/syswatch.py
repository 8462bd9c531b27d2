"""The machine during a scale run, sampled from /proc without forking."""

import re
import socket
import threading
import time

MEMINFO_KEYS = ("MemTotal", "MemAvailable", "KernelStack", "SUnreclaim", "PageTables",
                "Committed_AS")


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_meminfo():
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k in MEMINFO_KEYS:
                    out[k.lower() + "_kib"] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return out


def read_tasks():
    """Every thread of every process on the machine: /proc/loadavg's 4th field."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        return None


class SysWatch(threading.Thread):
    """The machine during a scale run, every 100 ms, read from /proc without forking (at
    the thread wall there is no pid left to fork with): the task count, the memory at its
    peak. With probe (the thread server), once the machine is near a task limit it sends
    one request of its own: the thread server answers 503 with pthread_create's error when
    it cannot create a thread, which names the errno. Once it has that answer it waits a
    second more (the peak) and calls on_wall, which ends the run: the wall is found, and
    every other process on the machine needs its pids back."""

    def __init__(self, out_log, probe, on_wall=None):
        super().__init__(daemon=True)
        self.out_log, self.probe_on, self.on_wall = out_log, probe, on_wall
        self.wall_t = None
        self.stop_ev = threading.Event()
        self.t0 = time.monotonic()
        self.pid_max = read_int("/proc/sys/kernel/pid_max")
        self.threads_max = read_int("/proc/sys/kernel/threads-max")
        self.tasks_idle = read_tasks()
        self.mem_idle = read_meminfo()
        self.tasks_peak, self.peak_t, self.mem_peak = self.tasks_idle, 0.0, self.mem_idle
        self.target, self.probes = None, []
        self.mem_low = self.mem_idle  # when MemAvailable was lowest (a task design's peak)

    def near_limit(self, tasks):
        return any(lim and tasks >= 0.97 * lim for lim in (self.pid_max, self.threads_max))

    def find_target(self):
        """The harness prints `server: listening on HOST:PORT` once the server is up."""
        try:
            with open(self.out_log) as f:
                m = re.search(r"^server: listening on (127\.\d+\.\d+\.\d+):(\d+)$", f.read(),
                              re.M)
        except OSError:
            return None
        return (m.group(1), int(m.group(2))) if m else None

    def probe(self):
        """Connects and listens first: a refused connection gets its 503 at once and a
        plain close. (Had we sent a request, the server would close with it unread, which
        resets the connection and can destroy the 503 before we read it.) Silence means it
        got a thread: then a request, and its answer."""
        t = round(time.monotonic() - self.t0, 2)
        try:
            with socket.create_connection(self.target, timeout=3) as s:
                s.settimeout(1.0)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    data = b""
                    s.settimeout(3)
                    s.sendall(b"GET /?wait_us=0&work_us=0&bytes=1 HTTP/1.1\r\n"
                              b"Host: probe\r\nConnection: close\r\n\r\n")
                while len(data) < 8192:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            text = data.decode("utf-8", "replace")
            m = re.match(r"HTTP/1\.\d (\d+)", text)
            body = text.partition("\r\n\r\n")[2].strip()
            self.probes.append({"t_s": t, "status": int(m.group(1)) if m else None,
                                "body": body[:300]})
        except OSError as e:
            self.probes.append({"t_s": t, "status": None, "error": f"{type(e).__name__}: {e}"})

    def run(self):
        while not self.stop_ev.wait(0.1):
            tasks = read_tasks()
            if tasks is None:
                continue
            mem = read_meminfo()
            if mem.get("memavailable_kib", 1 << 62) < self.mem_low.get("memavailable_kib",
                                                                       1 << 62):
                self.mem_low = mem
            if tasks > (self.tasks_peak or 0):
                self.tasks_peak, self.peak_t = tasks, time.monotonic() - self.t0
                self.mem_peak = mem
            if self.wall_t is not None:
                if self.on_wall and time.monotonic() - self.t0 > self.wall_t + 1.0:
                    self.on_wall()
                    self.on_wall = None
                continue
            if not self.probe_on:
                continue
            if any(p.get("status") == 503 for p in self.probes):
                self.wall_t = time.monotonic() - self.t0
                continue
            if len(self.probes) < 5 and self.near_limit(tasks):
                self.target = self.target or self.find_target()
                if self.target and (not self.probes or
                                    time.monotonic() - self.t0 - self.probes[-1]["t_s"] > 0.5):
                    self.probe()

    def finish(self):
        self.stop_ev.set()
        self.join(timeout=5)
        return {"pid_max": self.pid_max, "threads_max": self.threads_max,
                "tasks_before": self.tasks_idle, "tasks_peak": self.tasks_peak,
                "tasks_peak_t_s": round(self.peak_t, 2), "meminfo_before": self.mem_idle,
                "meminfo_at_peak": self.mem_peak, "meminfo_at_low": self.mem_low,
                "probe_target": (
                    f"{self.target[0]}:{self.target[1]}" if self.target else None),
                "probes": self.probes,
                "stopped_at_wall_t_s": (None if self.wall_t is None or self.on_wall
                                        else round(self.wall_t + 1.0, 2)),
                "note": "system-wide: every process's threads; sampled every 100 ms"}
