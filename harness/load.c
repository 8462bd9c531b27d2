/* load: the load generator: T threads, one libev loop each, owning their connections (wrk's shape).
 */
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "client_http.h"
#include "container.h"
#include "sched.h"

#define RBUF_SIZE      (64 * 1024) /* one per thread: answers are parsed, never kept */
#define TICK_S         0.1         /* timeout scan and progress publication */
#define BACKOFF_NS     10000000ULL /* first connect retry after 10 ms, doubling */
#define BACKOFF_MAX_NS 1000000000ULL
#define COMMAND_WAIT_NS                                                                            \
    10000000000ULL        /* a loop thread acts on a command within ms; 10 s means it is stuck */
#define FDS_PER_THREAD 8  /* epoll, eventfd, timerfd and libev's spares */
#define FDS_RESERVED   64 /* stdio, /proc readers, the runner's pipes */
#define RAMP_WINDOW                                                                                \
    1024 /* connections opened but not yet answered, over all loops: well                          \
            below the usual accept backlog (somaxconn 4096), so a fast ramp                        \
            does not overflow it and lose handshakes */

/* The ramp opens the connections, each with one request whose answer confirms it; traffic
 * starts with the warmup, once every connection is open, so that a server busy answering
 * the first ones does not starve its own accept loop for the last ones. */
enum phase { PH_RAMP, PH_WARMUP, PH_MEASURE, PH_COOLDOWN, PH_STOP };

enum conn_state {
    CS_WAIT_CONNECT, /* queued to (re)connect */
    CS_CONNECTING,   /* non-blocking connect in progress */
    CS_IDLE,         /* connected, no request out (maybe queued to send) */
    CS_WAITING,      /* request out, answer pending */
    CS_RETIRED,      /* given up on after its retries */
};

struct lthread;

/* One connection: owns its fd, its watcher and its place in the schedule. */
struct conn {
    ev_io io;
    struct sched_node due; /* next connect attempt or next send */
    struct chttp http;
    struct lthread *t;
    int fd;
    int idx;     /* global index: picks the source address */
    int local;   /* index in its thread */
    int retries; /* failed connect attempts in a row */
    int woff;    /* request bytes already written */
    uint8_t state;
    bool started; /* its first connect was let through the ramp */
    bool ever_connected;
    bool confirmed; /* its first answer came: the server really accepted it */
    bool is_open;
    bool want_write;
    bool in_ready;        /* its next request goes out before the next poll */
    uint64_t state_ns;    /* CLOCK_MONOTONIC: start of the connect or of the request */
    uint64_t intended_ns; /* when this request was due (open loop); = state_ns closed loop */
    uint64_t next_ns;     /* closed loop with think time: earliest next send */
    uint64_t restart_ns;  /* a new step's slot for the request after the one in flight */
    bool resched;         /* restart_ns replaces the schedule once the request in flight ends */
};

/* The figures of one measured window of one thread. */
struct acc {
    struct load_counts c;
    struct hist *lat, *lat_raw;
    uint64_t start_ns, end_ns;     /* CLOCK_MONOTONIC; the CPU figures span them */
    uint64_t from_ns, until_ns;    /* only requests due in [from, until) count: a step settles
first, and its last requests get time to be answered */
    double cpu_start_s, cpu_end_s; /* the thread's CPU time */
};

/* One loop thread. Everything but the pub_* atomics is touched by that thread only while it
 * runs; the main thread reads the rest after join. */
