/* stop.c: the async server's graceful stop at SIGTERM/SIGINT, as nginx stops on SIGQUIT: no
 * more accepting, the idle tasks closed at once, the requests in flight answered (with
 * Connection: close) until --grace-ms, the rest cut; the loop ends with the last task. */
#include <unistd.h>

#include "container.h"
#include "stop.h"
#include "task.h"

/* The last task is gone: the stop took this long, and the loop ends. Once. */
static void stop_drained(struct server *s)
{
    if (s->drained)
        return;
    s->drained = 1;
    ev_timer_stop(s->loop, &s->grace);
    stop_over(s->ctr, s->t_sig_ns);
    ev_break(s->loop, EVBREAK_ALL);
}

/* The grace is over (or a second signal came): every task left is closed, those whose
   request is still in flight counted as cut. */
static void stop_cut(struct server *s)
{
    while (s->conns) {
        struct conn *c = s->conns;
        if (c->stop_inflight)
            stop_ended(s->ctr, 0);
        conn_close(s, c);
    }
}

static void on_grace(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    stop_cut(container_of(w, struct server, grace));
}

/* What c does at the stop: an idle or half-read connection closes now; a request in flight
   (waiting, or its answer being written) is answered first, then the connection closes. */
static void stop_conn(struct server *s, struct conn *c)
{
    if (stop_found(s->ctr, c->state != CONN_READING, conn_mid_request(c)) == STOP_CLOSE) {
        conn_close(s, c); /* its input is parsed as it comes: nothing unread */
        return;
    }
    /* A wait's answer, formatted later, says Connection: close; an answer being written has
       its head out already, or formatted: closed once written. */
    if (c->state == CONN_WAITING)
        c->req.keep_alive = 0;
    c->closing = 1;
    c->stop_inflight = 1;
}

void stop_begin(struct server *s)
{
    if (!stop_signal(&s->stopping, &s->t_sig_ns)) {
        stop_cut(s);
        return;
    }
    ev_io_stop(s->loop, &s->accept_io);
    ev_timer_stop(s->loop, &s->accept_pause);
    close(s->listen_fd); /* new connects are refused from now on */
    s->listen_fd = -1;
    ev_init(&s->grace, on_grace);
    ev_timer_set(&s->grace, s->opts.grace_ms * 1e-3, 0.);
    ev_timer_start(s->loop, &s->grace);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next; /* c may be freed */
        stop_conn(s, c);
    }
    if (!s->conns)
        stop_drained(s);
}

void stop_conn_closed(struct server *s)
{
    if (!s->conns)
        stop_drained(s);
}

void stop_destroy(struct server *s)
{
    if (s->stopping)
        ev_timer_stop(s->loop, &s->grace);
}
