/* timeout.h: the bounds on a connection thread's blocking calls: socket timeouts, and deadlines
 * on the suite's monotonic clock (common/clock.h). Thread-safe. */
#ifndef TVT_THREAD_TIMEOUT_H
#define TVT_THREAD_TIMEOUT_H

#include <stdint.h>

#include "clock.h"

/* Sets fd's SO_RCVTIMEO or SO_SNDTIMEO (opt) to ms milliseconds (0: none, block for good).
   Best effort: a failure keeps the timeout fd had. */
void timeout_set(int fd, int opt, int64_t ms);

/* The moment ms milliseconds from now, in ms on clock_now_ms's clock. */
static inline int64_t timeout_deadline(int64_t ms)
{
    return (int64_t)clock_now_ms() + ms;
}

/* Milliseconds left until deadline (from timeout_deadline); 0 or less once it has passed. */
static inline int64_t timeout_left(int64_t deadline)
{
    return deadline - (int64_t)clock_now_ms();
}

#endif