struct lthread {
    struct load *l;
    pthread_t tid;
    bool started;
    struct ev_loop *loop;
    ev_async wake;
    ev_timer tick;
    ev_io timer_io;
    ev_prepare rearm;
    int tfd; /* timerfd: microsecond wake-ups where libev's epoll sleeps whole ms */
    uint64_t armed_ns;
    struct sched sched;
    struct conn *conns;
    int nconns;
    struct conn **ready; /* requests to send before the next poll, as wrk batches its writes */
    int nready, ready_cap;
    char *rbuf;
    uint64_t interval_ns; /* open loop: between two requests of one connection */
    uint64_t think_ns;
    int seen_phase;
    int ramp_pending, connected, failed, open_now, open_peak, open_end;
    int ramping, ramp_window; /* started, neither answered nor given up on; the cap */
    struct conn **ramp_wait;  /* due to open, waiting for room in the window (FIFO) */
    int ramp_head, ramp_tail;
    uint64_t ramp_done_ns;
    bool traffic, measuring, frozen, quota_reached;
    uint64_t quota, measured;
    struct acc win;  /* the measured window (begin_measure .. end_measure) */
    struct acc step; /* the open-loop step of a capacity curve, after the window */
    struct acc *cur; /* where answers and errors count now: &win, &step or NULL */
    unsigned step_gen;
    uint64_t all_responses, all_errors;
    char first_error[LOAD_ERR_N][128];
    _Atomic uint64_t pub_progress, pub_errors;
    _Atomic int pub_ramped, pub_quota_done, pub_open, pub_failed;
    _Atomic unsigned pub_seq; /* the last command of the main thread applied */
};

struct load {
    struct load_opts o;
    int nthreads;
    struct lthread *t;
    uint64_t start_ns;
    _Atomic int phase;
    /* commands that the main thread waits for: written, then seq bumped, then the threads
       woken; each thread stores the seq it has seen in pub_seq once it has acted on them */
    _Atomic unsigned seq;
    _Atomic unsigned step_gen; /* bumped by every step command */
    _Atomic int step_open;     /* 1: a step runs at step_rate; 0: none */
    _Atomic double step_rate;  /* this process's share, requests/s */
    _Atomic uint64_t step_settle_ns, step_length_ns;
};

static const char *ERR_NAMES[LOAD_ERR_N] = {"connect", "read", "write", "timeout",
                                            "status",  "body", "parse"};

