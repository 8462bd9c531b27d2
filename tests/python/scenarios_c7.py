"""Synthetic result sets for C7: the graceful stop and the shared table, one per outcome and
per edge case; registered in scenarios.SCENARIOS, so the property test covers them."""

from lab import grid
from scenarios import scenario, typical


def c7_base(stop_a=0.05, stop_t=0.5, ns_a=2000.0, ns_t=5000.0, **kw):
    """typical() with a stop scenario at 1000 and 10000 conns and the shared point (100
    conns, share_us 2) for async and thread, the unguarded thread server on 1 and 2 CPUs."""
    lab = typical()
    for n in (1000, 10000):
        lab.stop("async", n, exit_s=stop_a, **kw.get("stop_async", {}))
        lab.stop("thread", n, exit_s=stop_t, **kw.get("stop_thread", {}))
    lab.shared("async", ns=ns_a, **kw.get("share_async", {}))
    lab.shared("thread", ns=ns_t, wait_ns=ns_t - ns_a, contended=0.3, switches=0.2,
               **kw.get("share_thread", {}))
    lab.shared("thread-nolock", ns=ns_a, lost=3, impl="thread")
    lab.shared("thread-nolock", ns=ns_a, lost=400, k=2, impl="thread")
    lab.code_json()
    return lab


@scenario
def c7_holds():
    """Threads stop 10× slower, cleanly, and spend 2.5× as long per update: holds."""
    return c7_base()


@scenario
def c7_partly_by_stop():
    """The thread server cuts what is in flight (the task server wins the stop outright);
    the table costs the same on both sides: holds partly, decided by the stop."""
    return c7_base(stop_t=0.05, ns_t=2100.0, stop_thread={"cut": 100})


@scenario
def c7_partly_by_share():
    """Both stop cleanly in the same time; the mutex costs 1.5×: holds partly."""
    return c7_base(stop_t=0.05, ns_t=3000.0)


@scenario
def c7_not_here():
    """Both cut their requests in flight (a tie) and the table costs the same."""
    return c7_base(stop_t=0.05, ns_t=2000.0, stop_async={"cut": 100},
                   stop_thread={"cut": 100})


@scenario
def c7_task_killed():
    """The task server is killed at its stop; the thread server stops cleanly."""
    return c7_base(stop_a=10.0, stop_async={"killed": True})


@scenario
def c7_share_400():
    """Servers that do not know state=shared: every shared run failed with 400s."""
    lab = typical()
    for lab_ in ("async", "thread"):
        lab.stop(lab_, 1000)
        lab.shared(lab_, status="failed", counters=False, failure="no request succeeded in "
                   "the measured window (4146 errors)", first_errors={"status":
                                                                      "HTTP status 400"})
    return lab


@scenario
def c7_no_stop():
    """Shared runs only: no stop scenario."""
    lab = typical()
    lab.shared("async", ns=2000.0)
    lab.shared("thread", ns=5000.0)
    return lab


@scenario
def c7_old_killed_stop():
    """The reference's old form: the thread server at 19000 connections served its load,
    then was killed at its stop, and the run said "failed". For C4 it sustained 19000; for
    C7 it is a failed stop at every stop N ≥ 19000."""
    lab = typical()
    grid(lab, ["async", "thread"], conns=(19000,), waits=(0, 1000, 10000))
    for d in lab.docs.values():
        if d["name"] == "thread" and d["params"]["conns"] == 19000 and \
                d["params"]["wait_us"] == 1000:
            d["status"] = "failed"
            d["failure"] = "the server did not exit within 5000 ms of SIGTERM (killed)"
    for lab_ in ("async", "thread"):
        lab.stop(lab_, 19000, exit_s=0.2)
        lab.shared(lab_, ns=2000.0)
    return lab


@scenario
def c7_guarded_lost():
    """The async server's table lost updates (a bug): the thread server wins the table."""
    return c7_base(share_async={"lost": 5})


@scenario
def c7_tiny_stops():
    """Both exit within a few ms: under the 10 ms floor they tie."""
    return c7_base(stop_a=0.002, stop_t=0.008, ns_t=2000.0)


@scenario
def c7_stop_ends_missing():
    """The stop scenario ran, but what became of the connections was not recorded (missing,
    not zero): the stop is not measured."""
    return c7_base(stop_async={"ends": False}, stop_thread={"ends": False})


@scenario
def c7_rust():
    """The Rust block: Tokio against std::thread, by the same rule."""
    lab = c7_base()
    grid(lab, ["tokio-multi"], rps=70000, impl="tokio-multi")
    grid(lab, ["rust-threads"], rps=18000, impl="rust-threads")
    for n in (1000, 10000):
        lab.stop("tokio-multi", n, exit_s=0.03, impl="tokio-multi")
        lab.stop("rust-threads", n, exit_s=0.03, cut=100, impl="rust-threads")
    lab.shared("tokio-multi", ns=2500.0, impl="tokio-multi")
    lab.shared("rust-threads", ns=2600.0, impl="rust-threads")
    return lab
