/* wait_clock.c: a timerfd armed at the earliest wait deadline (see wait_clock.h). */
#include "wait_clock.h"

#include "clock.h"
#include "container.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void heap_pop(struct wait_clock *wc)
{
    size_t i = 0;
    int64_t last = wc->heap[--wc->len];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= wc->len)
            break;
        if (child + 1 < wc->len && wc->heap[child + 1] < wc->heap[child])
            child++;
        if (last <= wc->heap[child])
            break;
        wc->heap[i] = wc->heap[child];
        i = child;
    }
    if (wc->len > 0)
        wc->heap[i] = last;
}

int wait_clock_add(struct wait_clock *wc, uint32_t wait_us)
{
    int64_t deadline = (int64_t)clock_now_ns() + (int64_t)wait_us * 1000;
    size_t i;

    if (wc->len == wc->cap) {
        size_t cap = wc->cap ? wc->cap * 2 : 1024;
        int64_t *heap = realloc(wc->heap, cap * sizeof(*heap));
        if (!heap)
            return -1;
        wc->heap = heap;
        wc->cap = cap;
    }
    for (i = wc->len++; i > 0 && wc->heap[(i - 1) / 2] > deadline; i = (i - 1) / 2)
        wc->heap[i] = wc->heap[(i - 1) / 2];
    wc->heap[i] = deadline;
    return 0;
}

/* Runs just before libev blocks: point the timerfd at the earliest deadline. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct wait_clock *wc = container_of(w, struct wait_clock, prepare);
    int64_t now;

    (void)loop;
    (void)revents;
    if (wc->len == 0)
        return;
    now = (int64_t)clock_now_ns();
    while (wc->len > 0 && wc->heap[0] <= now)
        heap_pop(wc); /* due or stale: libev's own timeout already covers them */
    if (wc->len == 0 || wc->heap[0] == wc->armed_ns)
        return;
    struct itimerspec its = {
        .it_value = {.tv_sec = wc->heap[0] / 1000000000, .tv_nsec = wc->heap[0] % 1000000000},
    };
    if (timerfd_settime(wc->fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        wc->armed_ns = wc->heap[0];
}

static void on_expired(struct ev_loop *loop, ev_io *w, int revents)
{
    struct wait_clock *wc = container_of(w, struct wait_clock, io);
    uint64_t ticks;

    (void)loop;
    (void)revents;
    /* The read only clears readiness; libev runs the expired timers next. */
    if (read(wc->fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    wc->armed_ns = 0;
}

int wait_clock_init(struct wait_clock *wc, struct ev_loop *loop)
{
    wc->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (wc->fd < 0)
        return -1;
    wc->armed_ns = 0;
    wc->heap = NULL;
    wc->len = wc->cap = 0;
    ev_io_init(&wc->io, on_expired, wc->fd, EV_READ);
    ev_io_start(loop, &wc->io);
    ev_prepare_init(&wc->prepare, on_prepare);
    ev_prepare_start(loop, &wc->prepare);
    /* Neither watcher should keep ev_run alive on its own. */
    ev_unref(loop);
    ev_unref(loop);
    return 0;
}

void wait_clock_destroy(struct wait_clock *wc, struct ev_loop *loop)
{
    ev_ref(loop);
    ev_ref(loop);
    ev_io_stop(loop, &wc->io);
    ev_prepare_stop(loop, &wc->prepare);
    close(wc->fd);
    free(wc->heap);
    wc->heap = NULL;
}
