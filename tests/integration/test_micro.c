/* Integration tests of the microbenchmarks: small runs of bin/spawn_bench and
   bin/switch_bench (from $TVT_BIN_DIR), checking the JSON they write. */
#include "../support/test_env.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_TIMEOUT_MS 30000

static char tmpdir[] = "/tmp/tvt-micro-XXXXXX";

static void setup(void)
{
    strcpy(tmpdir, "/tmp/tvt-micro-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    /* Only files this test made, in its own mkdtemp folder. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(micro, .init = setup, .fini = teardown, .timeout = 60);

static void bin_path(const char *name, char *out, size_t cap)
{
    const char *dir = getenv("TVT_BIN_DIR");
    snprintf(out, cap, "%s/%s", dir && *dir ? dir : "bin", name);
}

/* Runs bin/<argv[0]> with stdout and stderr to files in tmpdir; as_limit_bytes > 0 sets
   RLIMIT_AS in the child. Returns the exit status, or -1 if it was killed or timed out. */
static int run(char *const argv[], rlim_t as_limit_bytes)
{
    char path[512], out[600], err[600];
    bin_path(argv[0], path, sizeof path);
    cr_assert_eq(access(path, X_OK), 0, "%s not found: build it, or set TVT_BIN_DIR", path);
    snprintf(out, sizeof out, "%s/stdout", tmpdir);
    snprintf(err, sizeof err, "%s/stderr", tmpdir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        if (as_limit_bytes) {
            struct rlimit rl = {as_limit_bytes, as_limit_bytes};
            setrlimit(RLIMIT_AS, &rl);
        }
        execv(path, argv);
        _exit(127);
    }
    int status;
    for (int waited = 0;; waited += 5) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (waited >= RUN_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s did not finish in %d ms", argv[0], RUN_TIMEOUT_MS);
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp_stderr(void)
{
    static char buf[4096];
    char path[600];
    snprintf(path, sizeof path, "%s/stderr", tmpdir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static json_t *load(const char *file)
{
    char path[600];
    json_error_t e;
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s (stderr: %s)", path, e.text, slurp_stderr());
    return j;
}

static json_int_t ival(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "key %s is not an integer", key);
    return json_integer_value(v);
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "key %s is not a number", key);
    return json_number_value(v);
}

static void expect_keys(json_t *o, const char *const *keys, const char *what)
{
    for (; *keys; keys++)
        cr_expect_not_null(json_object_get(o, *keys), "%s has no key %s", what, *keys);
}

static const char *const ENV_KEYS[] = {"kernel",        "cpu_model",
                                       "cores",         "mem_kib",
                                       "pid_max",       "threads_max",
                                       "nproc_limit",   "nofile_limit",
                                       "max_map_count", "libev_version",
                                       "cc_version",    "git_commit",
                                       "date",          NULL};
static const char *const SPAWN_KEYS[] = {"bench",  "kind",  "unit",   "params", "env", "baseline",
                                         "points", "slope", "totals", "wall",   "ok",  NULL};
static const char *const POINT_KEYS[] = {"requested",
                                         "created",
                                         "ready",
                                         "torn_down",
                                         "create_ns",
                                         "ready_ns",
                                         "teardown_ns",
                                         "create_ns_per_unit",
                                         "ready_ns_per_unit",
                                         "teardown_ns_per_unit",
                                         "rss_kib",
                                         "vsz_kib",
                                         "pss_kib",
                                         "rss_anon_kib",
                                         "threads",
                                         "rss_delta_kib",
                                         "vsz_delta_kib",
                                         "pss_delta_kib",
                                         "rss_anon_delta_kib",
                                         "rss_bytes_per_unit",
                                         "vsz_bytes_per_unit",
                                         "pss_bytes_per_unit",
                                         "kernel_stack_delta_kib",
                                         "sunreclaim_delta_kib",
                                         "kernel_stack_bytes_per_unit",
                                         "sunreclaim_bytes_per_unit",
                                         "failure",
                                         NULL};
static const char *const SLOPE_KEYS[] = {"points_used",
                                         "rss_bytes_per_unit",
                                         "vsz_bytes_per_unit",
                                         "pss_bytes_per_unit",
                                         "rss_anon_bytes_per_unit",
                                         "kernel_stack_bytes_per_unit",
                                         "sunreclaim_bytes_per_unit",
                                         "create_ns_per_unit",
                                         "teardown_ns_per_unit",
                                         NULL};

/* A complete spawn run: every key, every point made and tore down exactly its N units. */
static json_t *check_spawn(const char *kind, const char *counts, const char *stack_kib)
{
    char *argv[12] = {"spawn_bench",  "--kind", (char *)kind, "--counts",
                      (char *)counts, "--json", "spawn.json"};
    int argc = 7;
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/spawn.json", tmpdir);
    argv[6] = json_arg;
    if (stack_kib) {
        argv[argc++] = "--stack-kib";
        argv[argc++] = (char *)stack_kib;
    }
    argv[argc] = NULL;
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "spawn_bench --kind %s exited %d: %s", kind, rc, slurp_stderr());

    json_t *doc = load("spawn.json");
    expect_keys(doc, SPAWN_KEYS, "spawn JSON");
    expect_keys(json_object_get(doc, "env"), ENV_KEYS, "env");
    expect_keys(json_object_get(doc, "slope"), SLOPE_KEYS, "slope");
    cr_expect_str_eq(json_string_value(json_object_get(doc, "kind")), kind);
    cr_expect(json_is_true(json_object_get(doc, "ok")));
    cr_expect(json_is_null(json_object_get(doc, "wall")));

    json_t *counts_j = json_object_get(json_object_get(doc, "params"), "counts");
    json_t *points = json_object_get(doc, "points");
    cr_assert_eq(json_array_size(points), json_array_size(counts_j));
    json_int_t sum = 0;
    for (size_t i = 0; i < json_array_size(points); i++) {
        json_t *p = json_array_get(points, i);
        json_int_t n = json_integer_value(json_array_get(counts_j, i));
        expect_keys(p, POINT_KEYS, "point");
        cr_expect_eq(ival(p, "requested"), n);
        cr_expect_eq(ival(p, "created"), n, "%s: created %lld of %lld", kind,
                     (long long)ival(p, "created"), (long long)n);
        cr_expect_eq(ival(p, "ready"), n);
        cr_expect_eq(ival(p, "torn_down"), n, "%s: tore down %lld of %lld", kind,
                     (long long)ival(p, "torn_down"), (long long)n);
        cr_expect_gt(ival(p, "create_ns"), 0);
        cr_expect_gt(ival(p, "rss_kib"), 0);
        cr_expect(json_is_null(json_object_get(p, "failure")));
        sum += n;
    }
    json_t *tot = json_object_get(doc, "totals");
    cr_expect_eq(ival(tot, "created"), sum);
    cr_expect_eq(ival(tot, "torn_down"), sum);
    cr_expect_eq(ival(json_object_get(doc, "slope"), "points_used"),
                 (json_int_t)json_array_size(points));
    return doc;
}

Test(micro, spawn_task_timer)
{
    json_t *doc = check_spawn("task-timer", "200,1000", NULL);
    /* A task holds no stack: far below a page of address space each. */
    cr_expect_lt(num(json_object_get(doc, "slope"), "vsz_bytes_per_unit"), 16384);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "unit")), "task");
    json_decref(doc);
}

