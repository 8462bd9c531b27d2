/* gen_procs: the generator as P forked processes (each its own fd table), driven over wire.h's
 * messages, their results merged exactly. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "load/gen_int.h"
#include "load/wire.h"

#define START_WAIT_MS  10000 /* a child's load_start: thread and loop creation only */
#define RESULT_WAIT_MS 60000 /* closing 20k connections takes a while under sanitizers */

struct child {
    pid_t pid;
    int to_fd;   /* parent -> child: commands */
    int from_fd; /* child -> parent: status, results, acks */
    struct wire_rx rx;
    int conns; /* its share */
    struct wire_status last;
};

struct procs {
    int n, conns;
    struct child *kids;
};

/* A status met while waiting for something else: the newest is kept. */
static void on_status(void *arg, char kind, const char *payload, size_t len)
{
    struct child *c = arg;
    if (kind == WIRE_STATUS && len == sizeof c->last)
        memcpy(&c->last, payload, sizeof c->last);
}

/* Newest status of each child, without blocking. */
static void poll_status(struct procs *p)
{
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        char kind;
        const char *payload;
        size_t len;
        wire_rx_fill(&c->rx, c->from_fd);
        while (wire_rx_next(&c->rx, &kind, &payload, &len))
            on_status(c, kind, payload, len);
    }
}

static void procs_free(struct procs *p)
{
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
        if (c->to_fd >= 0)
            close(c->to_fd);
        if (c->from_fd >= 0)
            close(c->from_fd);
        wire_rx_free(&c->rx);
    }
    free(p->kids);
    free(p);
}

/* In the forked child: only its own ends stay open, so that EOFs mean what they say. */
static void become_child(struct procs *p, int k, int in_fd, int out_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN); /* a terminal's ^C is the parent's to handle; it stops us */
    signal(SIGTERM, SIG_IGN);
    for (int j = 0; j < k; j++) {
        close(p->kids[j].to_fd);
        close(p->kids[j].from_fd);
        wire_rx_free(&p->kids[j].rx);
    }
    /* the parent's bookkeeping is not the child's: freed, so that leak checkers see none */
    free(p->kids);
    free(p);
    _exit(gen_child_main(in_fd, out_fd)); /* not exit(): the parent's stdio is not ours */
}

