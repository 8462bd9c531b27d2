/* mbutil: small helpers the microbenchmarks share: list flags, CPU pinning, slopes, sleep. */
#include "mbutil.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mb_parse_counts(const char *s, uint64_t *out, int cap, uint64_t min, uint64_t max)
{
    int n = 0;
    const char *p = s;

    if (!s || !*s)
        return -1;
    while (*p) {
        char *end;
        errno = 0;
        /* strtod accepts 1e6 as well as 1000000; counts are exact below 2^53. */
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE)
            return -1;
        if (*end == 'k' || *end == 'K') {
            v *= 1e3;
            end++;
        } else if (*end == 'M' || *end == 'm') {
            v *= 1e6;
            end++;
        }
        if (v < (double)min || v > (double)max || v != (double)(uint64_t)v || n == cap)
            return -1;
        out[n++] = (uint64_t)v;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return n;
}

int mb_opt_count(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    uint64_t v;
    if (mb_parse_counts(arg, &v, 1, (uint64_t)o->min, (uint64_t)o->max) == 1) {
        *(uint64_t *)field = v;
        return 0;
    }
    snprintf(err, errlen, "expected a whole number in %.0f..%.0f (10k, 1M, 1e6 are accepted)",
             o->min, o->max);
    return -1;
}

int mb_opt_counts(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    struct mb_counts c;
    c.n = mb_parse_counts(arg, c.v, MB_COUNTS_MAX, (uint64_t)o->min, (uint64_t)o->max);
    if (c.n > 0) {
        *(struct mb_counts *)field = c;
        return 0;
    }
    snprintf(err, errlen, "expected a comma list of at most %d whole numbers in %.0f..%.0f",
             MB_COUNTS_MAX, o->min, o->max);
    return -1;
}

int mb_pin_cpu(int cpu)
{
    cpu_set_t set;
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

double mb_slope(const double *x, const double *y, int n)
{
    if (n <= 0)
        return 0;
    if (n == 1)
        return x[0] != 0 ? y[0] / x[0] : 0;
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    return sxx > 0 ? sxy / sxx : 0;
}

void mb_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