const char *load_err_name(int kind)
{
    return kind >= 0 && kind < LOAD_ERR_N ? ERR_NAMES[kind] : "?";
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_connect(struct conn *c, uint64_t now);
static void conn_send(struct conn *c, uint64_t now);

/* The request in flight is done (answered or failed): its connection's next open-loop slot, or
 * the one a new step gave it. false in the closed loop (the caller sets next_ns). */
static bool next_slot(struct conn *c)
{
    if (c->resched) {
        c->resched = false;
        c->intended_ns = c->restart_ns;
        return true;
    }
    if (!c->t->interval_ns)
        return false;
    c->intended_ns += c->t->interval_ns;
    return true;
}

static void acc_open(struct acc *a, uint64_t now)
{
    memset(&a->c, 0, sizeof a->c);
    hist_init(a->lat);
    hist_init(a->lat_raw);
    a->start_ns = a->from_ns = now;
    a->until_ns = UINT64_MAX;
    a->cpu_start_s = thread_cpu_s();
}

static void acc_close(struct lthread *t, struct acc *a, uint64_t now)
{
    /* connections still failing to reconnect when the window closes count as connect errors
       too, or a run that lost them would look clean */
    for (int i = 0; i < t->nconns; i++) {
        const struct conn *c = &t->conns[i];
        if ((c->state == CS_WAIT_CONNECT || c->state == CS_CONNECTING) && c->retries > 0)
            a->c.errors[LOAD_ERR_CONNECT]++;
    }
    a->end_ns = now;
    a->cpu_end_s = thread_cpu_s();
    if (t->cur == a)
        t->cur = NULL;
}

static void thread_freeze(struct lthread *t, uint64_t now)
{
    if (t->frozen)
        return;
    if (t->measuring) {
        acc_close(t, &t->win, now);
    } else {
        t->win.end_ns = now;
        t->win.cpu_end_s = thread_cpu_s();
    }
    t->frozen = true;
    t->open_end = t->open_now;
}

/* One more request finished (answered or failed) in the window; --requests ends it. */
static void quota_step(struct lthread *t)
{
    if (t->cur != &t->win)
        return;
    if (t->measuring && t->quota && !t->quota_reached && ++t->measured >= t->quota) {
        t->quota_reached = true;
        thread_freeze(t, now_ns());
        atomic_store(&t->pub_quota_done, 1);
    }
}

/* Where a request's outcome counts: the window open now, unless the request went out before
 * the current step began (it belongs to the step before, whose window has closed). */
static struct acc *acc_of(const struct conn *c)
{
    struct acc *a = c->t->cur;
    if (!a || c->resched || c->intended_ns < a->from_ns || c->intended_ns >= a->until_ns)
        return NULL;
    return a;
}

/* Counts an error in window a (NULL: in none); keeps the first message of each kind for the
 * report. */
static void count_error(struct lthread *t, struct acc *a, int kind, int err, const char *why)
{
    if (t->first_error[kind][0] == '\0') {
        if (why && err)
            snprintf(t->first_error[kind], sizeof t->first_error[kind], "%s: %s", why,
                     strerror(err));
        else
            snprintf(t->first_error[kind], sizeof t->first_error[kind], "%s",
                     why ? why : strerror(err));
    }
    t->all_errors++;
    if (!a)
        return;
    a->c.errors[kind]++;
    if (kind != LOAD_ERR_CONNECT && a == &t->win)
        quota_step(t);
}

static void publish(struct lthread *t)
{
    atomic_store_explicit(&t->pub_progress, t->all_responses, memory_order_relaxed);
    atomic_store_explicit(&t->pub_errors, t->all_errors, memory_order_relaxed);
    atomic_store_explicit(&t->pub_open, t->open_now, memory_order_relaxed);
    atomic_store_explicit(&t->pub_failed, t->failed, memory_order_relaxed);
}

/* A connection of the ramp is through (answered or given up on): the next waiting one may
 * start. */
static void ramp_step(struct lthread *t, uint64_t now)
{
    t->ramping--;
    if (t->ramp_head < t->ramp_tail) {
        struct conn *next = t->ramp_wait[t->ramp_head++];
        t->ramping++;
        conn_connect(next, now);
    }
    if (--t->ramp_pending == 0) {
        t->ramp_done_ns = now;
        publish(t);
        atomic_store(&t->pub_ramped, 1);
    }
}

static void io_events(struct conn *c, int events)
{
    bool w = (events & EV_WRITE) != 0;
    if (w == c->want_write)
        return;
    /* same fd: ev_io_modify lets libev skip epoll_ctl when nothing else changed */
    ev_io_stop(c->t->loop, &c->io);
    ev_io_modify(&c->io, events);
    ev_io_start(c->t->loop, &c->io);
    c->want_write = w;
}

/* Undoes the connection's fd and watcher, in reverse order: stop, unqueue, close. */
static void conn_close(struct conn *c)
{
    ev_io_stop(c->t->loop, &c->io);
    sched_remove(&c->t->sched, &c->due);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->want_write = false;
    c->in_ready = false;
    if (c->is_open) {
        c->is_open = false;
        c->t->open_now--;
    }
}

static void connect_failed(struct conn *c, int err, const char *what, uint64_t now)
{
    struct lthread *t = c->t;
    const struct load_opts *o = &t->l->o;
    conn_close(c);
    if (++c->retries <= o->connect_retries) {
        uint64_t backoff = BACKOFF_NS << (c->retries - 1);
        c->state = CS_WAIT_CONNECT;
        sched_add(&t->sched, &c->due, now + (backoff < BACKOFF_MAX_NS ? backoff : BACKOFF_MAX_NS));
        return;
    }
    char why[96];
    const char *hint = err == EMFILE || err == ENFILE ? " (the open-files limit)"
                       : err == EADDRNOTAVAIL         ? " (out of ephemeral ports: --source-ips)"
                                                      : "";
    snprintf(why, sizeof why, "%s%s", what, hint);
    c->state = CS_RETIRED;
    t->failed++;
    count_error(t, t->cur, LOAD_ERR_CONNECT, err, why);
    if (!c->confirmed)
        ramp_step(t, now);
}

/* Decides the next send: at once, at the open-loop schedule, or after the think time. */
static void conn_next(struct conn *c, uint64_t now)
{
    struct lthread *t = c->t;
    if (!t->traffic || t->quota_reached)
        return; /* parked: stays idle */
    uint64_t at = t->interval_ns ? c->intended_ns : c->next_ns;
    if (at > now) {
        sched_add(&t->sched, &c->due, at);
    } else if (!c->in_ready && t->nready < t->ready_cap) {
        /* sent with the others once every answer of this wake-up is read: the server then
           gets a batch per wake-up rather than one request per wake-up */
        c->in_ready = true;
        t->ready[t->nready++] = c;
    } else if (!c->in_ready) {
        conn_send(c, now);
    }
}

static void conn_connected(struct conn *c, uint64_t now)
{
    struct lthread *t = c->t;
    c->state = CS_IDLE;
    /* an unanswered connection keeps its count: the handshake alone proves little */
    if (c->confirmed)
        c->retries = 0;
    c->is_open = true;
    if (++t->open_now > t->open_peak)
        t->open_peak = t->open_now;
    ev_io_stop(t->loop, &c->io);
    ev_io_set(&c->io, c->fd, EV_READ);
    ev_io_start(t->loop, &c->io);
    c->want_write = false;
    if (!c->ever_connected) {
        c->ever_connected = true;
        t->connected++;
        /* the first request goes at once: its answer confirms the connection (a handshake
           can complete on our side while the server's accept queue drops it) */
        c->intended_ns = now;
        conn_send(c, now);
        return;
    }
    conn_next(c, now);
}

static void conn_connect(struct conn *c, uint64_t now)
{
    const struct load_opts *o = &c->t->l->o;
    int one = 1;
    int fd = socket(o->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        connect_failed(c, errno, "socket", now);
        return;
    }
    c->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o->source_ips > 0 && o->target.ss_family == AF_INET) {
        /* the port is picked at connect(), per destination: each source address gets its own
           ephemeral range */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % o->source_ips));
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            connect_failed(c, errno, "bind", now);
            return;
        }
    }
    c->state_ns = now;
    if (connect(fd, (const struct sockaddr *)&o->target, o->target_len) == 0) {
        conn_connected(c, now);
        return;
    }
    if (errno != EINPROGRESS) {
        connect_failed(c, errno, "connect", now);
        return;
    }
    c->state = CS_CONNECTING;
    ev_io_set(&c->io, fd, EV_WRITE);
    ev_io_start(c->t->loop, &c->io);
    c->want_write = true;
}

