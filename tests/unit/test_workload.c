/* test_workload.c: workload parsing bounds (waits, kinds, shared state) and the CPU spin. */
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
    struct workload w = {1, 2, 3, IO_TIMER, 4, STATE_NONE, 2, "-"};
    char err[128];
    const char *q = "bytes=64&wait_us=2000";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.wait_us, 2000);
    cr_assert_eq(w.work_us, 2, "untouched fields keep the default");
    cr_assert_eq(w.bytes, 64);
}

Test(workload, bad_query_leaves_workload_unchanged)
{
    struct workload w = {1, 2, 3, IO_TIMER, 4, STATE_NONE, 2, "-"};
    char err[128] = "";
    const char *q = "bytes=64&wait_us=70000000";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), -1);
    cr_assert_eq(w.bytes, 3, "a rejected query applies nothing");
    cr_assert(strstr(err, "wait_us") != NULL, "the reason names the field: %s", err);
}

Test(workload, unknown_key_is_named)
{
    struct workload w = {0, 0, 0, IO_TIMER, 4, STATE_NONE, 2, "-"};
    char err[128] = "";
    const char *q = "wiat_us=5";

    cr_assert_eq(workload_parse_query(&w, q, strlen(q), err, sizeof(err)), -1);
    cr_assert(strstr(err, "wiat_us") != NULL, "%s", err);
}

Test(workload, query_is_not_nul_terminated)
{
    struct workload w = {0, 0, 0, IO_TIMER, 4, STATE_NONE, 2, "-"};
    char err[128];
    const char buf[] = "bytes=12345"; /* only "bytes=12" is the query */

    cr_assert_eq(workload_parse_query(&w, buf, 8, err, sizeof(err)), 0);
    cr_assert_eq(w.bytes, 12);
}

/* The io and file_kib keys, one query each over defaults {wait 1, work 2, bytes 3, timer,
 * 4 KiB}: what it sets, or that it is refused with a reason naming the key. */
struct query_case {
    const char *query;
    int ok;
    uint32_t io, file_kib;    /* when ok */
    const char *must_mention; /* when refused */
};

static const struct query_case QUERIES[] = {
    {"io=timer", 1, IO_TIMER, 4, NULL},                /* the default kind, named */
    {"io=net", 1, IO_NET, 4, NULL},                    /* a backend request */
    {"io=file", 1, IO_FILE, 4, NULL},                  /* a file read of the default size */
    {"io=file&file_kib=1024", 1, IO_FILE, 1024, NULL}, /* the largest read */
    {"file_kib=4", 1, IO_TIMER, 4, NULL},              /* the smallest; the kind stays */
    {"file_kib=8&io=file", 1, IO_FILE, 8, NULL},       /* any order */
    {"io=net&io=file", 1, IO_FILE, 4, NULL},           /* the last one wins, as for numbers */
    {"file_kib=0004", 1, IO_TIMER, 4, NULL},           /* leading zeros, as for numbers */
    {"io=", 0, 0, 0, "io"},                            /* empty */
    {"io=disk", 0, 0, 0, "io"},                        /* unknown kind */
    {"io=NET", 0, 0, 0, "io"},                         /* kinds are lower case */
    {"io=net2", 0, 0, 0, "io"},                        /* a known kind's prefix is not enough */
    {"io=ne", 0, 0, 0, "io"},                          /* nor a prefix of one */
    {"io", 0, 0, 0, "io"},                             /* no value */
    {"file_kib=0", 0, 0, 0, "file_kib"},               /* below 4 */
    {"file_kib=2", 0, 0, 0, "file_kib"},               /* below 4 */
    {"file_kib=6", 0, 0, 0, "file_kib"},               /* not a multiple of 4: never rounded */
    {"file_kib=1028", 0, 0, 0, "file_kib"},            /* past 1024: never clamped */
    {"file_kib=4096", 0, 0, 0, "file_kib"},
    {"file_kib=-4", 0, 0, 0, "file_kib"},        /* no sign */
    {"file_kib=4k", 0, 0, 0, "file_kib"},        /* no unit */
    {"file_kib=", 0, 0, 0, "file_kib"},          /* empty */
    {"io=file&file_kib=5", 0, 0, 0, "file_kib"}, /* one bad key refuses the whole query */
};

/* Parses query over the defaults {wait 1, work 2, bytes 3, timer, file_kib 4, state none,
   share_us 2, key "-"} and asserts that it is accepted when ok, else refused with a reason
   naming must_mention. The workload after it. */
static struct workload parse_over_defaults(const char *query, int ok, const char *must_mention)
{
    struct workload w = {1, 2, 3, IO_TIMER, 4, STATE_NONE, 2, "-"};
    char err[256] = "";
    int rc = workload_parse_query(&w, query, strlen(query), err, sizeof(err));
    cr_assert_eq(rc == 0, ok, "'%s': rc %d (%s)", query, rc, err);
    if (!ok)
        cr_assert(strstr(err, must_mention) != NULL, "'%s': '%s' does not name %s", query, err,
                  must_mention);
    return w;
}

Test(workload, io_and_file_kib_table)
{
    for (size_t i = 0; i < sizeof(QUERIES) / sizeof(QUERIES[0]); i++) {
        const struct query_case *q = &QUERIES[i];
        struct workload w = parse_over_defaults(q->query, q->ok, q->must_mention);
        if (q->ok) {
            cr_assert_eq(w.io, q->io, "'%s': io %u, want %u", q->query, w.io, q->io);
            cr_assert_eq(w.file_kib, q->file_kib, "'%s': file_kib %u", q->query, w.file_kib);
            cr_assert(w.wait_us == 1 && w.work_us == 2 && w.bytes == 3, "'%s' moved a number",
                      q->query);
        } else {
            cr_assert(w.io == IO_TIMER && w.file_kib == 4, "'%s': a refused query applied",
                      q->query);
        }
    }
}

