/* answer.c: a task's requests and answers: starting a complete request (its wait, or the
 * answer at once), formatting the answer into the request's pooled block and sending it
 * with one sendmsg (the head and the shared static body), resumed on short writes. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "fdio.h"
#include "shared_serve.h"
#include "stop.h"
#include "task.h"

static void conn_send(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    io_uring_prep_sendmsg(sqe, c->fd, &c->blk->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_SEND));
    c->armed |= BIT(OP_SEND);
    c->state = CONN_WRITING;
}

static void conn_answer_status(struct server *s, struct conn *c, int status, const char *why,
                               int keep_alive);

void conn_answer(struct server *s, struct conn *c)
{
    struct req_block *b = c->blk;
    const struct workload *w = &b->req.work;
    uint64_t count = 0;

    if (w->state == STATE_SHARED) {
        count = shared_serve(&s->shared, NULL, w, s->ctr); /* one loop: no lock */
        if (count == 0) {
            conn_answer_status(s, c, 503, shared_full_reason(), b->req.keep_alive);
            return;
        }
    }
    workload_spin(w->work_us);
    date_cache_update(&s->date, time(NULL));
    c->close_after = !b->req.keep_alive;
    b->iov[0].iov_base = b->head;
    b->iov[0].iov_len = response_head_ok_shared(b->head, w->bytes, b->req.keep_alive,
                                                b->req.http_minor, count, &s->date);
    b->iov[1].iov_base = (void *)response_body();
    b->iov[1].iov_len = w->bytes;
    memset(&b->msg, 0, sizeof(b->msg));
    b->msg.msg_iov = b->iov;
    b->msg.msg_iovlen = b->req.head_only || w->bytes == 0 ? 1 : 2;
    counters_add(s->ctr, CTR_REQUESTS, 1);
    conn_send(s, c);
}

/* An answer of `status` with why as its body; the connection is kept when keep_alive. */
static void conn_answer_status(struct server *s, struct conn *c, int status, const char *why,
                               int keep_alive)
{
    struct req_block *b = c->blk ? c->blk : pool_get(&s->blocks);

    counters_status(s->ctr, status);
    if (!b) {
        counters_add(s->ctr, CTR_OOM, 1);
        conn_close(s, c);
        return;
    }
    c->blk = b;
    c->close_after = !keep_alive;
    date_cache_update(&s->date, time(NULL));
    b->iov[0].iov_base = b->head;
    /* Only a kept connection's answer depends on the version (HTTP/1.0 must be told). */
    b->iov[0].iov_len = response_status(b->head, status, why, keep_alive,
                                        keep_alive ? b->req.http_minor : 1, &s->date);
    memset(&b->msg, 0, sizeof(b->msg));
    b->msg.msg_iov = b->iov;
    b->msg.msg_iovlen = 1;
    conn_send(s, c);
}

void conn_answer_failed(struct server *s, struct conn *c, int status, const char *why)
{
    char copy[RESPONSE_HEAD_MAX];

    /* why may point into the block's head, which the answer is formatted into. */
    snprintf(copy, sizeof copy, "%s", why);
    conn_answer_status(s, c, status, copy, c->blk->req.keep_alive);
}

void conn_answer_bad(struct server *s, struct conn *c, int status, const char *why)
{
    conn_answer_status(s, c, status, why, 0);
}

void conn_start(struct server *s, struct conn *c, const struct request *req)
{
    struct req_block *b = pool_get(&s->blocks);

    if (!b) {
        counters_add(s->ctr, CTR_OOM, 1);
        conn_close(s, c);
        return;
    }
    c->blk = b;
    b->req = *req;
    if (req->work.io != IO_TIMER) {
        const char *refused = server_opts_io_refusal(&s->opts, req->work.io);
        if (refused) {
            conn_answer_status(s, c, 400, refused, 0);
            return;
        }
        c->state = CONN_WAITING;
        if (req->work.io == IO_NET)
            backend_start(s, c);
        else
            file_start(s, c);
        return;
    }
    if (req->work.wait_us == 0) {
        conn_answer(s, c);
        return;
    }
    /* Absolute, from the moment the request was parsed, as the other servers count it;
     * a relative timeout would start only at the submission that ends this loop pass. */
    int64_t t = (int64_t)clock_now_ns() + (int64_t)req->work.wait_us * 1000;
    b->deadline.tv_sec = t / 1000000000;
    b->deadline.tv_nsec = t % 1000000000;
    struct io_uring_sqe *sqe = loop_sqe(s);
    io_uring_prep_timeout(sqe, &b->deadline, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_TIMER));
    c->armed |= BIT(OP_TIMER);
    c->state = CONN_WAITING;
}

void answer_sent(struct server *s, struct conn *c, int res)
{
    struct req_block *b = c->blk;

    c->armed &= (uint16_t)~BIT(OP_SEND);
    if (c->closing)
        return;
    if (res <= 0) {
        int e = res == 0 ? EIO : -res;
        counters_add(s->ctr, e == EPIPE || e == ECONNRESET ? CTR_ABORTED : CTR_IO_ERRORS, 1);
        conn_close(s, c);
        return;
    }
    size_t n = b->msg.msg_iovlen;
    struct iovec *iov = fdio_iov_consume(b->msg.msg_iov, &n, (size_t)res);
    if (n > 0) {
        /* A short write: the rest goes when the socket buffer drains. */
        b->msg.msg_iov = iov;
        b->msg.msg_iovlen = n;
        conn_send(s, c);
        return;
    }
    pool_put(&s->blocks, b);
    c->blk = NULL;
    if (c->close_after) {
        if (c->stop_inflight)
            stop_ended(s->ctr, 1);
        conn_close(s, c);
        return;
    }
    conn_restart_idle(s, c); /* answered: the next request's clock starts */
    c->state = CONN_READING;
    input_resume(s, c);
}

void answer_timer(struct server *s, struct conn *c)
{
    c->armed &= (uint16_t)~BIT(OP_TIMER);
    if (!c->closing)
        conn_answer(s, c); /* -ETIME: the wait is over (only a close cancels it) */
}
