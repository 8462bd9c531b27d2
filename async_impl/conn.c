/* conn.c: the async server's task, one per connection: its life (open, idle timeout, close),
 * its client socket, its requests in order and their answers.
 *
 * A task is a struct conn (task.h): its parse state, its watchers and, with --buffers conn,
 * its buffers (buffers.c says where its bytes live in either mode). It never blocks: a request's
 * wait is an ev_timer, a backend answer on a second ev_io (backend.c) or a file read handed to a
 * pool or io_uring (file_read.c); a write that does not fit the socket buffer resumes when the
 * socket is writable. */
#include <errno.h>
#include <ev.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "container.h"
#include "counters.h"
#include "dlist.h"
#include "fdio.h"
#include "framing.h"
#include "net.h"
#include "response.h"
#include "server_opts.h"
#include "shared_serve.h"
#include "stop.h"
#include "task.h"
#include "wait_clock.h"

/* Makes the io watcher wait for exactly `events` (0 = stopped). libev only
 * touches epoll when the set really changes. */
static void conn_watch(struct server *s, struct conn *c, int events)
{
    if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(s->loop, &c->io);
    if (events) {
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(s->loop, &c->io);
    }
}

/* Undoes everything conn_open did, in reverse: watchers, sockets, memory. A task whose file
 * read is in flight is left for the read's end to free (file_read.c): the pool or the kernel
 * still writes into its buffer. */
void conn_close(struct server *s, struct conn *c)
{
    ev_io_stop(s->loop, &c->io);
    ev_timer_stop(s->loop, &c->wait);
    ev_timer_stop(s->loop, &c->idle);
    backend_close(s, c);
    close(c->fd);
    DLIST_UNLINK(s->conns, c);
    counters_add(s->ctr, CTR_CLOSED, 1);
    if (c->job && c->job->inflight) {
        conn_release(s, c); /* all but the read's job, whose buffer the read still fills */
        c->job->orphan = 1;
    } else {
        conn_free(s, c);
    }
    if (s->stopping)
        stop_conn_closed(s);
}

/* No memory for what c must keep: counted (oom) and c closed. */
static void conn_out_of_memory(struct server *s, struct conn *c)
{
    counters_add(s->ctr, CTR_OOM, 1);
    conn_close(s, c);
}

/* Starts the clock of the next request: it must arrive whole within the idle
 * timeout, however it trickles in (a byte a second is idle too). */
static void conn_restart_idle(struct server *s, struct conn *c)
{
    if (s->opts.idle_timeout_ms)
        ev_timer_again(s->loop, &c->idle);
}

static void conn_read_next(struct server *s, struct conn *c)
{
    c->state = CONN_READING;
    conn_watch(s, c, EV_READ);
}

/* Writes what is left of the answer. 1 when written, 0 when the rest waits
 * for writability, -1 when the connection was closed. */
static int conn_flush(struct server *s, struct conn *c)
{
    while (c->iovcnt > 0) {
        ssize_t n = writev(c->fd, c->iov, c->iovcnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (conn_keep_output(s, c) < 0) {
                    conn_out_of_memory(s, c);
                    return -1;
                }
                c->state = CONN_WRITING;
                conn_watch(s, c, EV_WRITE);
                return 0;
            }
            counters_add(s->ctr,
                         errno == EPIPE || errno == ECONNRESET ? CTR_ABORTED : CTR_IO_ERRORS, 1);
            conn_close(s, c);
            return -1;
        }
        size_t left = (size_t)c->iovcnt;
        struct iovec *rest = fdio_iov_consume(c->iov, &left, (size_t)n);
        memmove(c->iov, rest, left * sizeof *rest); /* c->iov is c's own array: keep it whole */
        c->iovcnt = (int)left;
    }
    conn_output_done(c);
    if (c->closing) {
        if (c->stop_inflight)
            stop_ended(s->ctr, 1);
        conn_close(s, c);
        return -1;
    }
    conn_restart_idle(s, c); /* answered: the next request's clock starts */
    return 1;
}

static int answer_status(struct server *s, struct conn *c, int status, const char *why,
                         int keep_alive);

/* Answers c's request 200 (after its shared table update and burning work_us) and starts
   writing. Returns as conn_flush. */
