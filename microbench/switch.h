/* switch: a token passed around a ring of K units, to price one switch between them. */
#ifndef TVT_SWITCH_H
#define TVT_SWITCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "clock.h"

enum switch_mech {
    SW_THREAD_PIPE, /* K threads, each blocked in read() on its pipe */
    SW_THREAD_COND, /* K threads, each waiting on its condition variable (a futex) */
    SW_TASK_IO,     /* K tasks in one libev loop, each an ev_io on its pipe */
    SW_TASK_FEED,   /* K tasks in one libev loop, woken by ev_feed_event: no syscall */
    SW_TASK_ASYNC,  /* K tasks in one libev loop, woken by ev_async_send */
    SW_NMECH
};

struct switch_cfg {
    enum switch_mech mech;
    size_t ring;     /* K >= 2 */
    uint64_t warmup; /* hops before the measured window */
    uint64_t iters;  /* hops in the measured window */
};

/* One run. Switch counts come from getrusage(RUSAGE_SELF), the whole process. */
struct switch_result {
    uint64_t hops;       /* token passes counted by the units themselves, warmup included */
    uint64_t elapsed_ns; /* the measured window, CLOCK_MONOTONIC */
    long long nvcsw, nivcsw;
    size_t created, torn_down;
    int err; /* errno of a setup failure, 0 if none */
    const char *failed_call;
};

/* The measured window of a ring, the same for every mechanism: it opens when token warmup
   arrives and closes when token warmup + iters does, so iters passes happened in it. Written
   by the unit that handles those tokens, read once the ring has ended. */
struct switch_window {
    uint64_t t_start, t_end; /* CLOCK_MONOTONIC */
    struct rusage ru_start, ru_end;
};

/* A unit got token v: opens the window at warmup, closes it at warmup + iters. 1 when v
   closed it (the ring is done), else 0. */
static inline int switch_window_mark(struct switch_window *w, const struct switch_cfg *cfg,
                                     uint64_t v)
{
    if (v == cfg->warmup) {
        getrusage(RUSAGE_SELF, &w->ru_start);
        w->t_start = clock_now_ns();
    }
    if (v != cfg->warmup + cfg->iters)
        return 0;
    w->t_end = clock_now_ns();
    getrusage(RUSAGE_SELF, &w->ru_end);
    return 1;
}

/* The closed window's length and switches into r. */
static inline void switch_window_result(const struct switch_window *w, struct switch_result *r)
{
    r->elapsed_ns = w->t_end - w->t_start;
    r->nvcsw = w->ru_end.ru_nvcsw - w->ru_start.ru_nvcsw;
    r->nivcsw = w->ru_end.ru_nivcsw - w->ru_start.ru_nivcsw;
}

/* Runs the ring for SW_THREAD_* mechanisms. 0 ok, -1 on setup failure (r->err). */
int switch_threads_run(const struct switch_cfg *cfg, struct switch_result *r);

/* Runs the ring for SW_TASK_* mechanisms in the calling thread. 0 ok, -1 on failure. */
int switch_tasks_run(const struct switch_cfg *cfg, struct switch_result *r);

/* ns per hop of one thread making the same calls as one hop of cfg->mech, with nobody to
   switch to (pipe write+read, an uncontended lock/signal/unlock, write+epoll_wait+read, an
   indirect call, epoll_wait(0)+indirect call). Subtracted from the ring's figure.
   0 ok, -1 with errno. */
int switch_baseline(const struct switch_cfg *cfg, double *ns_per_hop);

#endif
