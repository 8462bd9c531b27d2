/* counters.h: what a server counts, printed as one JSON line when it stops. */
#ifndef TVT_COUNTERS_H
#define TVT_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

enum counter {
    CTR_ACCEPTED,   /* connections accepted */
    CTR_CLOSED,     /* connections closed, for any reason */
    CTR_REQUESTS,   /* requests answered 200 */
    CTR_STATUS_400, /* malformed request or workload */
    CTR_STATUS_404,
    CTR_STATUS_405,
    CTR_STATUS_413,
    CTR_STATUS_414,
    CTR_STATUS_431,
    CTR_STATUS_502, /* the backend failed an io=net request */
    CTR_STATUS_503, /* connection refused service (no thread) */
    CTR_STATUS_505,
    CTR_ABORTED,       /* peer closed or reset in the middle of a request or answer */
    CTR_IDLE_TIMEOUTS, /* closed after --idle-timeout-ms without a byte */
    CTR_IO_ERRORS,     /* read or write failed (reset, broken pipe) */
    CTR_ACCEPT_ERRORS, /* accept failed for another reason than fds */
    CTR_ACCEPT_EMFILE, /* accept hit the fd limit; accepting paused */
    CTR_THREAD_CREATE_FAILED,
    CTR_OOM,             /* no memory for a connection */
    CTR_UNFINISHED,      /* connections still busy (burning work_us) at exit */
    CTR_UPSTREAM_ERRORS, /* backend refused, reset, malformed, non-2xx or too slow */
    CTR_FILE_ERRORS,     /* io=file reads that failed (answered 500) */
    /* state=shared (shared.h) */
    CTR_SHARED_UPDATES, /* updates made, counted outside the table (it may lose some) */
    CTR_SHARED_COUNTED, /* the table's per-key counts summed at exit */
    CTR_SHARED_LOST,    /* shared_updates - shared_counted: updates an unguarded table lost */
    CTR_SHARE_NS,       /* from wanting the table to done with it, summed (CLOCK_MONOTONIC) */
    CTR_SHARE_WAIT_NS,  /* of share_ns, the wait for the lock */
    CTR_LOCK_CONTENDED, /* updates that found the lock taken */
    CTR_LOCK_SWITCHES,  /* voluntary context switches while blocked on the lock */
    CTR_SHARED_FULL,    /* a new key with every slot taken: answered 503 */
    /* the graceful stop at SIGTERM/SIGINT */
    CTR_STOP_INFLIGHT, /* requests in flight at the signal */
    CTR_STOP_ANSWERED, /* of them, answered */
    CTR_STOP_CUT,      /* of them, cut at the end of --grace-ms */
    CTR_STOP_IDLE,     /* idle keep-alive connections closed at the signal */
    CTR_STOP_PARTIAL,  /* connections closed at the signal holding part of a request */
    CTR_STOP_MS,       /* from the signal to the last connection closed */
    CTR__COUNT
};

/* Relaxed atomics: the thread server bumps them from every thread; the async
 * server's single loop pays an uncontended add. Zero-initialise. */
struct counters {
    _Atomic uint64_t v[CTR__COUNT];
};

static inline void counters_add(struct counters *c, enum counter k, uint64_t n)
{
    atomic_fetch_add_explicit(&c->v[k], n, memory_order_relaxed);
}

/* Counts the error answer for an HTTP status (400, 404, ...). */
void counters_status(struct counters *c, int status);

/* At exit: the table's count (shared_counted) into shared_counted, and shared_lost from it and
 * shared_updates (0 when the table counted more: an update still running at exit). */
void counters_shared_settle(struct counters *c, uint64_t counted);

/* Writes one JSON line {"impl":..., "accepted":..., ...} to out and flushes it.
 * 0 ok, -1 on a write or allocation failure. */
int counters_print(const struct counters *c, const char *impl, FILE *out);

#endif
