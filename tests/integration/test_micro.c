/* Integration tests of the microbenchmarks: small runs of bin/spawn_bench and
   bin/switch_bench (from $TVT_BIN_DIR), checking the JSON they write against
   microbench/SCHEMA.md (its key lists: tests/support/micro_schema.c). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/files.h"
#include "../support/json_read.h"
#include "../support/micro_schema.h"
#include "../support/test_env.h"

#define RUN_TIMEOUT_MS 30000

/* the scratch folder holds only files this test made */
TestSuite(micro, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 60);

static struct child last; /* the last run: its stdout and stderr in last.out */

/* Runs $TVT_BIN_DIR/<argv[0]>; as_limit_bytes > 0 sets RLIMIT_AS in the child. Returns its
   exit code (128 + signal when a signal ended it). */
static int run(char *const argv[], rlim_t as_limit_bytes)
{
    char path[512];
    const char *args[32] = {path};
    snprintf(path, sizeof path, "%s/%s", tenv_bin_dir(), argv[0]);
    cr_assert_eq(access(path, X_OK), 0, "%s not found: build it, or set TVT_BIN_DIR", path);
    for (int i = 1; argv[i]; i++) {
        cr_assert_lt(i, 31);
        args[i] = argv[i];
    }
    struct child_limit as = {RLIMIT_AS, as_limit_bytes};
    struct child_opts o = {.limits = &as, .nlimits = as_limit_bytes ? 1 : 0};
    int code = child_run(&last, args, &o, RUN_TIMEOUT_MS);
    cr_assert_neq(code, -1, "%s did not finish in %d ms", argv[0], RUN_TIMEOUT_MS);
    return code;
}

/* The parsed JSON file tfile_scratch/file. */
static json_t *load(const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", tfile_scratch, file);
    return hjson_load(path);
}

/* A complete spawn run: every key, every point made and tore down exactly its N units. */
static json_t *check_spawn(const char *kind, const char *counts, const char *stack_kib)
{
    char *argv[12] = {"spawn_bench",  "--kind", (char *)kind, "--counts",
                      (char *)counts, "--json", "spawn.json"};
    int argc = 7;
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/spawn.json", tfile_scratch);
    argv[6] = json_arg;
    if (stack_kib) {
        argv[argc++] = "--stack-kib";
        argv[argc++] = (char *)stack_kib;
    }
    argv[argc] = NULL;
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "spawn_bench --kind %s exited %d: %s", kind, rc, last.out);

    json_t *doc = load("spawn.json");
    hexpect_keys(doc, SCHEMA_SPAWN_KEYS, "spawn JSON");
    hexpect_keys(json_object_get(doc, "env"), SCHEMA_ENV_KEYS, "env");
    hexpect_keys(json_object_get(doc, "slope"), SCHEMA_SLOPE_KEYS, "slope");
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
        hexpect_keys(p, SCHEMA_POINT_KEYS, "point");
        cr_expect_eq(hint(p, "requested"), n);
        cr_expect_eq(hint(p, "created"), n, "%s: created %lld of %lld", kind,
                     (long long)hint(p, "created"), (long long)n);
        cr_expect_eq(hint(p, "ready"), n);
        cr_expect_eq(hint(p, "torn_down"), n, "%s: tore down %lld of %lld", kind,
                     (long long)hint(p, "torn_down"), (long long)n);
        cr_expect_gt(hint(p, "create_ns"), 0);
        cr_expect_gt(hint(p, "rss_kib"), 0);
        cr_expect(json_is_null(json_object_get(p, "failure")));
        sum += n;
    }
    json_t *tot = json_object_get(doc, "totals");
    cr_expect_eq(hint(tot, "created"), sum);
    cr_expect_eq(hint(tot, "torn_down"), sum);
    cr_expect_eq(hint(json_object_get(doc, "slope"), "points_used"),
                 (json_int_t)json_array_size(points));
    return doc;
}

Test(micro, spawn_task_timer)
{
    json_t *doc = check_spawn("task-timer", "200,1000", NULL);
    /* A task holds no stack: far below a page of address space each. */
    cr_expect_lt(hnum(json_object_get(doc, "slope"), "vsz_bytes_per_unit"), 16384);
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
    json_int_t stack = hint(params, "stack_kib_effective");
    cr_expect_gt(stack, 0);
    /* Each thread maps its whole stack: VSZ grows by about the stack size per thread. */
    double vsz = hnum(json_object_get(doc, "slope"), "vsz_bytes_per_unit");
    cr_expect_geq(vsz, stack * 1024.0 * 0.9, "vsz %.0f B/thread for a %lld KiB stack", vsz,
                  (long long)stack);
    json_t *p = json_array_get(json_object_get(doc, "points"), 1);
    cr_expect_geq(hint(p, "threads"), 61, "the 60 threads were not alive when measured");
    json_decref(doc);
}

