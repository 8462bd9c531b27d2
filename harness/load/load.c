/* load: the load generator: T threads, one libev loop each, owning their connections (wrk's shape).
 */
#include "load/load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "load/load_int.h"

static void thread_begin(struct lthread *t, uint64_t now)
{
    ld_acc_open(&t->win, now);
    /* connections given up on during the ramp stay visible in the window's errors */
    t->win.c.errors[LOAD_ERR_CONNECT] = (uint64_t)t->failed;
    t->measured = 0;
    t->measuring = true;
    t->cur = &t->win;
}

/* A new step: every connection's schedule starts again at rate, spread over one interval, so
 * that no step inherits the lateness of the one before. A request in flight keeps its own
 * intended time (its latency is measured from it) and takes its new slot when it ends. */
static void thread_respread(struct lthread *t, uint64_t now)
{
    for (int i = 0; i < t->nconns; i++) {
        struct conn *c = &t->conns[i];
        uint64_t at = now + t->interval_ns * (uint64_t)i / (uint64_t)t->nconns;
        switch (c->state) {
        case CS_IDLE:
            sched_remove(&t->sched, &c->due);
            c->in_ready = false; /* its entry in ready[] is stale now */
            c->intended_ns = at;
            ld_conn_next(c, now);
            break;
        case CS_WAITING:
            c->restart_ns = at;
            c->resched = true;
            break;
        case CS_WAIT_CONNECT:
        case CS_CONNECTING: c->intended_ns = at; break; /* sends once connected */
        default: break;
        }
    }
}

/* Closes the step running (if any); opens the next one at rate (this process's share), whose
 * requests count when they are due from settle_ns after the switch, for length_ns. */
static void thread_step(struct lthread *t, uint64_t now, bool open, double rate, uint64_t settle_ns,
                        uint64_t length_ns)
{
    if (t->cur == &t->win)
        ld_freeze(t, now); /* steps come after the measured window */
    if (t->cur == &t->step)
        ld_acc_close(t, &t->step, now);
    if (!open || rate <= 0)
        return;
    ld_acc_open(&t->step, now);
    t->step.from_ns = now + settle_ns;
    t->step.until_ns = t->step.from_ns + length_ns;
    t->cur = &t->step;
    t->interval_ns = (uint64_t)(1e9 * t->l->o.conns / rate);
    if (t->interval_ns == 0)
        t->interval_ns = 1;
    thread_respread(t, now);
}

/* Traffic starts: every parked connection gets its first due time, spread over one interval
 * (open loop) or one think time (closed loop) so that they do not all fire together. */
static void thread_traffic(struct lthread *t, uint64_t now)
{
    t->traffic = true;
    for (int i = 0; i < t->nconns; i++) {
        struct conn *c = &t->conns[i];
        if (c->state != CS_IDLE || !c->confirmed || sched_queued(&c->due) || c->in_ready)
            continue;
        uint64_t spread =
            (t->interval_ns ? t->interval_ns : t->think_ns) * (uint64_t)i / (uint64_t)t->nconns;
        c->intended_ns = c->next_ns = now + spread;
        ld_conn_next(c, now);
    }
}

/* A stop watch begins: the first slow_conns of this process's connections send the slow
 * request; from now on every connection only watches for its end. */
