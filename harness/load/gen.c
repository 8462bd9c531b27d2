/* gen: the generator as one process or as P forked ones (each its own fd table), merged exactly. */
#include "load/gen.h"
#include "clock.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_WAIT_MS  10000 /* a child's load_start: thread and loop creation only */
#define RESULT_WAIT_MS 60000 /* closing 20k connections takes a while under sanitizers */

/* A child's state, written whole (atomically: smaller than PIPE_BUF) every 100 ms. */
struct gen_status {
    int32_t ramped, quota_done, open, failed;
    uint64_t progress, errors;
    char error[256]; /* non-empty: load_start failed in the child */
};
_Static_assert(sizeof(struct gen_status) <= PIPE_BUF, "status records must be atomic");

struct child {
    pid_t pid;
    int cmd_fd;    /* parent -> child: 'W' traffic, 'M' measure, 'E' end, 'S' stop, 'P' send
                      the measured window, 'B' + 3 doubles (rate, settle_s, length_s): begin a step,
                      'F' finish it */
    int status_fd; /* child -> parent: struct gen_status records */
    int result_fd; /* child -> parent: struct load_result, then its two histograms ('P', 'F',
                      'S'); one byte for 'B', '+' ok or '-' failed */
    int conns;     /* its share */
    struct gen_status last;
};

struct gen {
    struct load *local; /* procs == 1 */
    int n, conns;
    struct child *kids;
};

/* Reads exactly len bytes within the deadline. 0 ok, -1 (EOF, error, timeout). */
static int read_all(int fd, void *buf, size_t len, uint64_t deadline_ms)
{
    char *p = buf;
    while (len > 0) {
        uint64_t now = clock_now_ms();
        if (now >= deadline_ms)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(deadline_ms - now)) <= 0)
            continue;
        ssize_t n = read(fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A result, then its two histograms: what the parent's read_result takes. 0 ok, -1. */
static int write_result(int fd, const struct load_result *res)
{
    return fdio_write_all(fd, res, sizeof *res) == 0 &&
                   fdio_write_all(fd, res->latency, sizeof *res->latency) == 0 &&
                   fdio_write_all(fd, res->latency_raw, sizeof *res->latency_raw) == 0
               ? 0
               : -1;
}

/* 'P' and 'F': a window of the running load, sent to the parent. -1 ends the child. */
static int child_window(struct load *l, char cmd, int result_fd)
{
    struct load_result res;
    int rc = cmd == 'P' ? load_measured(l, &res) : load_step_end(l, &res);
    if (rc < 0)
        return -1;
    rc = write_result(result_fd, &res);
    load_result_free(&res);
    return rc;
}

static void child_publish(struct load *l, int fd)
{
    struct gen_status st;
    memset(&st, 0, sizeof st);
    st.ramped = load_ramped(l);
    st.quota_done = load_quota_done(l);
    st.progress = load_progress(l, &st.errors);
    int open, failed;
    load_conns(l, &open, &failed);
    st.open = open;
    st.failed = failed;
    /* non-blocking: a parent that reads late gets the newest record it finds */
    (void)!write(fd, &st, sizeof st);
}

/* A generator process: runs its share until the parent says stop (or goes away). */
static void child_main(const struct load_opts *o, int cmd_fd, int status_fd, int result_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN); /* a terminal's ^C is the parent's to handle; it stops us */
    signal(SIGTERM, SIG_IGN);
    struct gen_status st;
    memset(&st, 0, sizeof st);
    struct load *l = load_start(o, st.error, sizeof st.error);
    if (!l) {
        fdio_write_all(status_fd, &st, sizeof st);
        _exit(1);
    }
    child_publish(l, status_fd);
    for (;;) {
        struct pollfd pfd = {cmd_fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) > 0) {
            char c = 0;
            ssize_t n = read(cmd_fd, &c, 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || c == 'S')
                break; /* EOF: the parent is gone */
            if (c == 'W') {
                load_start_traffic(l);
            } else if (c == 'M') {
                load_begin_measure(l);
            } else if (c == 'E') {
                load_end_measure(l);
            } else if (c == 'P' || c == 'F') {
                if (child_window(l, c, result_fd) < 0)
                    _exit(1);
            } else if (c == 'B') {
                double arg[3] = {0, 0, 0}; /* rate, settle_s, length_s */
                /* the parent writes the 25 bytes at once: they are all there */
                char ok = read_all(cmd_fd, arg, sizeof arg, clock_now_ms() + 1000) == 0 &&
                                  load_step_begin(l, arg[0], arg[1], arg[2]) == 0
                              ? '+'
                              : '-';
                if (fdio_write_all(result_fd, &ok, 1) < 0)
                    _exit(1);
            }
        }
        child_publish(l, status_fd);
    }
    struct load_result res;
    if (load_stop(l, &res) < 0)
        _exit(1);
    int rc = write_result(result_fd, &res) == 0 ? 0 : 1;
    load_result_free(&res);
    _exit(rc); /* not exit(): the parent's stdio buffers and atexit work are not ours */
}

