/* input.c: a task's receives. --recv ring: one multishot recv per connection, armed for
 * its whole life, into the loop's provided-buffer ring; each buffer is parsed where the
 * kernel filled it and given back at once, and only bytes read ahead of their turn are
 * copied into an allocation of the task's, sized to fit. --recv conn: one recv at a time,
 * when the parser wants more, into the task's own 4 KiB buffer, as async_server reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "setup.h"
#include "task.h"

/* Bytes a client may send ahead of the request being served (pipelining) before the task
 * stops receiving and lets the socket buffer hold the rest, as the other servers do by not
 * reading. */
#define PENDING_MAX 16384

void input_arm(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    if (s->recv == RECV_RING) {
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = URING_BUF_GROUP;
    } else {
        c->rpos = c->rlen = 0;
        io_uring_prep_recv(sqe, c->fd, c->rbuf, CONN_READ_BUF, 0);
    }
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_RECV));
    c->armed |= BIT(OP_RECV);
    c->recv_cancelled = 0;
}

/* Parses len bytes and starts the requests they complete, one at a time: stops when a
 * request is in service (its answer must go out before the next is parsed). Returns the
 * bytes used; the caller keeps the rest. */
static size_t conn_feed(struct server *s, struct conn *c, const char *p, size_t len)
{
    size_t off = 0;

    while (off < len && c->state == CONN_READING && !c->closing) {
        struct request req;
        size_t used;
        if (!c->fr) {
            c->fr = pool_get(&s->framers);
            if (!c->fr) {
                counters_add(s->ctr, CTR_OOM, 1);
                conn_close(s, c);
                break;
            }
            framer_init(c->fr, &s->opts.defaults);
        }
        enum framing_result r = framer_feed(c->fr, p + off, len - off, &used, &req);
        off += used;
        if (r == FRAMING_ERROR) {
            conn_answer_bad(s, c, c->fr->status, c->fr->error);
            break;
        }
        if (r == FRAMING_REQUEST)
            conn_start(s, c, &req);
        else if (used == 0)
            break; /* FRAMING_MORE uses every byte; never spin if it did not */
    }
    /* Between requests a framer holds nothing a fresh one lacks (the parser is back at its
     * start state: a connection that is not kept alive is closed), so a task that is not
     * in the middle of a request gives it back: an idle task holds only where it paused. */
    if (s->recv == RECV_RING && c->fr && !c->closing && !c->close_after &&
        !framer_mid_request(c->fr)) {
        pool_put(&s->framers, c->fr);
        c->fr = NULL;
    }
    return off;
}

/* Keeps bytes that arrived ahead of their turn (RECV_RING): the provided buffer goes back
 * to the ring at once, so they are copied into an allocation sized to fit. */
static int pending_append(struct server *s, struct conn *c, const char *p, size_t n)
{
    char *grown = realloc(c->pending, c->plen + n);

    if (!grown) {
        counters_add(s->ctr, CTR_OOM, 1);
        return -1;
    }
    memcpy(grown + c->plen, p, n);
    c->pending = grown;
    c->plen += (uint32_t)n;
    return 0;
}

static void pending_consume(struct conn *c, size_t used)
{
    if (used >= c->plen) {
        free(c->pending);
        c->pending = NULL;
        c->plen = 0;
        return;
    }
    memmove(c->pending, c->pending + used, c->plen - used);
    c->plen -= (uint32_t)used;
}

void input_resume(struct server *s, struct conn *c)
{
    if (s->recv == RECV_CONN) {
        c->rpos += (uint32_t)conn_feed(s, c, c->rbuf + c->rpos, c->rlen - c->rpos);
    } else if (c->plen) {
        pending_consume(c, conn_feed(s, c, c->pending, c->plen));
    }
}

static void on_data(struct server *s, struct conn *c, const char *p, size_t n)
{
    if (c->state == CONN_READING && c->plen == 0) {
        size_t used = conn_feed(s, c, p, n); /* straight from the kernel-filled buffer */
        p += used;
        n -= used;
    }
    if (n == 0 || c->closing || c->close_after)
        return; /* nothing left, or bytes after a closing answer: dropped */
    if (pending_append(s, c, p, n) < 0) {
        conn_close(s, c);
        return;
    }
    if (c->plen > PENDING_MAX && (c->armed & BIT(OP_RECV)) && !c->recv_cancelled) {
        loop_cancel(s, op_tag(c, OP_RECV)); /* re-armed once the read-ahead is served */
        c->recv_cancelled = 1;
    }
}

static void on_eof(struct server *s, struct conn *c)
{
    if (c->state != CONN_READING) {
        c->peer_eof = 1; /* a half-close: the answer still goes out, as in the other servers */
        return;
    }
    if (conn_mid_request(c))
        counters_add(s->ctr, CTR_ABORTED, 1);
    conn_close(s, c);
}

static void on_recv_error(struct server *s, struct conn *c, int e)
{
    if (c->state != CONN_READING || conn_mid_request(c))
        counters_add(s->ctr, CTR_ABORTED, 1); /* a request or its answer was in flight */
    else if (e != ECONNRESET)                 /* a reset between requests is a close */
        counters_add(s->ctr, CTR_IO_ERRORS, 1);
    conn_close(s, c);
}

void input_complete(struct server *s, struct conn *c, const struct io_uring_cqe *cqe)
{
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

    if (!(cqe->flags & IORING_CQE_F_MORE))
        c->armed &= (uint16_t)~BIT(OP_RECV);
    if (!c->closing) {
        if (cqe->res > 0 && s->recv == RECV_CONN) {
            c->rlen = (uint32_t)cqe->res;
            c->rpos = (uint32_t)conn_feed(s, c, c->rbuf, c->rlen);
        } else if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
            on_data(s, c, buf_ring_addr(&s->bufs, bid), (size_t)cqe->res);
        } else if (cqe->res == 0) {
            on_eof(s, c);
        } else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
            on_recv_error(s, c, -cqe->res);
        }
        /* ENOBUFS: the ring ran dry for a moment; ECANCELED: the read-ahead cap. Either
         * way the receive is re-armed when the task next needs input. */
    }
    if (cqe->flags & IORING_CQE_F_BUFFER)
        buf_ring_give_back(&s->bufs, bid);
}