Test(micro, spawn_task_io)
{
    json_decref(check_spawn("task-io", "50,200", NULL));
}

Test(micro, spawn_thread_cond_default_stack)
{
    json_t *doc = check_spawn("thread-cond", "20,60", NULL);
    json_t *params = json_object_get(doc, "params");
    json_int_t stack = ival(params, "stack_kib_effective");
    cr_expect_gt(stack, 0);
    /* Each thread maps its whole stack: VSZ grows by about the stack size per thread. */
    double vsz = num(json_object_get(doc, "slope"), "vsz_bytes_per_unit");
    cr_expect_geq(vsz, stack * 1024.0 * 0.9, "vsz %.0f B/thread for a %lld KiB stack", vsz,
                  (long long)stack);
    json_t *p = json_array_get(json_object_get(doc, "points"), 1);
    cr_expect_geq(ival(p, "threads"), 61, "the 60 threads were not alive when measured");
    json_decref(doc);
}

Test(micro, spawn_thread_pipe_64k)
{
    json_t *doc = check_spawn("thread-pipe", "20,60", "64");
    cr_expect_eq(ival(json_object_get(doc, "params"), "stack_kib_effective"), 64);
    double vsz = num(json_object_get(doc, "slope"), "vsz_bytes_per_unit");
    cr_expect_geq(vsz, 60 * 1024, "vsz %.0f B/thread for 64 KiB stacks", vsz);
    /* Sanitizers map their own per-thread memory; only the plain build is this tight. */
    if (!tenv_sanitized())
        cr_expect_leq(vsz, 200 * 1024, "vsz %.0f B/thread for 64 KiB stacks", vsz);
    json_decref(doc);
}

