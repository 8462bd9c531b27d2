/* Integration tests of bin/harness: `run` against both servers writes every key of the
 * result schema with plausible values; a server that dies mid-run gives status failed; the
 * open loop shows a 300 ms stall that the closed loop hides (against tests/support's
 * stall_server, forked in the test and loaded with `harness load`). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/micro_schema.h"
#include "../support/stall_server.h"
#include "../support/test_env.h"

#define HARNESS_TIMEOUT_S 30

/* Every key of the run schema, section by section, and the placement. */
static void check_schema(json_t *doc)
{
    const char *top[] = {"schema", "impl",   "status",  "failure", "params",    "env",
                         "client", "server", "derived", "samples", "placement", "capacity"};
    const char *placement[] = {"server_cpus", "client_cpus", "backend_cpus",
                               "overlap",     "server_k",    "cpus_allowed"};
    const char *params[] = {"conns",      "duration_s", "warmup_s", "wait_us",  "work_us",
                            "bytes",      "mode",       "rate",     "think_ms", "stack_kib",
                            "server_cpu", "client_cpu", "threads"};
    const char *client[] = {"requests", "rps", "errors", "latency_us", "cpu_s", "saturated"};
    const char *latency[] = {"min", "p50", "p90", "p99", "p999", "max", "mean"};
    const char *server[] = {"rss_idle_kib",
                            "rss_steady_kib",
                            "rss_peak_kib",
                            "vsz_idle_kib",
                            "vsz_steady_kib",
                            "pss_steady_kib",
                            "threads_peak",
                            "ctx_voluntary",
                            "ctx_involuntary",
                            "ctx_perf",
                            "cpu_user_s",
                            "cpu_sys_s",
                            "kernel_stack_kib_delta",
                            "slab_unreclaim_kib_delta",
                            "sock_tcp_pages_delta",
                            "lifetime"};
    const char *lifetime[] = {"maxrss_kib", "nvcsw", "nivcsw"};
    const char *derived[] = {"rss_per_conn_bytes", "vsz_per_conn_bytes", "kernel_per_conn_bytes",
                             "ctx_per_request", "cpu_us_per_request"};
    const char *sample[] = {"t_s", "rss_kib", "vsz_kib", "threads"};
#define EACH(obj, keys)                                                                            \
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)                                      \
    hget(obj, keys[i])
    EACH(doc, top);
    EACH(hget(doc, "params"), params);
    EACH(hget(doc, "placement"), placement);
    for (const char *const *k = SCHEMA_ENV_KEYS; *k; k++) /* microbench/SCHEMA.md's env */
        hget(hget(doc, "env"), *k);
    json_t *c = hget(doc, "client");
    EACH(c, client);
    for (const char *const *k = HRUN_ERROR_KINDS; *k; k++)
        hget(hget(c, "errors"), *k);
    EACH(hget(c, "latency_us"), latency);
    json_t *s = hget(doc, "server");
    EACH(s, server);
    EACH(hget(s, "lifetime"), lifetime);
    EACH(hget(doc, "derived"), derived);
    json_t *samples = hget(doc, "samples");
    cr_assert(json_is_array(samples) && json_array_size(samples) > 0, "no samples");
    EACH(json_array_get(samples, 0), sample);
#undef EACH
}

/* harness run --impl IMPL at small scale, its generator split as `split` says ("--threads"
 * or "--procs", times 2), with `workers` server processes; returns the parsed result */
static json_t *run_impl(const char *impl, const char *conns, const char *wait_us, const char *split,
                        const char *workers)
{
    const char *args[] = {"run",       "--impl",   impl,        "--conns",  conns,
                          split,       "2",        "--workers", workers,    "--duration",
                          "1",         "--warmup", "0.2",       "--idle-s", "0.2",
                          "--wait-us", wait_us,    "--bytes",   "100",      NULL};
    json_t *doc = hrun_ok(tfile_scratch, impl, args, HARNESS_TIMEOUT_S);
    check_schema(doc);
    cr_assert(json_is_null(hget(doc, "failure")));
    cr_assert_str_eq(hstr(doc, "impl"), impl);
    return doc;
}

