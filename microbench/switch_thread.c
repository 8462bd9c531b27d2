/* switch_thread: a ring of K threads passing a token through pipes or condition variables. */
#include "switch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STOP_TOKEN UINT64_MAX

struct unit {
    struct ring *ring;
    size_t idx;
    uint64_t hops;      /* tokens this unit passed on; read by the creator after join */
    int pipefd[2];      /* thread-pipe: the token arrives on [0] */
    pthread_mutex_t mu; /* thread-cond: guards has_token/token */
    pthread_cond_t cv;
    int has_token;
    uint64_t token;
};

struct ring {
    const struct switch_cfg *cfg;
    struct unit *units;
    /* Written by the unit that handles the first and last measured hop; read after join. */
    struct switch_window win;
};

/* Blocks until a token arrives. */
static uint64_t unit_take(struct unit *u)
{
    uint64_t v = STOP_TOKEN;
    if (u->ring->cfg->mech == SW_THREAD_PIPE) {
        ssize_t n;
        while ((n = read(u->pipefd[0], &v, sizeof v)) < 0 && errno == EINTR)
            ;
        return n == sizeof v ? v : STOP_TOKEN; /* 8-byte pipe writes are atomic */
    }
    pthread_mutex_lock(&u->mu);
    while (!u->has_token)
        pthread_cond_wait(&u->cv, &u->mu);
    v = u->token;
    u->has_token = 0;
    pthread_mutex_unlock(&u->mu);
    return v;
}

static void unit_give(struct unit *u, uint64_t v)
{
    if (u->ring->cfg->mech == SW_THREAD_PIPE) {
        while (write(u->pipefd[1], &v, sizeof v) < 0 && errno == EINTR)
            ;
        return;
    }
    pthread_mutex_lock(&u->mu);
    u->token = v;
    u->has_token = 1;
    pthread_mutex_unlock(&u->mu);
    /* Signal after unlocking: a waiter woken under the lock would block again on the
       mutex at once, a second switch per hop that is not the one being priced. */
    pthread_cond_signal(&u->cv);
}

static void *on_unit(void *arg)
{
    struct unit *u = arg;
    struct ring *rg = u->ring;
    const struct switch_cfg *cfg = rg->cfg;
    struct unit *next = &rg->units[(u->idx + 1) % cfg->ring];

    for (;;) {
        uint64_t v = unit_take(u);
        if (v == STOP_TOKEN) {
            unit_give(next, STOP_TOKEN); /* may land in an exited unit's pipe: harmless */
            return NULL;
        }
        if (switch_window_mark(&rg->win, cfg, v)) {
            unit_give(next, STOP_TOKEN);
            return NULL;
        }
        u->hops++;
        unit_give(next, v + 1);
    }
}

static void unit_free(struct unit *u, enum switch_mech mech)
{
    if (mech == SW_THREAD_PIPE) {
        close(u->pipefd[0]);
        close(u->pipefd[1]);
    } else {
        pthread_cond_destroy(&u->cv);
        pthread_mutex_destroy(&u->mu);
    }
}

int switch_threads_run(const struct switch_cfg *cfg, struct switch_result *r)
{
    struct ring rg = {.cfg = cfg};
    pthread_t *tids = calloc(cfg->ring, sizeof *tids);
    size_t ready = 0, started = 0;

    rg.units = calloc(cfg->ring, sizeof *rg.units);
    if (!tids || !rg.units) {
        r->err = ENOMEM;
        r->failed_call = "malloc";
        goto out;
    }
    for (; ready < cfg->ring; ready++) {
        struct unit *u = &rg.units[ready];
        u->ring = &rg;
        u->idx = ready;
        if (cfg->mech == SW_THREAD_PIPE) {
            if (pipe2(u->pipefd, O_CLOEXEC) < 0) {
                r->err = errno;
                r->failed_call = "pipe2";
                goto out;
            }
        } else {
            pthread_mutex_init(&u->mu, NULL);
            pthread_cond_init(&u->cv, NULL);
        }
    }
    for (; started < cfg->ring; started++) {
        int rc = pthread_create(&tids[started], NULL, on_unit, &rg.units[started]);
        if (rc != 0) {
            r->err = rc;
            r->failed_call = "pthread_create";
            break;
        }
    }
    r->created = started;
    /* Start the token, or on a failed setup a stop that lets the started units end. */
    unit_give(&rg.units[0], r->err ? STOP_TOKEN : 0);
    for (size_t i = 0; i < started; i++)
        if (pthread_join(tids[i], NULL) == 0)
            r->torn_down++;
    if (!r->err) {
        for (size_t i = 0; i < cfg->ring; i++)
            r->hops += rg.units[i].hops;
        switch_window_result(&rg.win, r);
    }
out:
    for (size_t i = 0; i < ready; i++)
        unit_free(&rg.units[i], cfg->mech);
    free(rg.units);
    free(tids);
    return r->err ? -1 : 0;
}