/* Newest status of each child, without blocking. */
static void poll_status(struct gen *g)
{
    for (int k = 0; k < g->n; k++) {
        struct gen_status buf[8];
        for (;;) {
            ssize_t n = read(g->kids[k].status_fd, buf, sizeof buf);
            if (n < (ssize_t)sizeof buf[0])
                break; /* EAGAIN, EOF, or nothing new */
            g->kids[k].last = buf[n / (ssize_t)sizeof buf[0] - 1];
        }
    }
}

static void kill_all(struct gen *g)
{
    for (int k = 0; k < g->n; k++) {
        struct child *c = &g->kids[k];
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->pid = -1;
        }
    }
}

static void close_all(struct gen *g)
{
    for (int k = 0; k < g->n; k++) {
        struct child *c = &g->kids[k];
        if (c->cmd_fd >= 0)
            close(c->cmd_fd);
        if (c->status_fd >= 0)
            close(c->status_fd);
        if (c->result_fd >= 0)
            close(c->result_fd);
        c->cmd_fd = c->status_fd = c->result_fd = -1;
    }
}

static void gen_free(struct gen *g)
{
    kill_all(g);
    close_all(g);
    free(g->kids);
    free(g);
}

static int spawn_child(struct gen *g, int k, const struct load_opts *share, char *err,
                       size_t errlen)
{
    struct child *c = &g->kids[k];
    int cmd[2], st[2], res[2];
    if (pipe2(cmd, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(st, O_CLOEXEC) < 0) {
        close(cmd[0]);
        close(cmd[1]);
        goto fail;
    }
    if (pipe2(res, O_CLOEXEC) < 0) {
        close(cmd[0]);
        close(cmd[1]);
        close(st[0]);
        close(st[1]);
        goto fail;
    }
    c->pid = fork();
    if (c->pid == 0) {
        /* only this child's own ends stay open, so that EOFs mean what they say */
        for (int j = 0; j < k; j++) {
            close(g->kids[j].cmd_fd);
            close(g->kids[j].status_fd);
            close(g->kids[j].result_fd);
        }
        close(cmd[1]);
        close(st[0]);
        close(res[0]);
        fcntl(st[1], F_SETFL, O_NONBLOCK);
        /* The parent's bookkeeping is not the child's: free it (share is on
         * the parent's stack, copied with it), so leak checkers see none. */
        free(g->kids);
        free(g);
        child_main(share, cmd[0], st[1], res[1]);
    }
    close(cmd[0]);
    close(st[1]);
    close(res[1]);
    c->cmd_fd = cmd[1];
    c->status_fd = st[0];
    c->result_fd = res[0];
    if (c->pid < 0) {
        snprintf(err, errlen, "fork of generator process %d: %s", k, strerror(errno));
        return -1;
    }
    fcntl(c->status_fd, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
}

struct gen *gen_start(const struct load_opts *o, int procs, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (procs <= 1) {
        g->local = load_start(o, err, errlen);
        if (!g->local) {
            free(g);
            return NULL;
        }
        return g;
    }
    if (procs > o->conns)
        procs = o->conns;
    g->conns = o->conns;
    g->kids = calloc((size_t)procs, sizeof *g->kids);
    if (!g->kids) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int k = 0; k < procs; k++) {
        g->kids[k].pid = -1;
        g->kids[k].cmd_fd = g->kids[k].status_fd = g->kids[k].result_fd = -1;
    }
    fflush(stdout); /* or the children would print what is buffered again */
    fflush(stderr);
    int first = o->first_idx;
    for (int k = 0; k < procs; k++) {
        struct load_opts share = *o;
        share.conns = o->conns / procs + (k < o->conns % procs);
        share.first_idx = first;
        share.connect_rate = o->connect_rate / procs;
        share.ramp_window = (o->ramp_window > 0 ? o->ramp_window : 1024) / procs;
        share.threads = o->threads < share.conns ? o->threads : share.conns;
        share.first_loop = o->first_loop + k * o->threads;
        /* each process paces its own connections: its share of the rate */
        share.rate = o->rate * share.conns / o->conns;
        g->kids[k].conns = share.conns;
        if (o->requests)
            share.requests =
                o->requests / (uint64_t)procs + ((uint64_t)k < o->requests % (uint64_t)procs);
        first += share.conns;
        g->n = k + 1;
        if (spawn_child(g, k, &share, err, errlen) < 0)
            goto fail;
    }
    /* each child reports once it runs, or why it could not start */
    for (int k = 0; k < g->n; k++) {
        struct child *c = &g->kids[k];
        if (read_all(c->status_fd, &c->last, sizeof c->last, clock_now_ms() + START_WAIT_MS) < 0) {
            snprintf(err, errlen, "generator process %d did not start", k);
            goto fail;
        }
        if (c->last.error[0]) {
            snprintf(err, errlen, "generator process %d: %s", k, c->last.error);
            goto fail;
        }
    }
    return g;
fail:
    gen_free(g);
    return NULL;
}

static void send_all(struct gen *g, char cmd)
{
    for (int k = 0; k < g->n; k++)
        if (g->kids[k].cmd_fd >= 0)
            (void)!write(g->kids[k].cmd_fd, &cmd, 1);
}

bool gen_ramped(struct gen *g)
{
    if (g->local)
        return load_ramped(g->local);
    poll_status(g);
    for (int k = 0; k < g->n; k++)
        if (!g->kids[k].last.ramped)
            return false;
    return true;
}

void gen_start_traffic(struct gen *g)
{
    if (g->local)
        load_start_traffic(g->local);
    else
        send_all(g, 'W');
}

void gen_begin_measure(struct gen *g)
{
    if (g->local)
        load_begin_measure(g->local);
    else
        send_all(g, 'M');
}

void gen_end_measure(struct gen *g)
{
    if (g->local)
        load_end_measure(g->local);
    else
        send_all(g, 'E');
}

bool gen_quota_done(struct gen *g)
{
    if (g->local)
        return load_quota_done(g->local);
    poll_status(g);
    for (int k = 0; k < g->n; k++)
        if (!g->kids[k].last.quota_done)
            return false;
    return true;
}

uint64_t gen_progress(struct gen *g, uint64_t *errors)
{
    if (g->local)
        return load_progress(g->local, errors);
    poll_status(g);
    uint64_t p = 0, e = 0;
    for (int k = 0; k < g->n; k++) {
        p += g->kids[k].last.progress;
        e += g->kids[k].last.errors;
    }
    if (errors)
        *errors = e;
    return p;
}

void gen_conns(struct gen *g, int *open, int *failed)
{
    if (g->local) {
        load_conns(g->local, open, failed);
        return;
    }
    poll_status(g);
    *open = *failed = 0;
    for (int k = 0; k < g->n; k++) {
        *open += g->kids[k].last.open;
        *failed += g->kids[k].last.failed;
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
    if (r->ramp_s < 0 || out->ramp_s < 0)
        out->ramp_s = -1;
    else if (r->ramp_s > out->ramp_s)
        out->ramp_s = r->ramp_s;
}

/* Reads every child's result (after a 'P', 'F' or 'S') and merges them into *out, whose
 * histograms it allocates. 0 ok; -1 with the cause in err (out then holds what the others
 * sent, or nothing if memory ran out). */
static int collect(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->latency = hist_new();
    out->latency_raw = hist_new();
    struct hist *h = hist_new();
    int rc = 0;
    if (!out->latency || !out->latency_raw || !h) {
        snprintf(err, errlen, "out of memory merging the results");
        hist_free(h);
        load_result_free(out);
        return -1;
    }
    uint64_t deadline = clock_now_ms() + RESULT_WAIT_MS;
    for (int k = 0; k < g->n; k++) {
        struct child *c = &g->kids[k];
        struct load_result r;
        if (read_all(c->result_fd, &r, sizeof r, deadline) < 0 ||
            read_all(c->result_fd, h, sizeof *h, deadline) < 0) {
            snprintf(err, errlen, "generator process %d ended without its result", k);
            rc = -1;
            continue;
        }
        if (k == 0)
            out->ramp_s = r.ramp_s;
        merge(out, &r);
        hist_merge(out->latency, h);
        if (read_all(c->result_fd, h, sizeof *h, deadline) < 0) {
            snprintf(err, errlen, "generator process %d ended without its result", k);
            rc = -1;
            continue;
        }
        hist_merge(out->latency_raw, h);
    }
    if (out->window_end_ns > out->window_start_ns)
        out->window_s = (double)(out->window_end_ns - out->window_start_ns) / 1e9;
    hist_free(h);
    return rc;
}

int gen_measured(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    if (g->local) {
        if (load_measured(g->local, out) == 0)
            return 0;
        snprintf(err, errlen, "the generator could not report its measured window");
        return -1;
    }
    send_all(g, 'P');
    return collect(g, out, err, errlen);
}

int gen_step_begin(struct gen *g, double rate, double settle_s, double length_s, char *err,
                   size_t errlen)
{
    if (g->local) {
        if (load_step_begin(g->local, rate, settle_s, length_s) == 0)
            return 0;
        snprintf(err, errlen, "the generator could not start a step at %.0f req/s", rate);
        return -1;
    }
    for (int k = 0; k < g->n; k++) {
        double arg[3] = {rate * g->kids[k].conns / g->conns, settle_s, length_s};
        char msg[1 + sizeof arg];
        msg[0] = 'B';
        memcpy(msg + 1, arg, sizeof arg);
        if (fdio_write_all(g->kids[k].cmd_fd, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "generator process %d is gone", k);
            return -1;
        }
    }
    for (int k = 0; k < g->n; k++) {
        char ok = 0;
        if (read_all(g->kids[k].result_fd, &ok, 1, clock_now_ms() + RESULT_WAIT_MS) < 0 ||
            ok != '+') {
            snprintf(err, errlen, "generator process %d could not start a step", k);
            return -1;
        }
    }
    return 0;
}

int gen_step_end(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    if (g->local) {
        if (load_step_end(g->local, out) == 0)
            return 0;
        snprintf(err, errlen, "the generator could not report its step");
        return -1;
    }
    send_all(g, 'F');
    return collect(g, out, err, errlen);
}

int gen_stop(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    err[0] = '\0';
    if (g->local) {
        int rc = load_stop(g->local, out);
        free(g);
        if (rc < 0)
            snprintf(err, errlen, "out of memory merging the results");
        return rc;
    }
    send_all(g, 'S');
    int rc = collect(g, out, err, errlen);
    /* reap them: they exit once their result is written */
    for (int k = 0; k < g->n; k++) {
        struct child *c = &g->kids[k];
        int status;
        if (c->pid > 0 && waitpid(c->pid, &status, 0) == c->pid) {
            c->pid = -1;
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && rc == 0) {
                snprintf(err, errlen, "generator process %d ended with wait status %d", k, status);
                rc = -1;
            }
        }
    }
    gen_free(g);
    return rc;
}