/* Forks child k and sends it its options. 0 ok; -1 with the cause in err. */
static int spawn_child(struct procs *p, int k, const struct load_opts *share, char *err,
                       size_t errlen)
{
    struct child *c = &p->kids[k];
    int down[2] = {-1, -1}, up[2] = {-1, -1};
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++)
            if (down[i] >= 0)
                close(down[i]);
        return -1;
    }
    c->pid = fork();
    if (c->pid == 0) {
        close(down[1]);
        close(up[0]);
        become_child(p, k, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    c->to_fd = down[1];
    c->from_fd = up[0];
    if (c->pid < 0) {
        snprintf(err, errlen, "fork of generator process %d: %s", k, strerror(errno));
        return -1;
    }
    fcntl(c->from_fd, F_SETFL, O_NONBLOCK);
    if (wire_send(c->to_fd, WIRE_OPTS, share, sizeof *share, clock_now_ms() + START_WAIT_MS) < 0) {
        snprintf(err, errlen, "generator process %d: cannot send its options: %s", k,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Process k's share of o: its connections, their indexes, its part of each rate. */
static void share_of(const struct load_opts *o, int procs, int k, int first, struct load_opts *s)
{
    *s = *o;
    s->conns = o->conns / procs + (k < o->conns % procs);
    s->first_idx = first;
    s->connect_rate = o->connect_rate / procs;
    s->ramp_window = (o->ramp_window > 0 ? o->ramp_window : 1024) / procs;
    s->threads = o->threads < s->conns ? o->threads : s->conns;
    s->first_loop = o->first_loop + k * o->threads;
    /* each process paces its own connections: its share of the rate */
    s->rate = o->rate * s->conns / o->conns;
    s->slow_conns = o->slow_conns / procs + (k < o->slow_conns % procs);
    if (s->slow_conns > s->conns)
        s->slow_conns = s->conns;
    if (o->requests)
        s->requests = o->requests / (uint64_t)procs + ((uint64_t)k < o->requests % (uint64_t)procs);
}

/* Each child reports once it runs, or why it could not start. */
static int await_started(struct procs *p, char *err, size_t errlen)
{
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        const char *payload;
        size_t len;
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_STATUS, &payload, &len,
                          clock_now_ms() + START_WAIT_MS, NULL, NULL) ||
            len != sizeof c->last) {
            snprintf(err, errlen, "generator process %d did not start", k);
            return -1;
        }
        memcpy(&c->last, payload, sizeof c->last);
        if (c->last.error[0]) {
            snprintf(err, errlen, "generator process %d: %s", k, c->last.error);
            return -1;
        }
    }
    return 0;
}

static void send_all(struct procs *p, char cmd)
{
    for (int k = 0; k < p->n; k++)
        if (p->kids[k].to_fd >= 0)
            wire_send(p->kids[k].to_fd, cmd, NULL, 0, clock_now_ms() + 1000);
}

/* Whether every child's newest status has the flag at offset `flag` (an int32_t) set. */
static bool all_kids(struct procs *p, size_t flag)
{
    poll_status(p);
    for (int k = 0; k < p->n; k++) {
        int32_t v;
        memcpy(&v, (const char *)&p->kids[k].last + flag, sizeof v);
        if (!v)
            return false;
    }
    return true;
}

static bool procs_ramped(void *impl)
{
    return all_kids(impl, offsetof(struct wire_status, ramped));
}

static void procs_command(void *impl, char cmd)
{
    send_all(impl, cmd);
}

static bool procs_quota_done(void *impl)
{
    return all_kids(impl, offsetof(struct wire_status, quota_done));
}

static uint64_t procs_progress(void *impl, uint64_t *errors)
{
    struct procs *p = impl;
    poll_status(p);
    uint64_t sum = 0, e = 0;
    for (int k = 0; k < p->n; k++) {
        sum += p->kids[k].last.progress;
        e += p->kids[k].last.errors;
    }
    if (errors)
        *errors = e;
    return sum;
}

static void procs_conns(void *impl, int *open, int *failed)
{
    struct procs *p = impl;
    poll_status(p);
    *open = *failed = 0;
    for (int k = 0; k < p->n; k++) {
        *open += p->kids[k].last.open;
        *failed += p->kids[k].last.failed;
    }
}

/* Adds one process's result into out, exactly as load_stop merges its threads. */
static void merge(struct load_result *out, const struct load_result *r)
{
    out->c.requests += r->c.requests;
    out->c.responses += r->c.responses;
    out->c.bytes += r->c.bytes;
    out->c.reconnects += r->c.reconnects;
    for (int k = 0; k < LOAD_ERR_N; k++) {
        out->c.errors[k] += r->c.errors[k];
        if (out->first_error[k][0] == '\0')
            memcpy(out->first_error[k], r->first_error[k], sizeof out->first_error[k]);
    }
    if (r->window_end_ns) {
        if (!out->window_start_ns || r->window_start_ns < out->window_start_ns)
            out->window_start_ns = r->window_start_ns;
        if (r->window_end_ns > out->window_end_ns)
            out->window_end_ns = r->window_end_ns;
    }
    out->cpu_s += r->cpu_s;
    if (r->cpu_max_thread > out->cpu_max_thread)
        out->cpu_max_thread = r->cpu_max_thread;
    out->conns_connected += r->conns_connected;
    out->conns_failed += r->conns_failed;
    out->conns_open_peak += r->conns_open_peak;
    out->conns_open_end += r->conns_open_end;
    for (int k = 0; k < LOAD_STOP_N; k++)
        out->stop[k] += r->stop[k];
    out->stop_open += r->stop_open;
    if (r->ramp_s < 0 || out->ramp_s < 0)
        out->ramp_s = -1;
    else if (r->ramp_s > out->ramp_s)
        out->ramp_s = r->ramp_s;
}

/* Reads every child's result (after WIRE_WINDOW, WIRE_STEP_END or WIRE_STOP) and merges them
 * into *out, whose histograms it allocates. 0 ok; -1 with the cause in err (out then holds what
 * the others sent, or nothing if memory ran out). */
static int collect(struct procs *p, struct load_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->latency = hist_new();
    out->latency_raw = hist_new();
    if (!out->latency || !out->latency_raw) {
        snprintf(err, errlen, "out of memory merging the results");
        load_result_free(out);
        return -1;
    }
    int rc = 0;
    uint64_t deadline = clock_now_ms() + RESULT_WAIT_MS;
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        struct load_result r;
        const char *payload;
        size_t len;
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_RESULT, &payload, &len, deadline, on_status,
                          c) ||
            wire_parse_result(payload, len, &r) < 0) {
            snprintf(err, errlen, "generator process %d ended without its result", k);
            rc = -1;
            continue;
        }
        if (k == 0)
            out->ramp_s = r.ramp_s;
        merge(out, &r);
        hist_merge(out->latency, r.latency);
        hist_merge(out->latency_raw, r.latency_raw);
        load_result_free(&r);
    }
    if (out->window_end_ns > out->window_start_ns)
        out->window_s = (double)(out->window_end_ns - out->window_start_ns) / 1e9;
    return rc;
}

