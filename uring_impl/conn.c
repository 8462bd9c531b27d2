/* conn.c: the io_uring server's task: one per connection, moved on by completions. This
 * file has its life (open, idle deadlines, close, free); input.c its receives, answer.c
 * its requests and answers, backend.c and file_read.c the io= waits.
 *
 * A task holds no watcher: it has operations in flight (a receive, a send, a timer, a
 * backend exchange or a file read: task.h) and each completion moves its state machine
 * on. A closed task cancels what it still has in flight and is freed only once the last of
 * those completions has arrived, so the kernel never writes into freed memory and every
 * buffer it was given stays valid. */
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dlist.h"
#include "net.h"
#include "task.h"

_Static_assert(_Alignof(max_align_t) >= OP_MASK + 1, "malloc must leave the tag bits free");

/* ---- the two lists ------------------------------------------------------------------ */

static void live_unlink(struct server *s, struct conn *c)
{
    DLIST_UNLINK_TAIL(s->live, s->live_tail, c);
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

void conn_restart_idle(struct server *s, struct conn *c)
{
    live_unlink(s, c);
    live_append(s, c);
}

static void closing_unlink(struct server *s, struct conn *c)
{
    DLIST_UNLINK(s->closing, c);
}

/* ---- closing ------------------------------------------------------------------------- */

void conn_close(struct server *s, struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    live_unlink(s, c);
    DLIST_PUSH(s->closing, c);
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
    int parked = loop_fd_freed(s, c->fd);
    if (parked >= 0)
        conn_open(s, parked);
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

void conn_close_reap(struct server *s, struct conn *c)
{
    conn_close(s, c);
    conn_reap(s, c);
}

/* After each completion: a task that needs input and has no receive armed gets one, or
 * closes if the client has half-closed; a closed task with nothing in flight is freed. */
static void conn_settle(struct server *s, struct conn *c)
{
    if (!c->closing && c->state == CONN_READING && !(c->armed & BIT(OP_RECV))) {
        if (!c->peer_eof) {
            input_arm(s, c);
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
    case OP_RECV: input_complete(s, c, cqe); break;
    case OP_SEND: answer_sent(s, c, cqe->res); break;
    case OP_TIMER: answer_timer(s, c); break;
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
    c->stop_inflight = 0;
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
    input_arm(s, c);
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
