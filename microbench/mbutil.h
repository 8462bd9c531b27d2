/* mbutil: small helpers the microbenchmarks share: list flags, CPU pinning, slopes, sleep. */
#ifndef TVT_MBUTIL_H
#define TVT_MBUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "opts.h"

#define MB_COUNTS_MAX 16 /* values in one list flag (--counts, --ring) */

/* A list flag's values, in the order given. */
struct mb_counts {
    uint64_t v[MB_COUNTS_MAX];
    int n;
};

/* Parses "1000,10000,1e5" (plain or with k/M suffix: "10k", "1M") into out, at most cap
   values, each in [min, max]. Number of values, or -1 if malformed. */
int mb_parse_counts(const char *s, uint64_t *out, int cap, uint64_t min, uint64_t max);

/* opts readers (OPT_CUSTOM) of counts as mb_parse_counts reads them, each in the row's
   min..max: mb_opt_count one into a uint64_t, mb_opt_counts a list into a struct mb_counts. */
int mb_opt_count(const struct opt *o, const char *arg, void *field, char *err, size_t errlen);
int mb_opt_counts(const struct opt *o, const char *arg, void *field, char *err, size_t errlen);

/* The rows every microbenchmark's option table ends with: --json FILE, into the char *
   at offset json_off, and --help; then the table's end. */
/* clang-format off */
#define MB_OPT_ROWS_END(json_off)                                                          \
    {"json", OPT_STRING, (json_off), .meta = "FILE",                                       \
     .help = "write the results as JSON (atomically)"},                                    \
    {"help", OPT_HELP, .help = "this text"},                                               \
    {0}
/* clang-format on */

/* Pins the calling thread (and the threads it creates later) to one CPU.
   0 ok, -1 with errno (EINVAL: no such CPU in this process's allowed set). */
int mb_pin_cpu(int cpu);

/* Least-squares slope of y over x for n points; n < 2 gives y[0]/x[0] (a line through 0),
   n == 0 gives 0. */
double mb_slope(const double *x, const double *y, int n);

/* Sleeps ms milliseconds, resuming after signals. */
void mb_sleep_ms(unsigned ms);

#endif
