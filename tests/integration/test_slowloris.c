/* test_slowloris: 1000 connections trickling their headers are cut off by the idle
 * timeout while a normal client is served throughout.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(slowloris, .fini = itest_release, .timeout = 60);

/* ---- slowloris ------------------------------------------------------------------------ */

/* 1000 connections send a request line and then a header byte now and then; the idle
   timeout (a whole request must arrive within it) closes each one its timeout after it opened,
   while a normal client is served within 100 ms + its wait throughout. Every time is
   measured from what it depends on: each connection drips on its own schedule, counted from
   the moment it opened (at a third and two thirds of its life, so that no byte is in flight
   when the server closes and the slow clients see a clean FIN, not a reset), and the probes
   run from the moment the server holds every connection to just before the first one's
   close. How long the server takes to hold them all depends on the build and on what else
   the machine does (the TSan thread server makes a thread in a few ms): the test measures it
   first, on a server without an idle timeout, and sets the timeout from it. */
#define SLOW_MAX      1000
#define SLOW_IDLE_MIN 1000 /* ms; more when holding the connections takes long here */
#define SLOW_DRIPS    2
#define PROBE_WAIT_MS 10
#define PROBE_GAP_MS  100
#define PROBES_MIN    5

enum { OPEN = 0, CLOSED_EOF, CLOSED_RESET };

struct trickle {
    struct hc_conn **c;
    int n;
    const char *drip; /* header bytes, SLOW_DRIPS of them in each connection's life */
    size_t drip_len;
    const double *opened; /* CLOCK_MONOTONIC ms of each connect */
    double drip_every_ms; /* a connection drips this long after it opened, and again */
    double give_up_ms;
    /* results */
    size_t sent[SLOW_MAX];
    int state[SLOW_MAX];
    double closed_ms[SLOW_MAX];
    size_t data_bytes[SLOW_MAX]; /* anything the server sent: it should just close */
    int send_errors;             /* other than EPIPE/ECONNRESET */
};

static struct trickle trk;

/* When connection i drips its next byte (absolute ms), or a time past give_up when done. */
static double next_drip(const struct trickle *t, int i)
{
    if (t->state[i] != OPEN || t->sent[i] >= SLOW_DRIPS)
        return t->give_up_ms + 1;
    return t->opened[i] + t->drip_every_ms * (double)(t->sent[i] + 1);
}

static bool is_open(int i, void *t)
{
    return ((const struct trickle *)t)->state[i] == OPEN;
}

/* Drips a byte on every open connection when its time comes, and polls them all for the
   close. */