static void thread_watch(struct lthread *t, uint64_t now)
{
    const struct load_opts *o = &t->l->o;
    t->watching = true;
    t->traffic = false;
    for (int i = 0; i < t->nconns; i++) {
        struct conn *c = &t->conns[i];
        sched_remove(&t->sched, &c->due);
        c->in_ready = false;
        if (c->idx - o->first_idx < o->slow_conns && c->state == CS_IDLE && c->fd >= 0) {
            c->slow = true;
            c->intended_ns = now;
            ld_conn_send(c, now);
        }
    }
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, wake);
    struct load *l = t->l;
    unsigned seq = atomic_load_explicit(&l->seq, memory_order_acquire);
    int ph = atomic_load(&l->phase);
    uint64_t now = clock_now_ns();
    /* a jump from the ramp straight to cooldown (a run that failed early) still opens and
       closes an empty window, so that the ramp's connect errors are reported */
    if (ph >= PH_WARMUP && t->seen_phase < PH_WARMUP)
        thread_traffic(t, now);
    if (ph >= PH_MEASURE && t->seen_phase < PH_MEASURE)
        thread_begin(t, now);
    if (ph >= PH_COOLDOWN && t->seen_phase < PH_COOLDOWN)
        ld_freeze(t, now);
    if (ph >= PH_STOP)
        ev_break(loop, EVBREAK_ALL);
    t->seen_phase = ph;
    if (atomic_load(&l->watch) && !t->watching && ph < PH_STOP)
        thread_watch(t, now);
    unsigned gen = atomic_load(&l->step_gen);
    if (gen != t->step_gen && ph < PH_STOP) {
        t->step_gen = gen;
        thread_step(t, now, atomic_load(&l->step_open), atomic_load(&l->step_rate),
                    atomic_load(&l->step_settle_ns), atomic_load(&l->step_length_ns));
    }
    atomic_store_explicit(&t->pub_seq, seq, memory_order_release);
}

static void *thread_main(void *arg)
{
    struct lthread *t = arg;
    const struct load_opts *o = &t->l->o;
    if (o->pin && CPU_COUNT(&o->cpus) > 0) {
        /* loop j of the generator (over every process) runs on the (j mod n)-th CPU */
        int want = (o->first_loop + (int)(t - t->l->t)) % CPU_COUNT(&o->cpus), seen = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
            if (!CPU_ISSET(cpu, &o->cpus) || seen++ != want)
                continue;
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pthread_self(), sizeof one, &one);
            break;
        }
    }
    prctl(PR_SET_TIMERSLACK, 1UL); /* default slack is 50 us: too coarse for open loop */

    /* the ramp: connection k of this thread is due at start + k / (its share of the rate) */
    double per_thread = o->connect_rate > 0 ? o->connect_rate / t->l->nthreads : 0;
    for (int k = 0; k < t->nconns; k++) {
        struct conn *c = &t->conns[k];
        uint64_t at =
            per_thread > 0 ? t->l->start_ns + (uint64_t)(k * 1e9 / per_thread) : t->l->start_ns;
        c->state = CS_WAIT_CONNECT;
        sched_add(&t->sched, &c->due, at);
    }
    ev_run(t->loop, 0);

    if (!t->frozen)
        ld_freeze(t, clock_now_ns());
    for (int k = 0; k < t->nconns; k++) {
        if (t->watching && t->conns[k].fd >= 0 && !t->conns[k].stop_end)
            t->stop_open++;
        ld_conn_close(&t->conns[k]);
    }
    return NULL;
}

static void thread_free(struct lthread *t)
{
    if (t->loop)
        ev_loop_destroy(t->loop);
    if (t->tfd >= 0)
        close(t->tfd);
    sched_free(&t->sched);
    free(t->conns);
    free(t->ready);
    free(t->ramp_wait);
    free(t->rbuf);
    hist_free(t->win.lat);
    hist_free(t->win.lat_raw);
    hist_free(t->step.lat);
    hist_free(t->step.lat_raw);
}

