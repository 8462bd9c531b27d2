/* gen_child: a generator process: its share of the load, driven by its parent's messages. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "clock.h"
#include "load/gen_int.h"
#include "load/wire.h"

#define RESULT_SEND_MS 60000 /* a parent that does not read a result for a minute is gone */

/* The newest state, if the stream takes it now (the parent reads late: it gets the newest). */
static void publish(struct load *l, int out_fd)
{
    struct wire_status st;
    memset(&st, 0, sizeof st);
    st.ramped = load_ramped(l);
    st.quota_done = load_quota_done(l);
    st.progress = load_progress(l, &st.errors);
    int open, failed;
    load_conns(l, &open, &failed);
    st.open = open;
    st.failed = failed;
    wire_send_now(out_fd, WIRE_STATUS, &st, sizeof st);
}

/* A window of the running load (WIRE_WINDOW or WIRE_STEP_END), sent to the parent. */
static int send_window(struct load *l, char cmd, int out_fd)
{
    struct load_result res;
    int rc = cmd == WIRE_WINDOW ? load_measured(l, &res) : load_step_end(l, &res);
    if (rc < 0)
        return -1;
    rc = wire_send_result(out_fd, &res, clock_now_ms() + RESULT_SEND_MS);
    load_result_free(&res);
    return rc;
}

/* One command. 1: stop now; 0 go on; -1 the process must end (a broken stream). */
static int on_command(struct load *l, char cmd, const char *payload, size_t len, int out_fd)
{
    switch (cmd) {
    case WIRE_STOP: return 1;
    case WIRE_TRAFFIC: load_start_traffic(l); return 0;
    case WIRE_MEASURE: load_begin_measure(l); return 0;
    case WIRE_END: load_end_measure(l); return 0;
    case WIRE_WINDOW:
    case WIRE_STEP_END: return send_window(l, cmd, out_fd);
    case WIRE_WATCH: {
        char ok = load_stop_watch(l) == 0 ? '+' : '-';
        return wire_send(out_fd, WIRE_ACK, &ok, 1, clock_now_ms() + RESULT_SEND_MS);
    }
    case WIRE_STEP: {
        double arg[3]; /* rate, settle_s, length_s */
        char ok = '-';
        if (len == sizeof arg) {
            memcpy(arg, payload, sizeof arg);
            ok = load_step_begin(l, arg[0], arg[1], arg[2]) == 0 ? '+' : '-';
        }
        return wire_send(out_fd, WIRE_ACK, &ok, 1, clock_now_ms() + RESULT_SEND_MS);
    }
    default: return -1;
    }
}

/* Its options, the first message. 0 ok, -1. */
static int read_opts(struct wire_rx *rx, int in_fd, struct load_opts *o)
{
    const char *p;
    size_t len;
    if (!wire_rx_wait(rx, in_fd, WIRE_OPTS, &p, &len, clock_now_ms() + 30000, NULL, NULL) ||
        len != sizeof *o)
        return -1;
    memcpy(o, p, sizeof *o);
    return 0;
}

int gen_child_main(int in_fd, int out_fd)
{
    struct wire_rx rx = {0};
    struct load_opts o;
    struct wire_status st;
    fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
    memset(&st, 0, sizeof st);
    if (read_opts(&rx, in_fd, &o) < 0) {
        wire_rx_free(&rx);
        return 1;
    }
    struct load *l = load_start(&o, st.error, sizeof st.error);
    if (!l) {
        wire_send(out_fd, WIRE_STATUS, &st, sizeof st, clock_now_ms() + 1000);
        wire_rx_free(&rx);
        return 1;
    }
    publish(l, out_fd);
    int rc = 0;
    while (rc == 0) {
        struct pollfd pfd = {in_fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) > 0)
            wire_rx_fill(&rx, in_fd);
        char cmd;
        const char *p;
        size_t len;
        while (rc == 0 && wire_rx_next(&rx, &cmd, &p, &len))
            rc = on_command(l, cmd, p, len, out_fd);
        if (rc == 0 && rx.eof)
            rc = 1; /* EOF: the parent is gone */
        if (rc == 0)
            publish(l, out_fd);
    }
    wire_rx_free(&rx);
    struct load_result res;
    if (rc < 0 || load_stop(l, &res) < 0)
        return 1;
    rc = wire_send_result(out_fd, &res, clock_now_ms() + RESULT_SEND_MS) == 0 ? 0 : 1;
    load_result_free(&res);
    return rc;
}
