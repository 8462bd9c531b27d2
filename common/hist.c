/* hist: log-linear latency histogram (HdrHistogram's layout), 1 us .. 60 s, 3 digits. */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bucket 0 holds 0..2047 one by one; bucket b >= 1 holds [1024 << b, 2048 << b) in
 * steps of (1 << b), stored after the ones before it in counts[]. */
int hist_index_of(uint64_t v)
{
    if (v > HIST_MAX_US)
        v = HIST_MAX_US;
    int pow2ceil = 64 - __builtin_clzll(v | (2 * HIST_SUB_HALF - 1));
    int bucket = pow2ceil - (HIST_SUB_BITS + 1);
    uint64_t sub = v >> bucket;
    return (int)(((uint64_t)(bucket + 1) << HIST_SUB_BITS) + (sub - HIST_SUB_HALF));
}

uint64_t hist_lowest_at(int i)
{
    int bucket = (i >> HIST_SUB_BITS) - 1;
    uint64_t sub = (uint64_t)(i & (HIST_SUB_HALF - 1)) + (uint64_t)HIST_SUB_HALF;
    if (bucket < 0) {
        bucket = 0;
        sub -= HIST_SUB_HALF;
    }
    return sub << bucket;
}

uint64_t hist_highest_at(int i)
{
    int bucket = (i >> HIST_SUB_BITS) - 1;
    if (bucket < 0)
        bucket = 0;
    return hist_lowest_at(i) + (1ULL << bucket) - 1;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

struct hist *hist_new(void)
{
    return calloc(1, sizeof(struct hist));
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_record(struct hist *h, uint64_t v)
{
    if (v > HIST_MAX_US) {
        v = HIST_MAX_US;
        h->clamped++;
    }
    h->counts[hist_index_of(v)]++;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += (double)v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->count == 0)
        return;
    for (int i = 0; i < HIST_COUNTS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->clamped += src->clamped;
    dst->sum += src->sum;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    /* nearest rank; the epsilon keeps 99.9 * 10000 / 100 from rounding up to 9991 */
    double r = ceil(p * (double)h->count / 100.0 - 1e-7);
    uint64_t rank = r < 1 ? 1 : (uint64_t)r;
    if (rank == 1)
        return h->min;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_highest_at(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

uint64_t hist_count(const struct hist *h)
{
    return h->count;
}

uint64_t hist_min(const struct hist *h)
{
    return h->count ? h->min : 0;
}

uint64_t hist_max(const struct hist *h)
{
    return h->count ? h->max : 0;
}

double hist_mean(const struct hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}

json_t *hist_to_json(const struct hist *h)
{
    return json_pack("{sI sI sI sI sI sI sI sf sI}", "count", (json_int_t)h->count, "min",
                     (json_int_t)hist_min(h), "p50", (json_int_t)hist_percentile(h, 50), "p90",
                     (json_int_t)hist_percentile(h, 90), "p99", (json_int_t)hist_percentile(h, 99),
                     "p999", (json_int_t)hist_percentile(h, 99.9), "max", (json_int_t)hist_max(h),
                     "mean", hist_mean(h), "clamped", (json_int_t)h->clamped);
}
