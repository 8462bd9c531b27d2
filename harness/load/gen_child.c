/* gen_child: a generator process: its share of the load, driven by its parent's messages
 * through the operations of the generator its caller starts: a forked one runs its share
 * itself; a remote one (`harness gen` on a host of its own) may run it over processes of its
 * own. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "load/gen_int.h"
#include "load/wire.h"

#define RESULT_SEND_MS 60000 /* a parent that does not read a result for a minute is gone */
#define OPTS_WAIT_MS   30000

/* The newest state, if the stream takes it now (the parent reads late: it gets the newest). */
static void publish(struct gen *g, int out_fd)
{
    struct wire_status st;
    memset(&st, 0, sizeof st);
    st.ramped = g->ops->ramped(g->impl);
    st.quota_done = g->ops->quota_done(g->impl);
    st.progress = g->ops->progress(g->impl, &st.errors);
    int open, failed;
    g->ops->conns(g->impl, &open, &failed);
    st.open = open;
    st.failed = failed;
    wire_send_now(out_fd, WIRE_STATUS, &st, sizeof st);
}

/* A window of the running load (WIRE_WINDOW or WIRE_STEP_END), sent to the parent. */
static int send_window(struct gen *g, char cmd, int out_fd)
{
    struct load_result res;
    char err[256];
    int rc = cmd == WIRE_WINDOW ? g->ops->measured(g->impl, &res, err, sizeof err)
                                : g->ops->step_end(g->impl, &res, err, sizeof err);
    if (rc < 0)
        return -1;
    rc = wire_send_result(out_fd, &res, clock_now_ms() + RESULT_SEND_MS);
    load_result_free(&res);
    return rc;
}

static int ack(int out_fd, bool ok)
{
    char c = ok ? '+' : '-';
    return wire_send(out_fd, WIRE_ACK, &c, 1, clock_now_ms() + RESULT_SEND_MS);
}

/* One command. 1: stop now; 0 go on; -1 the process must end (a broken stream). */
static int on_command(struct gen *g, char cmd, const char *payload, size_t len, int out_fd)
{
    char err[256];
    switch (cmd) {
    case WIRE_STOP: return 1;
    case WIRE_TRAFFIC:
    case WIRE_MEASURE:
    case WIRE_END: g->ops->command(g->impl, cmd); return 0;
    case WIRE_WINDOW:
    case WIRE_STEP_END: return send_window(g, cmd, out_fd);
    case WIRE_WATCH: return ack(out_fd, g->ops->watch(g->impl, err, sizeof err) == 0);
    case WIRE_STEP: {
        double arg[3]; /* rate, settle_s, length_s */
        bool ok = false;
        if (len == sizeof arg) {
            memcpy(arg, payload, sizeof arg);
            ok = g->ops->step_begin(g->impl, arg[0], arg[1], arg[2], err, sizeof err) == 0;
        }
        return ack(out_fd, ok);
    }
    default: return -1;
    }
}

/* A clock question met while waiting for the options: answered at once. */
static void on_clock(void *arg, char kind, const char *payload, size_t len)
{
    (void)payload;
    (void)len;
    if (kind == WIRE_CLOCK) {
        uint64_t now = clock_now_ns();
        wire_send(*(int *)arg, WIRE_TIME, &now, sizeof now, clock_now_ms() + 1000);
    }
}

/* Its options. 0 ok, -1. */
static int read_opts(struct wire_rx *rx, int in_fd, int out_fd, struct wire_opts *w)
{
    const char *p;
    size_t len;
    if (!wire_rx_wait(rx, in_fd, WIRE_OPTS, &p, &len, clock_now_ms() + OPTS_WAIT_MS, on_clock,
                      &out_fd) ||
        len != sizeof *w)
        return -1;
    memcpy(w, p, sizeof *w);
    return 0;
}

/* The commands until WIRE_STOP or EOF; then the whole run's result. The exit code. */
static int serve(struct gen *g, struct wire_rx *rx, int in_fd, int out_fd)
{
    publish(g, out_fd);
    int rc = 0;
    while (rc == 0) {
        struct pollfd pfd = {in_fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) > 0)
            wire_rx_fill(rx, in_fd);
        char cmd;
        const char *p;
        size_t len;
        while (rc == 0 && wire_rx_next(rx, &cmd, &p, &len))
            rc = on_command(g, cmd, p, len, out_fd);
        if (rc == 0 && rx->eof)
            rc = 1; /* EOF: the parent is gone */
        if (rc == 0)
            publish(g, out_fd);
    }
    struct load_result res;
    char err[256];
    memset(&res, 0, sizeof res);
    err[0] = '\0';
    int stopped = g->ops->stop(g->impl, &res, err, sizeof err);
    free(g);
    if (stopped < 0) {
        load_result_free(&res); /* a process of its own failed: the parent hears no result */
        return 1;
    }
    int out = rc > 0 ? wire_send_result(out_fd, &res, clock_now_ms() + RESULT_SEND_MS) : -1;
    load_result_free(&res);
    return out == 0 ? 0 : 1;
}

int gen_child_main(int in_fd, int out_fd, gen_start_fn *start,
                   int (*replan)(struct wire_opts *w, char *err, size_t errlen))
{
    struct wire_rx rx = {0};
    struct wire_opts w;
    struct wire_status st;
    fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
    memset(&st, 0, sizeof st);
    if (read_opts(&rx, in_fd, out_fd, &w) < 0) {
        wire_rx_free(&rx);
        return 1;
    }
    struct gen *g = NULL;
    if (!replan || replan(&w, st.error, sizeof st.error) == 0)
        g = start(&w.o, w.procs, st.error, sizeof st.error);
    if (!g) {
        wire_send(out_fd, WIRE_STATUS, &st, sizeof st, clock_now_ms() + 1000);
        wire_rx_free(&rx);
        return 1;
    }
    int rc = serve(g, &rx, in_fd, out_fd);
    wire_rx_free(&rx);
    return rc;
}
