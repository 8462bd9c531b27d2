/* gen_procs: the generator as processes driven over wire.h's messages: forked here (each its
 * own fd table), or one `harness gen` on each host of a spread load, their results merged
 * exactly and counted per host. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "load/gen_int.h"
#include "load/gen_procs.h"

/* Who a child is, in messages: "host c1" or "generator process 3". */
const char *procs_who(const struct procs *p, int k, char *buf, size_t len)
{
    const struct child *c = &p->kids[k];
    if (c->remote)
        snprintf(buf, len, "host %s", c->rp.host->name);
    else
        snprintf(buf, len, "generator process %d", k);
    return buf;
}

/* The last line a host's side wrote on its stderr, ": ..." (or ""). */
const char *procs_last_words(struct rproc *rp, char *buf, size_t len)
{
    char line[256];
    remote_drain_err(rp);
    fdio_last_line(rp->err, line, sizeof line);
    snprintf(buf, len, "%s%s", line[0] ? ": " : "", line);
    return buf;
}

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

static void child_close(struct child *c)
{
    if (c->remote) {
        remote_end(&c->rp, 2000);
    } else {
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
        if (c->to_fd >= 0)
            close(c->to_fd);
        if (c->from_fd >= 0)
            close(c->from_fd);
    }
    c->pid = -1;
    c->to_fd = c->from_fd = -1;
    wire_rx_free(&c->rx);
}

void procs_free(struct procs *p)
{
    for (int k = 0; k < p->n; k++)
        child_close(&p->kids[k]);
    free(p->kids);
    if (p->own_shares)
        free(p->shares);
    free(p);
}

/* In the forked child: only its own ends stay open, so that EOFs mean what they say. */
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

static bool procs_alive(void *impl, char *err, size_t errlen)
{
    struct procs *p = impl;
    poll_status(p);
    for (int k = 0; k < p->n && !p->stopping; k++) {
        struct child *c = &p->kids[k];
        char name[96], last[300] = "";
        if (!c->rx.eof)
            continue;
        snprintf(err, errlen, "%s: its generator is gone mid-run%s",
                 procs_who(p, k, name, sizeof name),
                 c->remote ? procs_last_words(&c->rp, last, sizeof last) : "");
        return false;
    }
    return true;
}

/* Child k's result into its host's share. */
static void count_share(struct procs *p, int k, const struct load_result *r, uint64_t *starts)
{
    struct child *c = &p->kids[k];
    struct gen_share *s = &p->shares[c->share];
    for (int e = 0; e < LOAD_ERR_N; e++)
        s->fig.c.errors[e] += r->c.errors[e];
    s->fig.c.requests += r->c.requests;
    s->fig.c.responses += r->c.responses;
    s->fig.c.bytes += r->c.bytes;
    s->fig.c.reconnects += r->c.reconnects;
    s->fig.cpu_s += r->cpu_s;
    s->fig.conns_connected += r->conns_connected;
    uint64_t start = (uint64_t)((int64_t)r->window_start_ns + c->shift_ns);
    if (r->window_end_ns && (!starts[c->share] || start < starts[c->share]))
        starts[c->share] = start;
}

/* Each share's figures start again for a new result. */
static void shares_reset(struct procs *p)
{
    for (int i = 0; i < p->nshares; i++) {
        struct gen_figures *f = &p->shares[i].fig;
        memset(&f->c, 0, sizeof f->c);
        f->cpu_s = 0;
        f->conns_connected = 0;
        f->window_start_ms = 0;
    }
}

/* How far after the earliest host each opened its window. */
static void shares_skew(struct procs *p, const uint64_t *starts)
{
    uint64_t first = 0;
    for (int i = 0; i < p->nshares; i++)
        if (starts[i] && (!first || starts[i] < first))
            first = starts[i];
    for (int i = 0; i < p->nshares; i++)
        p->shares[i].fig.window_start_ms = starts[i] ? (double)(starts[i] - first) / 1e6 : 0;
}

/* Reads every child's result (after WIRE_WINDOW, WIRE_STEP_END or WIRE_STOP) and merges them
 * into *out, whose histograms it allocates. 0 ok; -1 with the cause in err (out then holds what
 * the others sent, or nothing if memory ran out). */
static int collect(struct procs *p, struct load_result *out, char *err, size_t errlen)
{
    uint64_t starts[HOSTS_MAX + 1] = {0};
    memset(out, 0, sizeof *out);
    out->latency = hist_new();
    out->latency_raw = hist_new();
    if (!out->latency || !out->latency_raw) {
        snprintf(err, errlen, "out of memory merging the results");
        load_result_free(out);
        return -1;
    }
    shares_reset(p);
    int rc = 0;
    uint64_t deadline = clock_now_ms() + RESULT_WAIT_MS;
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        struct load_result r;
        const char *payload;
        size_t len;
        char name[96];
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_RESULT, &payload, &len, deadline, on_status,
                          c) ||
            wire_parse_result(payload, len, &r) < 0) {
            snprintf(err, errlen, "%s ended without its result",
                     procs_who(p, k, name, sizeof name));
            rc = -1;
            continue;
        }
        if (k == 0)
            out->ramp_s = r.ramp_s;
        gen_merge(out, &r, c->shift_ns);
        count_share(p, k, &r, starts);
        load_result_free(&r);
    }
    shares_skew(p, starts);
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
        char name[96];
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_ACK, &payload, &len,
                          clock_now_ms() + RESULT_WAIT_MS, on_status, c) ||
            len != 1 || payload[0] != '+') {
            snprintf(err, errlen, "%s could not %s", procs_who(p, k, name, sizeof name), what);
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
        char name[96];
        if (wire_send(p->kids[k].to_fd, WIRE_STEP, arg, sizeof arg, clock_now_ms() + 1000) < 0) {
            snprintf(err, errlen, "%s is gone", procs_who(p, k, name, sizeof name));
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

/* Child k's end, once its result is in: 0 a clean exit; -1 with the cause in err. */
static int reap(struct procs *p, int k, char *err, size_t errlen)
{
    struct child *c = &p->kids[k];
    int status = -1;
    char name[96];
    if (c->remote)
        status = remote_end(&c->rp, RESULT_WAIT_MS);
    else if (c->pid <= 0 || waitpid(c->pid, &status, 0) != c->pid)
        return 0; /* reaped before, or not ours to reap */
    c->pid = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    snprintf(err, errlen, "%s ended with wait status %d", procs_who(p, k, name, sizeof name),
             status);
    return -1;
}

static int procs_stop(void *impl, struct load_result *out, char *err, size_t errlen)
{
    struct procs *p = impl;
    p->stopping = true;
    send_all(p, WIRE_STOP);
    int rc = collect(p, out, err, errlen);
    char more[256]; /* a second cause, when the first is already in err */
    for (int k = 0; k < p->n; k++)
        if (reap(p, k, rc == 0 ? err : more, rc == 0 ? errlen : sizeof more) < 0)
            rc = -1;
    procs_free(p);
    return rc;
}

const struct gen_ops PROCS_OPS = {
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
    .alive = procs_alive,
};

/* Share i's processes from kid index *k on: forked here, or its host's generator. */