static int thread_setup(struct load *l, int i, int first_idx, int n, char *err, size_t errlen)
{
    struct lthread *t = &l->t[i];
    const struct load_opts *o = &l->o;
    t->l = l;
    t->tfd = -1;
    t->nconns = n;
    t->ramp_pending = n;
    t->conns = calloc((size_t)n, sizeof *t->conns);
    /* a connection can be queued twice per poll at most (closed and reconnected at once) */
    t->ready_cap = 2 * n;
    t->ready = calloc((size_t)t->ready_cap, sizeof *t->ready);
    t->ramp_wait = calloc((size_t)n, sizeof *t->ramp_wait);
    int window = o->ramp_window > 0 ? o->ramp_window : RAMP_WINDOW;
    t->ramp_window = window / l->nthreads > 4 ? window / l->nthreads : 4;
    t->rbuf = malloc(RBUF_SIZE);
    t->win.lat = hist_new();
    t->win.lat_raw = hist_new();
    t->step.lat = hist_new();
    t->step.lat_raw = hist_new();
    if (!t->conns || !t->ready || !t->ramp_wait || !t->rbuf || !t->win.lat || !t->win.lat_raw ||
        !t->step.lat || !t->step.lat_raw || sched_init(&t->sched, n) < 0) {
        snprintf(err, errlen, "out of memory for %d connections", n);
        return -1;
    }
    t->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
    if (!t->loop)
        t->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!t->loop || t->tfd < 0) {
        snprintf(err, errlen, "cannot create the event loop of thread %d: %s", i, strerror(errno));
        return -1;
    }
    if (o->rate > 0)
        t->interval_ns = (uint64_t)(1e9 * o->conns / o->rate);
    t->think_ns = (uint64_t)(o->think_ms * 1e6);
    if (o->requests)
        t->quota = o->requests / (uint64_t)l->nthreads +
                   ((uint64_t)i < o->requests % (uint64_t)l->nthreads);
    for (int k = 0; k < n; k++) {
        struct conn *c = &t->conns[k];
        c->t = t;
        c->fd = -1;
        c->idx = first_idx + k;
        c->local = k;
        ev_init(&c->io, ld_on_io);
        sched_node_init(&c->due);
    }
    ev_async_init(&t->wake, on_wake);
    ev_async_start(t->loop, &t->wake);
    ev_timer_init(&t->tick, ld_on_tick, TICK_S, TICK_S);
    ev_timer_start(t->loop, &t->tick);
    ev_io_init(&t->timer_io, ld_on_timerfd, t->tfd, EV_READ);
    ev_io_start(t->loop, &t->timer_io);
    ev_prepare_init(&t->rearm, ld_on_prepare);
    ev_prepare_start(t->loop, &t->rearm);
    return 0;
}

static void set_phase(struct load *l, int ph)
{
    atomic_store(&l->phase, ph);
    for (int i = 0; i < l->nthreads; i++)
        if (l->t[i].started)
            ev_async_send(l->t[i].loop, &l->t[i].wake);
}

static void join_all(struct load *l)
{
    set_phase(l, PH_STOP);
    for (int i = 0; i < l->nthreads; i++) {
        if (l->t[i].started)
            pthread_join(l->t[i].tid, NULL);
        l->t[i].started = false;
    }
}

static void load_free(struct load *l)
{
    for (int i = 0; i < l->nthreads; i++)
        thread_free(&l->t[i]);
    free(l->t);
    free(l);
}

struct load *load_start(const struct load_opts *o, char *err, size_t errlen)
{
    if (o->conns < 1 || o->threads < 1 || o->request_len <= 0 || o->timeout_ms <= 0 ||
        o->connect_timeout_ms <= 0 || o->rate < 0 || o->think_ms < 0 || o->connect_rate < 0 ||
        o->connect_retries < 0) {
        snprintf(err, errlen, "invalid load options");
        return NULL;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long need = load_fds_needed(o->conns, o->threads);
        if ((rlim_t)need > rl.rlim_cur) {
            snprintf(err, errlen,
                     "%d connections need about %ld file descriptors, but RLIMIT_NOFILE is %llu "
                     "(hard limit %llu, the most this process may raise it to): spread them over "
                     "processes with --procs P (each has its own limit), or raise the hard limit",
                     o->conns, need, (unsigned long long)rl.rlim_cur,
                     (unsigned long long)rl.rlim_max);
            return NULL;
        }
    }
    struct load *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->o = *o;
    l->nthreads = o->threads < o->conns ? o->threads : o->conns;
    l->t = calloc((size_t)l->nthreads, sizeof *l->t);
    if (!l->t) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&l->phase, PH_RAMP);
    for (int i = 0; i < l->nthreads; i++)
        l->t[i].tfd = -1;
    int first = o->first_idx;
    for (int i = 0; i < l->nthreads; i++) {
        int n = o->conns / l->nthreads + (i < o->conns % l->nthreads);
        if (thread_setup(l, i, first, n, err, errlen) < 0)
            goto fail;
        first += n;
    }
    l->start_ns = clock_now_ns();
    for (int i = 0; i < l->nthreads; i++) {
        int rc = pthread_create(&l->t[i].tid, NULL, thread_main, &l->t[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start load thread %d: %s", i, strerror(rc));
            goto fail;
        }
        l->t[i].started = true;
    }
    return l;
fail:
    join_all(l);
    load_free(l);
    return NULL;
}

