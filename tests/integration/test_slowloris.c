/* test_slowloris: 1000 connections trickling their headers are cut off by the idle
 * timeout while a normal client is served throughout.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
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

/* 1000 connections send a request line and then one header byte a second; the idle timeout
   (a whole request must arrive within it) closes each about 2.5 s after it opened, while a
   normal client is served within 100 ms + its wait throughout. The drips come 1 and 2 s after
   the first connection opened, half a second away from any close, so that no byte is in
   flight when the server closes and the slow clients see a clean FIN, not a reset. */
#define SLOW_MAX      1000
#define SLOW_IDLE_MS  2500
#define SLOW_DRIPS    2
#define PROBE_WAIT_MS 10

enum { OPEN = 0, CLOSED_EOF, CLOSED_RESET };

struct trickle {
    struct hc_conn **c;
    int n;
    const char *drip; /* header bytes, one a second */
    size_t drip_len;
    double first_drip_ms; /* absolute, CLOCK_MONOTONIC ms; then one a second */
    double give_up_ms;
    /* results */
    size_t sent[SLOW_MAX];
    int state[SLOW_MAX];
    double closed_ms[SLOW_MAX];
    size_t data_bytes[SLOW_MAX]; /* anything the server sent: it should just close */
    atomic_int ticks;            /* read by the test thread while this one runs */
    int send_errors;             /* other than EPIPE/ECONNRESET */
};

static struct trickle trk;

