/* Integration tests of bin/harness: `run` against both servers writes every key of the
 * result schema with plausible values; a server that dies mid-run gives status failed; the
 * open loop shows a 300 ms stall that the closed loop hides (against tests/support's
 * stall_server, forked in the test and loaded with `harness load`). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/stall_server.h"
#include "../support/test_env.h"

#define HARNESS_TIMEOUT_S 30

static char tmp_dir[] = "/tmp/tvt-harness-test-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    (void)!system(cmd);
}

/* Runs harness with args (NULL-terminated), output to a log in tmp_dir; kills it after
 * HARNESS_TIMEOUT_S. Returns its exit status, or -1 if it did not exit on its own. */
static int run_harness(const char *log_name, const char *const *args)
{
    char path[512], log[512];
    snprintf(path, sizeof path, "%s/harness", tenv_bin_dir());
    cr_assert(access(path, X_OK) == 0, "%s is not built (TVT_BIN_DIR=%s)", path, tenv_bin_dir());
    snprintf(log, sizeof log, "%s/%s.log", tmp_dir, log_name);
    const char *argv[64];
    int n = 0;
    argv[n++] = path;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > HARNESS_TIMEOUT_S) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        usleep(20000);
    }
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    cr_assert_not_null(doc, "%s is not valid JSON: %s (line %d)", path, e.text, e.line);
    return doc;
}

static json_t *get(json_t *obj, const char *key)
{
    cr_assert(json_is_object(obj), "parent of '%s' is not an object", key);
    json_t *v = json_object_get(obj, key);
    cr_assert_not_null(v, "key '%s' is missing", key);
    return v;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = get(obj, key);
    cr_assert(json_is_number(v), "key '%s' is not a number", key);
    return json_number_value(v);
}

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
    const char *env[] = {"kernel",        "cpu_model",     "cores",       "mem_kib",
                         "pid_max",       "threads_max",   "nproc_limit", "nofile_limit",
                         "max_map_count", "libev_version", "cc_version",  "git_commit",
                         "date"};
    const char *client[] = {"requests", "rps", "errors", "latency_us", "cpu_s", "saturated"};
    const char *errors[] = {"connect", "read", "write", "timeout", "status", "body"};
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
    get(obj, keys[i])
    EACH(doc, top);
    EACH(get(doc, "params"), params);
    EACH(get(doc, "placement"), placement);
    EACH(get(doc, "env"), env);
    json_t *c = get(doc, "client");
    EACH(c, client);
    EACH(get(c, "errors"), errors);
    EACH(get(c, "latency_us"), latency);
    json_t *s = get(doc, "server");
    EACH(s, server);
    EACH(get(s, "lifetime"), lifetime);
    EACH(get(doc, "derived"), derived);
    json_t *samples = get(doc, "samples");
    cr_assert(json_is_array(samples) && json_array_size(samples) > 0, "no samples");
    EACH(json_array_get(samples, 0), sample);
#undef EACH
}

/* harness run --impl IMPL at small scale, its generator split as `split` says ("--threads"
 * or "--procs", times 2), with `workers` server processes; returns the parsed result */
static json_t *run_impl(const char *impl, const char *conns, const char *wait_us, const char *split,
                        const char *workers)
{
    char out[600];
    snprintf(out, sizeof out, "%s/%s.json", tmp_dir, impl);
    const char *args[] = {"run", "--impl",    impl,    "--conns",    conns,   split,
                          "2",   "--workers", workers, "--duration", "1",     "--warmup",
                          "0.2", "--idle-s",  "0.2",   "--wait-us",  wait_us, "--bytes",
                          "100", "--quiet",   "--out", out,          NULL};
    int rc = run_harness(impl, args);
    cr_assert_eq(rc, 0, "harness run --impl %s exited %d (log in %s)", impl, rc, tmp_dir);
    json_t *doc = load_json(out);
    check_schema(doc);
    cr_assert_str_eq(json_string_value(get(doc, "status")), "ok");
    cr_assert(json_is_null(get(doc, "failure")));
    cr_assert_str_eq(json_string_value(get(doc, "impl")), impl);
    return doc;
}

