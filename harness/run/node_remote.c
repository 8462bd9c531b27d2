/* node_remote: a node on another host: each node.h call is one message to `harness agent`
 * there, which makes the same call on node_local and answers (node_agent.c). Both
 * ends run the same build (checked at the start), so structs travel as their bytes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "hosts/hello.h"
#include "hosts/remote.h"
#include "load/wire.h"
#include "run/data_here.h"
#include "run/node.h"
#include "run/node_wire.h"

struct remote {
    struct rproc proc;
    bool dead; /* a call went unanswered: the agent is gone */
    struct wire_rx rx;
    char name[64];
    struct spawn *slots[SLOTS];
};

/* ---- the orchestrator's side ------------------------------------------------------------- */

/* One call: a message, and the answer (its payload into reply, at most cap bytes). -1: the
 * agent is gone (its last stderr line in the failure). */
static int call_within(struct remote *rm, char kind, const void *msg, size_t len, void *reply,
                       size_t cap, uint64_t wait_ms)
{
    const char *payload;
    size_t n;
    if (rm->dead)
        return -1; /* once gone, every call fails at once */
    if (wire_send(rm->proc.to_fd, kind, msg, len, clock_now_ms() + CALL_MS) < 0 ||
        !wire_rx_wait(&rm->rx, rm->proc.from_fd, AG_REPLY, &payload, &n, clock_now_ms() + wait_ms,
                      NULL, NULL)) {
        remote_drain_err(&rm->proc);
        rm->dead = true;
        return -1;
    }
    memcpy(reply, payload, n < cap ? n : cap);
    return 0;
}

static int call(struct remote *rm, char kind, const void *msg, size_t len, void *reply, size_t cap)
{
    return call_within(rm, kind, msg, len, reply, cap, CALL_MS);
}

static int slot_of(struct remote *rm, struct spawn *sp)
{
    for (int i = 0; i < SLOTS; i++)
        if (rm->slots[i] == sp)
            return i;
    for (int i = 0; i < SLOTS; i++)
        if (!rm->slots[i]) {
            rm->slots[i] = sp;
            return i;
        }
    return 0;
}

/* The answer's state into the local record of the program. */
static void apply(struct spawn *sp, const struct state *st)
{
    sp->pid = st->pid;
    sp->exited = st->exited;
    sp->killed = st->killed;
    sp->status = st->status;
    sp->ru = st->ru;
    if (st->port > 0) {
        sp->port = st->port;
        snprintf(sp->host, sizeof sp->host, "%s", st->host);
    }
    size_t n = st->tail_len < sizeof sp->err ? st->tail_len : sizeof sp->err - 1;
    memcpy(sp->err, st->tail, n);
    sp->err[n] = '\0';
    sp->err_len = n;
}

/* A call about one program whose answer is its state. */
static int state_call(struct node *n, struct spawn *sp, char kind, const void *args, size_t len,
                      struct state *st)
{
    struct remote *rm = n->impl;
    static char msg[sizeof(int32_t) + 8192 + sizeof(cpu_set_t)];
    int32_t slot = slot_of(rm, sp);
    if (len > sizeof msg - sizeof slot)
        len = sizeof msg - sizeof slot; /* never: rm_spawn's are the largest, and fit */
    memcpy(msg, &slot, sizeof slot);
    memcpy(msg + sizeof slot, args, len);
    memset(st, 0, sizeof *st);
    if (call(rm, kind, msg, sizeof slot + len, st, sizeof *st) < 0) {
        char last[256];
        fdio_last_line(rm->proc.err, last, sizeof last);
        snprintf(st->text, sizeof st->text, "host %s: its agent is gone%s%s", rm->name,
                 last[0] ? ": " : "", last);
        if (!n->gone[0])
            snprintf(n->gone, sizeof n->gone, "%s", st->text);
        st->rc = -1;
        sp->exited = true; /* nothing of it can be reached any more */
        return -1;
    }
    apply(sp, st);
    return st->rc;
}

/* Appends word w (with its NUL) at *off. -1 when it does not fit. */
static int put_word(char *buf, size_t cap, size_t *off, const char *w)
{
    size_t len = strlen(w) + 1;
    if (*off + len > cap)
        return -1;
    memcpy(buf + *off, w, len);
    *off += len;
    return 0;
}

