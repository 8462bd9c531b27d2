"""Synthetic result sets, one per case the rules must get right. Each builder returns a
Lab; SCENARIOS names them all, so the property test can run every rule over every one."""

from lab import Lab, grid

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def micro(lab, task_spawn=(344, 145), thread_spawn=(8500, 18000), task_switch=160,
          thread_switch=600):
    """The C designs' microbenchmarks: a spawn's (RSS bytes, create ns) per task and per
    thread, a switch's ns for each; by default a typical machine's figures."""
    lab.spawn("task-timer", *task_spawn)
    lab.spawn("thread-cond", *thread_spawn)
    lab.switch({"task-io": task_switch, "thread-pipe": thread_switch})
    return lab


def hol(lab, with_heavy, alone_p90=300):
    """The head-of-line case of each label: its light requests' p90 alone and
    with_heavy[label], their p90 beside heavy ones."""
    for label, p90 in with_heavy.items():
        lab.holcase(label, alone_p90, p90)


@scenario
def typical():
    """Both designs everywhere; threads slower at a wait, bigger, more switches."""
    lab = Lab()
    grid(lab, ["async"], rps=80000)
    grid(lab, ["thread"], rps=20000)
    grid(lab, ["thread-64k"], waits=(0,), rps=20000, stack_kib=64)
    micro(lab)
    hol(lab, {"async": 4700, "thread": 400})
    return lab


@scenario
def c4_fewer_waits():
    """A series with fewer waits: thread-64k runs at wait 0 only and holds 10000 there, the
    default-stack series falls short at 10000 at wait 10 ms."""
    lab = Lab()
    grid(lab, ["async"])
    for w in (0, 1000, 10000):
        for c in (100, 1000, 5000, 10000):
            bad = c == 10000 and w == 10000
            lab.run("thread", c, w, errors=4236 if bad else 0, requests=20000)
    for c in (100, 1000, 5000, 10000):
        lab.run("thread-64k", c, 0, stack_kib=64)
    return lab


@scenario
def c4_equal():
    """Both designs sustained every N tried."""
    lab = Lab()
    grid(lab, ["async", "thread"])
    return lab


@scenario
def c4_wall_in_scale():
    """The grid holds for both; the thread wall only in the scale runs."""
    lab = Lab()
    grid(lab, ["async", "thread"], waits=(0, 1000))
    for c in (30000, 50000, 100000):
        lab.run("async", c, 1000, think_ms=2000, workers=8, impl="async")
    lab.run("thread", 30000, 1000, think_ms=3000, workers=8, impl="thread")
    lab.run("thread", 50000, 1000, think_ms=3000, workers=8, impl="thread", status="failed",
            refused=17000, failure="stopped at the wall")
    return lab


@scenario
def c4_threads_more():
    """The event loop fails first."""
    lab = Lab()
    grid(lab, ["thread"])
    for w in (0, 1000, 10000):
        for c in (100, 1000, 10000):
            lab.run("async", c, w, status="failed" if c == 10000 else "ok",
                    failure="server crashed")
    return lab


@scenario
def small_sweep():
    """The sweep stopped at 100 connections: C4 not measurable; no microbenchmarks."""
    lab = Lab()
    grid(lab, ["async", "thread"], conns=(1, 10, 100), waits=(0, 1000))
    return lab


@scenario
def repeats_borderline():
    """Three repeats whose C3 ratio straddles 2 (1.8, 2.2, 2.4)."""
    lab = Lab()
    for rep, a in ((1, 18000), (2, 22000), (3, 24000)):
        for w in (0, 1000, 10000):
            for c in (100, 1000):
                lab.run("async", c, w, rep, rps=a if w == 10000 else 50000)
                lab.run("thread", c, w, rep, rps=10000 if w == 10000 else 40000)
    return lab


