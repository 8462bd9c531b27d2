/* gen_spawn: a generator's processes started: forked here with their share, or `harness gen` on
 * each host of a spread load, its build checked and its clock measured. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "forkpipe.h"
#include "hosts/hello.h"
#include "load/gen_int.h"
#include "load/gen_procs.h"

#define CLOCK_PINGS 7

/* A forked generator process runs its share in itself (send_opts gives it one process). */
static struct gen *start_here(const struct load_opts *o, int procs, char *err, size_t errlen)
{
    (void)procs;
    return gen_local_start(o, err, errlen);
}

static void become_child(struct procs *p, int k, int in_fd, int out_fd)
{
    signal(SIGINT, SIG_IGN); /* a terminal's ^C is the parent's to handle; it stops us */
    signal(SIGTERM, SIG_IGN);
    for (int j = 0; j < p->n; j++) {
        struct child *c = &p->kids[j];
        if (j == k)
            continue;
        close(c->to_fd);
        close(c->from_fd);
        if (c->remote)
            close(c->rp.err_fd);
        wire_rx_free(&c->rx);
    }
    /* a host's generator talks on its stdin and stdout: they are not ours */
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
    /* the parent's bookkeeping is not the child's: freed, so that leak checkers see none */
    free(p->kids);
    if (p->own_shares)
        free(p->shares);
    free(p);
    _exit(gen_child_main(in_fd, out_fd, start_here,
                         NULL)); /* not exit(): the parent's stdio is not ours */
}