static void check_plausible(json_t *doc, long conns, long wait_us)
{
    json_t *c = hget(doc, "client"), *s = hget(doc, "server"), *lat = hget(c, "latency_us");
    cr_assert_gt(hnum(c, "requests"), 0);
    cr_assert_gt(hnum(c, "rps"), 0);
    /* a request cannot be answered before its wait is over */
    cr_assert_geq(hnum(lat, "p50"), (double)wait_us, "p50 %.0f < wait %ld", hnum(lat, "p50"),
                  wait_us);
    cr_assert_leq(hnum(lat, "min"), hnum(lat, "p50"));
    cr_assert_leq(hnum(lat, "p50"), hnum(lat, "p99"));
    cr_assert_leq(hnum(lat, "p99"), hnum(lat, "max"));
    json_t *errs = hget(c, "errors");
    for (const char *const *k = HRUN_ERROR_KINDS; *k; k++)
        cr_assert_eq(hnum(errs, *k), 0, "%s errors", *k);
    cr_assert_gt(hnum(s, "rss_idle_kib"), 0);
    cr_assert_geq(hnum(s, "rss_peak_kib"), hnum(s, "rss_idle_kib"));
    cr_assert_geq(hnum(s, "vsz_steady_kib"), hnum(s, "rss_steady_kib"));
    cr_assert_gt(hnum(s, "ctx_voluntary") + hnum(s, "ctx_involuntary"), 0);
    cr_assert_gt(hnum(s, "cpu_user_s") + hnum(s, "cpu_sys_s"), 0);
    cr_assert_gt(hnum(hget(s, "lifetime"), "maxrss_kib"), 0);
    cr_assert_eq(hnum(hget(doc, "params"), "conns"), conns);
    cr_assert_eq(hnum(c, "conns_open_end"), conns, "every connection open at the end");
    cr_assert_gt(hnum(hget(doc, "derived"), "cpu_us_per_request"), 0);
}

TestSuite(harness, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 60);

Test(harness, run_async_writes_every_key)
{
    if (!tenv_impl_enabled("async"))
        TFILE_SKIP("TVT_IMPLS=%s", getenv("TVT_IMPLS"));
    const char *conns = tenv_sanitized() ? "10" : "30";
    /* two generator processes, two server processes: both sides are merged */
    json_t *doc = run_impl("async", conns, "1000", "--procs", "2");
    cr_assert_eq(hnum(hget(doc, "params"), "procs"), 2);
    cr_assert_eq(hnum(hget(doc, "params"), "workers"), 2);
    /* the supervisor and its two workers are all measured */
    cr_assert_eq(hnum(hget(doc, "server"), "procs_peak"), 3);
    check_plausible(doc, atol(conns), 1000);
    json_decref(doc);
}

Test(harness, run_thread_writes_every_key)
{
    if (!tenv_impl_enabled("thread"))
        TFILE_SKIP("TVT_IMPLS=%s", getenv("TVT_IMPLS"));
    const char *conns = tenv_sanitized() ? "10" : "30";
    /* two generator threads: their hand-offs run under TSan too */
    json_t *doc = run_impl("thread", conns, "1000", "--threads", "1");
    check_plausible(doc, atol(conns), 1000);
    /* one thread per connection, plus the acceptor */
    cr_assert_geq(hnum(hget(doc, "server"), "threads_peak"), atol(conns));
    json_decref(doc);
}