@scenario
def saturated_and_failed():
    """At the largest wait, 1000 conns: the async run's generator saturated and a thread
    repeat failed; neither may enter a median, so the point is 100 conns."""
    lab = Lab()
    for rep in (1, 2):
        for w in (0, 10000):
            for c in (100, 1000):
                sat = c == 1000 and w == 10000
                lab.run("async", c, w, rep, rps=999999 if sat else 30000, saturated=sat)
                lab.run("thread", c, w, rep, rps=10000,
                        status="failed" if (sat and rep == 2) else "ok", failure="crash")
    return lab


@scenario
def partly():
    """Ratios between 1.2 and 2 everywhere."""
    lab = Lab()
    grid(lab, ["async"], rps=15000, ctx_per_req=0.6, rss_per_conn=10000)
    grid(lab, ["thread"], rps=10000, ctx_per_req=1.0, rss_per_conn=16000)
    micro(lab, (1000, 1000), (1500, 1500), 500, 750)
    hol(lab, {"async": 500, "thread": 750})
    return lab


@scenario
def not_here():
    """Threads as good as tasks."""
    lab = Lab()
    grid(lab, ["async", "thread"], rps=10000, ctx_per_req=1.0, rss_per_conn=16000)
    micro(lab, (1000, 1000), (1000, 1000), 500, 500)
    return lab


@scenario
def big_stack():
    """Threads that really touch about 1 MB each: C1 holds."""
    lab = Lab()
    grid(lab, ["async"], rss_per_conn=4000)
    grid(lab, ["thread"], rss_per_conn=900 * 1024, kstack_per_conn=16384)
    return lab


@scenario
def lean():
    """Both async variants: lean decides C1, the per-connection-buffer one beside it."""
    lab = Lab()
    grid(lab, ["async"], rss_per_conn=7168)
    grid(lab, ["async-lean"], rss_per_conn=900)
    grid(lab, ["thread"], rss_per_conn=16384, kstack_per_conn=16384)
    return lab


@scenario
def with_uring():
    """A third design beside the other two."""
    lab = typical()
    grid(lab, ["uring"], rps=90000, rss_per_conn=2000)
    return lab


@scenario
def capacity():
    """Capacity curves at 1000 conns, wait 1 ms: C3 decides on them."""
    lab = typical()
    lab.curve("async", 1000, 1000, 60000)
    lab.curve("thread", 1000, 1000, 20000)
    return lab


@scenario
def micro_only():
    """No server runs at all, only microbenchmarks."""
    return micro(Lab())


@scenario
def empty():
    return Lab()


@scenario
def rust_pair():
    """The Rust block: Tokio against std::thread beside the C designs."""
    lab = typical()
    grid(lab, ["tokio-multi"], rps=70000, impl="tokio-multi")
    grid(lab, ["rust-threads"], rps=18000, impl="rust-threads")
    lab.spawn("tokio-timer", 400, 200, runtime="multi")
    lab.spawn("std-thread", 9000, 20000)
    hol(lab, {"tokio-multi": 600, "rust-threads": 450})
    return lab


@scenario
def files():
    """File waits: io_uring keeps pace with threads, the pool nearly, the loop does not."""
    lab = typical()
    for c in (10, 100, 1000):
        lab.run("thread", c, 0, io="file", rps=50000, inflight=16)
        lab.run("async-uring", c, 0, io="file", rps=52000, inflight=20, impl="async")
        lab.run("async-pool", c, 0, io="file", rps=45000, inflight=4, impl="async",
                server_command="bin/async_server --io file --file-io pool --file-threads 4")
        lab.run("async-loop", c, 0, io="file", rps=24000, inflight=1, impl="async")
    return lab


@scenario
def files_no_overlap():
    """io_uring as fast as threads but one read at a time: not the claim's mechanism."""
    lab = Lab()
    for c in (100, 1000):
        lab.run("thread", c, 0, io="file", rps=20000, inflight=1)
        lab.run("async-uring", c, 0, io="file", rps=20000, inflight=1, impl="async")
    return lab


# C7's scenarios register themselves here (scenarios_c7 imports this module's decorator)
import scenarios_c7  # noqa: E402,F401
