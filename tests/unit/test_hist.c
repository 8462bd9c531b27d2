/* Unit tests for common/hist: bucket layout, percentiles against sorted arrays, merge. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

/* xorshift64*: a fixed-seed generator so failures reproduce */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array: the value at rank ceil(p/100 * n) */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p)
{
    double r = ceil(p * (double)n / 100.0 - 1e-7);
    size_t rank = r < 1 ? 1 : (size_t)r;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static const double PS[] = {0, 0.1, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

/* records vals, then checks every percentile in PS against the sorted array: the
 * histogram answers the bucket's top, so it is >= the exact value and within 1/1024 */
static void check_against_sorted(uint64_t *vals, size_t n, const char *what)
{
    struct hist *h = hist_new();
    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++)
        hist_record(h, vals[i]);
    qsort(vals, n, sizeof vals[0], cmp_u64);
    cr_assert_eq(hist_count(h), n, "%s: count", what);
    cr_assert_eq(hist_min(h), vals[0], "%s: min", what);
    cr_assert_eq(hist_max(h), vals[n - 1], "%s: max", what);
    for (size_t k = 0; k < sizeof PS / sizeof PS[0]; k++) {
        uint64_t want = exact_percentile(vals, n, PS[k]);
        uint64_t got = hist_percentile(h, PS[k]);
        cr_assert(got >= want && got - want <= want / 1024, "%s: p%g = %llu, exact %llu", what,
                  PS[k], (unsigned long long)got, (unsigned long long)want);
    }
    hist_free(h);
}

Test(hist, layout_is_exact_below_2048)
{
    for (uint64_t v = 0; v < 2048; v++) {
        int i = hist_index_of(v);
        cr_assert_eq(hist_lowest_at(i), v);
        cr_assert_eq(hist_highest_at(i), v);
    }
}

Test(hist, every_value_falls_in_its_bucket_within_1_in_1024)
{
    /* powers of two and their neighbours are where an off-by-one would show */
    for (int b = 11; b < 26; b++) {
        for (int d = -2; d <= 2; d++) {
            uint64_t v = (1ULL << b) + (uint64_t)(int64_t)d;
            int i = hist_index_of(v);
            cr_assert(i >= 0 && i < HIST_COUNTS, "index of %llu", (unsigned long long)v);
            cr_assert(hist_lowest_at(i) <= v && v <= hist_highest_at(i), "v=%llu",
                      (unsigned long long)v);
            cr_assert_leq(hist_highest_at(i) - hist_lowest_at(i), v / 1024);
        }
    }
    /* indexes grow with the value and buckets tile the range without gaps */
    for (int i = 1; i < hist_index_of(HIST_MAX_US); i++)
        cr_assert_eq(hist_lowest_at(i), hist_highest_at(i - 1) + 1, "i=%d", i);
    cr_assert_lt(hist_index_of(HIST_MAX_US), HIST_COUNTS);
}

Test(hist, empty_answers_zero)
{
    struct hist h;
    hist_init(&h);
    cr_assert_eq(hist_percentile(&h, 50), 0);
    cr_assert_eq(hist_min(&h), 0);
    cr_assert_eq(hist_max(&h), 0);
    cr_assert_float_eq(hist_mean(&h), 0.0, 1e-12);
}

Test(hist, one_value)
{
    struct hist h;
    hist_init(&h);
    hist_record(&h, 123456);
    for (size_t k = 0; k < sizeof PS / sizeof PS[0]; k++)
        cr_assert_eq(hist_percentile(&h, PS[k]), 123456, "p%g", PS[k]);
}

Test(hist, two_values_split_at_the_median)
{
    /* nearest rank: p50 of {10, 1000} is the first value, p50.1 the second */
    struct hist h;
    hist_init(&h);
    hist_record(&h, 10);
    hist_record(&h, 1000);
    cr_assert_eq(hist_percentile(&h, 50), 10);
    cr_assert_eq(hist_percentile(&h, 50.1), 1000);
    cr_assert_float_eq(hist_mean(&h), 505.0, 1e-9);
}

Test(hist, uniform_values_match_sorted_array)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = 1 + rng_next() % 5000000; /* 1 us .. 5 s */
    check_against_sorted(v, N, "uniform");
    free(v);
}

