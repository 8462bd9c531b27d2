/* test_tokio_micro: bin/tokio_micro writes the JSON of spawn_bench and switch_bench.
 *
 * Small runs of each kind (tokio-timer and tokio-chan on both runtimes, std-thread) and of
 * each switch mechanism: every key microbench/SCHEMA.md requires is there, the units were
 * all created and torn down, a task's future holds its state, the switch passes were
 * counted, and bad flags exit 2. Skipped, saying why, when `make contestants` has not built
 * bin/tokio_micro. */
#include <criterion/criterion.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/json_read.h"
#include "../support/micro_schema.h"
#include "../support/test_env.h"

#define MICRO "bin/tokio_micro"

static json_t *doc;
static char json_path[128];

static void release(void)
{
    json_decref(doc);
    doc = NULL;
    if (json_path[0])
        unlink(json_path);
}

static void need_micro(void)
{
    if (access(MICRO, X_OK) < 0)
        cr_skip_test("%s: %s (build it with `make contestants`; it needs cargo and "
                     "librust-tokio-dev)",
                     MICRO, strerror(errno));
}

/* Runs tokio_micro with args (NULL-terminated, after the program) and --json; asserts exit 0
   and returns the parsed file (freed by release). */
static json_t *run_json(const char *const *args)
{
    char *argv[32] = {MICRO};
    char out[16384];
    int n = 1;
    snprintf(json_path, sizeof json_path, "/tmp/tvt-tokio-micro-%d.json", (int)getpid());
    for (int i = 0; args[i] && n < 28; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = "--json";
    argv[n++] = json_path;
    argv[n] = NULL;
    int st = tenv_run_cmd(argv, out, sizeof out, (int)(60000 * tenv_slack()));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s: status %d: %s", MICRO, args[0], st,
              out);
    json_decref(doc);
    doc = hjson_load(json_path);
    return doc;
}

static void check_spawn(const char *kind, const char *runtime, const char *unit)
{
    need_micro();
    const char *args[] = {"spawn",    "--kind",
                          kind,       "--counts",
                          "200,2000", "--state-bytes",
                          "256",      runtime ? "--runtime" : NULL,
                          runtime,    NULL};
    json_t *d = run_json(args);
    hexpect_keys(d, SCHEMA_SPAWN_KEYS, "the spawn file");
    hexpect_keys(json_object_get(d, "params"), SCHEMA_SPAWN_PARAMS_KEYS, "params");
    hexpect_keys(json_object_get(d, "env"), SCHEMA_ENV_KEYS, "env");
    hexpect_keys(json_object_get(d, "baseline"), SCHEMA_BASELINE_KEYS, "baseline");
    hexpect_keys(json_object_get(d, "slope"), SCHEMA_SLOPE_KEYS, "slope");
    cr_assert_str_eq(json_string_value(json_object_get(d, "bench")), "spawn");
    cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), kind);
    cr_assert_str_eq(json_string_value(json_object_get(d, "unit")), unit);
    cr_assert(json_is_true(json_object_get(d, "ok")), "ok is not true");
    json_t *pts = json_object_get(d, "points");
    cr_assert(json_array_size(pts) == 2, "%zu points, want 2", json_array_size(pts));
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(pts, i);
        hexpect_keys(p, SCHEMA_POINT_KEYS, "a point");
        json_int_t want = i ? 2000 : 200;
        cr_assert(json_integer_value(json_object_get(p, "created")) == want &&
                      json_integer_value(json_object_get(p, "ready")) == want &&
                      json_integer_value(json_object_get(p, "torn_down")) == want,
                  "point %zu: not %lld created, ready and torn down", i, (long long)want);
        cr_assert(json_real_value(json_object_get(p, "create_ns_per_unit")) > 0,
                  "point %zu: no creation time", i);
    }
    /* Each unit writes 256 bytes of state it keeps: the slope cannot be below that. */
    double rss =
        json_real_value(json_object_get(json_object_get(d, "slope"), "rss_bytes_per_unit"));
    cr_assert(rss >= 256, "rss slope %.0f B/unit, below the 256 B of state each unit keeps", rss);
    /* The future a task stores holds the 256 bytes; a thread has no future. */
    json_t *fb = json_object_get(d, "future_bytes");
    if (runtime)
        cr_assert(json_integer_value(fb) >= 256, "future_bytes %lld, below the 256 B of state",
                  (long long)json_integer_value(fb));
    else
        cr_assert(json_is_null(fb), "a thread file with a future_bytes");
    if (runtime)
        cr_assert_str_eq(json_string_value(json_object_get(d, "runtime")), runtime);
    else
        cr_assert(json_integer_value(
                      json_object_get(json_object_get(d, "params"), "stack_kib_effective")) > 0,
                  "a thread file without its stack size");
}