bool load_ramped(struct load *l)
{
    for (int i = 0; i < l->nthreads; i++)
        if (!atomic_load(&l->t[i].pub_ramped))
            return false;
    return true;
}

void load_start_traffic(struct load *l)
{
    set_phase(l, PH_WARMUP);
}

void load_begin_measure(struct load *l)
{
    set_phase(l, PH_MEASURE);
}

void load_end_measure(struct load *l)
{
    set_phase(l, PH_COOLDOWN);
}

bool load_quota_done(struct load *l)
{
    if (!l->o.requests)
        return false;
    for (int i = 0; i < l->nthreads; i++)
        if (!atomic_load(&l->t[i].pub_quota_done))
            return false;
    return true;
}

uint64_t load_progress(struct load *l, uint64_t *errors)
{
    uint64_t p = 0, e = 0;
    for (int i = 0; i < l->nthreads; i++) {
        p += atomic_load_explicit(&l->t[i].pub_progress, memory_order_relaxed);
        e += atomic_load_explicit(&l->t[i].pub_errors, memory_order_relaxed);
    }
    if (errors)
        *errors = e;
    return p;
}

void load_conns(struct load *l, int *open, int *failed)
{
    int o = 0, f = 0;
    for (int i = 0; i < l->nthreads; i++) {
        o += atomic_load_explicit(&l->t[i].pub_open, memory_order_relaxed);
        f += atomic_load_explicit(&l->t[i].pub_failed, memory_order_relaxed);
    }
    *open = o;
    *failed = f;
}

/* Adds one thread's window into out (whose histograms exist); window_s is set by window_done. */
static void merge_acc(struct load_result *out, const struct acc *a)
{
    out->c.requests += a->c.requests;
    out->c.responses += a->c.responses;
    out->c.bytes += a->c.bytes;
    out->c.reconnects += a->c.reconnects;
    for (int k = 0; k < LOAD_ERR_N; k++)
        out->c.errors[k] += a->c.errors[k];
    hist_merge(out->latency, a->lat);
    hist_merge(out->latency_raw, a->lat_raw);
    if (out->window_start_ns == 0 || a->from_ns < out->window_start_ns)
        out->window_start_ns = a->from_ns;
    uint64_t end = a->until_ns < a->end_ns ? a->until_ns : a->end_ns;
    if (end > out->window_end_ns)
        out->window_end_ns = end;
    double cpu = a->cpu_end_s - a->cpu_start_s;
    double span = (double)(a->end_ns - a->start_ns) / 1e9;
    out->cpu_s += cpu;
    if (span > 0 && cpu / span > out->cpu_max_thread)
        out->cpu_max_thread = cpu / span;
}

static int result_new(struct load_result *out)
{
    memset(out, 0, sizeof *out);
    out->ramp_s = -1;
    out->latency = hist_new();
    out->latency_raw = hist_new();
    if (out->latency && out->latency_raw)
        return 0;
    load_result_free(out);
    return -1;
}