Test(harness, server_that_exits_mid_run_fails_and_still_writes)
{
    char out[600], cmd[600];
    snprintf(out, sizeof out, "%s/dies.json", tfile_scratch);
    /* a real server, stopped by timeout(1) one second in: the harness must notice */
    snprintf(cmd, sizeof cmd, "timeout 1 %s/%s_server --port 0", tenv_bin_dir(), hrun_impl());
    const char *args[] = {"run", "--server-cmd", cmd,     "--name",   "dies", "--conns",
                          "5",   "--duration",   "5",     "--warmup", "0",    "--idle-s",
                          "0",   "--quiet",      "--out", out,        NULL};
    int rc = hrun(tfile_scratch, "dies", args, HARNESS_TIMEOUT_S);
    cr_assert_eq(rc, 1, "harness should exit 1 when the server dies, not %d", rc);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0, "the result file was not written");
    json_t *doc = hjson_load(out);
    check_schema(doc);
    cr_assert_str_eq(hstr(doc, "status"), "failed");
    const char *why = hstr(doc, "failure");
    cr_assert_not_null(why);
    cr_assert(strstr(why, "server"), "failure should name the server: %s", why);
    cr_assert_str_eq(hstr(doc, "impl"), "dies");
    /* what was measured before the end is kept */
    cr_assert_gt(json_array_size(hget(doc, "samples")), 0);
    json_decref(doc);
}

/* harness load against a fresh stall server; returns the result */
static json_t *load_stalling(const char *name, const char *rate)
{
    struct forked_server ss;
    char target[64], out[600];
    /* the stall starts 0.7 s after the first request, inside the 2 s window */
    cr_assert_eq(stall_server_start(&ss, 700, 300), 0, "stall server: %s", strerror(errno));
    snprintf(target, sizeof target, "127.0.0.1:%d", ss.port);
    snprintf(out, sizeof out, "%s/%s.json", tfile_scratch, name);
    const char *args[20] = {"load",       "--target", target,     "--conns", "4",
                            "--duration", "2",        "--warmup", "0",       "--bytes",
                            "16",         "--quiet",  "--out",    out};
    int n = 14;
    if (rate) {
        args[n++] = "--rate";
        args[n++] = rate;
    }
    args[n] = NULL;
    int rc = hrun(tfile_scratch, name, args, HARNESS_TIMEOUT_S);
    forked_server_stop(&ss);
    cr_assert_eq(rc, 0, "harness load exited %d (log in %s)", rc, tfile_scratch);
    json_t *doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "ok");
    cr_assert_str_eq(hstr(hget(doc, "params"), "mode"), rate ? "open" : "closed");
    return doc;
}

Test(harness, open_loop_shows_a_stall_that_closed_loop_hides)
{
    json_t *closed = load_stalling("closed", NULL);
    json_t *cl = hget(hget(closed, "client"), "latency_us");
    /* the stall happened (max) but hit only the 4 requests in flight: p99 stays low */
    cr_assert_geq(hnum(cl, "max"), 250000, "closed max %.0f us: no stall seen", hnum(cl, "max"));
    cr_assert_lt(hnum(cl, "p99"), 100000, "closed p99 %.0f us", hnum(cl, "p99"));

    /* 1000 req/s: ~300 requests were due during the stall; counted from their intended
       send time, the top 1% waited most of the 300 ms */
    json_t *open = load_stalling("open", "1000");
    json_t *c = hget(open, "client");
    json_t *ol = hget(c, "latency_us"), *raw = hget(c, "latency_uncorrected_us");
    cr_assert_gt(hnum(c, "requests"), 1000);
    cr_assert_geq(hnum(ol, "p99"), 200000, "open p99 %.0f us hides the stall", hnum(ol, "p99"));
    /* counted from the actual send, the same run hides it again (coordinated omission) */
    cr_assert_lt(hnum(raw, "p99"), 100000, "uncorrected p99 %.0f us", hnum(raw, "p99"));
    json_decref(closed);
    json_decref(open);
}

Test(harness, refuses_a_remote_target_and_bad_flags)
{
    const char *remote[] = {"load", "--target", "192.0.2.1:80", "--duration", "1", NULL};
    cr_assert_eq(hrun(tfile_scratch, "remote", remote, HARNESS_TIMEOUT_S), 2);
    const char *both[] = {"run", "--impl", "async", "--server-cmd", "true", NULL};
    cr_assert_eq(hrun(tfile_scratch, "both", both, HARNESS_TIMEOUT_S), 2);
    const char *help[] = {"--help", NULL};
    cr_assert_eq(hrun(tfile_scratch, "help", help, HARNESS_TIMEOUT_S), 0);
}
