/* workload.c: parsing the per-request workload (wait, kind, work, body, shared state) and burning
 * its CPU. */
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

const char *const WORKLOAD_IO_NAMES[IO__COUNT + 1] = {
    [IO_TIMER] = "timer",
    [IO_NET] = "net",
    [IO_FILE] = "file",
};

const char *const WORKLOAD_STATE_NAMES[STATE__COUNT + 1] = {
    [STATE_NONE] = "none",
    [STATE_SHARED] = "shared",
};

/* names[v], or "?" past the count of names. */
static const char *name_of(const char *const *names, uint32_t count, uint32_t v)
{
    return v < count ? names[v] : "?";
}

/* The value whose name is s[0..len) into *out. 0 ok; -1 no such name. */
static int name_find(const char *const *names, uint32_t count, const char *s, size_t len,
                     uint32_t *out)
{
    for (uint32_t k = 0; k < count; k++)
        if (len == strlen(names[k]) && memcmp(s, names[k], len) == 0) {
            *out = k;
            return 0;
        }
    return -1;
}

const char *workload_io_name(uint32_t io)
{
    return name_of(WORKLOAD_IO_NAMES, IO__COUNT, io);
}

int workload_parse_io(const char *s, size_t len, uint32_t *out)
{
    return name_find(WORKLOAD_IO_NAMES, IO__COUNT, s, len, out);
}

int workload_file_kib_ok(uint32_t kib)
{
    return kib >= FILE_KIB_MIN && kib <= FILE_KIB_MAX && kib % 4 == 0;
}

const char *workload_state_name(uint32_t state)
{
    return name_of(WORKLOAD_STATE_NAMES, STATE__COUNT, state);
}

int workload_parse_state(const char *s, size_t len, uint32_t *out)
{
    return name_find(WORKLOAD_STATE_NAMES, STATE__COUNT, s, len, out);
}

int workload_key_ok(const char *s, size_t len)
{
    if (len == 0 || len > KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '.' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

enum key_type { KEY_NUMBER, KEY_IO, KEY_FILE_KIB, KEY_STATE, KEY_KEY };

static const struct {
    const char *key;
    size_t offset;
    uint32_t max;
    enum key_type type;
} KEYS[] = {
    {"wait_us", offsetof(struct workload, wait_us), WAIT_US_MAX, KEY_NUMBER},
    {"work_us", offsetof(struct workload, work_us), WORK_US_MAX, KEY_NUMBER},
    {"bytes", offsetof(struct workload, bytes), BYTES_MAX, KEY_NUMBER},
    {"io", offsetof(struct workload, io), 0, KEY_IO},
    {"file_kib", offsetof(struct workload, file_kib), FILE_KIB_MAX, KEY_FILE_KIB},
    {"state", offsetof(struct workload, state), 0, KEY_STATE},
    {"share_us", offsetof(struct workload, share_us), SHARE_US_MAX, KEY_NUMBER},
    {"key", offsetof(struct workload, key), KEY_MAX, KEY_KEY},
};
#define NKEYS (sizeof(KEYS) / sizeof(KEYS[0]))

/* The value of a refused key, shortened for the reason. */
#define SHOWN(len, v) (int)((len) > 16 ? 16 : (len)), (v)

/* Parses one value into the field at w + KEYS[i].offset. 0 ok; -1 with the reason in err. */
static int parse_value(size_t i, const char *v, size_t len, struct workload *w, char *err,
                       size_t errlen)
{
    void *field = (char *)w + KEYS[i].offset;
    uint32_t x;
    switch (KEYS[i].type) {
    case KEY_IO:
        if (workload_parse_io(v, len, field) == 0)
            return 0;
        snprintf(err, errlen, "io must be timer, net or file, not '%.*s'", SHOWN(len, v));
        return -1;
    case KEY_STATE:
        if (workload_parse_state(v, len, field) == 0)
            return 0;
        snprintf(err, errlen, "state must be none or shared, not '%.*s'", SHOWN(len, v));
        return -1;
    case KEY_KEY:
        if (workload_key_ok(v, len)) {
            memcpy(field, v, len);
            ((char *)field)[len] = '\0';
            return 0;
        }
        snprintf(err, errlen, "key must be 1 to %u characters of A-Z a-z 0-9 _ . -", KEY_MAX);
        return -1;
    case KEY_FILE_KIB:
        if (workload_parse_u32(v, len, KEYS[i].max, &x) == 0 && workload_file_kib_ok(x)) {
            *(uint32_t *)field = x;
            return 0;
        }
        snprintf(err, errlen, "file_kib must be " FILE_KIB_RULE);
        return -1;
    case KEY_NUMBER: break;
    }
    if (workload_parse_u32(v, len, KEYS[i].max, field) == 0)
        return 0;
    snprintf(err, errlen, "%s must be an integer from 0 to %u", KEYS[i].key, KEYS[i].max);
    return -1;
}

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
        for (i = 0; i < NKEYS; i++) {
            if ((size_t)(eq - q) == strlen(KEYS[i].key) &&
                memcmp(q, KEYS[i].key, (size_t)(eq - q)) == 0)
                break;
        }
        if (i == NKEYS) {
            snprintf(err, errlen,
                     "unknown query parameter '%.*s' (known: wait_us, work_us, bytes, io, "
                     "file_kib, state, share_us, key)",
                     (int)(eq - q > 32 ? 32 : eq - q), q);
            return -1;
        }
        if (parse_value(i, eq + 1, (size_t)(pair_end - eq - 1), &next, err, errlen) < 0)
            return -1;
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
