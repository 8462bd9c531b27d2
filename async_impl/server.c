/* server.c: the libev server: one loop, one thread, one task per connection.
 *
 * A task is a struct conn (task.h): its parse state, its watchers and, with --buffers conn,
 * its buffers (buffers.c says where its bytes live in either mode). It never blocks: a request's
 * wait is an ev_timer, a backend answer on a second ev_io (backend.c) or a file read handed to a
 * pool or io_uring (file_read.c); a write that does not fit the socket buffer resumes when the
 * socket is writable. */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "container.h"
#include "counters.h"
#include "framing.h"
#include "net.h"
#include "response.h"
#include "server_opts.h"
#include "task.h"
#include "wait_clock.h"
#include "workers.h"

#define ACCEPT_PAUSE_S 0.1 /* after EMFILE: the backlog keeps the client waiting */

/* Makes the io watcher wait for exactly `events` (0 = stopped). libev only
 * touches epoll when the set really changes. */
void conn_watch(struct server *s, struct conn *c, int events)
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
static void conn_close(struct server *s, struct conn *c)
{
    ev_io_stop(s->loop, &c->io);
    ev_timer_stop(s->loop, &c->wait);
    ev_timer_stop(s->loop, &c->idle);
    backend_close(s, c);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    counters_add(s->ctr, CTR_CLOSED, 1);
    if (c->job && c->job->inflight) {
        conn_release(s, c); /* all but the read's job, whose buffer the read still fills */
        c->job->orphan = 1;
    } else {
        conn_free(s, c);
    }
}

void conn_out_of_memory(struct server *s, struct conn *c)
{
    counters_add(s->ctr, CTR_OOM, 1);
    conn_close(s, c);
}

/* 1 when part of a request has been read: a close now aborts it. */
static int conn_mid_request(const struct conn *c)
{
    return c->framer && framer_mid_request(c->framer);
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
        size_t left = (size_t)n;
        while (c->iovcnt > 0 && left >= c->iov[0].iov_len) {
            left -= c->iov[0].iov_len;
            c->iov[0] = c->iov[1];
            c->iovcnt--;
        }
        if (c->iovcnt > 0) {
            c->iov[0].iov_base = (char *)c->iov[0].iov_base + left;
            c->iov[0].iov_len -= left;
        }
    }
    conn_output_done(c);
    if (c->closing) {
        conn_close(s, c);
        return -1;
    }
    conn_restart_idle(s, c); /* answered: the next request's clock starts */
    return 1;
}

/* Formats the answer to c->req (after its wait) and starts writing it. */
int conn_answer(struct server *s, struct conn *c)
{
    const struct workload *w = &c->req.work;
    char *head = conn_head_buffer(s, c);

    workload_spin(w->work_us);
    date_cache_update(&s->date, (time_t)ev_now(s->loop));
    c->closing = !c->req.keep_alive;
    c->iov[0].iov_base = head;
    c->iov[0].iov_len =
        response_head_ok(head, w->bytes, c->req.keep_alive, c->req.http_minor, &s->date);
    c->iov[1].iov_base = (void *)response_body();
    c->iov[1].iov_len = w->bytes;
    c->iovcnt = c->req.head_only || w->bytes == 0 ? 1 : 2;
    counters_add(s->ctr, CTR_REQUESTS, 1);
    return conn_flush(s, c);
}

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

int conn_answer_failed(struct server *s, struct conn *c, int status, const char *why)
{
    return answer_status(s, c, status, why, c->req.keep_alive);
}

/* Bad input: the answer, then a close. */
static void conn_answer_error(struct server *s, struct conn *c, int status, const char *why)
{
    answer_status(s, c, status, why, 0);
}

/* Parses buffered input and serves complete requests in order, until input
 * runs out, a wait starts, or a write blocks. */
void conn_process(struct server *s, struct conn *c)
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
        /* Pipelined bytes stay unparsed until this request is answered; before a wait
           hands control back to the loop, lean copies them out of the loop's buffer. */
        int rc;
        if (c->req.work.io == IO_TIMER) {
            if (c->req.work.wait_us > 0) {
                if (conn_keep_input(c) < 0) {
                    conn_out_of_memory(s, c);
                    return;
                }
                c->state = CONN_WAITING;
                conn_watch(s, c, 0);
                ev_now_update(s->loop); /* the wait counts from now, not the loop's start */
                wait_clock_add(&s->clock, c->req.work.wait_us);
                ev_timer_set(&c->wait, c->req.work.wait_us * 1e-6, 0.);
                ev_timer_start(s->loop, &c->wait);
                return;
            }
            rc = conn_answer(s, c);
        } else {
            const char *refused = server_opts_io_refusal(&s->opts, c->req.work.io);
            if (refused) {
                conn_answer_error(s, c, 400, refused);
                return;
            }
            if (c->req.work.io == IO_NET) {
                if (conn_keep_input(c) < 0) {
                    conn_out_of_memory(s, c);
                    return;
                }
                backend_start(s, c); /* last: it may answer, and close c, at once */
                return;
            }
            rc = file_read_start(s, c);
        }
        if (rc <= 0)
            return;
    }
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
    if (conn_answer(s, c) > 0)
        conn_process(s, c);
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