/* Closes and connects again at once: the server closed, or the connection failed. */
static void conn_reopen(struct conn *c, uint64_t now)
{
    conn_close(c);
    if (c->t->cur)
        c->t->cur->c.reconnects++;
    conn_connect(c, now);
}

static void conn_fail(struct conn *c, int kind, int err, const char *why, uint64_t now)
{
    struct lthread *t = c->t;
    if (!c->confirmed) {
        /* no first answer yet: the connection is not really open (a handshake the server's
           full accept queue dropped looks like this), so it retries as a connect does and
           counts as a connect error once out of retries, instead of holding up the ramp */
        char what[96];
        snprintf(what, sizeof what, "first request: %s", why ? why : "failed");
        connect_failed(c, err, what, now);
        return;
    }
    count_error(t, acc_of(c), kind, err, why);
    if (c->state == CS_WAITING)
        next_slot(c); /* that slot of the schedule is spent */
    conn_reopen(c, now);
}

static void conn_write(struct conn *c)
{
    const struct load_opts *o = &c->t->l->o;
    while (c->woff < o->request_len) {
        ssize_t n =
            send(c->fd, o->request + c->woff, (size_t)(o->request_len - c->woff), MSG_NOSIGNAL);
        if (n >= 0) {
            c->woff += (int)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            io_events(c, EV_READ | EV_WRITE);
            return;
        }
        conn_fail(c, LOAD_ERR_WRITE, errno, "send", now_ns());
        return;
    }
    io_events(c, EV_READ);
}

static void conn_send(struct conn *c, uint64_t now)
{
    c->state = CS_WAITING;
    c->state_ns = now;
    if (!c->t->interval_ns)
        c->intended_ns = now;
    c->woff = 0;
    chttp_reset(&c->http);
    conn_write(c);
}

