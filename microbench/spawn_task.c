/* spawn_task: N tasks in one libev loop, each a heap struct with an embedded watcher. */
#include "spawn.h"

#include "clock.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What an async runtime's future for a waiting connection amounts to: its watcher and
   its own state, nothing else. */
struct task {
    union {
        ev_timer timer; /* task-timer: a deadline far in the future */
        ev_io io;       /* task-io: one end of a socketpair that nobody writes */
    } w;
    int fd[2]; /* task-io only */
    unsigned char state[];
};

struct spawn_set {
    struct ev_loop *loop;
    enum spawn_kind kind;
    struct task **tasks;
    size_t n;
    size_t fired; /* watchers that went off: must stay 0, nothing should wake them */
};

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct spawn_set *s = ev_userdata(loop);
    s->fired++;
    ev_timer_stop(loop, w);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct spawn_set *s = ev_userdata(loop);
    s->fired++;
    ev_io_stop(loop, w);
}

/* One task: allocate, touch its state, arm its watcher. 0 ok, -1 with errno. */
static int task_start(struct spawn_set *s, size_t state_bytes, struct task **out, const char **call)
{
    struct task *t = malloc(sizeof *t + state_bytes);
    if (!t) {
        *call = "malloc";
        return -1;
    }
    /* Write every byte so RSS counts the state; an untouched malloc would flatter tasks. */
    memset(t->state, 0xA5, state_bytes);
    t->fd[0] = t->fd[1] = -1;
    if (s->kind == SPAWN_TASK_TIMER) {
        /* A million seconds: never fires during a run, like an idle timeout. */
        ev_timer_init(&t->w.timer, on_timeout, 1e6, 0.);
        ev_timer_start(s->loop, &t->w.timer);
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, t->fd) < 0) {
            int saved = errno;
            free(t);
            errno = saved;
            *call = "socketpair";
            return -1;
        }
        ev_io_init(&t->w.io, on_readable, t->fd[0], EV_READ);
        ev_io_start(s->loop, &t->w.io);
    }
    *out = t;
    return 0;
}

static void task_stop(struct spawn_set *s, struct task *t)
{
    if (s->kind == SPAWN_TASK_TIMER) {
        ev_timer_stop(s->loop, &t->w.timer);
    } else {
        ev_io_stop(s->loop, &t->w.io); /* stop before close, or libev watches a dead fd */
        close(t->fd[0]);
        close(t->fd[1]);
    }
    free(t);
}

struct spawn_set *spawn_tasks_create(const struct spawn_cfg *cfg, struct spawn_result *r)
{
    struct spawn_set *s = calloc(1, sizeof *s);
    if (!s) {
        r->err = errno;
        r->failed_call = "malloc";
        return NULL;
    }
    s->kind = cfg->kind;
    s->loop = ev_loop_new(EVFLAG_AUTO);
    s->tasks = malloc((r->requested ? r->requested : 1) * sizeof *s->tasks);
    if (!s->loop || !s->tasks) {
        r->err = s->loop ? ENOMEM : errno;
        r->failed_call = s->loop ? "malloc" : "ev_loop_new";
        goto fail;
    }
    ev_set_userdata(s->loop, s);

    uint64_t t0 = clock_now_ns();
    for (size_t i = 0; i < r->requested; i++) {
        if (task_start(s, cfg->state_bytes, &s->tasks[i], &r->failed_call) < 0) {
            r->err = errno;
            break;
        }
        s->n++;
    }
    r->created = s->n;
    r->create_ns = clock_now_ns() - t0;
    /* libev registers fds with epoll lazily, at the next loop iteration: run one
       non-blocking iteration so every task is really waiting in the kernel too. */
    ev_run(s->loop, EVRUN_NOWAIT);
    r->ready_ns = clock_now_ns() - t0;
    r->ready = s->n - s->fired;
    return s;

fail:
    if (s->loop)
        ev_loop_destroy(s->loop);
    free(s->tasks);
    free(s);
    return NULL;
}

void spawn_tasks_teardown(struct spawn_set *s, struct spawn_result *r)
{
    uint64_t t0 = clock_now_ns();
    for (size_t i = 0; i < s->n; i++) {
        task_stop(s, s->tasks[i]);
        r->torn_down++;
    }
    r->teardown_ns = clock_now_ns() - t0;
    ev_loop_destroy(s->loop);
    free(s->tasks);
    free(s);
}