Test(micro, spawn_thread_pipe_64k)
{
    json_t *doc = check_spawn("thread-pipe", "20,60", "64");
    cr_expect_eq(hint(json_object_get(doc, "params"), "stack_kib_effective"), 64);
    double vsz = hnum(json_object_get(doc, "slope"), "vsz_bytes_per_unit");
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
        TFILE_SKIP("RLIMIT_AS and sanitizer shadow memory do not mix");
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/wall.json", tfile_scratch);
    char *argv[] = {"spawn_bench", "--kind",          "thread", "--stack-kib", "8192", "--count",
                    "2000",        "--until-failure", "--json", json_arg,      NULL};
    int rc = run(argv, 400u << 20);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, last.out);
    json_t *doc = load("wall.json");
    json_t *wall = json_object_get(doc, "wall");
    cr_assert(json_is_object(wall), "no wall reported");
    json_int_t made = hint(wall, "created");
    cr_expect(made > 0 && made < 2000, "created %lld", (long long)made);
    cr_expect_str_eq(json_string_value(json_object_get(wall, "call")), "pthread_create");
    cr_expect_gt(hint(wall, "errno"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(wall, "limit_hit")), "address_space");
    json_t *tot = json_object_get(doc, "totals");
    cr_expect_eq(hint(tot, "created"), made);
    cr_expect_eq(hint(tot, "torn_down"), made);
    json_decref(doc);

    /* Without --until-failure the same wall is a runtime failure. */
    char *argv2[] = {"spawn_bench", "--kind",  "thread", "--stack-kib",
                     "8192",        "--count", "2000",   NULL};
    cr_expect_eq(run(argv2, 400u << 20), 1);
    cr_expect_not_null(strstr(last.out, "pthread_create"), "%s", last.out);
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
    cr_expect_not_null(strstr(last.out, "/nonexistent-dir/x.json"), "%s", last.out);
}

Test(micro, switch_all_mechanisms)
{
    const char *iters = tenv_sanitized() ? "500" : "3000";
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/switch.json", tfile_scratch);
    char *argv[] = {"switch_bench", "--mech",      "all",    "--ring", "2,7",
                    "--iters",      (char *)iters, "--json", json_arg, NULL};
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "switch_bench exited %d: %s", rc, last.out);
    json_t *doc = load("switch.json");
    hexpect_keys(doc, SCHEMA_SWITCH_KEYS, "switch JSON");
    hexpect_keys(json_object_get(doc, "env"), SCHEMA_ENV_KEYS, "env");
    cr_expect(json_is_true(json_object_get(doc, "ok")));
    json_t *res = json_object_get(doc, "results");
    cr_assert_eq(json_array_size(res), 10, "5 mechanisms x 2 rings");
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *r = json_array_get(res, i);
        const char *mech = json_string_value(json_object_get(r, "mechanism"));
        hexpect_keys(r, SCHEMA_RESULT_KEYS, "result");
        json_int_t n = hint(r, "iters"), ring = hint(r, "ring");
        cr_expect_eq(hint(r, "hops_counted"), n + hint(r, "warmup"), "%s", mech);
        cr_expect_eq(hint(r, "created"), ring, "%s", mech);
        cr_expect_eq(hint(r, "torn_down"), ring, "%s", mech);
        cr_expect(json_is_true(json_object_get(r, "verified")), "%s ring %lld", mech,
                  (long long)ring);
        cr_expect_gt(hnum(r, "ns_per_hop"), 0);
        if (!strncmp(mech, "thread", 6)) /* Each pass blocks the passing thread in the kernel. */
            cr_expect_geq(hint(r, "nvcsw"), n / 2, "%s: %lld switches for %lld passes", mech,
                          (long long)hint(r, "nvcsw"), (long long)n);
        else if (!strcmp(mech, "task-feed"))
            /* Nothing ever blocks: the loop's thread keeps the CPU. */
            cr_expect_lt(hint(r, "nvcsw"), n / 10, "task-feed blocked %lld times",
                         (long long)hint(r, "nvcsw"));
    }
    json_decref(doc);
}

Test(micro, switch_pinned_threads_switch_every_pass)
{
    /* On one CPU a pass cannot complete without the kernel switching threads. */
    char json_arg[600];
    snprintf(json_arg, sizeof json_arg, "%s/pinned.json", tfile_scratch);
    char *argv[] = {"switch_bench", "--mech", "thread-pipe,thread-cond",
                    "--ring",       "2",      "--iters",
                    "2000",         "--pin",  "0",
                    "--json",       json_arg, NULL};
    int rc = run(argv, 0);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, last.out);
    json_t *doc = load("pinned.json");
    cr_expect_eq(hint(json_object_get(doc, "params"), "pin_cpu"), 0);
    json_t *res = json_object_get(doc, "results");
    cr_assert_eq(json_array_size(res), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_array_get(res, i);
        cr_expect_geq(hnum(r, "switches_per_hop"), 0.9, "%s",
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
        cr_expect_eq(run((char *const *)bad[i], 0), 2, "case %zu: %s", i, last.out);
    char *help[] = {"switch_bench", "--help", NULL};
    cr_expect_eq(run(help, 0), 0);
}