Test(micro, spawn_thread_wall_reports_limit)
{
    /* An address-space limit makes a wall at a few dozen 8 MiB stacks, without touching
       the system-wide pid space that others share. Sanitizers reserve terabytes of
       shadow memory, which RLIMIT_AS forbids, so this runs in the plain build only. */
    if (tenv_sanitized())
        cr_skip_test("RLIMIT_AS and sanitizer shadow memory do not mix");
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/wall.json", tmpdir);
    char *argv[] = {"spawn_bench", "--kind",          "thread", "--stack-kib", "8192", "--count",
                    "2000",        "--until-failure", "--json", json_arg,      NULL};
    int rc = run(argv, 400u << 20);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, slurp_stderr());
    json_t *doc = load("wall.json");
    json_t *wall = json_object_get(doc, "wall");
    cr_assert(json_is_object(wall), "no wall reported");
    json_int_t made = ival(wall, "created");
    cr_expect(made > 0 && made < 2000, "created %lld", (long long)made);
    cr_expect_str_eq(json_string_value(json_object_get(wall, "call")), "pthread_create");
    cr_expect_gt(ival(wall, "errno"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(wall, "limit_hit")), "address_space");
    json_t *tot = json_object_get(doc, "totals");
    cr_expect_eq(ival(tot, "created"), made);
    cr_expect_eq(ival(tot, "torn_down"), made);
    json_decref(doc);

    /* Without --until-failure the same wall is a runtime failure. */
    char *argv2[] = {"spawn_bench", "--kind",  "thread", "--stack-kib",
                     "8192",        "--count", "2000",   NULL};
    cr_expect_eq(run(argv2, 400u << 20), 1);
    cr_expect_not_null(strstr(slurp_stderr(), "pthread_create"), "%s", slurp_stderr());
}

