/* spawn_thread: N pthreads, each blocked on a condition variable or in read() on a pipe. */
#include "spawn.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Threads are joined, never detached: teardown proves each one is gone. */
struct spawn_set {
    enum spawn_kind kind;
    size_t state_bytes;
    pthread_t *tids;
    size_t n;

    pthread_mutex_t mu;
    pthread_cond_t wake;    /* thread-cond: the units wait here for stop */
    pthread_cond_t settled; /* a unit became ready; the creator waits here */
    size_t ready;           /* under mu */
    int stop;               /* under mu */
    int pipefd[2];          /* thread-pipe: every unit blocks reading one byte of [0] */
};

/* Writes the unit's state on its own stack, as a blocking handler keeps its locals,
   so that RSS shows the pages; the asm keeps the compiler from dropping the writes. */
static void touch_state(size_t bytes)
{
    unsigned char state[bytes ? bytes : 1];
    memset(state, 0xA5, sizeof state);
    __asm__ volatile("" : : "r"(state) : "memory");
}

static void mark_ready(struct spawn_set *s)
{
    s->ready++;
    pthread_cond_signal(&s->settled);
}

static void *on_cond_unit(void *arg)
{
    struct spawn_set *s = arg;
    touch_state(s->state_bytes);
    pthread_mutex_lock(&s->mu);
    mark_ready(s);
    while (!s->stop)
        pthread_cond_wait(&s->wake, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *on_pipe_unit(void *arg)
{
    struct spawn_set *s = arg;
    char c;
    touch_state(s->state_bytes);
    pthread_mutex_lock(&s->mu);
    mark_ready(s);
    pthread_mutex_unlock(&s->mu);
    /* Ready a moment before it sleeps in read(): the creator may count it a few
       microseconds early, which no memory figure can see. */
    while (read(s->pipefd[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

size_t spawn_threads_stack_kib(const struct spawn_cfg *cfg)
{
    pthread_attr_t a;
    size_t sz = 0;
    if (cfg->stack_kib)
        return cfg->stack_kib;
    if (pthread_getattr_default_np(&a) != 0)
        return 0;
    pthread_attr_getstacksize(&a, &sz);
    pthread_attr_destroy(&a);
    return sz / 1024;
}

/* Frees s and what it holds, its threads gone (or never started). */
static void set_free(struct spawn_set *s)
{
    if (s->pipefd[0] >= 0) {
        close(s->pipefd[0]);
        close(s->pipefd[1]);
    }
    pthread_cond_destroy(&s->settled);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->tids);
    free(s);
}

struct spawn_set *spawn_threads_create(const struct spawn_cfg *cfg, struct spawn_result *r)
{
    pthread_attr_t attr;
    int attr_ok = 0;
    struct spawn_set *s = calloc(1, sizeof *s);
    if (!s) {
        r->err = ENOMEM;
        r->failed_call = "malloc";
        return NULL;
    }
    s->kind = cfg->kind;
    s->state_bytes = cfg->state_bytes;
    s->pipefd[0] = s->pipefd[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->settled, NULL);
    s->tids = malloc((r->requested ? r->requested : 1) * sizeof *s->tids);
    if (!s->tids) {
        r->err = ENOMEM;
        r->failed_call = "malloc";
        goto fail;
    }
    if (s->kind == SPAWN_THREAD_PIPE && pipe2(s->pipefd, O_CLOEXEC) < 0) {
        r->err = errno;
        r->failed_call = "pipe2";
        goto fail;
    }
    if ((r->err = pthread_attr_init(&attr)) != 0) {
        r->failed_call = "pthread_attr_init";
        goto fail;
    }
    attr_ok = 1;
    if (cfg->stack_kib && (r->err = pthread_attr_setstacksize(&attr, cfg->stack_kib * 1024)) != 0) {
        r->failed_call = "pthread_attr_setstacksize";
        goto fail;
    }

    void *(*body)(void *) = s->kind == SPAWN_THREAD_COND ? on_cond_unit : on_pipe_unit;
    uint64_t t0 = clock_now_ns();
    for (size_t i = 0; i < r->requested; i++) {
        int rc = pthread_create(&s->tids[i], &attr, body, s);
        if (rc != 0) {
            /* The wall: keep what exists, report the errno; the caller diagnoses it. */
            r->err = rc;
            r->failed_call = "pthread_create";
            break;
        }
        s->n++;
    }
    r->created = s->n;
    r->create_ns = clock_now_ns() - t0;
    pthread_mutex_lock(&s->mu);
    while (s->ready < s->n)
        pthread_cond_wait(&s->settled, &s->mu);
    r->ready = s->ready;
    pthread_mutex_unlock(&s->mu);
    r->ready_ns = clock_now_ns() - t0;
    pthread_attr_destroy(&attr);
    return s;

fail:
    if (attr_ok)
        pthread_attr_destroy(&attr);
    set_free(s);
    return NULL;
}

/* Hands one byte to each of n readers; blocks while the pipe is full, which is fine:
   the readers drain it as they wake. */
static void release_pipe_units(struct spawn_set *s)
{
    static const char zeros[4096];
    size_t left = s->n;
    while (left > 0) {
        size_t chunk = left < sizeof zeros ? left : sizeof zeros;
        ssize_t w = write(s->pipefd[1], zeros, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* cannot happen while we hold the read end; joins would hang */
        }
        left -= (size_t)w;
    }
}

void spawn_threads_teardown(struct spawn_set *s, struct spawn_result *r)
{
    uint64_t t0 = clock_now_ns();
    if (s->kind == SPAWN_THREAD_COND) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->mu);
    } else {
        release_pipe_units(s);
    }
    for (size_t i = 0; i < s->n; i++)
        if (pthread_join(s->tids[i], NULL) == 0)
            r->torn_down++;
    r->teardown_ns = clock_now_ns() - t0;
    set_free(s);
}