Test(hist, long_tail_values_match_sorted_array)
{
    /* mostly fast answers and a few slow ones: the shape latency has */
    enum { N = 50000 };
    uint64_t *v = malloc(N * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < N; i++) {
        double u = (double)(rng_next() >> 11) / 9007199254740992.0; /* [0, 1) */
        v[i] = (uint64_t)(30.0 - 200.0 * log(1.0 - u));             /* exponential */
        if (i % 997 == 0)
            v[i] = 300000 + rng_next() % 1000; /* a 300 ms stall */
    }
    check_against_sorted(v, N, "long tail");
    free(v);
}

Test(hist, small_exact_arrays)
{
    /* below 2048 us every value is its own bucket: the answer is exact */
    uint64_t v[] = {5, 1, 4, 2, 3, 9, 8, 7, 6, 10};
    check_against_sorted(v, 10, "1..10");
    struct hist h;
    hist_init(&h);
    for (int i = 1; i <= 10; i++)
        hist_record(&h, (uint64_t)i);
    cr_assert_eq(hist_percentile(&h, 90), 9);
    cr_assert_eq(hist_percentile(&h, 91), 10);
    cr_assert_eq(hist_percentile(&h, 10), 1);
    cr_assert_eq(hist_percentile(&h, 11), 2);
}

Test(hist, values_above_60s_are_clamped_and_counted)
{
    struct hist h;
    hist_init(&h);
    hist_record(&h, 100);
    hist_record(&h, 3 * HIST_MAX_US);
    cr_assert_eq(hist_max(&h), HIST_MAX_US);
    cr_assert_eq(h.clamped, 1);
    cr_assert_eq(hist_percentile(&h, 100), HIST_MAX_US);
}

Test(hist, merge_equals_recording_everything_in_one)
{
    struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    cr_assert(a && b && all);
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rng_next() % 2000000;
        hist_record(all, x);
        /* uneven split, disjoint ranges at the ends, so min and max come from different sides */
        hist_record(i % 3 ? a : b, x);
    }
    hist_record(all, 7);
    hist_record(b, 7);
    hist_record(all, 9000000);
    hist_record(a, 9000000);
    hist_merge(a, b);
    cr_assert_eq(hist_count(a), hist_count(all));
    cr_assert_eq(hist_min(a), hist_min(all));
    cr_assert_eq(hist_max(a), hist_max(all));
    cr_assert_float_eq(hist_mean(a), hist_mean(all), 1e-6);
    cr_assert_eq(memcmp(a->counts, all->counts, sizeof a->counts), 0);
    for (size_t k = 0; k < sizeof PS / sizeof PS[0]; k++)
        cr_assert_eq(hist_percentile(a, PS[k]), hist_percentile(all, PS[k]), "p%g", PS[k]);

    /* merging an empty one changes nothing; merging into an empty one copies */
    struct hist *e = hist_new();
    hist_merge(a, e);
    cr_assert_eq(hist_count(a), hist_count(all));
    hist_merge(e, all);
    cr_assert_eq(hist_min(e), 7);
    cr_assert_eq(hist_percentile(e, 99), hist_percentile(all, 99));
    hist_free(a);
    hist_free(b);
    hist_free(all);
    hist_free(e);
}

Test(hist, to_json_has_the_summary_keys)
{
    struct hist h;
    hist_init(&h);
    for (int i = 1; i <= 1000; i++)
        hist_record(&h, (uint64_t)i);
    json_t *j = hist_to_json(&h);
    cr_assert_not_null(j);
    const char *keys[] = {"count", "min", "p50", "p90", "p99", "p999", "max", "mean"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        cr_assert_not_null(json_object_get(j, keys[k]), "key %s", keys[k]);
    cr_assert_eq(json_integer_value(json_object_get(j, "p50")), 500);
    cr_assert_eq(json_integer_value(json_object_get(j, "p999")), 999);
    json_decref(j);
}
