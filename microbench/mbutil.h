/* mbutil: small helpers the microbenchmarks share: list flags, CPU pinning, slopes, sleep. */
#ifndef TVT_MBUTIL_H
#define TVT_MBUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses "1000,10000,1e5" (plain or with k/M suffix: "10k", "1M") into out, at most cap
   values, each in [1, max]. Number of values, or -1 if malformed. */
int mb_parse_counts(const char *s, uint64_t *out, int cap, uint64_t max);

/* Pins the calling thread (and the threads it creates later) to one CPU.
   0 ok, -1 with errno (EINVAL: no such CPU in this process's allowed set). */
int mb_pin_cpu(int cpu);

/* Least-squares slope of y over x for n points; n < 2 gives y[0]/x[0] (a line through 0),
   n == 0 gives 0. */
double mb_slope(const double *x, const double *y, int n);

/* Sleeps ms milliseconds, resuming after signals. */
void mb_sleep_ms(unsigned ms);

#endif