static int conn_answer(struct server *s, struct conn *c)
{
    const struct workload *w = &c->req.work;
    uint64_t count = 0;

    if (w->state == STATE_SHARED) {
        count = shared_serve(&s->shared, NULL, w, s->ctr); /* one loop: no lock */
        if (count == 0)
            return answer_status(s, c, 503, shared_full_reason(), c->req.keep_alive);
    }
    workload_spin(w->work_us);
    char *head = conn_head_buffer(s, c);
    date_cache_update(&s->date, (time_t)ev_now(s->loop));
    c->closing = !c->req.keep_alive;
    c->iov[0].iov_base = head;
    c->iov[0].iov_len = response_head_ok_shared(head, w->bytes, c->req.keep_alive,
                                                c->req.http_minor, count, &s->date);
    c->iov[1].iov_base = (void *)response_body();
    c->iov[1].iov_len = w->bytes;
    c->iovcnt = c->req.head_only || w->bytes == 0 ? 1 : 2;
    counters_add(s->ctr, CTR_REQUESTS, 1);
    return conn_flush(s, c);
}

/* Answers `status` with why as the body, counted by status; a close follows the write unless
   keep_alive. Returns as conn_flush. */
static int answer_status(struct server *s, struct conn *c, int status, const char *why,
                         int keep_alive)
{
    char *head = conn_head_buffer(s, c);

    date_cache_update(&s->date, (time_t)ev_now(s->loop));
    counters_status(s->ctr, status);
    c->closing = !keep_alive;
    c->iov[0].iov_base = head;
    c->iov[0].iov_len = response_status(head, status, why, keep_alive, c->req.http_minor, &s->date);
    c->iovcnt = 1;
    return conn_flush(s, c);
}

/* Answers c's request by its wait's outcome: 200, or `status` (500, 502) with why as the body,
   keeping the connection unless the client asked to close; counted by status. Returns as
   conn_flush. */
static int conn_answer_outcome(struct server *s, struct conn *c, int status, const char *why)
{
    if (status == 200)
        return conn_answer(s, c);
    return answer_status(s, c, status, why, c->req.keep_alive);
}

/* Bad input: the answer, then a close. Returns as conn_flush (never 1). */
static int conn_answer_error(struct server *s, struct conn *c, int status, const char *why)
{
    return answer_status(s, c, status, why, 0);
}

/* Control goes back to the loop while c's request waits: the client is not read meanwhile,
   and the pipelined bytes behind the request wait with it (lean copies them out of the loop's
   buffer). 0, or -1 when c was closed for want of memory to keep them. */
static int conn_wait(struct server *s, struct conn *c)
{
    if (conn_keep_input(c) < 0) {
        conn_out_of_memory(s, c);
        return -1;
    }
    c->state = CONN_WAITING;
    conn_watch(s, c, 0);
    return 0;
}

/* io=timer with wait_us > 0: on_wait_done answers. 0, or -1 when c was closed. */
static int conn_wait_timer(struct server *s, struct conn *c)
{
    if (conn_wait(s, c) < 0)
        return -1;
    ev_now_update(s->loop); /* the wait counts from now, not the loop's start */
    wait_clock_add(&s->clock, c->req.work.wait_us);
    ev_timer_set(&c->wait, c->req.work.wait_us * 1e-6, 0.);
    ev_timer_start(s->loop, &c->wait);
    return 0;
}

/* io=net: conn_wait_end answers, perhaps at once (c may be closed when this returns 0). 0, or
   -1 when c was closed. */
static int conn_wait_backend(struct server *s, struct conn *c)
{
    if (conn_wait(s, c) < 0)
        return -1;
    if (backend_start(s, c) < 0) {
        conn_out_of_memory(s, c);
        return -1;
    }
    return 0;
}

/* io=file: a queued read waits for conn_wait_end, a read over at once is answered now.
   Returns as conn_flush; 0 also when the read is queued. */
static int conn_wait_file(struct server *s, struct conn *c)
{
    char why[160];
    int status = file_read_start(s, c, why, sizeof why);

    if (status == 0)
        return conn_wait(s, c); /* a close now leaves the queued read an orphan */
    return conn_answer_outcome(s, c, status, why);
}

/* Starts c's complete request: its wait, or its answer at once. Returns as conn_flush; 0 also
   when a wait started. */
