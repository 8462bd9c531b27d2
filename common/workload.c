/* workload.c: parsing the per-request workload and burning its CPU time. */
#include "workload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int workload_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static const struct {
    const char *key;
    size_t offset;
    uint32_t max;
} KEYS[] = {
    {"wait_us", offsetof(struct workload, wait_us), WAIT_US_MAX},
    {"work_us", offsetof(struct workload, work_us), WORK_US_MAX},
    {"bytes", offsetof(struct workload, bytes), BYTES_MAX},
};

int workload_parse_query(struct workload *w, const char *q, size_t len, char *err, size_t errlen)
{
    struct workload next = *w;
    const char *end = q + len;

    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pair_end - q));
        size_t i;

        if (pair_end == q) { /* "a=1&&b=2": tolerate empty pairs */
            q = pair_end + 1;
            continue;
        }
        if (!eq) {
            snprintf(err, errlen, "query parameter '%.*s' has no value", (int)(pair_end - q), q);
            return -1;
        }
        for (i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
            if ((size_t)(eq - q) == strlen(KEYS[i].key) &&
                memcmp(q, KEYS[i].key, (size_t)(eq - q)) == 0)
                break;
        }
        if (i == sizeof(KEYS) / sizeof(KEYS[0])) {
            snprintf(err, errlen, "unknown query parameter '%.*s' (known: wait_us, work_us, bytes)",
                     (int)(eq - q > 32 ? 32 : eq - q), q);
            return -1;
        }
        uint32_t *field = (uint32_t *)((char *)&next + KEYS[i].offset);
        if (workload_parse_u32(eq + 1, (size_t)(pair_end - eq - 1), KEYS[i].max, field) < 0) {
            snprintf(err, errlen, "%s must be an integer from 0 to %u", KEYS[i].key, KEYS[i].max);
            return -1;
        }
        q = pair_end + (amp ? 1 : 0);
    }
    *w = next;
    return 0;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void workload_spin(uint32_t work_us)
{
    if (work_us == 0)
        return;
    int64_t until = thread_cpu_ns() + (int64_t)work_us * 1000;
    volatile uint64_t sink = 0;

    /* The clock read is a syscall (~0.3 us); a short inner loop keeps the
     * overshoot small without making the check dominate the work. */
    while (thread_cpu_ns() < until) {
        for (int i = 0; i < 256; i++)
            sink += (uint64_t)i;
    }
}
