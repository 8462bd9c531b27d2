/* node_agent: `harness agent`, a host's side of node_remote: each message one node.h call on
 * node_local here, answered with the program's state or the reading. Whatever it started ends
 * when the orchestrator's stream closes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hosts/hello.h"
#include "load/wire.h"
#include "run/data_here.h"
#include "run/node.h"
#include "run/node_wire.h"

static struct spawn *agent_slots[SLOTS];

static void state_of(const struct spawn *sp, int rc, struct state *st)
{
    memset(st, 0, sizeof *st);
    st->rc = rc;
    if (!sp)
        return;
    st->pid = sp->pid;
    st->exited = sp->exited;
    st->killed = sp->killed;
    st->status = sp->status;
    st->ru = sp->ru;
    st->port = sp->port;
    snprintf(st->host, sizeof st->host, "%s", sp->host);
    size_t from = sp->err_len > STATE_TAIL ? sp->err_len - STATE_TAIL : 0;
    st->tail_len = (uint32_t)(sp->err_len - from);
    memcpy(st->tail, sp->err + from, st->tail_len);
}

static struct spawn *slot(int32_t i)
{
    if (i < 0 || i >= SLOTS)
        return NULL;
    if (!agent_slots[i]) {
        agent_slots[i] = calloc(1, sizeof *agent_slots[i]);
        if (agent_slots[i]) {
            agent_slots[i]->pid = -1;
            agent_slots[i]->out_fd = agent_slots[i]->err_fd = -1;
        }
    }
    return agent_slots[i];
}

/* AG_SPAWN's arguments (node_remote.c's rm_spawn) into a spawn on this host. */
static int agent_spawn(struct spawn *sp, const char *p, size_t len, struct state *st)
{
    char *argv[96];
    int n = 0;
    bool shell = p[0];
    cpu_set_t cpus;
    memcpy(&cpus, p + 2, sizeof cpus);
    size_t off = 2 + sizeof cpus;
    for (; off < len && p[off]; off += strlen(p + off) + 1) { /* the environment */
        char kv[2048];
        snprintf(kv, sizeof kv, "%s", p + off);
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = '\0';
            setenv(kv, eq + 1, 1);
        } else {
            unsetenv(kv);
        }
    }
    for (off++; off < len && n < 95; off += strlen(p + off) + 1)
        argv[n++] = (char *)p + off;
    argv[n] = NULL;
    if (n == 0) {
        snprintf(st->text, sizeof st->text, "the agent was sent no command line");
        return -1;
    }
    return node_local()->ops->spawn(node_local(), sp, argv, shell ? argv[0] : NULL,
                                    p[1] ? &cpus : NULL, st->text, sizeof st->text);
}

/* One call about program sp; its answer is its state. */
static void agent_state_call(char kind, struct spawn *sp, const char *p, size_t len, int out_fd)
{
    struct node *here = node_local();
    struct state *st = calloc(1, sizeof *st);
    int rc = 0;
    char text[sizeof st->text] = "";
    if (!st)
        return;
    if (kind == AG_SPAWN) {
        rc = agent_spawn(sp, p, len, st);
        snprintf(text, sizeof text, "%s", st->text);
    } else if (kind == AG_READY) {
        struct ready_args a;
        memcpy(&a, p, sizeof a < len ? sizeof a : len);
        rc = here->ops->wait_ready(here, sp, a.timeout_ms,
                                   a.has_probe ? (struct sockaddr *)&a.ss : NULL, a.len, text,
                                   sizeof text);
    } else if (kind == AG_POLL) {
        here->ops->poll_exit(here, sp);
    } else if (kind == AG_SIGNAL) {
        int32_t sig;
        memcpy(&sig, p, sizeof sig);
        here->ops->signal(here, sp, sig);
    } else if (kind == AG_STOP) {
        int32_t a[2];
        memcpy(a, p, sizeof a);
        rc = here->ops->stop(here, sp, a[0], a[1]);
    } else if (kind == AG_CLEANUP) {
        here->ops->cleanup(here, sp);
    }
    state_of(sp, rc, st);
    snprintf(st->text, sizeof st->text, "%s", text);
    wire_send(out_fd, AG_REPLY, st, sizeof *st, clock_now_ms() + CALL_MS);
    free(st);
}

static struct inflight agent_dev = {.fd = -1, .stat_fd = -1}; /* of AG_DATA's file */