static int procs_measured(void *impl, struct load_result *out, char *err, size_t errlen)
{
    send_all(impl, WIRE_WINDOW);
    return collect(impl, out, err, errlen);
}

/* Every child's acknowledgement of a command, within RESULT_WAIT_MS. 0 all '+'; -1. */
static int await_acks(struct procs *p, const char *what, char *err, size_t errlen)
{
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        const char *payload;
        size_t len;
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_ACK, &payload, &len,
                          clock_now_ms() + RESULT_WAIT_MS, on_status, c) ||
            len != 1 || payload[0] != '+') {
            snprintf(err, errlen, "generator process %d could not %s", k, what);
            return -1;
        }
    }
    return 0;
}

static int procs_step_begin(void *impl, double rate, double settle_s, double length_s, char *err,
                            size_t errlen)
{
    struct procs *p = impl;
    for (int k = 0; k < p->n; k++) {
        double arg[3] = {rate * p->kids[k].conns / p->conns, settle_s, length_s};
        if (wire_send(p->kids[k].to_fd, WIRE_STEP, arg, sizeof arg, clock_now_ms() + 1000) < 0) {
            snprintf(err, errlen, "generator process %d is gone", k);
            return -1;
        }
    }
    return await_acks(p, "start a step", err, errlen);
}

static int procs_watch(void *impl, char *err, size_t errlen)
{
    send_all(impl, WIRE_WATCH);
    return await_acks(impl, "start the stop watch", err, errlen);
}

static int procs_step_end(void *impl, struct load_result *out, char *err, size_t errlen)
{
    send_all(impl, WIRE_STEP_END);
    return collect(impl, out, err, errlen);
}

static int procs_stop(void *impl, struct load_result *out, char *err, size_t errlen)
{
    struct procs *p = impl;
    send_all(p, WIRE_STOP);
    int rc = collect(p, out, err, errlen);
    /* reap them: they exit once their result is written */
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        int status;
        if (c->pid > 0 && waitpid(c->pid, &status, 0) == c->pid) {
            c->pid = -1;
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && rc == 0) {
                snprintf(err, errlen, "generator process %d ended with wait status %d", k, status);
                rc = -1;
            }
        }
    }
    procs_free(p);
    return rc;
}

static const struct gen_ops PROCS = {
    .ramped = procs_ramped,
    .command = procs_command,
    .quota_done = procs_quota_done,
    .progress = procs_progress,
    .conns = procs_conns,
    .measured = procs_measured,
    .step_begin = procs_step_begin,
    .step_end = procs_step_end,
    .watch = procs_watch,
    .stop = procs_stop,
};

struct gen *gen_procs_start(const struct load_opts *o, int procs, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    struct procs *p = calloc(1, sizeof *p);
    if (procs > o->conns)
        procs = o->conns;
    if (p)
        p->kids = calloc((size_t)procs, sizeof *p->kids);
    if (!g || !p || !p->kids) {
        free(g);
        if (p)
            free(p->kids);
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->conns = o->conns;
    for (int k = 0; k < procs; k++) {
        p->kids[k].pid = -1;
        p->kids[k].to_fd = p->kids[k].from_fd = -1;
    }
    fflush(stdout); /* or the children would print what is buffered again */
    fflush(stderr);
    int first = o->first_idx;
    for (int k = 0; k < procs; k++) {
        struct load_opts share;
        share_of(o, procs, k, first, &share);
        p->kids[k].conns = share.conns;
        first += share.conns;
        p->n = k + 1;
        if (spawn_child(p, k, &share, err, errlen) < 0)
            goto fail;
    }
    if (await_started(p, err, errlen) < 0)
        goto fail;
    g->ops = &PROCS;
    g->impl = p;
    return g;
fail:
    procs_free(p);
    free(g);
    return NULL;
}
