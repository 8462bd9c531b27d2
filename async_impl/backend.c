/* backend.c: io=net in the async server. Each task owns one keep-alive connection to the
 * backend, opened (non-blocking) at its first io=net request and reused, watched by a
 * second ev_io in the task: writable while connecting or sending, readable otherwise, so
 * that a backend that closes an idle connection is noticed before the next request. The
 * request's ev_timer bounds the whole exchange (--upstream-timeout-ms). Any failure closes
 * the backend connection, answers 502 and keeps the client's; the next io=net request
 * reconnects. The exchange's end, an answer or a 502, goes back to the task through
 * s->on_wait_end. The exchange (the request, the answer's parse state) is the task's own with
 * --buffers conn and an allocation while the request waits with --buffers lean; the
 * connection itself (its fd and watcher) lives as long as it stays open, in either mode. */
#include <errno.h>
#include <unistd.h>

#include "container.h"
#include "task.h"

#define ANSWER_CHUNK 4096 /* backend answers are read through the stack, never kept */

static void on_backend_io(struct ev_loop *loop, ev_io *w, int revents);

void backend_init(struct conn *c)
{
    ev_init(&c->up_io, on_backend_io);
}

/* Makes the backend watcher wait for exactly `events`; epoll is touched only on a change. */
static void backend_watch(struct server *s, struct conn *c, int events)
{
    if (ev_is_active(&c->up_io) && (c->up_io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(s->loop, &c->up_io);
    ev_io_set(&c->up_io, c->up_fd, events);
    ev_io_start(s->loop, &c->up_io);
}

void backend_close(struct server *s, struct conn *c)
{
    if (c->up_fd < 0)
        return;
    ev_io_stop(s->loop, &c->up_io);
    close(c->up_fd);
    c->up_fd = -1;
    c->up_connecting = 0;
}

static int waiting_on_backend(const struct conn *c)
{
    return c->state == CONN_WAITING && c->req.work.io == IO_NET;
}

/* The request failed: 502 naming the cause, then on with the client's connection. */
static void backend_fail(struct server *s, struct conn *c, enum upstream_failure f, int err,
                         int status, const char *detail)
{
    char why[320];

    ev_timer_stop(s->loop, &c->wait);
    backend_close(s, c);
    conn_xchg_close(s, c);
    counters_add(s->ctr, CTR_UPSTREAM_ERRORS, 1);
    upstream_reason(why, sizeof why, s->up, f, err, status, detail, s->opts.upstream_timeout_ms);
    s->on_wait_end(s, c, 502, why);
}

/* The whole answer arrived: the client's answer follows. */
static void backend_done(struct server *s, struct conn *c)
{
    ev_timer_stop(s->loop, &c->wait);
    if (upstream_answer_ok(&c->ux->http) < 0) {
        backend_fail(s, c, UPSTREAM_STATUS, 0, c->ux->http.status, NULL);
        return;
    }
    if (!c->ux->http.keep_alive)
        backend_close(s, c); /* the backend said close: reconnect next time */
    conn_xchg_close(s, c);
    s->on_wait_end(s, c, 200, NULL);
}

/* Writes what is left of the request; then waits for the answer. */
static void backend_send(struct server *s, struct conn *c)
{
    struct backend_xchg *x = c->ux;

    while (x->sent < x->len) {
        ssize_t n = write(c->up_fd, x->req + x->sent, x->len - x->sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            backend_watch(s, c, EV_WRITE);
            return;
        }
        if (n < 0) {
            backend_fail(s, c, UPSTREAM_SEND, errno, 0, NULL);
            return;
        }
        x->sent += (size_t)n;
    }
    backend_watch(s, c, EV_READ);
}

int backend_start(struct server *s, struct conn *c)
{
    char *req = conn_head_buffer(s, c);
    size_t len = upstream_format_request(req, RESPONSE_HEAD_MAX, s->up, c->req.work.wait_us);

    if (conn_xchg_open(s, c, req, len) < 0)
        return -1;
    chttp_reset(&c->ux->http);
    ev_now_update(s->loop); /* the timeout counts from now */
    ev_timer_set(&c->wait, s->opts.upstream_timeout_ms * 1e-3, 0.);
    ev_timer_start(s->loop, &c->wait);
    if (c->up_fd < 0) {
        int pending;
        int fd = upstream_connect(s->up, &pending);
        if (fd < 0) {
            backend_fail(s, c, UPSTREAM_CONNECT, errno, 0, NULL);
            return 0;
        }
        c->up_fd = fd;
        c->up_connecting = pending;
        if (pending) {
            backend_watch(s, c, EV_WRITE);
            return 0;
        }
    }
    backend_send(s, c);
    return 0;
}

void backend_timeout(struct server *s, struct conn *c)
{
    backend_fail(s, c, UPSTREAM_TIMEOUT, 0, 0, NULL);
}

/* Readable while idle: the backend closed its end (its idle timeout, say) or sent bytes
   nobody asked for. Either way the connection goes, and the next request reconnects
   instead of failing on it; no request failed, so nothing is counted. */
static void backend_idle_readable(struct server *s, struct conn *c)
{
    char buf[64];
    ssize_t n = read(c->up_fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    backend_close(s, c);
}

static void backend_readable(struct server *s, struct conn *c)
{
    char buf[ANSWER_CHUNK];
    const char *why = NULL;
    ssize_t n = read(c->up_fd, buf, sizeof buf);

    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            backend_fail(s, c, UPSTREAM_RECV, errno, 0, NULL);
        return;
    }
    enum upstream_failure f;
    int r = upstream_feed(&c->ux->http, buf, (size_t)n, &f, &why); /* n == 0: it closed */
    if (r == CHTTP_COMPLETE)
        backend_done(s, c);
    else if (r == CHTTP_ERROR)
        backend_fail(s, c, f, 0, 0, why);
}

static void on_backend_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = container_of(w, struct conn, up_io);
    struct server *s = ev_userdata(loop);

    if (!waiting_on_backend(c)) {
        if (revents & EV_READ)
            backend_idle_readable(s, c);
        return;
    }
    if (c->up_connecting) {
        int err = upstream_connect_error(c->up_fd);
        if (err) {
            backend_fail(s, c, UPSTREAM_CONNECT, err, 0, NULL);
            return;
        }
        c->up_connecting = 0;
    }
    if (c->ux->sent < c->ux->len) {
        backend_send(s, c);
        return;
    }
    if (revents & EV_READ)
        backend_readable(s, c);
}
