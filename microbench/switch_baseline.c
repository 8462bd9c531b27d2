/* switch_baseline: one thread making a hop's calls with nobody to switch to, so that the
   ring's cost minus this is the switch alone (as jimblandy/context-switch and Bendersky do). */
#include "switch.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct slot {
    int pipefd[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int has_token;
    uint64_t token;
};

/* The feed baseline's "switch": an indirect call the compiler cannot inline. */
static void pass_token(struct slot *s, uint64_t v)
{
    s->token = v;
}
static void (*volatile pass_fn)(struct slot *, uint64_t) = pass_token;

/* One hop's calls on slot s. -1 with errno if a syscall failed. */
static int hop(enum switch_mech mech, struct slot *s, int ep, uint64_t v)
{
    struct epoll_event ev;
    uint64_t got;
    switch (mech) {
    case SW_THREAD_PIPE:
        if (write(s->pipefd[1], &v, sizeof v) != sizeof v ||
            read(s->pipefd[0], &got, sizeof got) != sizeof got)
            return -1;
        return 0;
    case SW_TASK_IO:
        /* What libev does per I/O hop: write to the next pipe, epoll_wait, read. */
        if (write(s->pipefd[1], &v, sizeof v) != sizeof v || epoll_wait(ep, &ev, 1, 0) != 1 ||
            read(s->pipefd[0], &got, sizeof got) != sizeof got)
            return -1;
        return 0;
    case SW_THREAD_COND:
        pthread_mutex_lock(&s->mu);
        s->token = v;
        s->has_token = 1;
        pthread_cond_signal(&s->cv); /* no waiter: no futex call, as in a ring hop's best case */
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&s->mu);
        got = s->has_token ? s->token : 0;
        s->has_token = 0;
        pthread_mutex_unlock(&s->mu);
        return got == v ? 0 : -1;
    case SW_TASK_ASYNC:
        /* libev answers ev_async_send from inside the loop without a write, but polls
           once (epoll_wait, timeout 0) per pass before running the woken watcher. */
        if (epoll_wait(ep, &ev, 1, 0) < 0)
            return -1;
        pass_fn(s, v);
        return 0;
    default: pass_fn(s, v); return 0;
    }
}

int switch_baseline(const struct switch_cfg *cfg, double *ns_per_hop)
{
    size_t k = cfg->ring, made = 0;
    int ep = -1, rc = -1, saved = 0;
    struct slot *slots = calloc(k, sizeof *slots);
    int uses_pipes = cfg->mech == SW_THREAD_PIPE || cfg->mech == SW_TASK_IO;

    if (!slots) {
        errno = ENOMEM;
        return -1;
    }
    if ((cfg->mech == SW_TASK_IO || cfg->mech == SW_TASK_ASYNC) &&
        (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        goto fail;
    for (; made < k; made++) {
        struct slot *s = &slots[made];
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->pipefd[0] = s->pipefd[1] = -1;
        if (uses_pipes && pipe2(s->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
            made++;
            goto fail;
        }
        if (ep >= 0 && uses_pipes) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = made};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, s->pipefd[0], &ev) < 0) {
                made++;
                goto fail;
            }
        }
    }
    uint64_t total = cfg->warmup + cfg->iters, t0 = 0;
    for (uint64_t v = 0; v < total; v++) {
        if (v == cfg->warmup)
            t0 = clock_now_ns();
        if (hop(cfg->mech, &slots[(v + 1) % k], ep, v) < 0)
            goto fail;
    }
    *ns_per_hop = (double)(clock_now_ns() - t0) / (double)cfg->iters;
    rc = 0;
fail:
    saved = errno;
    for (size_t i = 0; i < made; i++) {
        if (slots[i].pipefd[0] >= 0) {
            close(slots[i].pipefd[0]);
            close(slots[i].pipefd[1]);
        }
        pthread_cond_destroy(&slots[i].cv);
        pthread_mutex_destroy(&slots[i].mu);
    }
    if (ep >= 0)
        close(ep);
    free(slots);
    errno = saved;
    return rc;
}