TestSuite(tokio_micro, .fini = release, .timeout = 120);

Test(tokio_micro, spawn_timer_current)
{
    check_spawn("tokio-timer", "current", "task");
}

Test(tokio_micro, spawn_chan_multi)
{
    check_spawn("tokio-chan", "multi", "task");
}

Test(tokio_micro, spawn_std_thread)
{
    check_spawn("std-thread", NULL, "thread");
}

static void check_switch(const char *runtime)
{
    need_micro();
    const char *args[] = {"switch",  "--mech", "all",       "--ring", "2,20",
                          "--iters", "3000",   "--runtime", runtime,  NULL};
    json_t *d = run_json(args);
    hexpect_keys(d, SCHEMA_SWITCH_KEYS, "the switch file");
    hexpect_keys(json_object_get(d, "params"), SCHEMA_SWITCH_PARAMS_KEYS, "params");
    cr_assert_str_eq(json_string_value(json_object_get(d, "bench")), "switch");
    json_t *rs = json_object_get(d, "results");
    cr_assert(json_array_size(rs) == 8, "%zu results, want 4 mechanisms x 2 rings",
              json_array_size(rs));
    for (size_t i = 0; i < json_array_size(rs); i++) {
        json_t *r = json_array_get(rs, i);
        const char *m = json_string_value(json_object_get(r, "mechanism"));
        hexpect_keys(r, SCHEMA_RESULT_KEYS, m ? m : "a result");
        cr_assert(json_is_true(json_object_get(r, "ok")), "%s: not ok: %s", m,
                  json_string_value(json_object_get(r, "error")));
        json_int_t hops = json_integer_value(json_object_get(r, "hops_counted"));
        json_int_t want = json_integer_value(json_object_get(r, "warmup")) + 3000;
        cr_assert(hops == want, "%s: %lld passes counted, want %lld", m, (long long)hops,
                  (long long)want);
        cr_assert(json_real_value(json_object_get(r, "ns_per_hop")) > 0, "%s: no time per hop", m);
    }
    cr_assert(json_is_true(json_object_get(d, "ok")), "ok is not true");
}

Test(tokio_micro, switch_current)
{
    check_switch("current");
}

Test(tokio_micro, switch_multi)
{
    check_switch("multi");
}

Test(tokio_micro, usage_errors)
{
    need_micro();
    static const char *const bad[][6] = {
        {MICRO, "spawn", NULL},
        {MICRO, "spawn", "--count", "10", "--kind", "nope"},
        {MICRO, "spawn", "--count", "10", "--state-bytes", "100"},
        {MICRO, "spawn", "--counts", "100,10", NULL},
        {MICRO, "switch", "--ring", "1", NULL},
        {MICRO, "fly", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[4096];
        int st = tenv_run_cmd((char *const *)bad[i], out, sizeof out, 10000);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s %s: status %d, want 2: %s",
                  bad[i][1], bad[i][2] ? bad[i][2] : "", bad[i][3] ? bad[i][3] : "", st, out);
    }
}
