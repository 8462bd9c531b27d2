/* wait_clock.h: sub-millisecond wake-ups for libev timers on the epoll backend. */
#ifndef TVT_WAIT_CLOCK_H
#define TVT_WAIT_CLOCK_H

#include <ev.h>
#include <stdint.h>

/* libev's epoll backend sleeps in whole milliseconds (epoll_wait's timeout is
 * rounded up), so a 100 us ev_timer fires after about 1 ms. A wait clock
 * arms one timerfd, watched by an ev_io, at the earliest pending wait
 * deadline, so epoll_wait returns on time and libev then runs the expired
 * ev_timers itself. Deadlines of cancelled waits stay in the heap and cause at
 * most one spurious wake-up each. */
struct wait_clock {
    ev_io io;
    ev_prepare prepare;
    int fd;
    int64_t armed_ns; /* CLOCK_MONOTONIC deadline the timerfd is set to; 0 none */
    int64_t *heap;    /* min-heap of deadlines (ns, CLOCK_MONOTONIC) */
    size_t len, cap;
};

/* Creates the timerfd and starts the watchers on loop. 0 ok, -1 errno. */
int wait_clock_init(struct wait_clock *wc, struct ev_loop *loop);

/* Records that an ev_timer will expire wait_us from now. Call it just before
 * ev_timer_start, after ev_now_update, so its deadline is not earlier than
 * the timer's. 0 ok, -1 out of memory (the wait is then only ms-precise). */
int wait_clock_add(struct wait_clock *wc, uint32_t wait_us);

/* Stops the watchers, closes the timerfd, frees the heap. */
void wait_clock_destroy(struct wait_clock *wc, struct ev_loop *loop);

#endif