Test(micro, spawn_usage_errors)
{
    /* Table: bad command lines exit 2; an unwritable --json exits 1 naming the file. */
    static const char *bad[][8] = {
        {"spawn_bench", "--count", "0", NULL},
        {"spawn_bench", "--kind", "fiber", "--count", "10", NULL},
        {"spawn_bench", "--counts", "100,10", NULL},
        {"spawn_bench", "--kind", "thread", "--stack-kib", "1", "--count", "10", NULL},
        {"spawn_bench", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(run((char *const *)bad[i], 0), 2, "case %zu", i);
    char *help[] = {"spawn_bench", "--help", NULL};
    cr_expect_eq(run(help, 0), 0);
    char *unwritable[] = {"spawn_bench", "--count", "10", "--json", "/nonexistent-dir/x.json",
                          NULL};
    cr_expect_eq(run(unwritable, 0), 1);
    cr_expect_not_null(strstr(slurp_stderr(), "/nonexistent-dir/x.json"), "%s", slurp_stderr());
}

static const char *const SWITCH_RESULT_KEYS[] = {"mechanism",
                                                 "unit",
                                                 "ring",
                                                 "iters",
                                                 "warmup",
                                                 "hops_counted",
                                                 "elapsed_ns",
                                                 "ns_per_hop",
                                                 "baseline_ns_per_hop",
                                                 "ns_per_switch",
                                                 "nvcsw",
                                                 "nivcsw",
                                                 "switches_per_hop",
                                                 "verified",
                                                 "created",
                                                 "torn_down",
                                                 "ok",
                                                 "error",
                                                 NULL};

Test(micro, switch_all_mechanisms)
{
    const char *iters = tenv_sanitized() ? "500" : "3000";
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/switch.json", tmpdir);
    char *argv[] = {"switch_bench", "--mech",      "all",    "--ring", "2,7",
                    "--iters",      (char *)iters, "--json", json_arg, NULL};
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "switch_bench exited %d: %s", rc, slurp_stderr());
    json_t *doc = load("switch.json");
    expect_keys(doc, (const char *const[]){"bench", "params", "env", "results", "ok", NULL},
                "switch JSON");
    expect_keys(json_object_get(doc, "env"), ENV_KEYS, "env");
    cr_expect(json_is_true(json_object_get(doc, "ok")));
    json_t *res = json_object_get(doc, "results");
    cr_assert_eq(json_array_size(res), 10, "5 mechanisms x 2 rings");
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *r = json_array_get(res, i);
        const char *mech = json_string_value(json_object_get(r, "mechanism"));
        expect_keys(r, SWITCH_RESULT_KEYS, "result");
        json_int_t n = ival(r, "iters"), ring = ival(r, "ring");
        cr_expect_eq(ival(r, "hops_counted"), n + ival(r, "warmup"), "%s", mech);
        cr_expect_eq(ival(r, "created"), ring, "%s", mech);
        cr_expect_eq(ival(r, "torn_down"), ring, "%s", mech);
        cr_expect(json_is_true(json_object_get(r, "verified")), "%s ring %lld", mech,
                  (long long)ring);
        cr_expect_gt(num(r, "ns_per_hop"), 0);
        if (!strncmp(mech, "thread", 6)) /* Each pass blocks the passing thread in the kernel. */
            cr_expect_geq(ival(r, "nvcsw"), n / 2, "%s: %lld switches for %lld passes", mech,
                          (long long)ival(r, "nvcsw"), (long long)n);
        else if (!strcmp(mech, "task-feed"))
            /* Nothing ever blocks: the loop's thread keeps the CPU. */
            cr_expect_lt(ival(r, "nvcsw"), n / 10, "task-feed blocked %lld times",
                         (long long)ival(r, "nvcsw"));
    }
    json_decref(doc);
}

Test(micro, switch_pinned_threads_switch_every_pass)
{
    /* On one CPU a pass cannot complete without the kernel switching threads. */
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/pinned.json", tmpdir);
    char *argv[] = {"switch_bench", "--mech", "thread-pipe,thread-cond",
                    "--ring",       "2",      "--iters",
                    "2000",         "--pin",  "0",
                    "--json",       json_arg, NULL};
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, slurp_stderr());
    json_t *doc = load("pinned.json");
    cr_expect_eq(ival(json_object_get(doc, "params"), "pin_cpu"), 0);
    json_t *res = json_object_get(doc, "results");
    cr_assert_eq(json_array_size(res), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_array_get(res, i);
        cr_expect_geq(num(r, "switches_per_hop"), 0.9, "%s",
                      json_string_value(json_object_get(r, "mechanism")));
    }
    json_decref(doc);
}

Test(micro, switch_usage_errors)
{
    static const char *bad[][4] = {
        {"switch_bench", "--ring", "1", NULL},
        {"switch_bench", "--mech", "goroutine", NULL},
        {"switch_bench", "--iters", "0", NULL},
        {"switch_bench", "--pin", "4095", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(run((char *const *)bad[i], 0), 2, "case %zu: %s", i, slurp_stderr());
    char *help[] = {"switch_bench", "--help", NULL};
    cr_expect_eq(run(help, 0), 0);
}
