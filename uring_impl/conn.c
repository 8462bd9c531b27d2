/* conn.c: the io_uring server's task: one per connection, moved on by completions.
 *
 * A task holds no watcher: it has operations in flight (a receive, a send, a timer, a
 * backend exchange or a file read: task.h) and
 * each completion moves its state machine on. A closed task cancels what it still has in
 * flight and is freed only once the last of those completions has arrived, so the kernel
 * never writes into freed memory and every buffer it was given stays valid. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "net.h"
#include "setup.h"
#include "task.h"

/* Bytes a client may send ahead of the request being served (pipelining) before the task
 * stops receiving and lets the socket buffer hold the rest, as the other servers do by not
 * reading. */
#define PENDING_MAX 16384

_Static_assert(_Alignof(max_align_t) >= OP_MASK + 1, "malloc must leave the tag bits free");

/* 1 when part of a request has been read: a close now aborts it. */
static int conn_mid_request(const struct conn *c)
{
    return c->fr && framer_mid_request(c->fr);
}

/* ---- the two lists ------------------------------------------------------------------ */

static void live_unlink(struct server *s, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->live_tail = c->prev;
}

/* The idle clock of the next request starts now: it must arrive whole within the idle
 * timeout, however it trickles in. Every deadline is now + the same timeout, so appending
 * keeps the list sorted: O(1) per request, no timer per task. */
static void live_append(struct server *s, struct conn *c)
{
    c->idle_deadline_ms =
        s->opts.idle_timeout_ms ? s->now_ms + (int64_t)s->opts.idle_timeout_ms : INT64_MAX;
    c->next = NULL;
    c->prev = s->live_tail;
    if (s->live_tail)
        s->live_tail->next = c;
    else
        s->live = c;
    s->live_tail = c;
}

static void conn_restart_idle(struct server *s, struct conn *c)
{
    live_unlink(s, c);
    live_append(s, c);
}

static void closing_unlink(struct server *s, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->closing = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* ---- closing ------------------------------------------------------------------------- */

void conn_close(struct server *s, struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    live_unlink(s, c);
    c->prev = NULL;
    c->next = s->closing;
    if (s->closing)
        s->closing->prev = c;
    s->closing = c;
    counters_add(s->ctr, CTR_CLOSED, 1);
    for (int op = 0; op < OP__COUNT; op++)
        if (c->armed & BIT(op))
            loop_cancel(s, op_tag(c, (enum op)op)); /* a device read runs to its end anyway */
}

/* Undoes conn_open (c is on no list): the sockets (only now, so that no queued operation
 * can name a reused fd number), the read-ahead, the request block, the task. */
static void conn_destroy(struct server *s, struct conn *c)
{
    close(c->fd);
    loop_fd_freed(s, c->fd);
    if (c->up_fd >= 0)
        close(c->up_fd);
    free(c->pending);
    if (c->blk)
        pool_put(&s->blocks, c->blk); /* its file buffer went back when the read completed */
    if (c->fr && s->recv == RECV_RING)
        pool_put(&s->framers, c->fr);
    free(c);
}

static void conn_reap(struct server *s, struct conn *c)
{
    if (c->closing && !c->armed) {
        closing_unlink(s, c);
        conn_destroy(s, c);
    }
}

/* ---- sending ------------------------------------------------------------------------- */

static void conn_send(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    io_uring_prep_sendmsg(sqe, c->fd, &c->blk->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_SEND));
    c->armed |= BIT(OP_SEND);
    c->state = CONN_WRITING;
}

void conn_answer(struct server *s, struct conn *c)
{
    struct req_block *b = c->blk;
    const struct workload *w = &b->req.work;

    workload_spin(w->work_us);
    date_cache_update(&s->date, time(NULL));
    c->close_after = !b->req.keep_alive;
    b->iov[0].iov_base = b->head;
    b->iov[0].iov_len =
        response_head_ok(b->head, w->bytes, b->req.keep_alive, b->req.http_minor, &s->date);
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

/* Bad input: the answer, then a close. why is in c->fr. */
static void conn_answer_error(struct server *s, struct conn *c, int status, const char *why)
{
    conn_answer_status(s, c, status, why, 0);
}

/* A request is complete: its wait (a ring timeout, the backend, a file read), or the
 * answer at once. */
static void conn_start(struct server *s, struct conn *c, const struct request *req)
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
    int64_t t = loop_mono_ns() + (int64_t)req->work.wait_us * 1000;
    b->deadline.tv_sec = t / 1000000000;
    b->deadline.tv_nsec = t % 1000000000;
    struct io_uring_sqe *sqe = loop_sqe(s);
    io_uring_prep_timeout(sqe, &b->deadline, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_TIMER));
    c->armed |= BIT(OP_TIMER);
    c->state = CONN_WAITING;
}

/* ---- receiving ----------------------------------------------------------------------- */

static void conn_arm_recv(struct server *s, struct conn *c)
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
            conn_answer_error(s, c, c->fr->status, c->fr->error);
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

/* The answer is out: serve what was read ahead, if anything. */
static void conn_resume(struct server *s, struct conn *c)
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

static void on_recv(struct server *s, struct conn *c, const struct io_uring_cqe *cqe)
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

/* ---- the other completions ----------------------------------------------------------- */

