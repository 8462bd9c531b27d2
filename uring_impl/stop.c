/* stop.c: the io_uring server's graceful stop at SIGTERM/SIGINT, as nginx stops on SIGQUIT: no
 * more accepting, the idle tasks closed at once, the requests in flight answered (with
 * Connection: close) until --grace-ms, the rest cut; the loop ends once no task is open. */
#include <sys/socket.h>
#include <unistd.h>

#include "stop.h"
#include "task.h"

/* What c does at the stop: an idle or half-read connection closes now; a request in flight
   (waiting, or its answer being sent) is answered first, then the connection closes. */
static void stop_conn(struct server *s, struct conn *c)
{
    if (stop_found(s->ctr, c->state != CONN_READING, conn_mid_request(c)) == STOP_CLOSE) {
        conn_close_reap(s, c); /* its input is parsed as it comes: nothing unread */
        return;
    }
    /* A wait's answer, formatted later, says Connection: close; an answer being sent has its
       head formatted already: closed once it is sent. */
    if (c->state == CONN_WAITING)
        c->blk->req.keep_alive = 0;
    c->close_after = 1;
    c->stop_inflight = 1;
}

/* The grace is over (or a second signal came): every open task is closed, those whose request
   is still in flight counted as cut. */
static void stop_cut(struct server *s)
{
    while (s->live) {
        struct conn *c = s->live;
        if (c->stop_inflight)
            stop_ended(s->ctr, 0);
        conn_close_reap(s, c);
    }
    s->stop = 1;
}

void stop_begin(struct server *s)
{
    if (!stop_signal(&s->stopping, &s->t_sig_ns)) {
        stop_cut(s);
        return;
    }
    s->grace_end_ms = (int64_t)(s->t_sig_ns / 1000000) + (int64_t)s->opts.grace_ms;
    /* Refused from now on: the shutdown takes the socket out of listening at once (the armed
       accept holds a reference until its cancellation completes). */
    shutdown(s->listen_fd, SHUT_RDWR);
    close(s->listen_fd);
    s->listen_fd = -1;
    for (int op = OP_ACCEPT; op <= OP_ACCEPT_PAUSE; op++)
        if (s->armed & BIT(op))
            loop_cancel(s, op_tag(NULL, (enum op)op));
    for (struct conn *c = s->live, *next; c; c = next) {
        next = c->next; /* a close moves c to the closing list */
        stop_conn(s, c);
    }
}

int64_t stop_pass(struct server *s)
{
    if (!s->live) {
        s->stop = 1;
        return 0;
    }
    if (s->now_ms >= s->grace_end_ms) {
        stop_cut(s);
        return 0;
    }
    return s->grace_end_ms - s->now_ms;
}