/* Drips a byte on every open connection once a second and polls them all for the close. */
static void *trickle_main(void *arg)
{
    struct trickle *t = arg;
    static struct pollfd pfd[SLOW_MAX];
    static int idx[SLOW_MAX];
    double next = t->first_drip_ms;
    while (!atomic_load(&bg_stop)) {
        double now = hc_now_ms();
        if (now >= t->give_up_ms)
            break;
        if (now >= next && atomic_load(&t->ticks) < SLOW_DRIPS) {
            for (int i = 0; i < t->n; i++) {
                if (t->state[i] != OPEN || t->sent[i] >= t->drip_len)
                    continue;
                ssize_t k = send(t->c[i]->fd, t->drip + t->sent[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k == 1)
                    t->sent[i]++;
                else if (errno == EPIPE || errno == ECONNRESET) {
                    t->state[i] = CLOSED_RESET;
                    t->closed_ms[i] = hc_now_ms();
                } else
                    t->send_errors++;
            }
            atomic_fetch_add(&t->ticks, 1);
            next += 1000;
        }
        int n = 0;
        for (int i = 0; i < t->n; i++)
            if (t->state[i] == OPEN) {
                pfd[n] = (struct pollfd){.fd = t->c[i]->fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (n == 0)
            break;
        double wait = atomic_load(&t->ticks) < SLOW_DRIPS ? next - hc_now_ms() : 50;
        int r = poll(pfd, (nfds_t)n, wait < 0 ? 0 : wait > 50 ? 50 : (int)wait + 1);
        for (int k = 0; k < n && r > 0; k++) {
            if (!pfd[k].revents)
                continue;
            int i = idx[k];
            char buf[512];
            ssize_t got = recv(pfd[k].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got > 0) {
                t->data_bytes[i] += (size_t)got;
            } else if (got == 0 || errno == ECONNRESET) {
                t->state[i] = got == 0 ? CLOSED_EOF : CLOSED_RESET;
                t->closed_ms[i] = hc_now_ms();
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

static void case_slowloris(const struct sut *srv)
{
    const int n = tenv_scaled(SLOW_MAX);
    char idle[16];
    snprintf(idle, sizeof idle, "%d", SLOW_IDLE_MS);
    const char *args[] = {"--idle-timeout-ms", idle, NULL};
    struct server_proc *sp = start(srv, args);
    int port = server_port(sp);
    int fds0 = fd_count(server_pid(sp), 0);
    static struct hc_conn *slow[SLOW_MAX];
    static double opened[SLOW_MAX];
    const char *head = "GET /?bytes=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    memset(&trk, 0, sizeof trk);
    trk.c = slow;
    trk.n = n;
    trk.drip = "X-Slowloris: 0123456789abcdef0123456789abcdef\r\n\r\n";
    trk.drip_len = strlen(trk.drip);
    double t_first = hc_now_ms();
    for (int i = 0; i < n; i++) {
        slow[i] = connect_ok(srv, port);
        opened[i] = hc_now_ms();
        send_ok(srv, slow[i], head, strlen(head), "a slowloris request line");
    }
    double t_open = hc_now_ms() - t_first;
    /* The probes measure a server holding n trickling connections, not one still accepting
       them (the thread server spawns a thread per connection in its accept loop). */
    int fds = fd_count(server_pid(sp), 0);
    while (fds >= 0 && fds < fds0 + n && hc_now_ms() < opened[0] + 1000 * tenv_slack()) {
        tenv_sleep_ms(5);
        fds = fd_count(server_pid(sp), 0);
    }
    double t_accepted = hc_now_ms() - t_first;
    EXPECT(srv, fds >= fds0 + n,
           "the server holds %d fds (%d before) %.0f ms after %d connections opened", fds, fds0,
           t_accepted, n);
    trk.first_drip_ms = opened[0] + 1000;
    trk.give_up_ms = opened[n - 1] + SLOW_IDLE_MS + 2500 * tenv_slack();
    bg_start(trickle_main, &trk);

    /* Fresh connections while every slow one still trickles (the first closes at 2.5 s). */
    int probes = 0;
    double lat[64], worst = 0, bound = (100 + PROBE_WAIT_MS) * tenv_slack();
    char target[64];
    snprintf(target, sizeof target, "/?wait_us=%d&bytes=16", PROBE_WAIT_MS * 1000);
    while (hc_now_ms() < opened[0] + SLOW_IDLE_MS - 300) {
        double t0 = hc_now_ms();
        struct hc_conn *c = connect_ok(srv, port);
        send_get(srv, c, target);
        expect_200(srv, c, 16, "a normal client among the slowloris connections");
        double ms = hc_now_ms() - t0;
        hc_close(c);
        worst = ms > worst ? ms : worst;
        if (probes < 64)
            lat[probes] = ms;
        probes++;
        EXPECT(srv, ms < bound,
               "with %d slowloris connections, a normal request (wait %d ms) took %.1f ms, "
               "want under %.0f",
               n, PROBE_WAIT_MS, ms, bound);
        tenv_sleep_ms(100);
    }
    int ticks_during_probes = atomic_load(&trk.ticks);
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
        double life = trk.closed_ms[i] - opened[i];
        first_close = life < first_close ? life : first_close;
        last_close = life > last_close ? life : last_close;
        early += life < SLOW_IDLE_MS - 50;
        late += life > SLOW_IDLE_MS + 1000 * tenv_slack();
        data += trk.data_bytes[i];
        min_sent = trk.sent[i] < min_sent ? trk.sent[i] : min_sent;
    }
    int nlat = probes < 64 ? probes : 64;
    qsort(lat, (size_t)nlat, sizeof lat[0], cmp_double);
    cr_log_info("[%s] slowloris: %d connections opened in %.0f ms, accepted in %.0f ms; "
                "%d probes, median %.1f ms, worst %.1f ms; closed after %.0f..%.0f ms "
                "(%d FIN, %d reset)",
                srv->name, n, t_open, t_accepted, probes, nlat ? lat[nlat / 2] : 0, worst,
                first_close, last_close, eof, rst);
    EXPECT(srv, probes >= 5 && ticks_during_probes == SLOW_DRIPS,
           "only %d probes and %d drip rounds while the slowloris connections were open", probes,
           ticks_during_probes);
    EXPECT(srv, still == 0,
           "%d of %d slowloris connections still open %.0f ms after opening (idle timeout %d ms)",
           still, n, trk.give_up_ms - opened[n - 1], SLOW_IDLE_MS);
    EXPECT(srv, early == 0 && late == 0,
           "slowloris connections closed after %.0f..%.0f ms: %d too early, %d too late "
           "(idle timeout %d ms)",
           first_close, last_close, early, late, SLOW_IDLE_MS);
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

Test(slowloris, slowloris_1000_connections, .timeout = 60)
{
    for_each_server(case_slowloris);
}