static void *trickle_main(void *arg)
{
    struct trickle *t = arg;
    static int ready[SLOW_MAX];
    while (!atomic_load(&bg_stop)) {
        double now = tenv_now_ms(), soonest = t->give_up_ms;
        if (now >= t->give_up_ms)
            break;
        for (int i = 0; i < t->n; i++) {
            if (next_drip(t, i) <= now) {
                ssize_t k = send(t->c[i]->fd, t->drip + t->sent[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k == 1)
                    t->sent[i]++;
                else if (errno == EPIPE || errno == ECONNRESET) {
                    t->state[i] = CLOSED_RESET;
                    t->closed_ms[i] = tenv_now_ms();
                } else
                    t->send_errors++;
            }
            double d = next_drip(t, i);
            soonest = d < soonest ? d : soonest;
        }
        double wait = soonest - tenv_now_ms();
        int n = hc_poll_in(t->c, t->n, is_open, t,
                           wait < 0    ? 0
                           : wait > 50 ? 50
                                       : (int)wait + 1,
                           ready);
        if (n < 0)
            break;
        for (int k = 0; k < n; k++) {
            int i = ready[k];
            char buf[512];
            ssize_t got = recv(t->c[i]->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got > 0) {
                t->data_bytes[i] += (size_t)got;
            } else if (got == 0 || errno == ECONNRESET) {
                t->state[i] = got == 0 ? CLOSED_EOF : CLOSED_RESET;
                t->closed_ms[i] = tenv_now_ms();
            }
        }
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct hc_conn *slow[SLOW_MAX];
static double opened[SLOW_MAX];     /* CLOCK_MONOTONIC ms once connect returned */
static double connecting[SLOW_MAX]; /* and before it began: the server's clock starts between */

/* Opens n connections to port, each sending head, and waits until the server holds them (its
   fds, fds0 before, up to limit_ms after the first opened). Returns ms from the first connect
   to the server holding them all; < 0 if it never did. */
static double open_slow(const struct sut *srv, struct server_proc *sp, int n, const char *head,
                        int fds0, double limit_ms, double *t_open)
{
    int port = server_port(sp);
    double t_first = tenv_now_ms();
    for (int i = 0; i < n; i++) {
        connecting[i] = tenv_now_ms();
        slow[i] = connect_ok(srv, port);
        opened[i] = tenv_now_ms();
        send_ok(srv, slow[i], head, strlen(head), "a slowloris request line");
    }
    *t_open = tenv_now_ms() - t_first;
    int fds = fd_count(server_pid(sp), 0);
    while (fds >= 0 && fds < fds0 + n && tenv_now_ms() < t_first + limit_ms) {
        tenv_sleep_ms(5);
        fds = fd_count(server_pid(sp), 0);
    }
    return fds >= fds0 + n ? tenv_now_ms() - t_first : -1;
}

/* How long this server, built as it is and on the machine as busy as it is now, takes to hold
   n trickling connections: ms, from a server without an idle timeout. */
static double time_to_hold(const struct sut *srv, int n, const char *head)
{
    const char *args[] = {"--idle-timeout-ms", "0", NULL};
    struct server_proc *sp = start(srv, args);
    double t_open;
    double ms =
        open_slow(srv, sp, n, head, fd_count(server_pid(sp), 0), 20000 * tenv_slack(), &t_open);
    EXPECT(srv, ms >= 0, "the server never held %d connections (opened in %.0f ms)", n, t_open);
    for (int i = 0; i < n; i++) {
        hc_close(slow[i]);
        slow[i] = NULL;
    }
    stop_ok(srv, sp);
    return ms;
}

static void case_slowloris(const struct sut *srv)
{
    const int n = tenv_scaled(SLOW_MAX);
    const char *head = "GET /?bytes=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    /* the probes need the server holding every connection, then time for PROBES_MIN probes
       (twice their nominal time) and a margin before the first close; twice the hold time
       covers a slower second opening */
    double hold_ms = time_to_hold(srv, n, head);
    double idle_ms = 2 * hold_ms + 2 * PROBES_MIN * (PROBE_GAP_MS + PROBE_WAIT_MS) + 600;
    if (idle_ms < SLOW_IDLE_MIN)
        idle_ms = SLOW_IDLE_MIN;
    char idle[16];
    snprintf(idle, sizeof idle, "%.0f", idle_ms);
    const char *args[] = {"--idle-timeout-ms", idle, NULL};
    struct server_proc *sp = start(srv, args);
    int port = server_port(sp);
    int fds0 = fd_count(server_pid(sp), 0);
    memset(&trk, 0, sizeof trk);
    trk.c = slow;
    trk.n = n;
    trk.drip = "X-Slowloris: 0123456789abcdef0123456789abcdef\r\n\r\n";
    trk.drip_len = strlen(trk.drip);
    trk.opened = opened;
    trk.drip_every_ms = idle_ms / (SLOW_DRIPS + 1);
    /* The probes measure a server holding n trickling connections, not one still accepting
       them (the thread server spawns a thread per connection in its accept loop). The drips
       start once all are open; the first is due a third of the timeout after each opened. */
    double t_open;
    double t_accepted = open_slow(srv, sp, n, head, fds0, idle_ms - 300, &t_open);
    EXPECT(srv, t_accepted >= 0,
           "the server does not hold %d connections %.0f ms after the first opened (it held "
           "them after %.0f ms before, without an idle timeout)",
           n, idle_ms - 300, hold_ms);
    trk.give_up_ms = opened[n - 1] + idle_ms + 2500 * tenv_slack();
    bg_start(trickle_main, &trk);

    /* Fresh connections while every slow one still trickles: from now, when the server holds
       them all, to just before the first one's close. */
    double probe_end = opened[0] + idle_ms - 300;
    EXPECT(srv, probe_end - tenv_now_ms() >= PROBES_MIN * (PROBE_GAP_MS + PROBE_WAIT_MS),
           "opening %d connections took %.0f ms and the server took %.0f ms more to hold them: "
           "%.0f ms are left for the probes before the %.0f ms idle timeout closes the first",
           n, t_open, t_accepted - t_open, probe_end - tenv_now_ms(), idle_ms);
    int probes = 0;
    double lat[64], worst = 0, bound = (100 + PROBE_WAIT_MS) * tenv_slack();
    char target[64];
    snprintf(target, sizeof target, "/?wait_us=%d&bytes=16", PROBE_WAIT_MS * 1000);
    while (tenv_now_ms() < probe_end) {
        double t0 = tenv_now_ms();
        struct hc_conn *c = connect_ok(srv, port);
        send_get(srv, c, target);
        expect_200(srv, c, 16, "a normal client among the slowloris connections");
        double ms = tenv_now_ms() - t0;
        hc_close(c);
        worst = ms > worst ? ms : worst;
        if (probes < 64)
            lat[probes] = ms;
        probes++;
        EXPECT(srv, ms < bound,
               "with %d slowloris connections, a normal request (wait %d ms) took %.1f ms, "
               "want under %.0f",
               n, PROBE_WAIT_MS, ms, bound);
        tenv_sleep_ms(PROBE_GAP_MS);
    }
    bg_join(false);

    int eof = 0, rst = 0, still = 0, early = 0, late = 0;
    double first_close = 1e9, last_close = 0;
    size_t data = 0, min_sent = (size_t)-1;
    for (int i = 0; i < n; i++) {
        if (trk.state[i] == OPEN) {
            still++;
            continue;
        }
        eof += trk.state[i] == CLOSED_EOF;
        rst += trk.state[i] == CLOSED_RESET;
        /* a busy machine can hold this thread between the handshake and its timestamp: too
           early counts from before the connect, too late from after it */
        double life = trk.closed_ms[i] - opened[i];
        double longest = trk.closed_ms[i] - connecting[i];
        first_close = life < first_close ? life : first_close;
        last_close = life > last_close ? life : last_close;
        early += longest < idle_ms - 50;
        late += life > idle_ms + 1000 * tenv_slack();
        data += trk.data_bytes[i];
        min_sent = trk.sent[i] < min_sent ? trk.sent[i] : min_sent;
    }
    int nlat = probes < 64 ? probes : 64;
    qsort(lat, (size_t)nlat, sizeof lat[0], cmp_double);
    cr_log_info("[%s] slowloris: %d connections held after %.0f ms without a timeout, so "
                "idle timeout %.0f ms; opened in %.0f ms, accepted in %.0f ms; "
                "%d probes, median %.1f ms, worst %.1f ms; closed after %.0f..%.0f ms "
                "(%d FIN, %d reset)",
                srv->name, n, hold_ms, idle_ms, t_open, t_accepted, probes,
                nlat ? lat[nlat / 2] : 0, worst, first_close, last_close, eof, rst);
    EXPECT(srv, probes >= PROBES_MIN, "only %d probes while the slowloris connections were open",
           probes);
    EXPECT(srv, still == 0,
           "%d of %d slowloris connections still open %.0f ms after opening (idle timeout %.0f "
           "ms)",
           still, n, trk.give_up_ms - opened[n - 1], idle_ms);
    EXPECT(srv, early == 0 && late == 0,
           "slowloris connections closed after %.0f..%.0f ms: %d too early, %d too late "
           "(idle timeout %.0f ms)",
           first_close, last_close, early, late, idle_ms);
    EXPECT(srv, data == 0, "the server sent %zu bytes to slowloris clients; it should just close",
           data);
    EXPECT(srv, min_sent == SLOW_DRIPS && trk.send_errors == 0,
           "each slow client should have dripped %d bytes (fewest %zu, %d send errors)", SLOW_DRIPS,
           min_sent, trk.send_errors);
    EXPECT(srv, eof == n, "only %d of %d slowloris clients saw a clean FIN (%d resets)", eof, n,
           rst);
    for (int i = 0; i < n; i++)
        hc_close(slow[i]);
    expect_served(srv, port, "after the slowloris connections");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "idle_timeouts") == n, "idle_timeouts = %lld, want %d",
           counter(srv, ctr, "idle_timeouts"), n);
    EXPECT(srv, counter(srv, ctr, "aborted") == n,
           "aborted = %lld, want %d (each slowloris request was cut off midway)",
           counter(srv, ctr, "aborted"), n);
    EXPECT(srv, counter(srv, ctr, "accepted") == n + probes + 1, "accepted = %lld, want %d",
           counter(srv, ctr, "accepted"), n + probes + 1);
}

SERVER_TEST(slowloris, slowloris_1000_connections, 0, case_slowloris, .timeout = 60)
