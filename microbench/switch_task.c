/* switch_task: a ring of K tasks in one libev loop passing a token: through pipes (an
   I/O-driven switch), by ev_feed_event (no syscall) or by ev_async_send. */
#include "switch.h"

#include "container.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

struct task {
    struct ring *ring;
    size_t idx;
    uint64_t hops;
    uint64_t token; /* feed/async: the token handed over with the wake-up */
    int pipefd[2];  /* io: the token arrives on [0] */
    ev_io io;
    ev_async async; /* feed and async both wake this watcher */
};

struct ring {
    const struct switch_cfg *cfg;
    struct ev_loop *loop;
    struct task *tasks;
    struct switch_window win;
    int done;
};

static void task_give(struct ring *rg, struct task *t, uint64_t v)
{
    switch (rg->cfg->mech) {
    case SW_TASK_IO:
        while (write(t->pipefd[1], &v, sizeof v) < 0 && errno == EINTR)
            ;
        break;
    case SW_TASK_FEED:
        t->token = v;
        ev_feed_event(rg->loop, &t->async, EV_ASYNC);
        break;
    default:
        t->token = v;
        ev_async_send(rg->loop, &t->async);
        break;
    }
}

/* One hop: the same bookkeeping as the thread ring's units. */
static void task_handle(struct ring *rg, struct task *t, uint64_t v)
{
    const struct switch_cfg *cfg = rg->cfg;
    if (switch_window_mark(&rg->win, cfg, v)) {
        rg->done = 1;
        ev_break(rg->loop, EVBREAK_ALL);
        return;
    }
    t->hops++;
    task_give(rg, &rg->tasks[(t->idx + 1) % cfg->ring], v + 1);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct task *t = container_of(w, struct task, io);
    uint64_t v;
    ssize_t n = read(t->pipefd[0], &v, sizeof v);
    if (n == sizeof v)
        task_handle(t->ring, t, v);
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct task *t = container_of(w, struct task, async);
    task_handle(t->ring, t, t->token);
}

int switch_tasks_run(const struct switch_cfg *cfg, struct switch_result *r)
{
    struct ring rg = {.cfg = cfg};
    size_t made = 0;

    rg.tasks = calloc(cfg->ring, sizeof *rg.tasks);
    rg.loop = ev_loop_new(EVFLAG_AUTO);
    if (!rg.tasks || !rg.loop) {
        r->err = ENOMEM;
        r->failed_call = rg.loop ? "malloc" : "ev_loop_new";
        goto out;
    }
    for (; made < cfg->ring; made++) {
        struct task *t = &rg.tasks[made];
        t->ring = &rg;
        t->idx = made;
        t->pipefd[0] = t->pipefd[1] = -1;
        if (cfg->mech == SW_TASK_IO) {
            if (pipe2(t->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
                r->err = errno;
                r->failed_call = "pipe2";
                goto out;
            }
            ev_io_init(&t->io, on_readable, t->pipefd[0], EV_READ);
            ev_io_start(rg.loop, &t->io);
        } else {
            ev_async_init(&t->async, on_wake);
            ev_async_start(rg.loop, &t->async);
        }
    }
    task_give(&rg, &rg.tasks[0], 0);
    ev_run(rg.loop, 0);
    if (!rg.done) {
        r->err = EPROTO; /* the loop ran dry before the last hop: a lost token */
        r->failed_call = "ev_run";
    }
    for (size_t i = 0; i < cfg->ring; i++)
        r->hops += rg.tasks[i].hops;
    switch_window_result(&rg.win, r);
out:
    r->created = made;
    for (size_t i = 0; i < made; i++) {
        struct task *t = &rg.tasks[i];
        if (cfg->mech == SW_TASK_IO) {
            ev_io_stop(rg.loop, &t->io);
            close(t->pipefd[0]);
            close(t->pipefd[1]);
        } else {
            ev_async_stop(rg.loop, &t->async);
        }
        r->torn_down++;
    }
    if (rg.loop)
        ev_loop_destroy(rg.loop);
    free(rg.tasks);
    return r->err ? -1 : 0;
}
