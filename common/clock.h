/* clock.h: the one monotonic clock of the suite (CLOCK_MONOTONIC), in ns and ms, and a sleep
 * until a moment on it. Inline: the load generator reads it per request. Thread-safe. */
#ifndef TVT_CLOCK_H
#define TVT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Now on CLOCK_MONOTONIC, in nanoseconds. */
static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Now on CLOCK_MONOTONIC, in whole milliseconds. */
static inline uint64_t clock_now_ms(void)
{
    return clock_now_ns() / 1000000ULL;
}

/* Sleeps until t_ns on CLOCK_MONOTONIC; a signal ends it early (the caller looks why). */
static inline void clock_sleep_until_ns(uint64_t t_ns)
{
    struct timespec ts = {(time_t)(t_ns / 1000000000ULL), (long)(t_ns % 1000000000ULL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

#endif