static void on_sent(struct server *s, struct conn *c, int res)
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
    size_t left = (size_t)res;
    struct iovec *iov = b->msg.msg_iov;
    size_t n = b->msg.msg_iovlen;
    while (n > 0 && left >= iov[0].iov_len) {
        left -= iov[0].iov_len;
        iov++;
        n--;
    }
    if (n > 0) {
        /* A short write: the rest goes when the socket buffer drains. */
        iov[0].iov_base = (char *)iov[0].iov_base + left;
        iov[0].iov_len -= left;
        b->msg.msg_iov = iov;
        b->msg.msg_iovlen = n;
        conn_send(s, c);
        return;
    }
    pool_put(&s->blocks, b);
    c->blk = NULL;
    if (c->close_after) {
        conn_close(s, c);
        return;
    }
    conn_restart_idle(s, c); /* answered: the next request's clock starts */
    c->state = CONN_READING;
    conn_resume(s, c);
}

static void on_timer(struct server *s, struct conn *c)
{
    c->armed &= (uint16_t)~BIT(OP_TIMER);
    if (!c->closing)
        conn_answer(s, c); /* -ETIME: the wait is over (only a close cancels it) */
}

/* After each completion: a task that needs input and has no receive armed gets one, or
 * closes if the client has half-closed; a closed task with nothing in flight is freed. */
static void conn_settle(struct server *s, struct conn *c)
{
    if (!c->closing && c->state == CONN_READING && !(c->armed & BIT(OP_RECV))) {
        if (!c->peer_eof) {
            conn_arm_recv(s, c);
            return;
        }
        if (conn_mid_request(c))
            counters_add(s->ctr, CTR_ABORTED, 1);
        conn_close(s, c);
    }
    conn_reap(s, c);
}

void conn_complete(struct server *s, struct conn *c, enum op op, const struct io_uring_cqe *cqe)
{
    switch (op) {
    case OP_RECV: on_recv(s, c, cqe); break;
    case OP_SEND: on_sent(s, c, cqe->res); break;
    case OP_TIMER: on_timer(s, c); break;
    case OP_UP_CONNECT:
    case OP_UP_SEND:
    case OP_UP_RECV:
    case OP_UP_POLL: backend_complete(s, c, op, cqe); break;
    case OP_FILE: file_complete(s, c, cqe); break;
    default: return;
    }
    conn_settle(s, c);
}

/* ---- opening, expiry, shutdown ------------------------------------------------------- */

void conn_open(struct server *s, int fd)
{
    size_t size = sizeof(struct conn);
    struct conn *c;

    if (s->recv == RECV_CONN)
        size += sizeof(struct framer) + CONN_READ_BUF; /* held as long as the connection */
    c = malloc(size);
    if (!c) {
        char buf[RESPONSE_HEAD_MAX];
        size_t len;
        counters_add(s->ctr, CTR_OOM, 1);
        counters_status(s->ctr, 503);
        counters_add(s->ctr, CTR_CLOSED, 1);
        date_cache_update(&s->date, time(NULL));
        len = response_error(buf, 503, "out of memory", &s->date);
        (void)!send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL); /* best effort: fresh socket */
        close(fd);
        return;
    }
    c->fd = fd;
    c->up_fd = -1;
    c->up_closing = 0;
    c->state = CONN_READING;
    c->armed = c->closing = c->close_after = c->peer_eof = c->recv_cancelled = 0;
    c->rpos = c->rlen = c->plen = 0;
    c->pending = NULL;
    c->blk = NULL;
    c->fr = NULL;
    c->rbuf = NULL;
    if (s->recv == RECV_CONN) {
        /* No memset: the read buffer stays untouched until used, as in a thread's stack. */
        c->fr = (struct framer *)(c + 1);
        c->rbuf = (char *)(c->fr + 1);
        framer_init(c->fr, &s->opts.defaults);
    }
    net_set_nodelay(fd);
    live_append(s, c);
    conn_arm_recv(s, c);
}

void conn_expire(struct server *s)
{
    while (s->live && s->live->idle_deadline_ms <= s->now_ms) {
        struct conn *c = s->live;
        if (c->state == CONN_WAITING) {
            conn_restart_idle(s, c); /* the server is busy, not the client idle */
            continue;
        }
        counters_add(s->ctr, CTR_IDLE_TIMEOUTS, 1);
        if (conn_mid_request(c))
            counters_add(s->ctr, CTR_ABORTED, 1);
        conn_close(s, c);
        conn_reap(s, c);
    }
}

int64_t conn_next_deadline_ms(const struct server *s)
{
    if (!s->live || s->live->idle_deadline_ms == INT64_MAX)
        return -1;
    return s->live->idle_deadline_ms > s->now_ms ? s->live->idle_deadline_ms - s->now_ms : 0;
}

void conn_close_all(struct server *s)
{
    while (s->live) {
        struct conn *c = s->live;
        conn_close(s, c);
        conn_reap(s, c);
    }
}

void conn_free_all(struct server *s)
{
    while (s->live) {
        struct conn *c = s->live;
        live_unlink(s, c);
        counters_add(s->ctr, CTR_CLOSED, 1);
        conn_destroy(s, c);
    }
    while (s->closing) {
        struct conn *c = s->closing;
        closing_unlink(s, c);
        conn_destroy(s, c);
    }
}