static void conn_answered(struct conn *c)
{
    struct lthread *t = c->t;
    const struct load_opts *o = &t->l->o;
    uint64_t now = now_ns();
    c->state = CS_IDLE;
    t->all_responses++;
    struct acc *a = acc_of(c);
    if (a) {
        char why[96];
        a->c.responses++;
        if (c->http.status != 200) {
            snprintf(why, sizeof why, "HTTP status %d", c->http.status);
            count_error(t, a, LOAD_ERR_STATUS, 0, why);
        } else if (o->expect_bytes >= 0 && c->http.body_bytes != (uint64_t)o->expect_bytes) {
            snprintf(why, sizeof why, "body of %llu bytes, expected %ld",
                     (unsigned long long)c->http.body_bytes, o->expect_bytes);
            count_error(t, a, LOAD_ERR_BODY, 0, why);
        } else {
            a->c.requests++;
            hist_record(a->lat, (now - c->intended_ns + 500) / 1000);
            hist_record(a->lat_raw, (now - c->state_ns + 500) / 1000);
            quota_step(t);
        }
    }
    if (!c->confirmed) {
        c->confirmed = true;
        c->retries = 0;
        ramp_step(t, now);
    }
    if (!next_slot(c))
        c->next_ns = now + t->think_ns;
    if (!c->http.keep_alive)
        conn_reopen(c, now);
    else
        conn_next(c, now);
}

/* The peer closed: the end of an answer that runs to the close, an error, or just the server
 * dropping an idle keep-alive connection (not an error). */
static void conn_eof(struct conn *c)
{
    uint64_t now = now_ns();
    if (c->state != CS_WAITING) {
        conn_reopen(c, now);
        return;
    }
    const char *why;
    int r = chttp_feed(&c->http, NULL, 0, &why);
    if (r == CHTTP_COMPLETE)
        conn_answered(c);
    else if (c->http.headers_done)
        conn_fail(c, LOAD_ERR_BODY, 0, "connection closed inside the body", now);
    else
        conn_fail(c, LOAD_ERR_READ, 0,
                  c->http.got_bytes ? "connection closed inside the headers"
                                    : "connection closed before the answer",
                  now);
}

static void conn_read(struct conn *c)
{
    struct lthread *t = c->t;
    for (;;) {
        ssize_t n = read(c->fd, t->rbuf, RBUF_SIZE);
        if (n > 0) {
            if (t->cur)
                t->cur->c.bytes += (uint64_t)n;
            const char *why = "bytes nobody asked for";
            int r = c->state == CS_WAITING ? chttp_feed(&c->http, t->rbuf, (size_t)n, &why)
                                           : CHTTP_ERROR;
            if (r == CHTTP_ERROR) {
                conn_fail(c, LOAD_ERR_PARSE, 0, why, now_ns());
                return;
            }
            if (r == CHTTP_COMPLETE) {
                conn_answered(c);
                return;
            }
            if (n < RBUF_SIZE)
                return;
            continue;
        }
        if (n == 0) {
            conn_eof(c);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            conn_fail(c, LOAD_ERR_READ, errno, "read", now_ns());
        return;
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct conn *c = container_of(w, struct conn, io);
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err)
            connect_failed(c, err, "connect", now_ns());
        else
            conn_connected(c, now_ns());
        return;
    }
    int fd = c->fd;
    if (revents & EV_READ)
        conn_read(c);
    /* the read may have closed and reopened the connection: then the event is stale */
    if ((revents & EV_WRITE) && c->fd == fd && c->state == CS_WAITING && c->want_write)
        conn_write(c);
}

static void on_timerfd(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, timer_io);
    uint64_t expirations;
    if (read(t->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        return;
    t->armed_ns = 0;
    uint64_t now = now_ns();
    struct sched_node *n;
    while ((n = sched_peek(&t->sched)) && n->due_ns <= now) {
        sched_pop(&t->sched);
        struct conn *c = container_of(n, struct conn, due);
        if (c->state == CS_WAIT_CONNECT && !c->started) {
            c->started = true;
            if (t->ramping >= t->ramp_window) {
                t->ramp_wait[t->ramp_tail++] = c; /* ramp_step starts it */
                continue;
            }
            t->ramping++;
        }
        if (c->state == CS_WAIT_CONNECT)
            conn_connect(c, now);
        else if (c->state == CS_IDLE)
            conn_send(c, now);
    }
}

/* Before each poll: send the batched requests, point the timerfd at the earliest deadline
 * (one syscall when it moved). */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, rearm);
    if (t->nready > 0) {
        uint64_t now = now_ns();
        int n = t->nready;
        t->nready = 0;
        for (int i = 0; i < n; i++) {
            struct conn *c = t->ready[i];
            /* a connection closed meanwhile has in_ready cleared: its entry is stale */
            if (c->in_ready && c->state == CS_IDLE) {
                c->in_ready = false;
                conn_send(c, now);
            }
        }
    }
    struct sched_node *n = sched_peek(&t->sched);
    if (!n || n->due_ns == t->armed_ns)
        return; /* an empty queue leaves a stale arm: one spurious wake-up, harmless */
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(n->due_ns / 1000000000ULL);
    its.it_value.tv_nsec = (long)(n->due_ns % 1000000000ULL);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* all zero would disarm */
    timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    t->armed_ns = n->due_ns;
}