static void check_plausible(json_t *doc, long conns, long wait_us)
{
    json_t *c = get(doc, "client"), *s = get(doc, "server"), *lat = get(c, "latency_us");
    cr_assert_gt(num(c, "requests"), 0);
    cr_assert_gt(num(c, "rps"), 0);
    /* a request cannot be answered before its wait is over */
    cr_assert_geq(num(lat, "p50"), (double)wait_us, "p50 %.0f < wait %ld", num(lat, "p50"),
                  wait_us);
    cr_assert_leq(num(lat, "min"), num(lat, "p50"));
    cr_assert_leq(num(lat, "p50"), num(lat, "p99"));
    cr_assert_leq(num(lat, "p99"), num(lat, "max"));
    json_t *errs = get(c, "errors");
    const char *kinds[] = {"connect", "read", "write", "timeout", "status", "body"};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(num(errs, kinds[i]), 0, "%s errors", kinds[i]);
    cr_assert_gt(num(s, "rss_idle_kib"), 0);
    cr_assert_geq(num(s, "rss_peak_kib"), num(s, "rss_idle_kib"));
    cr_assert_geq(num(s, "vsz_steady_kib"), num(s, "rss_steady_kib"));
    cr_assert_gt(num(s, "ctx_voluntary") + num(s, "ctx_involuntary"), 0);
    cr_assert_gt(num(s, "cpu_user_s") + num(s, "cpu_sys_s"), 0);
    cr_assert_gt(num(get(s, "lifetime"), "maxrss_kib"), 0);
    cr_assert_eq(num(get(doc, "params"), "conns"), conns);
    cr_assert_eq(num(c, "conns_open_end"), conns, "every connection open at the end");
    cr_assert_gt(num(get(doc, "derived"), "cpu_us_per_request"), 0);
}

TestSuite(harness, .init = setup, .fini = teardown, .timeout = 60);

Test(harness, run_async_writes_every_key)
{
    if (!tenv_impl_enabled("async"))
        cr_skip_test("TVT_IMPLS=%s", getenv("TVT_IMPLS"));
    const char *conns = tenv_sanitized() ? "10" : "30";
    /* two generator processes, two server processes: both sides are merged */
    json_t *doc = run_impl("async", conns, "1000", "--procs", "2");
    cr_assert_eq(num(get(doc, "params"), "procs"), 2);
    cr_assert_eq(num(get(doc, "params"), "workers"), 2);
    /* the supervisor and its two workers are all measured */
    cr_assert_eq(num(get(doc, "server"), "procs_peak"), 3);
    check_plausible(doc, atol(conns), 1000);
    json_decref(doc);
}

Test(harness, run_thread_writes_every_key)
{
    if (!tenv_impl_enabled("thread"))
        cr_skip_test("TVT_IMPLS=%s", getenv("TVT_IMPLS"));
    const char *conns = tenv_sanitized() ? "10" : "30";
    /* two generator threads: their hand-offs run under TSan too */
    json_t *doc = run_impl("thread", conns, "1000", "--threads", "1");
    check_plausible(doc, atol(conns), 1000);
    /* one thread per connection, plus the acceptor */
    cr_assert_geq(num(get(doc, "server"), "threads_peak"), atol(conns));
    json_decref(doc);
}

