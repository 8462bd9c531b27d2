/* Integration test of `make compare`: scripts/compare.sh --rounds 1 --duration 1 into a
 * temporary folder, then checks compare.json: both ratios (async/nginx, harness/wrk) are
 * positive numbers and each section has one row per round. Skips without nginx or wrk. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/json_read.h"
#include "../support/test_env.h"

/* About 15 s here (six servers and two generators, 1 s each); the bound is for a stuck run
 * on a busy machine, not the expected time. */
#define COMPARE_TIMEOUT_S 90
#define ROUNDS            1

static char out_dir[] = "/tmp/tvt-compare-XXXXXX";
static char log_path[64];

static void cleanup(void)
{
    tfile_rm_tree(out_dir);
    if (log_path[0])
        unlink(log_path);
}

/* Runs scripts/compare.sh with argv[] in its own process group, output in log_path;
 * stops the group if it outlives COMPARE_TIMEOUT_S. Returns its exit code. */
static int run_compare(const char *const argv[])
{
    static struct child c;
    struct child_opts o = {.log = log_path, .group = true};
    int code = child_run(&c, argv, &o, COMPARE_TIMEOUT_S * 1000);
    cr_assert_neq(code, -1, "compare.sh ran over %d s; log tail:\n%s", COMPARE_TIMEOUT_S,
                  tfile_tail(log_path));
    return code;
}

/* One section of compare.json: its median ratio and every round's ratio are positive
 * numbers, and it has one row per round, numbered 1..ROUNDS. */
static void check_section(const json_t *doc, const char *key)
{
    const json_t *sec = json_object_get(doc, key);
    cr_assert(json_is_object(sec), "compare.json has no object \"%s\"", key);
    const json_t *skipped = json_object_get(sec, "skipped");
    cr_expect(skipped == NULL || json_is_null(skipped), "%s was skipped: %s", key,
              json_is_string(skipped) ? json_string_value(skipped) : "?");
    const json_t *median = json_object_get(sec, "median_ratio");
    cr_expect(json_is_real(median) && json_real_value(median) > 0,
              "%s.median_ratio is not a positive number; log tail:\n%s", key, tfile_tail(log_path));
    const json_t *rounds = json_object_get(sec, "rounds");
    cr_assert(json_is_array(rounds), "%s.rounds is not an array", key);
    cr_expect_eq(json_array_size(rounds), ROUNDS, "%s has %zu rows for %d rounds", key,
                 json_array_size(rounds), ROUNDS);
    size_t i;
    const json_t *row;
    json_array_foreach(rounds, i, row)
    {
        const json_t *n = json_object_get(row, "round");
        cr_expect(json_is_integer(n) && json_integer_value(n) == (json_int_t)i + 1,
                  "%s row %zu is not round %zu", key, i, i + 1);
        const json_t *ratio = json_object_get(row, "ratio");
        cr_expect(json_is_real(ratio) && json_real_value(ratio) > 0,
                  "%s round %zu has no positive ratio", key, i + 1);
    }
}

TestSuite(compare, .fini = cleanup, .timeout = COMPARE_TIMEOUT_S + 30);

Test(compare, one_round_gives_both_ratios)
{
    char p[512];
    hrun_need("compare.sh");
    if (!tenv_find_program("nginx", p, sizeof p))
        cr_skip("nginx is not installed (apt-get install nginx-light): no async/nginx ratio");
    if (!tenv_find_program("wrk", p, sizeof p))
        cr_skip("wrk is not installed (apt-get install wrk): no harness/wrk ratio");

    tfile_mkdtemp(out_dir);
    snprintf(log_path, sizeof log_path, "%s.log", out_dir);
    const char *const argv[] = {
        "scripts/compare.sh", "--rounds", "1", "--duration", "1", "--out", out_dir, NULL};
    int code = run_compare(argv);
    cr_assert_eq(code, 0, "compare.sh exited %d; log tail:\n%s", code, tfile_tail(log_path));

    snprintf(p, sizeof p, "%s/compare.json", out_dir);
    json_t *doc = hjson_load(p);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "schema")), "tvt-compare/1");
    cr_expect_str_eq(json_string_value(json_object_get(doc, "status")), "ok");
    check_section(doc, "async_vs_nginx");
    check_section(doc, "harness_vs_wrk");
    cr_expect(json_is_object(json_object_get(doc, "env")), "compare.json has no env");
    json_decref(doc);
}

Test(compare, bad_arguments_are_usage_errors)
{
    const char *const zero[] = {"scripts/compare.sh", "--rounds", "0", NULL};
    const char *const frac[] = {"scripts/compare.sh", "--duration", "1.5", NULL};
    const char *const unknown[] = {"scripts/compare.sh", "--bogus", NULL};
    const char *const *cases[] = {zero, frac, unknown};
    snprintf(log_path, sizeof log_path, "/tmp/tvt-compare-usage-%d.log", (int)getpid());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = run_compare(cases[i]);
        cr_expect_eq(code, 2, "compare.sh %s exited %d, not 2; log:\n%s", cases[i][1], code,
                     tfile_tail(log_path));
    }
}