/* Every 100 ms: time out slow connects and answers, publish progress. O(connections) per
 * scan, about 2 ms at 20k connections. */
static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, tick);
    uint64_t now = now_ns();
    const struct load_opts *o = &t->l->o;
    uint64_t limit = (uint64_t)o->timeout_ms * 1000000ULL;
    uint64_t climit = (uint64_t)o->connect_timeout_ms * 1000000ULL;
    char why[64];
    for (int i = 0; i < t->nconns; i++) {
        struct conn *c = &t->conns[i];
        if (c->state == CS_CONNECTING && now - c->state_ns > climit) {
            connect_failed(c, ETIMEDOUT, "connect", now);
        } else if (c->state == CS_WAITING && !c->confirmed && now - c->state_ns > climit) {
            /* the first answer can wait in a busy server's accept queue: part of connecting */
            snprintf(why, sizeof why, "no answer within %d ms", o->connect_timeout_ms);
            conn_fail(c, LOAD_ERR_TIMEOUT, 0, why, now);
        } else if (c->state == CS_WAITING && c->confirmed && now - c->state_ns > limit) {
            snprintf(why, sizeof why, "no answer within %d ms", o->timeout_ms);
            conn_fail(c, LOAD_ERR_TIMEOUT, 0, why, now);
        }
    }
    publish(t);
}

static void thread_begin(struct lthread *t, uint64_t now)
{
    acc_open(&t->win, now);
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
            conn_next(c, now);
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
        thread_freeze(t, now); /* steps come after the measured window */
    if (t->cur == &t->step)
        acc_close(t, &t->step, now);
    if (!open || rate <= 0)
        return;
    acc_open(&t->step, now);
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
        conn_next(c, now);
    }
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, wake);
    struct load *l = t->l;
    unsigned seq = atomic_load_explicit(&l->seq, memory_order_acquire);
    int ph = atomic_load(&l->phase);
    uint64_t now = now_ns();
    /* a jump from the ramp straight to cooldown (a run that failed early) still opens and
       closes an empty window, so that the ramp's connect errors are reported */
    if (ph >= PH_WARMUP && t->seen_phase < PH_WARMUP)
        thread_traffic(t, now);
    if (ph >= PH_MEASURE && t->seen_phase < PH_MEASURE)
        thread_begin(t, now);
    if (ph >= PH_COOLDOWN && t->seen_phase < PH_COOLDOWN)
        thread_freeze(t, now);
    if (ph >= PH_STOP)
        ev_break(loop, EVBREAK_ALL);
    t->seen_phase = ph;
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
        thread_freeze(t, now_ns());
    for (int k = 0; k < t->nconns; k++)
        conn_close(&t->conns[k]);
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
        ev_init(&c->io, on_io);
        sched_node_init(&c->due);
    }
    ev_async_init(&t->wake, on_wake);
    ev_async_start(t->loop, &t->wake);
    ev_timer_init(&t->tick, on_tick, TICK_S, TICK_S);
    ev_timer_start(t->loop, &t->tick);
    ev_io_init(&t->timer_io, on_timerfd, t->tfd, EV_READ);
    ev_io_start(t->loop, &t->timer_io);
    ev_prepare_init(&t->rearm, on_prepare);
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
        int threads = o->threads < o->conns ? o->threads : o->conns;
        long need = (long)o->conns + (long)FDS_PER_THREAD * threads + FDS_RESERVED;
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
    l->start_ns = now_ns();
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
    uint64_t deadline = now_ns() + COMMAND_WAIT_NS;
    for (int i = 0; i < l->nthreads; i++) {
        struct lthread *t = &l->t[i];
        while (t->started &&
               (int)(atomic_load_explicit(&t->pub_seq, memory_order_acquire) - seq) < 0) {
            if (now_ns() > deadline)
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