Test(harness, server_that_exits_mid_run_fails_and_still_writes)
{
    char out[600], cmd[600];
    snprintf(out, sizeof out, "%s/dies.json", tmp_dir);
    /* a real server, stopped by timeout(1) one second in: the harness must notice */
    snprintf(cmd, sizeof cmd, "timeout 1 %s/%s_server --port 0", tenv_bin_dir(),
             tenv_impl_enabled("async") ? "async" : "thread");
    const char *args[] = {"run", "--server-cmd", cmd,     "--name",   "dies", "--conns",
                          "5",   "--duration",   "5",     "--warmup", "0",    "--idle-s",
                          "0",   "--quiet",      "--out", out,        NULL};
    int rc = run_harness("dies", args);
    cr_assert_eq(rc, 1, "harness should exit 1 when the server dies, not %d", rc);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0, "the result file was not written");
    json_t *doc = load_json(out);
    check_schema(doc);
    cr_assert_str_eq(json_string_value(get(doc, "status")), "failed");
    const char *why = json_string_value(get(doc, "failure"));
    cr_assert_not_null(why);
    cr_assert(strstr(why, "server"), "failure should name the server: %s", why);
    cr_assert_str_eq(json_string_value(get(doc, "impl")), "dies");
    /* what was measured before the end is kept */
    cr_assert_gt(json_array_size(get(doc, "samples")), 0);
    json_decref(doc);
}

/* harness load against a fresh stall server; returns the result */
static json_t *load_stalling(const char *name, const char *rate)
{
    struct stall_server ss;
    char target[64], out[600];
    /* the stall starts 0.7 s after the first request, inside the 2 s window */
    cr_assert_eq(stall_server_start(&ss, 700, 300), 0, "stall server: %s", strerror(errno));
    snprintf(target, sizeof target, "127.0.0.1:%d", ss.port);
    snprintf(out, sizeof out, "%s/%s.json", tmp_dir, name);
    const char *args[20] = {"load",       "--target", target,     "--conns", "4",
                            "--duration", "2",        "--warmup", "0",       "--bytes",
                            "16",         "--quiet",  "--out",    out};
    int n = 14;
    if (rate) {
        args[n++] = "--rate";
        args[n++] = rate;
    }
    args[n] = NULL;
    int rc = run_harness(name, args);
    stall_server_stop(&ss);
    cr_assert_eq(rc, 0, "harness load exited %d (log in %s)", rc, tmp_dir);
    json_t *doc = load_json(out);
    cr_assert_str_eq(json_string_value(get(doc, "status")), "ok");
    cr_assert_str_eq(json_string_value(get(get(doc, "params"), "mode")), rate ? "open" : "closed");
    return doc;
}

Test(harness, open_loop_shows_a_stall_that_closed_loop_hides)
{
    json_t *closed = load_stalling("closed", NULL);
    json_t *cl = get(get(closed, "client"), "latency_us");
    /* the stall happened (max) but hit only the 4 requests in flight: p99 stays low */
    cr_assert_geq(num(cl, "max"), 250000, "closed max %.0f us: no stall seen", num(cl, "max"));
    cr_assert_lt(num(cl, "p99"), 100000, "closed p99 %.0f us", num(cl, "p99"));

    /* 1000 req/s: ~300 requests were due during the stall; counted from their intended
       send time, the top 1% waited most of the 300 ms */
    json_t *open = load_stalling("open", "1000");
    json_t *c = get(open, "client");
    json_t *ol = get(c, "latency_us"), *raw = get(c, "latency_uncorrected_us");
    cr_assert_gt(num(c, "requests"), 1000);
    cr_assert_geq(num(ol, "p99"), 200000, "open p99 %.0f us hides the stall", num(ol, "p99"));
    /* counted from the actual send, the same run hides it again (coordinated omission) */
    cr_assert_lt(num(raw, "p99"), 100000, "uncorrected p99 %.0f us", num(raw, "p99"));
    json_decref(closed);
    json_decref(open);
}

Test(harness, refuses_a_remote_target_and_bad_flags)
{
    const char *remote[] = {"load", "--target", "192.0.2.1:80", "--duration", "1", NULL};
    cr_assert_eq(run_harness("remote", remote), 2);
    const char *both[] = {"run", "--impl", "async", "--server-cmd", "true", NULL};
    cr_assert_eq(run_harness("both", both), 2);
    const char *help[] = {"--help", NULL};
    cr_assert_eq(run_harness("help", help), 0);
}
