/* load_conn: one connection of the load generator, on its loop: connect, send on schedule, read
 * and check the answer, count it in the window open, time out, reconnect. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "load/load_int.h"

static const char *ERR_NAMES[LOAD_ERR_N] = {"connect", "read", "write", "timeout",
                                            "status",  "body", "parse"};

const char *load_err_name(int kind)
{
    return kind >= 0 && kind < LOAD_ERR_N ? ERR_NAMES[kind] : "?";
}

static const char *STOP_NAMES[LOAD_STOP_N] = {"answered", "answered_not_200", "cut", "idle_fin",
                                              "idle_rst"};

const char *load_stop_name(int kind)
{
    return kind >= 0 && kind < LOAD_STOP_N ? STOP_NAMES[kind] : "?";
}

void ld_stop_end(struct conn *c, int kind)
{
    if (!c->stop_end) {
        c->stop_end = (uint8_t)(1 + kind);
        c->t->stop[kind]++;
    }
    ld_conn_close(c);
    c->state = CS_RETIRED;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_connect(struct conn *c, uint64_t now);

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

void ld_acc_open(struct acc *a, uint64_t now)
{
    memset(&a->c, 0, sizeof a->c);
    hist_init(a->lat);
    hist_init(a->lat_raw);
    a->start_ns = a->from_ns = now;
    a->until_ns = UINT64_MAX;
    a->cpu_start_s = thread_cpu_s();
}

void ld_acc_close(struct lthread *t, struct acc *a, uint64_t now)
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

void ld_freeze(struct lthread *t, uint64_t now)
{
    if (t->frozen)
        return;
    if (t->measuring) {
        ld_acc_close(t, &t->win, now);
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
        ld_freeze(t, clock_now_ns());
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
void ld_conn_close(struct conn *c)
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
    ld_conn_close(c);
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
void ld_conn_next(struct conn *c, uint64_t now)
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
        ld_conn_send(c, now);
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
        ld_conn_send(c, now);
        return;
    }
    ld_conn_next(c, now);
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
    ld_conn_close(c);
    if (c->t->cur)
        c->t->cur->c.reconnects++;
    conn_connect(c, now);
}

static void conn_fail(struct conn *c, int kind, int err, const char *why, uint64_t now)
{
    struct lthread *t = c->t;
    if (t->watching) {
        ld_stop_end(c, c->state == CS_WAITING ? LOAD_STOP_CUT : LOAD_STOP_IDLE_RST);
        return;
    }
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
    const char *req = c->slow ? o->slow_request : o->request;
    int len = c->slow ? o->slow_request_len : o->request_len;
    char keyed[sizeof o->request];
    if (o->key_off >= 0 && !c->slow) {
        /* the connection's own key: a copy of the request with its two digits set */
        int k = c->idx % (o->keys > 0 ? o->keys : 1);
        memcpy(keyed, req, (size_t)len);
        keyed[o->key_off] = (char)('0' + k / 10);
        keyed[o->key_off + 1] = (char)('0' + k % 10);
        req = keyed;
    }
    while (c->woff < len) {
        ssize_t n = send(c->fd, req + c->woff, (size_t)(len - c->woff), MSG_NOSIGNAL);
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
        conn_fail(c, LOAD_ERR_WRITE, errno, "send", clock_now_ns());
        return;
    }
    io_events(c, EV_READ);
}

void ld_conn_send(struct conn *c, uint64_t now)
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
    uint64_t now = clock_now_ns();
    c->state = CS_IDLE;
    t->all_responses++;
    if (t->watching) { /* its end, whatever comes after (a FIN: the answer said close) */
        ld_stop_end(c, c->http.status == 200 ? LOAD_STOP_ANSWERED : LOAD_STOP_ANSWERED_ERR);
        return;
    }
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
        ld_conn_next(c, now);
}

/* The peer closed: the end of an answer that runs to the close, an error, or just the server
 * dropping an idle keep-alive connection (not an error). */
static void conn_eof(struct conn *c)
{
    uint64_t now = clock_now_ns();
    if (c->t->watching && c->state != CS_WAITING) {
        ld_stop_end(c, LOAD_STOP_IDLE_FIN);
        return;
    }
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
                conn_fail(c, LOAD_ERR_PARSE, 0, why, clock_now_ns());
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
            conn_fail(c, LOAD_ERR_READ, errno, "read", clock_now_ns());
        return;
    }
}

void ld_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct conn *c = container_of(w, struct conn, io);
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err)
            connect_failed(c, err, "connect", clock_now_ns());
        else
            conn_connected(c, clock_now_ns());
        return;
    }
    int fd = c->fd;
    if (revents & EV_READ)
        conn_read(c);
    /* the read may have closed and reopened the connection: then the event is stale */
    if ((revents & EV_WRITE) && c->fd == fd && c->state == CS_WAITING && c->want_write)
        conn_write(c);
}

void ld_on_timerfd(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, timer_io);
    uint64_t expirations;
    if (read(t->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        return;
    t->armed_ns = 0;
    uint64_t now = clock_now_ns();
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
            ld_conn_send(c, now);
    }
}

/* Before each poll: send the batched requests, point the timerfd at the earliest deadline
 * (one syscall when it moved). */
void ld_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, rearm);
    if (t->nready > 0) {
        uint64_t now = clock_now_ns();
        int n = t->nready;
        t->nready = 0;
        for (int i = 0; i < n; i++) {
            struct conn *c = t->ready[i];
            /* a connection closed meanwhile has in_ready cleared: its entry is stale */
            if (c->in_ready && c->state == CS_IDLE) {
                c->in_ready = false;
                ld_conn_send(c, now);
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
void ld_on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct lthread *t = container_of(w, struct lthread, tick);
    uint64_t now = clock_now_ns();
    const struct load_opts *o = &t->l->o;
    uint64_t limit = (uint64_t)o->timeout_ms * 1000000ULL;
    uint64_t climit = (uint64_t)o->connect_timeout_ms * 1000000ULL;
    char why[64];
    for (int i = 0; i < t->nconns && !t->watching; i++) {
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