/* Sends child k how to run its share. 0 ok; -1 with the cause in err. */
static int send_opts(struct procs *p, int k, const struct load_opts *share, int procs, bool replan,
                     char *err, size_t errlen)
{
    struct wire_opts w;
    char name[96];
    memset(&w, 0, sizeof w);
    w.o = *share;
    w.procs = procs;
    w.replan = replan;
    if (wire_send(p->kids[k].to_fd, WIRE_OPTS, &w, sizeof w, clock_now_ms() + START_WAIT_MS) < 0) {
        snprintf(err, errlen, "%s: cannot send its options: %s", procs_who(p, k, name, sizeof name),
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Forks child k. 0 ok; -1 with the cause in err. */
static int fork_child(struct procs *p, int k, const struct load_opts *share, char *err,
                      size_t errlen)
{
    struct child *c = &p->kids[k];
    int pipes[2][2], *down = pipes[0], *up = pipes[1];
    char why[200];
    c->pid = forkpipe_start(pipes, 2, why, sizeof why);
    if (c->pid < 0) {
        snprintf(err, errlen, "generator process %d: %s", k, why);
        return -1;
    }
    if (c->pid == 0) {
        close(down[1]);
        close(up[0]);
        become_child(p, k, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    c->to_fd = down[1];
    c->from_fd = up[0];
    fcntl(c->from_fd, F_SETFL, O_NONBLOCK);
    return send_opts(p, k, share, 1, false, err, errlen);
}

/* The host's clock against this one's: the ping of least round trip, its answer taken as read
 * half-way. */
static int measure_clock(struct child *c, struct gen_share *s)
{
    double best = -1;
    for (int i = 0; i < CLOCK_PINGS; i++) {
        const char *payload;
        size_t len;
        uint64_t t0 = clock_now_ns(), there;
        if (wire_send(c->to_fd, WIRE_CLOCK, NULL, 0, clock_now_ms() + START_WAIT_MS) < 0 ||
            !wire_rx_wait(&c->rx, c->from_fd, WIRE_TIME, &payload, &len,
                          clock_now_ms() + START_WAIT_MS, NULL, NULL) ||
            len != sizeof there)
            return -1;
        uint64_t t1 = clock_now_ns();
        memcpy(&there, payload, sizeof there);
        double rtt = (double)(t1 - t0);
        if (best < 0 || rtt < best) {
            best = rtt;
            c->shift_ns = (int64_t)(t0 + (t1 - t0) / 2) - (int64_t)there;
        }
    }
    s->fig.clock_rtt_ms = best / 1e6;
    s->fig.clock_offset_ms = (double)-c->shift_ns / 1e6;
    return 0;
}

/* Starts `harness gen` on share s's host as child k: its hello (the same build, or refused),
 * its clock, its options. 0 ok; -1 with the cause in err. */
static int start_remote(struct procs *p, int k, struct gen_share *s, const struct load_opts *share,
                        char *err, size_t errlen)
{
    struct child *c = &p->kids[k];
    char *argv[] = {(char *)remote_self(), "gen", NULL};
    const char *payload;
    size_t len;
    char last[300];
    c->remote = true;
    if (remote_start(s->host, argv, &c->rp, err, errlen) < 0)
        return -1;
    c->to_fd = c->rp.to_fd;
    c->from_fd = c->rp.from_fd;
    if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_HELLO, &payload, &len, clock_now_ms() + HOST_WAIT_MS,
                      NULL, NULL)) {
        snprintf(err, errlen, "host %s: `%s gen` did not start there%s", s->host->name, argv[0],
                 procs_last_words(&c->rp, last, sizeof last));
        return -1;
    }
    if (hello_check(payload, len, s->host->name, s->env, sizeof s->env, err, errlen) < 0)
        return -1;
    if (measure_clock(c, s) < 0) {
        snprintf(err, errlen, "host %s: its generator did not answer%s", s->host->name,
                 procs_last_words(&c->rp, last, sizeof last));
        return -1;
    }
    return send_opts(p, k, share, s->procs, true, err, errlen);
}

/* Part k of parts of o: its connections (indexes from first), its part of each rate and of the
 * requests, of the slow connections of a stop watch. */
static void share_of(const struct load_opts *o, int parts, int k, int first, struct load_opts *s)
{
    *s = *o;
    s->conns = o->conns / parts + (k < o->conns % parts);
    s->first_idx = first;
    s->connect_rate = o->connect_rate / parts;
    s->ramp_window = (o->ramp_window > 0 ? o->ramp_window : 1024) / parts;
    s->threads = o->threads < s->conns ? o->threads : s->conns;
    /* each process paces its own connections: its share of the rate */
    s->rate = o->conns > 0 ? o->rate * s->conns / o->conns : 0;
    s->slow_conns = o->slow_conns / parts + (k < o->slow_conns % parts);
    if (s->slow_conns > s->conns)
        s->slow_conns = s->conns;
    if (o->requests)
        s->requests = o->requests / (uint64_t)parts + ((uint64_t)k < o->requests % (uint64_t)parts);
}

/* Each child reports once it runs, or why it could not start. */
static int await_started(struct procs *p, char *err, size_t errlen)
{
    for (int k = 0; k < p->n; k++) {
        struct child *c = &p->kids[k];
        const char *payload;
        size_t len;
        char name[96], last[300] = "";
        if (!wire_rx_wait(&c->rx, c->from_fd, WIRE_STATUS, &payload, &len,
                          clock_now_ms() + (c->remote ? HOST_WAIT_MS : START_WAIT_MS), NULL,
                          NULL) ||
            len != sizeof c->last) {
            snprintf(err, errlen, "%s: its generator did not start%s",
                     procs_who(p, k, name, sizeof name),
                     c->remote ? procs_last_words(&c->rp, last, sizeof last) : "");
            return -1;
        }
        memcpy(&c->last, payload, sizeof c->last);
        if (c->last.error[0]) {
            snprintf(err, errlen, "%s: %s", procs_who(p, k, name, sizeof name), c->last.error);
            return -1;
        }
    }
    return 0;
}

static int start_share(struct procs *p, int i, const struct load_opts *hs, int *k, char *err,
                       size_t errlen)
{
    struct gen_share *s = &p->shares[i];
    s->fig.conns = hs->conns;
    if (s->host) {
        p->kids[*k].share = i;
        p->n = *k + 1;
        return start_remote(p, (*k)++, s, hs, err, errlen);
    }
    int procs = s->procs > 1 ? s->procs : 1, first = hs->first_idx;
    if (procs > hs->conns)
        procs = hs->conns > 0 ? hs->conns : 1;
    for (int j = 0; j < procs; j++) {
        struct load_opts one;
        share_of(hs, procs, j, first, &one);
        one.first_loop = hs->first_loop + j * hs->threads;
        first += one.conns;
        p->kids[*k].conns = one.conns;
        p->kids[*k].share = i;
        p->n = *k + 1;
        if (fork_child(p, (*k)++, &one, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* How many children the shares make. */
static int count_kids(const struct gen_share *shares, int n)
{
    int kids = 0;
    for (int i = 0; i < n; i++)
        kids += shares[i].host || shares[i].procs <= 1 ? 1 : shares[i].procs;
    return kids; /* at most: a share's processes never outnumber its connections */
}

struct gen *gen_procs_start(const struct load_opts *o, struct gen_share *shares, int n, char *err,
                            size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    struct procs *p = calloc(1, sizeof *p);
    bool own = n < 0;
    n = own ? 1 : n;
    if (!own && n > HOSTS_MAX + 1)
        n = HOSTS_MAX + 1;
    if (!own && n > o->conns)
        n = o->conns;
    if (own && shares[0].procs > o->conns)
        shares[0].procs = o->conns;
    int kids = count_kids(shares, n);
    if (p)
        p->kids = calloc((size_t)kids, sizeof *p->kids);
    if (!g || !p || !p->kids) {
        free(g);
        if (p)
            free(p->kids);
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->conns = o->conns;
    p->shares = shares;
    p->nshares = n;
    p->own_shares = own;
    for (int k = 0; k < kids; k++) {
        p->kids[k].pid = -1;
        p->kids[k].to_fd = p->kids[k].from_fd = -1;
        p->kids[k].rp.pid = -1;
    }
    fflush(stdout); /* or the children would print what is buffered again */
    fflush(stderr);
    int first = o->first_idx, k = 0;
    for (int i = 0; i < n; i++) {
        struct load_opts hs;
        share_of(o, n, i, first, &hs);
        hs.first_loop = shares[i].host ? 0 : o->first_loop;
        first += hs.conns;
        if (start_share(p, i, &hs, &k, err, errlen) < 0)
            goto fail;
    }
    for (int j = 0; j < p->n; j++)
        if (p->kids[j].remote)
            p->kids[j].conns = p->shares[p->kids[j].share].fig.conns;
    if (await_started(p, err, errlen) < 0)
        goto fail;
    g->ops = &PROCS_OPS;
    g->impl = p;
    return g;
fail:
    procs_free(p);
    free(g);
    return NULL;
}
