/* test_workload.c: workload parsing bounds and the CPU spin. */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "workload.h"

struct u32_case {
    const char *text;
    uint32_t max;
    int ok;
    uint32_t value;
};

static const struct u32_case U32[] = {
    {"0", 10, 1, 0},   /* zero is a value */
    {"10", 10, 1, 10}, /* the maximum itself is allowed */
    {"11", 10, 0, 0},  /* one past is not */
    {"", 10, 0, 0},    /* empty */
    {"-1", 10, 0, 0},  /* no sign */
    {"+1", 10, 0, 0},
    {"1a", 10, 0, 0}, /* trailing junk */
    {" 1", 10, 0, 0}, /* no spaces */
    {"4294967295", 4294967295u, 1, 4294967295u},
    {"4294967296", 4294967295u, 0, 0},  /* overflows uint32 */
    {"99999999999", 4294967295u, 0, 0}, /* 11 digits */
    {"0000000001", 10, 1, 1},           /* leading zeros within 10 digits */
};

Test(workload, parse_u32_table)
{
    for (size_t i = 0; i < sizeof(U32) / sizeof(U32[0]); i++) {
        uint32_t v = 12345;
        int rc = workload_parse_u32(U32[i].text, strlen(U32[i].text), U32[i].max, &v);
        cr_assert_eq(rc == 0, U32[i].ok, "'%s' max %u: rc %d", U32[i].text, U32[i].max, rc);
        if (U32[i].ok)
            cr_assert_eq(v, U32[i].value, "'%s'", U32[i].text);
        else
            cr_assert_eq(v, 12345, "'%s': failure must not write the output", U32[i].text);
    }
}

Test(workload, query_applies_over_defaults)
{
    struct workload w = {1, 2, 3};
    char err[128];
    const char *q = "bytes=64&wait_us=2000";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.wait_us, 2000);
    cr_assert_eq(w.work_us, 2, "untouched fields keep the default");
    cr_assert_eq(w.bytes, 64);
}

Test(workload, bad_query_leaves_workload_unchanged)
{
    struct workload w = {1, 2, 3};
    char err[128] = "";
    const char *q = "bytes=64&wait_us=70000000";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), -1);
    cr_assert_eq(w.bytes, 3, "a rejected query applies nothing");
    cr_assert(strstr(err, "wait_us") != NULL, "the reason names the field: %s", err);
}

Test(workload, unknown_key_is_named)
{
    struct workload w = {0, 0, 0};
    char err[128] = "";
    const char *q = "wiat_us=5";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), -1);
    cr_assert(strstr(err, "wiat_us") != NULL, "%s", err);
}

Test(workload, query_is_not_nul_terminated)
{
    struct workload w = {0, 0, 0};
    char err[128];
    const char buf[] = "bytes=12345"; /* only "bytes=12" is the query */

    cr_assert_eq(workload_parse_query(&w, buf, 8, err, sizeof(err)), 0);
    cr_assert_eq(w.bytes, 12);
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test(workload, spin_burns_cpu_time_not_wall_time)
{
    double before = thread_cpu_ms();
    workload_spin(20000);
    double used = thread_cpu_ms() - before;

    /* At least the requested CPU; the upper bound is loose (a shared machine),
     * it only catches a spin that never stops checking. */
    cr_assert_geq(used, 20.0, "spun %.3f ms of CPU for 20 ms asked", used);
    cr_assert_lt(used, 40.0, "spun %.3f ms of CPU for 20 ms asked", used);
}

Test(workload, spin_zero_returns_at_once)
{
    double before = thread_cpu_ms();
    workload_spin(0);
    cr_assert_lt(thread_cpu_ms() - before, 1.0);
}
