/* shared_serve.h: one state=shared update as a server serves it: the lock the server puts around
 * its table (or none), the update with share_us of CPU inside, and what it cost, measured on
 * the suite's clock and counted. */
#ifndef TVT_SHARED_SERVE_H
#define TVT_SHARED_SERVE_H

#include <pthread.h>
#include <stdint.h>

#include "counters.h"
#include "shared.h"
#include "workload.h"

/* One update of w->key in t, w->share_us of the thread's CPU (workload_spin) spent between
 * reading the key's count and writing it back. mu: the lock around t (the thread server's
 * --lock mutex), or NULL for none (one event loop, or --lock none). Counts into ctr:
 * shared_updates (inside mu, so that a count of t under mu agrees with it) and share_ns, from
 * wanting the table to done with it; with mu also share_wait_ns (the wait for mu), and when
 * mu was taken already (trylock failed) lock_contended and lock_switches (the calling
 * thread's voluntary context switches while it blocked on mu: getrusage RUSAGE_THREAD).
 * Returns the key's count after the update; 0 when the key is new and the table full
 * (counted: shared_full). Thread-safe when every caller passes the same mu. */
uint64_t shared_serve(struct shared_table *t, pthread_mutex_t *mu, const struct workload *w,
                      struct counters *ctr);

/* The reason of the 503 that a full table answers. Static storage. */
const char *shared_full_reason(void);

#endif
