/* backend.c: io=net in the io_uring server. Each task owns one keep-alive connection to the
 * backend, opened at its first io=net request and reused; the connect, the request's send
 * and the answer's receives are ring operations, each linked (IOSQE_IO_LINK) to a timeout
 * at the same absolute deadline, so --upstream-timeout-ms bounds the whole exchange. While
 * idle, a poll on the backend socket notices a backend that closes it, so that the next
 * request reconnects instead of failing on it. Any failure closes the backend connection,
 * answers 502 and keeps the client's; the next io=net request reconnects. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"
#include "task.h"

static int waiting_on_backend(const struct conn *c)
{
    return c->state == CONN_WAITING && c->blk && c->blk->req.work.io == IO_NET;
}

/* Queues op on the backend socket, linked to a timeout at the exchange's deadline: if that
   passes first, op completes with ECANCELED. */
static void up_queue(struct server *s, struct conn *c, enum op op)
{
    struct req_block *b = c->blk;
    struct io_uring_sqe *sqe, *timeout;

    loop_sqe_pair(s, &sqe, &timeout);
    switch (op) {
    case OP_UP_CONNECT:
        io_uring_prep_connect(sqe, c->up_fd, (const struct sockaddr *)&s->up->sa, s->up->len);
        break;
    case OP_UP_SEND:
        io_uring_prep_send(sqe, c->up_fd, b->head + b->up.sent, b->up.len - b->up.sent,
                           MSG_NOSIGNAL);
        break;
    default: io_uring_prep_recv(sqe, c->up_fd, b->head, sizeof(b->head), 0); break;
    }
    io_uring_sqe_set_data64(sqe, op_tag(c, op));
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_prep_link_timeout(timeout, &b->deadline, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(timeout, op_tag(NULL, OP_NONE));
    c->armed |= BIT(op);
}

void backend_close(struct server *s, struct conn *c)
{
    if (c->up_fd < 0 || c->up_closing)
        return;
    if (!(c->armed & UP_OPS)) {
        close(c->up_fd);
        c->up_fd = -1;
        return;
    }
    c->up_closing = 1; /* closed by backend_complete once the last of them is in */
    for (int op = OP_UP_CONNECT; op <= OP_UP_POLL; op++)
        if (c->armed & BIT(op))
            loop_cancel(s, op_tag(c, (enum op)op));
}

/* The request failed: 502 naming the cause, then on with the client's connection. */
static void backend_fail(struct server *s, struct conn *c, enum upstream_failure f, int err,
                         int status, const char *detail)
{
    char why[320];

    backend_close(s, c);
    counters_add(s->ctr, CTR_UPSTREAM_ERRORS, 1);
    upstream_reason(why, sizeof why, s->up, f, err, status, detail, s->opts.upstream_timeout_ms);
    conn_answer_failed(s, c, 502, why);
}

/* Connects if the task has no backend connection, then sends the request. */
static void backend_begin(struct server *s, struct conn *c)
{
    if (c->up_fd >= 0) {
        up_queue(s, c, OP_UP_SEND);
        return;
    }
    int fd = socket(s->up->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        backend_fail(s, c, UPSTREAM_CONNECT, errno, 0, NULL);
        return;
    }
    net_set_nodelay(fd);
    c->up_fd = fd;
    up_queue(s, c, OP_UP_CONNECT);
}

void backend_start(struct server *s, struct conn *c)
{
    struct req_block *b = c->blk;
    int64_t t = (int64_t)clock_now_ns() + (int64_t)s->opts.upstream_timeout_ms * 1000000;

    b->deadline.tv_sec = t / 1000000000;
    b->deadline.tv_nsec = t % 1000000000;
    b->up.len =
        (uint32_t)upstream_format_request(b->head, sizeof(b->head), s->up, b->req.work.wait_us);
    b->up.sent = 0;
    chttp_reset(&b->up.http);
    if (c->armed & BIT(OP_UP_POLL))
        loop_cancel(s, op_tag(c, OP_UP_POLL)); /* its completion is ignored meanwhile */
    if (!c->up_closing)
        backend_begin(s, c); /* else once the old connection is closed */
}

/* The whole answer arrived: the client's answer follows. */
static void backend_done(struct server *s, struct conn *c)
{
    struct chttp *h = &c->blk->up.http;

    if (upstream_answer_ok(h) < 0) {
        backend_fail(s, c, UPSTREAM_STATUS, 0, h->status, NULL);
        return;
    }
    if (!h->keep_alive)
        backend_close(s, c); /* the backend said close: reconnect next time */
    conn_answer(s, c);
}

static void on_received(struct server *s, struct conn *c, int res)
{
    struct req_block *b = c->blk;
    const char *why = NULL;

    if (res < 0) {
        backend_fail(s, c, res == -ECANCELED ? UPSTREAM_TIMEOUT : UPSTREAM_RECV, -res, 0, NULL);
        return;
    }
    enum upstream_failure f;
    int r = upstream_feed(&b->up.http, b->head, (size_t)res, &f, &why); /* 0: it closed */
    if (r == CHTTP_COMPLETE)
        backend_done(s, c);
    else if (r == CHTTP_ERROR)
        backend_fail(s, c, f, 0, 0, why);
    else
        up_queue(s, c, OP_UP_RECV);
}

static void on_exchange(struct server *s, struct conn *c, enum op op, int res)
{
    struct req_block *b = c->blk;

    if (op == OP_UP_RECV) {
        on_received(s, c, res);
        return;
    }
    if (res < 0 || (op == OP_UP_SEND && res == 0)) {
        enum upstream_failure f = op == OP_UP_CONNECT ? UPSTREAM_CONNECT : UPSTREAM_SEND;
        backend_fail(s, c, res == -ECANCELED ? UPSTREAM_TIMEOUT : f, res < 0 ? -res : EIO, 0, NULL);
        return;
    }
    if (op == OP_UP_SEND)
        b->up.sent += (uint32_t)res;
    up_queue(s, c, b->up.sent < b->up.len ? OP_UP_SEND : OP_UP_RECV);
}

void backend_complete(struct server *s, struct conn *c, enum op op, const struct io_uring_cqe *cqe)
{
    c->armed &= (uint16_t)~BIT(op);
    if (c->up_closing) {
        if (c->armed & UP_OPS)
            return;
        close(c->up_fd);
        c->up_fd = -1;
        c->up_closing = 0;
        if (!c->closing && waiting_on_backend(c))
            backend_begin(s, c); /* a request that came while the old connection closed */
        return;
    }
    if (c->closing)
        return;
    if (op != OP_UP_POLL) {
        if (waiting_on_backend(c))
            on_exchange(s, c, op, cqe->res);
    } else if (!waiting_on_backend(c) && cqe->res != -ECANCELED) {
        /* Readable while idle: the backend closed its end (its idle timeout, say) or sent
           bytes nobody asked for. Either way the connection goes, and the next request
           reconnects; no request failed, so nothing is counted. */
        backend_close(s, c);
    }
    /* An idle backend connection is watched for its close. */
    if (!c->closing && c->up_fd >= 0 && !c->up_closing && !waiting_on_backend(c) &&
        !(c->armed & UP_OPS)) {
        struct io_uring_sqe *sqe = loop_sqe(s);
        io_uring_prep_poll_add(sqe, c->up_fd, POLLIN | POLLRDHUP);
        io_uring_sqe_set_data64(sqe, op_tag(c, OP_UP_POLL));
        c->armed |= BIT(OP_UP_POLL);
    }
}
