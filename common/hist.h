/* hist: log-linear latency histogram (HdrHistogram's layout), 1 us .. 60 s, 3 digits. */
#ifndef TVT_HIST_H
#define TVT_HIST_H

#include <jansson.h>
#include <stdint.h>

/* Values are in microseconds. Every value below 2048 has its own bucket; above
 * that each power of two is split in 1024 linear steps, so a recorded value is
 * known to within 1/1024 (better than 3 significant digits). */
#define HIST_MAX_US   60000000ULL /* larger values are clamped and counted */
#define HIST_SUB_BITS 10          /* log2(half the sub-buckets) */
#define HIST_SUB_HALF (1 << HIST_SUB_BITS)
#define HIST_BUCKETS  16 /* smallest b with (2048 << (b - 1)) > HIST_MAX_US */
#define HIST_COUNTS   ((HIST_BUCKETS + 1) * HIST_SUB_HALF)

/* Fixed memory (about 136 KiB): embed it or allocate it; no hidden allocations.
 * Not thread-safe: one writer, merge after the writers are done. */
struct hist {
    uint64_t count;    /* values recorded */
    uint64_t clamped;  /* of them, values above HIST_MAX_US recorded as HIST_MAX_US */
    uint64_t min, max; /* exact extremes (after clamping) */
    double sum;        /* exact sum, for the mean */
    uint64_t counts[HIST_COUNTS];
};

/* Empties h. */
void hist_init(struct hist *h);

/* calloc'd empty histogram, or NULL with errno. Free with hist_free(). */
struct hist *hist_new(void);
void hist_free(struct hist *h);

/* Records one value (us); values above HIST_MAX_US count as HIST_MAX_US. */
void hist_record(struct hist *h, uint64_t value_us);

/* Adds every value of src to dst; dst == src is not allowed. Exact: merging and then
 * asking for a percentile equals recording all values into one histogram. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The value at percentile p (0..100) by nearest rank: the smallest recorded value v
 * with at least p% of the values <= v, to within the bucket width (reported as the
 * bucket's highest value, clamped to [min, max]). 0 if empty. */
uint64_t hist_percentile(const struct hist *h, double p);

uint64_t hist_count(const struct hist *h);
uint64_t hist_min(const struct hist *h); /* 0 if empty */
uint64_t hist_max(const struct hist *h); /* 0 if empty */
double hist_mean(const struct hist *h);  /* 0 if empty */

/* New JSON object {count, min, p50, p90, p99, p999, max, mean, clamped}, values in us;
 * caller owns it. NULL only if jansson cannot allocate. */
json_t *hist_to_json(const struct hist *h);

/* Bucket helpers, exposed for tests: the counts[] index of a value, and the lowest and
 * highest values that share index i. */
int hist_index_of(uint64_t value_us);
uint64_t hist_lowest_at(int i);
uint64_t hist_highest_at(int i);

#endif