static void window_done(struct load_result *out)
{
    uint64_t t0 = out->window_start_ns, t1 = out->window_end_ns;
    out->window_s = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
}

/* Bumps the command sequence, wakes every thread and waits until each has acted on it. */
static int command_wait(struct load *l)
{
    unsigned seq = atomic_fetch_add_explicit(&l->seq, 1, memory_order_release) + 1;
    for (int i = 0; i < l->nthreads; i++)
        if (l->t[i].started)
            ev_async_send(l->t[i].loop, &l->t[i].wake);
    uint64_t deadline = clock_now_ns() + COMMAND_WAIT_NS;
    for (int i = 0; i < l->nthreads; i++) {
        struct lthread *t = &l->t[i];
        while (t->started &&
               (int)(atomic_load_explicit(&t->pub_seq, memory_order_acquire) - seq) < 0) {
            if (clock_now_ns() > deadline)
                return -1;
            struct timespec pause = {0, 200000}; /* 0.2 ms */
            nanosleep(&pause, NULL);
        }
    }
    return 0;
}

int load_measured(struct load *l, struct load_result *out)
{
    if (command_wait(l) < 0 || result_new(out) < 0)
        return -1;
    for (int i = 0; i < l->nthreads; i++)
        if (l->t[i].measuring && l->t[i].frozen)
            merge_acc(out, &l->t[i].win);
    window_done(out);
    return 0;
}

int load_step_begin(struct load *l, double rate, double settle_s, double length_s)
{
    if (!(rate > 0) || !(settle_s >= 0) || !(length_s > 0))
        return -1;
    atomic_store(&l->step_rate, rate);
    atomic_store(&l->step_settle_ns, (uint64_t)(settle_s * 1e9));
    atomic_store(&l->step_length_ns, (uint64_t)(length_s * 1e9));
    atomic_store(&l->step_open, 1);
    atomic_fetch_add(&l->step_gen, 1);
    return command_wait(l);
}

int load_step_end(struct load *l, struct load_result *out)
{
    atomic_store(&l->step_open, 0);
    atomic_fetch_add(&l->step_gen, 1);
    if (command_wait(l) < 0 || result_new(out) < 0)
        return -1;
    for (int i = 0; i < l->nthreads; i++)
        merge_acc(out, &l->t[i].step);
    window_done(out);
    return 0;
}

int load_stop_watch(struct load *l)
{
    atomic_store(&l->watch, 1);
    return command_wait(l);
}

int load_stop(struct load *l, struct load_result *out)
{
    join_all(l);
    if (result_new(out) < 0) {
        load_free(l);
        return -1;
    }
    uint64_t ramp_end = 0;
    bool ramp_done = true;
    for (int i = 0; i < l->nthreads; i++) {
        struct lthread *t = &l->t[i];
        out->conns_connected += t->connected;
        out->conns_failed += t->failed;
        out->conns_open_peak += t->open_peak;
        out->conns_open_end += t->open_end;
        if (t->ramp_pending > 0)
            ramp_done = false;
        else if (t->ramp_done_ns > ramp_end)
            ramp_end = t->ramp_done_ns;
        for (int k = 0; k < LOAD_ERR_N; k++)
            if (out->first_error[k][0] == '\0')
                memcpy(out->first_error[k], t->first_error[k], sizeof out->first_error[k]);
        if (t->measuring)
            merge_acc(out, &t->win);
        for (int k = 0; k < LOAD_STOP_N; k++)
            out->stop[k] += t->stop[k];
        out->stop_open += t->stop_open;
    }
    if (ramp_done && ramp_end)
        out->ramp_s = (double)(ramp_end - l->start_ns) / 1e9;
    window_done(out);
    load_free(l);
    return 0;
}

void load_result_free(struct load_result *r)
{
    hist_free(r->latency);
    hist_free(r->latency_raw);
    r->latency = r->latency_raw = NULL;
}