/* The shared-state keys, one query each over defaults {state none, share_us 2, key "-"}:
 * what it sets, or that it is refused with a reason naming the key. */
struct state_case {
    const char *query;
    int ok;
    uint32_t state, share_us; /* when ok */
    const char *key;          /* when ok */
    const char *must_mention; /* when refused */
};

static const struct state_case STATES[] = {
    {"state=shared", 1, STATE_SHARED, 2, "-", NULL},           /* the defaults stay */
    {"state=none", 1, STATE_NONE, 2, "-", NULL},               /* named */
    {"state=shared&key=k07", 1, STATE_SHARED, 2, "k07", NULL}, /* a key */
    {"key=A-z_0.9", 1, STATE_NONE, 2, "A-z_0.9", NULL},        /* every kind of character */
    {"key=abcdefghijklmnopqrstuvwxyz012345", 1, STATE_NONE, 2, "abcdefghijklmnopqrstuvwxyz012345",
     NULL},                                                          /* 32: the longest */
    {"key=a&key=b", 1, STATE_NONE, 2, "b", NULL},                    /* the last one wins */
    {"key=-", 1, STATE_NONE, 2, "-", NULL},                          /* the default, named */
    {"share_us=0", 1, STATE_NONE, 0, "-", NULL},                     /* no work inside */
    {"share_us=1000000", 1, STATE_NONE, 1000000, "-", NULL},         /* the most */
    {"state=shared&share_us=50", 1, STATE_SHARED, 50, "-", NULL},    /* any order */
    {"state=", 0, 0, 0, NULL, "state"},                              /* empty */
    {"state=SHARED", 0, 0, 0, NULL, "state"},                        /* lower case */
    {"state=share", 0, 0, 0, NULL, "state"},                         /* a prefix */
    {"state=shared2", 0, 0, 0, NULL, "state"},                       /* past a name */
    {"share_us=1000001", 0, 0, 0, NULL, "share_us"},                 /* past the most: no clamp */
    {"share_us=-1", 0, 0, 0, NULL, "share_us"},                      /* no sign */
    {"share_us=", 0, 0, 0, NULL, "share_us"},                        /* empty */
    {"key=", 0, 0, 0, NULL, "key"},                                  /* empty */
    {"key=abcdefghijklmnopqrstuvwxyz0123456", 0, 0, 0, NULL, "key"}, /* 33: too long, not cut */
    {"key=a/b", 0, 0, 0, NULL, "key"},                               /* a character outside */
    {"key=a%20b", 0, 0, 0, NULL, "key"},                             /* no decoding */
    {"key=a+b", 0, 0, 0, NULL, "key"},
    {"state=shared&key=a b", 0, 0, 0, NULL, "key"}, /* one bad key refuses the whole query */
};

Test(workload, state_share_us_key_table)
{
    for (size_t i = 0; i < sizeof(STATES) / sizeof(STATES[0]); i++) {
        const struct state_case *q = &STATES[i];
        struct workload w = parse_over_defaults(q->query, q->ok, q->must_mention);
        if (q->ok) {
            cr_assert_eq(w.state, q->state, "'%s': state %u", q->query, w.state);
            cr_assert_eq(w.share_us, q->share_us, "'%s': share_us %u", q->query, w.share_us);
            cr_assert_str_eq(w.key, q->key, "'%s'", q->query);
        } else {
            cr_assert(w.state == STATE_NONE && w.share_us == 2 && strcmp(w.key, "-") == 0,
                      "'%s': a refused query applied", q->query);
        }
        cr_assert(w.wait_us == 1 && w.io == IO_TIMER && w.file_kib == 4, "'%s' moved another key",
                  q->query);
    }
}

Test(workload, key_rule)
{
    char key[KEY_MAX + 2];
    for (int ch = 1; ch < 256; ch++) { /* every byte alone: only [A-Za-z0-9_.-] */
        char one = (char)ch;
        int want = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
        cr_assert_eq(workload_key_ok(&one, 1), want, "byte %d", ch);
    }
    memset(key, 'k', sizeof key);
    for (size_t len = 0; len <= KEY_MAX + 1; len++)
        cr_assert_eq(workload_key_ok(key, len), len >= 1 && len <= KEY_MAX, "length %zu", len);
}

/* Every value of an enumeration (0..count-1) has a name that parses back to it; count, one
   past the end, is named "?". */
static void expect_names_round_trip(const char *(*name_of)(uint32_t),
                                    int (*parse)(const char *, size_t, uint32_t *), uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        const char *name = name_of(k);
        uint32_t back = 99;
        cr_assert_eq(parse(name, strlen(name), &back), 0, "%s", name);
        cr_assert_eq(back, k, "%s", name);
    }
    cr_assert_str_eq(name_of(count), "?", "a bad value has no name");
}

Test(workload, state_names_round_trip)
{
    expect_names_round_trip(workload_state_name, workload_parse_state, STATE__COUNT);
}

Test(workload, io_names_round_trip)
{
    expect_names_round_trip(workload_io_name, workload_parse_io, IO__COUNT);
}

Test(workload, file_kib_rule)
{
    for (uint32_t k = 0; k <= 1100; k++) /* every value near the range, not just a few */
        cr_assert_eq(workload_file_kib_ok(k), k >= 4 && k <= 1024 && k % 4 == 0, "%u", k);
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