/* AG_DATA: the data file made ready here, quietly (stdout is the wire). */
static void agent_data(const char *p, size_t len, int out_fd)
{
    static volatile sig_atomic_t never;
    struct data_req rq;
    struct data_reply *a = calloc(1, sizeof *a);
    if (!a)
        return;
    memset(&rq, 0, sizeof rq);
    memcpy(&rq, p, len < sizeof rq ? len : sizeof rq);
    rq.file[sizeof rq.file - 1] = rq.dir[sizeof rq.dir - 1] = '\0';
    rq.quiet = true;
    inflight_close(&agent_dev);
    a->rc = prepare_data_here(&rq, &never, &a->d, &agent_dev, a->line, sizeof a->line, a->err,
                              sizeof a->err);
    a->dev = agent_dev;
    wire_send(out_fd, AG_REPLY, a, sizeof *a, clock_now_ms() + CALL_MS);
    free(a);
}

/* The calls that answer with a reading. */
static void agent_reading(char kind, const char *p, size_t len, int out_fd)
{
    struct node *here = node_local();
    int32_t a[2] = {0, 0};
    memcpy(a, p, len < sizeof a ? len : sizeof a);
    if (kind == AG_PROBE) {
        struct probe pr;
        here->ops->probe(here, slot(a[0]), a[1], &pr);
        wire_send(out_fd, AG_REPLY, &pr, sizeof pr, clock_now_ms() + CALL_MS);
    } else if (kind == AG_PERF_OPEN) {
        char note[256] = "";
        here->ops->perf_open(here, slot(a[0]), note, sizeof note);
        wire_send(out_fd, AG_REPLY, note, strlen(note) + 1, clock_now_ms() + CALL_MS);
    } else if (kind == AG_PERF_CLOSE) {
        here->ops->perf_close(here);
        wire_send(out_fd, AG_REPLY, "", 1, clock_now_ms() + CALL_MS);
    } else if (kind == AG_LIMITS) {
        struct limits l;
        here->ops->limits(here, a[0] >= 0 ? slot(a[0]) : NULL, &l, a[1] ? "failure" : "ramp end");
        wire_send(out_fd, AG_REPLY, &l, sizeof l, clock_now_ms() + CALL_MS);
    } else if (kind == AG_DEV_READ) {
        char text[600];
        long n = inflight_read_here(&agent_dev, a[0] != 0, text, sizeof text);
        wire_send(out_fd, AG_REPLY, text, n > 0 ? (size_t)n + 1 : 1, clock_now_ms() + CALL_MS);
    } else if (kind == AG_CPUSTAT) {
        static struct cpu_list l;
        struct cpustat cs;
        memcpy(&l, p, len < sizeof l ? len : sizeof l);
        here->ops->cpustat(here, &l, &cs);
        wire_send(out_fd, AG_REPLY, &cs, sizeof cs, clock_now_ms() + CALL_MS);
    }
}

int node_agent_main(const char *dir)
{
    struct wire_rx rx = {0};
    int in_fd = 0, out_fd = 1;
    signal(SIGPIPE, SIG_IGN);
    /* the orchestrator's ^C is its own to handle: it stops what we run */
    signal(SIGINT, SIG_IGN);
    if (dir && chdir(dir) < 0) {
        fprintf(stderr,
                "harness agent: cannot work in %s: %s (the run's folder must exist on "
                "every host)\n",
                dir, strerror(errno));
        return 1;
    }
    hello_send(out_fd, clock_now_ms() + CALL_MS);
    fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
    while (!rx.eof) {
        struct pollfd pfd = {in_fd, POLLIN, 0};
        if (poll(&pfd, 1, 1000) > 0)
            wire_rx_fill(&rx, in_fd);
        char kind;
        const char *p;
        size_t len;
        while (wire_rx_next(&rx, &kind, &p, &len)) {
            if (kind == AG_DATA) {
                agent_data(p, len, out_fd);
            } else if (kind == AG_PROBE || kind == AG_PERF_OPEN || kind == AG_PERF_CLOSE ||
                       kind == AG_LIMITS || kind == AG_CPUSTAT || kind == AG_DEV_READ) {
                agent_reading(kind, p, len, out_fd);
            } else if (len >= sizeof(int32_t)) {
                int32_t s;
                memcpy(&s, p, sizeof s);
                agent_state_call(kind, slot(s), p + sizeof s, len - sizeof s, out_fd);
            }
        }
    }
    /* the orchestrator is gone: nothing of ours stays behind */
    for (int i = 0; i < SLOTS; i++)
        if (agent_slots[i]) {
            spawn_cleanup(agent_slots[i]);
            free(agent_slots[i]);
        }
    wire_rx_free(&rx);
    return 0;
}
