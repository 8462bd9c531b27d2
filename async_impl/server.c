/* server.c: the libev server: one loop, one thread, one task per connection (conn.c). The
 * loop accepts (pausing when out of fds) until SIGTERM/SIGINT starts its graceful stop
 * (stop.c), and once every task is closed it frees what the tasks shared. */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container.h"
#include "counters.h"
#include "response.h"
#include "server_main.h"
#include "server_opts.h"
#include "shared.h"
#include "task.h"
#include "wait_clock.h"
#include "workers.h"

#define ACCEPT_PAUSE_S 0.1 /* after EMFILE: the backlog keeps the client waiting */

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
    stop_begin(ev_userdata(loop));
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
    s->on_wait_end = conn_wait_end;
    buffers_init(s);
    /* SIGTERM/SIGINT through a signalfd the loop watches, not an asynchronous handler: a
     * stop is one more readable fd, whatever the thread is doing when it comes. */
    s->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    if (!s->loop) {
        fprintf(stderr, "async_server: cannot start libev (check LIBEV_FLAGS)\n");
        close(listen_fd);
        return 1;
    }
    ev_set_userdata(s->loop, s);
    if (wait_clock_init(&s->clock, s->loop) < 0) {
        fprintf(stderr, "async_server: timerfd_create: %s\n", strerror(errno));
        close(listen_fd);
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

    while (s->conns) /* none after a stop; this is for a loop that ended otherwise */
        conn_close(s, s->conns);
    if (s->df)
        file_read_destroy(s); /* after the closes: it frees the tasks whose reads were in flight */
    counters_shared_settle(s->ctr, shared_counted(&s->shared));
stop:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    stop_destroy(s);
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
    static const struct server_main m = {
        .prog = "async_server",
        .impl = "async",
        .flags = SERVER_OPTS_FILE_IO | SERVER_OPTS_BUFFERS,
        .nonblock = 1,
        .serve = async_serve,
        .up = &upstream,
        .df = &data_file,
    };
    return server_main(argc, argv, &m);
}