/* The server's environment of launch.c travels with it: these, as set here now. */
static const char *const PASSED_ENV[] = {"TVT_SERVER_CPUS", "TVT_UPSTREAM", "TVT_DATA_FILE"};

/* AG_SPAWN's arguments: shell?, cpus?, the set, the passed environment ("K=V", or "K" for
 * unset), an empty word, then argv's words (or the shell command). */
static int rm_spawn(struct node *n, struct spawn *sp, char *const argv[], const char *shell_cmd,
                    const cpu_set_t *cpus, char *err, size_t errlen)
{
    char args[8192 + sizeof(cpu_set_t)], kv[2048];
    size_t off = 0;
    int bad = 0;
    args[off++] = shell_cmd != NULL;
    args[off++] = cpus != NULL;
    memset(args + off, 0, sizeof(cpu_set_t));
    if (cpus)
        memcpy(args + off, cpus, sizeof *cpus);
    off += sizeof(cpu_set_t);
    for (size_t i = 0; i < sizeof PASSED_ENV / sizeof *PASSED_ENV; i++) {
        const char *v = getenv(PASSED_ENV[i]);
        snprintf(kv, sizeof kv, "%s%s%s", PASSED_ENV[i], v ? "=" : "", v ? v : "");
        bad |= put_word(args, sizeof args, &off, kv);
    }
    bad |= put_word(args, sizeof args, &off, "");
    for (int i = 0; shell_cmd ? i < 1 : argv[i] != NULL; i++)
        bad |= put_word(args, sizeof args, &off, shell_cmd ? shell_cmd : argv[i]);
    if (bad) {
        snprintf(err, errlen, "the server's command line is too long for the agent");
        return -1;
    }
    struct state st;
    if (state_call(n, sp, AG_SPAWN, args, off, &st) < 0) {
        snprintf(err, errlen, "%s", st.text);
        return -1;
    }
    return 0;
}

static int rm_wait_ready(struct node *n, struct spawn *sp, int timeout_ms,
                         const struct sockaddr *probe, socklen_t probelen, char *err, size_t errlen)
{
    struct ready_args a = {timeout_ms, probe != NULL, probelen, {0}};
    if (probe)
        memcpy(&a.ss, probe, probelen);
    struct state st;
    if (state_call(n, sp, AG_READY, &a, sizeof a, &st) < 0) {
        snprintf(err, errlen, "%s", st.text);
        return -1;
    }
    return 0;
}

static bool rm_poll_exit(struct node *n, struct spawn *sp)
{
    struct state st;
    state_call(n, sp, AG_POLL, NULL, 0, &st);
    return sp->exited;
}

static void rm_signal(struct node *n, struct spawn *sp, int sig)
{
    struct state st;
    int32_t s = sig;
    state_call(n, sp, AG_SIGNAL, &s, sizeof s, &st);
}

static int rm_stop(struct node *n, struct spawn *sp, int sig, int timeout_ms)
{
    struct state st;
    int32_t a[2] = {sig, timeout_ms};
    return state_call(n, sp, AG_STOP, a, sizeof a, &st);
}

static void rm_cleanup(struct node *n, struct spawn *sp)
{
    struct state st;
    struct remote *rm = n->impl;
    state_call(n, sp, AG_CLEANUP, NULL, 0, &st);
    for (int i = 0; i < SLOTS; i++)
        if (rm->slots[i] == sp)
            rm->slots[i] = NULL;
}

static void rm_probe(struct node *n, struct spawn *sp, int what, struct probe *p)
{
    struct remote *rm = n->impl;
    int32_t a[2] = {slot_of(rm, sp), what};
    memset(p, 0, sizeof *p);
    if (call(rm, AG_PROBE, a, sizeof a, p, sizeof *p) < 0)
        memset(p, 0, sizeof *p);
}

static void rm_perf_open(struct node *n, struct spawn *sp, char *note, size_t notelen)
{
    struct remote *rm = n->impl;
    int32_t slot = slot_of(rm, sp);
    char reply[256] = "";
    if (call(rm, AG_PERF_OPEN, &slot, sizeof slot, reply, sizeof reply - 1) < 0)
        snprintf(reply, sizeof reply, "the agent of host %s is gone", rm->name);
    snprintf(note, notelen, "%s", reply);
}

static void rm_perf_close(struct node *n)
{
    char reply[8];
    call(n->impl, AG_PERF_CLOSE, NULL, 0, reply, sizeof reply);
}

