"""Processes the sweep starts: each in its own process group, so that a timeout or ^C
stops it and everything it spawned, by its id; and servers the sweep starts itself
(head-of-line, hyperfine), which print `listening on HOST:PORT` when ready."""

import os
import re
import selectors
import signal
import subprocess
import time

SERVER_READY_TIMEOUT_S = 10.0


class Child:
    """A process we started, in its own process group so that a timeout or ^C stops it
    and everything it spawned (the harness's server), by its id."""

    live = set()  # every Child not yet reaped, stopped on ^C

    def __init__(self, argv, stdout, stderr, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=stdin,
                                     start_new_session=True)
        Child.live.add(self)

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
            Child.live.discard(self)
            return rc
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        Child.live.discard(self)
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                # SIGKILL cannot be refused: wait as long as reaping takes (on an
                # overloaded machine it can exceed any fixed bound).
                self.proc.wait()
        except ProcessLookupError:
            pass


class Server:
    """A server we start ourselves (head-of-line, hyperfine), pinned to one CPU."""

    def __init__(self, binary, cpu, extra, errlog):
        self.err = open(errlog, "w")
        argv = ["taskset", "-c", str(cpu), binary, "--host", "127.0.0.1", "--port", "0"] + extra
        self.child = Child(argv, subprocess.PIPE, self.err)
        self.target = self._wait_ready()

    def _wait_ready(self):
        """Reads `listening on HOST:PORT` (the protocol's ready line) or gives up."""
        sel = selectors.DefaultSelector()
        sel.register(self.child.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        buf = b""
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.child.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb"listening on (\S+):(\d+)\n", buf)
            if m:
                return f"{m.group(1).decode()}:{m.group(2).decode()}"
        self.stop()
        raise RuntimeError(f"server {self.child.proc.args[3]} did not print 'listening on' "
                           f"within {SERVER_READY_TIMEOUT_S:.0f} s (stdout: {buf[:200]!r})")

    def stop(self):
        """SIGTERM (the server prints its counters and exits 0), SIGKILL if it hangs."""
        p = self.child.proc
        Child.live.discard(self.child)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
        if p.stdout:
            p.stdout.close()
        self.err.close()
