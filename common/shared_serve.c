/* shared_serve.c: a state=shared update under a server's lock (or none), measured and counted. */
#include "shared_serve.h"

#include <string.h>
#include <sys/resource.h>

#include "clock.h"

static void spin_share(void *arg)
{
    workload_spin(*(const uint32_t *)arg);
}

/* The calling thread's voluntary context switches so far. */
static uint64_t thread_nvcsw(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? (uint64_t)ru.ru_nvcsw : 0;
}

/* Takes mu, counting a contended take and the switches it blocked through. */
static void lock_counted(pthread_mutex_t *mu, struct counters *ctr)
{
    if (pthread_mutex_trylock(mu) == 0)
        return;
    counters_add(ctr, CTR_LOCK_CONTENDED, 1);
    uint64_t before = thread_nvcsw();
    pthread_mutex_lock(mu);
    uint64_t after = thread_nvcsw();
    counters_add(ctr, CTR_LOCK_SWITCHES, after > before ? after - before : 0);
}

uint64_t shared_serve(struct shared_table *t, pthread_mutex_t *mu, const struct workload *w,
                      struct counters *ctr)
{
    uint32_t share_us = w->share_us;
    uint64_t t_want = clock_now_ns();
    if (mu) {
        lock_counted(mu, ctr);
        counters_add(ctr, CTR_SHARE_WAIT_NS, clock_now_ns() - t_want);
    }
    uint64_t n = shared_update(t, w->key, strlen(w->key), spin_share, &share_us);
    counters_add(ctr, n ? CTR_SHARED_UPDATES : CTR_SHARED_FULL, 1);
    if (mu)
        pthread_mutex_unlock(mu);
    counters_add(ctr, CTR_SHARE_NS, clock_now_ns() - t_want);
    return n;
}

_Static_assert(SHARED_SLOTS == 1024, "shared_full_reason names the table's size");

const char *shared_full_reason(void)
{
    return "the shared table is full: 1024 keys (state=shared with a new key)";
}