static void conn_open(struct server *s, int fd)
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
    c->iovcnt = 0;
    c->up_fd = -1;
    c->up_connecting = 0;
    backend_init(c);
    ev_io_init(&c->io, on_io, fd, EV_READ);
    ev_timer_init(&c->wait, on_wait_done, 0., 0.);
    ev_init(&c->idle, on_idle);
    c->idle.repeat = s->opts.idle_timeout_ms * 1e-3;
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    net_set_nodelay(fd);
    conn_restart_idle(s, c);
    conn_read_next(s, c);
}

static void on_accept_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct server *s = container_of(w, struct server, accept_pause);

    (void)revents;
    ev_io_start(loop, &s->accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct server *s = container_of(w, struct server, accept_io);

    (void)revents;
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            counters_add(s->ctr, CTR_ACCEPTED, 1);
            /* a backlog of thousands takes a while to take in: each idle timeout counts from
               its own accept, not from the start of the loop pass */
            ev_now_update(loop);
            conn_open(s, fd);
            continue;
        }
        if (errno == EAGAIN || errno == EINTR)
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of fds: stop accepting for a moment rather than spin on a
             * listening socket that stays readable. Open connections go on. */
            counters_add(s->ctr, CTR_ACCEPT_EMFILE, 1);
            ev_io_stop(loop, &s->accept_io);
            ev_timer_set(&s->accept_pause, ACCEPT_PAUSE_S, 0.);
            ev_timer_start(loop, &s->accept_pause);
            return;
        }
        /* ECONNABORTED and friends concern one client only. */
        counters_add(s->ctr, CTR_ACCEPT_ERRORS, 1);
    }
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* The backend and data file, set up by main before any worker starts. */
static struct upstream_addr upstream;
static struct datafile data_file = {.fd = -1};

/* One process's server: its loop, until SIGTERM/SIGINT (see workers.h). */
static int async_serve(const struct server_opts *o, int listen_fd, struct counters *ctr,
                       void (*ready)(void))
{
    static struct server srv;
    struct server *s = &srv;
    char err[512];
    int rc = 0;

    s->opts = *o;
    s->lean = o->buffers == BUFFERS_LEAN;
    s->up = o->upstream ? &upstream : NULL;
    s->df = o->data_file ? &data_file : NULL;
    datafile_rng_seed(&s->rng, datafile_rng_fresh_seed());
    s->ctr = ctr;
    s->listen_fd = listen_fd;
    buffers_init(s);
    /* SIGTERM/SIGINT through a signalfd the loop watches, not an asynchronous handler: a
     * stop is one more readable fd, whatever the thread is doing when it comes. */
    s->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    if (!s->loop) {
        fprintf(stderr, "async_server: cannot start libev (check LIBEV_FLAGS)\n");
        return 1;
    }
    ev_set_userdata(s->loop, s);
    if (wait_clock_init(&s->clock, s->loop) < 0) {
        fprintf(stderr, "async_server: timerfd_create: %s\n", strerror(errno));
        return 1;
    }
    ev_io_init(&s->accept_io, on_accept, listen_fd, EV_READ);
    ev_io_start(s->loop, &s->accept_io);
    ev_init(&s->accept_pause, on_accept_resume);
    ev_signal_init(&s->sigterm, on_signal, SIGTERM);
    ev_signal_start(s->loop, &s->sigterm);
    ev_signal_init(&s->sigint, on_signal, SIGINT);
    ev_signal_start(s->loop, &s->sigint);
    if (s->df && file_read_init(s, err, sizeof err) < 0) {
        fprintf(stderr, "async_server: --file-io %s: %s\n", server_opts_file_io_name(o->file_io),
                err);
        rc = 2;
        goto stop;
    }

    ready();
    ev_run(s->loop, 0);

    while (s->conns)
        conn_close(s, s->conns);
    if (s->df)
        file_read_destroy(s); /* after the closes: it frees the tasks whose reads were in flight */
stop:
    buffers_destroy(s);
    ev_io_stop(s->loop, &s->accept_io);
    ev_timer_stop(s->loop, &s->accept_pause);
    ev_signal_stop(s->loop, &s->sigterm);
    ev_signal_stop(s->loop, &s->sigint);
    wait_clock_destroy(&s->clock, s->loop);
    ev_loop_destroy(s->loop);
    return rc;
}

int main(int argc, char **argv)
{
    struct server_opts opts;
    static char msg[SERVER_HELP_MAX];

    switch (server_opts_parse(&opts, argc, argv, "async_server",
                              SERVER_OPTS_FILE_IO | SERVER_OPTS_BUFFERS, msg, sizeof(msg))) {
    case OPTS_HELP: fputs(msg, stdout); return 0;
    case OPTS_ERROR: fprintf(stderr, "async_server: %s\n", msg); return 2;
    case OPTS_OK: break;
    }
    if (opts.upstream &&
        upstream_resolve(&upstream, opts.upstream, opts.allow_remote, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "async_server: %s\n", msg);
        return 2;
    }
    if (opts.data_file && datafile_open(&data_file, opts.data_file, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "async_server: %s\n", msg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    response_init();
    int rc = workers_run(&opts, "async_server", "async", 1, async_serve);
    datafile_close(&data_file);
    return rc;
}