static int conn_start(struct server *s, struct conn *c)
{
    const struct workload *w = &c->req.work;

    if (w->io == IO_TIMER)
        return w->wait_us > 0 ? conn_wait_timer(s, c) : conn_answer(s, c);
    const char *refused = server_opts_io_refusal(&s->opts, w->io);
    if (refused)
        return conn_answer_error(s, c, 400, refused);
    return w->io == IO_NET ? conn_wait_backend(s, c) : conn_wait_file(s, c);
}

/* Parses buffered input and serves complete requests in order, until input
 * runs out, a wait starts, or a write blocks. Pipelined bytes stay unparsed until the request
 * before them is answered. */
static void conn_process(struct server *s, struct conn *c)
{
    for (;;) {
        struct framer *f = conn_framer(s, c);
        size_t start = c->rpos, used;
        enum framing_result r = framer_feed(f, c->in + c->rpos, c->rlen - c->rpos, &used, &c->req);
        c->rpos += used;
        if (r == FRAMING_MORE) {
            if (conn_input_consumed(s, c, f, start) < 0) {
                conn_out_of_memory(s, c);
                return;
            }
            conn_read_next(s, c);
            return;
        }
        if (r == FRAMING_ERROR) {
            conn_answer_error(s, c, f->status, f->error);
            return;
        }
        conn_request_done(c);
        if (conn_start(s, c) <= 0)
            return;
    }
}

void conn_wait_end(struct server *s, struct conn *c, int status, const char *why)
{
    if (conn_answer_outcome(s, c, status, why) > 0)
        conn_process(s, c);
}

static void on_wait_done(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = container_of(w, struct conn, wait);
    struct server *s = ev_userdata(loop);

    (void)revents;
    if (c->req.work.io == IO_NET) {
        backend_timeout(s, c);
        return;
    }
    conn_wait_end(s, c, 200, NULL);
}

static void on_readable(struct server *s, struct conn *c)
{
    ssize_t n;

    /* Every byte read before has been parsed (we only read when the framer
     * wants more), so the buffer starts empty. */
    char *buf = conn_read_buffer(s, c);
    c->rpos = c->rlen = 0;
    n = read(c->fd, buf, CONN_READ_BUF);
    if (n > 0) {
        c->rlen = (size_t)n;
        conn_process(s, c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (conn_mid_request(c))
        counters_add(s->ctr, CTR_ABORTED, 1);
    else if (n < 0 && errno != ECONNRESET) /* a reset between requests is a close */
        counters_add(s->ctr, CTR_IO_ERRORS, 1);
    conn_close(s, c);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = container_of(w, struct conn, io);
    struct server *s = ev_userdata(loop);

    if (revents & EV_READ) {
        on_readable(s, c);
        return;
    }
    if (revents & EV_WRITE && conn_flush(s, c) > 0)
        conn_process(s, c);
}

static void on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = container_of(w, struct conn, idle);
    struct server *s = ev_userdata(loop);

    (void)revents;
    if (c->state == CONN_WAITING) {
        ev_timer_again(loop, w); /* the server is busy, not the client idle */
        return;
    }
    counters_add(s->ctr, CTR_IDLE_TIMEOUTS, 1);
    if (conn_mid_request(c))
        counters_add(s->ctr, CTR_ABORTED, 1);
    conn_close(s, c);
}

void conn_open(struct server *s, int fd)
{
    struct conn *c = conn_alloc(s);

    if (!c) {
        char buf[RESPONSE_HEAD_MAX];
        size_t len;
        counters_add(s->ctr, CTR_OOM, 1);
        counters_status(s->ctr, 503);
        date_cache_update(&s->date, (time_t)ev_now(s->loop));
        len = response_error(buf, 503, "out of memory", &s->date);
        (void)!write(fd, buf, len); /* best effort: the socket is fresh and empty */
        close(fd);
        return;
    }
    c->fd = fd;
    c->closing = 0;
    c->stop_inflight = 0;
    c->iovcnt = 0;
    c->up_fd = -1;
    c->up_connecting = 0;
    backend_init(c);
    ev_io_init(&c->io, on_io, fd, EV_READ);
    ev_timer_init(&c->wait, on_wait_done, 0., 0.);
    ev_init(&c->idle, on_idle);
    c->idle.repeat = s->opts.idle_timeout_ms * 1e-3;
    DLIST_PUSH(s->conns, c);
    net_set_nodelay(fd);
    conn_restart_idle(s, c);
    conn_read_next(s, c);
}