static void rm_limits(struct node *n, struct spawn *sp, struct limits *l, const char *at)
{
    struct remote *rm = n->impl;
    int32_t a[2] = {sp ? slot_of(rm, sp) : -1, strcmp(at, "failure") == 0};
    memset(l, 0, sizeof *l);
    if (call(rm, AG_LIMITS, a, sizeof a, l, sizeof *l) < 0)
        memset(l, 0, sizeof *l);
    l->at = at; /* a pointer of the agent's, meaningless here */
}

static void rm_cpustat(struct node *n, const struct cpu_list *l, struct cpustat *out)
{
    memset(out, 0, sizeof *out);
    if (call(n->impl, AG_CPUSTAT, l, sizeof *l, out, sizeof *out) < 0)
        out->ok = false;
}

/* The device's files, read by the agent. */
static long rm_dev_read(void *ctx, bool stat, char *buf, size_t len)
{
    struct remote *rm = ctx;
    int32_t which = stat;
    char reply[600];
    memset(reply, 0, sizeof reply);
    if (call(rm, AG_DEV_READ, &which, sizeof which, reply, sizeof reply - 1) < 0)
        return -1;
    snprintf(buf, len, "%s", reply);
    return (long)strlen(buf) > 0 ? (long)strlen(buf) : -1;
}

static int rm_data(struct node *n, const struct data_req *rq, struct data_result *d,
                   struct inflight *dev, char *line, size_t linelen, char *err, size_t errlen)
{
    struct remote *rm = n->impl;
    struct data_reply *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = call_within(rm, AG_DATA, rq, sizeof *rq, a, sizeof *a, DATA_CALL_MS);
    if (rc < 0)
        snprintf(err, errlen, "host %s: its agent is gone while making the data file", rm->name);
    else if ((rc = a->rc) < 0)
        snprintf(err, errlen, "host %s: %s", rm->name, a->err);
    if (rc == 0) {
        *d = a->d;
        *dev = a->dev;
        dev->read = rm_dev_read;
        dev->read_ctx = rm;
        snprintf(line, linelen, "%s", a->line);
    }
    free(a);
    return rc;
}

static void rm_free(struct node *n)
{
    struct remote *rm = n->impl;
    remote_end(&rm->proc, 5000);
    wire_rx_free(&rm->rx);
    free(rm);
    free(n);
}

static const struct node_ops REMOTE = {
    .spawn = rm_spawn,
    .wait_ready = rm_wait_ready,
    .poll_exit = rm_poll_exit,
    .signal = rm_signal,
    .stop = rm_stop,
    .cleanup = rm_cleanup,
    .probe = rm_probe,
    .perf_open = rm_perf_open,
    .perf_close = rm_perf_close,
    .limits = rm_limits,
    .cpustat = rm_cpustat,
    .data = rm_data,
    .free = rm_free,
};

struct node *node_remote(const struct host *h, char *env, size_t envlen, char *err, size_t errlen)
{
    struct node *n = calloc(1, sizeof *n);
    struct remote *rm = calloc(1, sizeof *rm);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "/");
    char *argv[] = {(char *)remote_self(), "agent", cwd, NULL};
    const char *payload;
    size_t len;
    if (!n || !rm) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(rm->name, sizeof rm->name, "%s", h->name);
    if (remote_start(h, argv, &rm->proc, err, errlen) < 0)
        goto fail;
    if (!wire_rx_wait(&rm->rx, rm->proc.from_fd, WIRE_HELLO, &payload, &len,
                      clock_now_ms() + CALL_MS, NULL, NULL)) {
        remote_end(&rm->proc, 1000);
        char last[256];
        fdio_last_line(rm->proc.err, last, sizeof last);
        snprintf(err, errlen, "host %s: `%s agent` did not start there%s%s", h->name, argv[0],
                 last[0] ? ": " : "", last);
        goto fail;
    }
    if (hello_check(payload, len, h->name, env, envlen, err, errlen) < 0) {
        remote_end(&rm->proc, 1000);
        goto fail;
    }
    n->ops = &REMOTE;
    n->name = rm->name;
    n->impl = rm;
    return n;
fail:
    if (rm)
        wire_rx_free(&rm->rx);
    free(rm);
    free(n);
    return NULL;
}
