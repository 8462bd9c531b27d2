/* test_idle: stalled clients do not block others, the idle timeout closes silent and
 * trickling connections (slowloris, one client at a time).
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(idle, .fini = itest_release, .timeout = 60);

/* 50 connections that send half a request and stall do not delay a normal client; when
   they finish their requests, they are served too. */
#define STALLED 50
static void case_stalled(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *s[STALLED];
    const char *half = "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < STALLED; i++) {
        s[i] = connect_ok(srv, port);
        send_ok(srv, s[i], half, strlen(half), "a stalled half request");
    }
    tenv_sleep_ms(50);
    struct hc_conn *c = connect_ok(srv, port);
    for (int i = 0; i < 3; i++) {
        double ms = timed_get(srv, c, "/?wait_us=20000&bytes=4", 4);
        EXPECT(srv, ms >= 20 && ms < 20 + 100 * tenv_slack(),
               "with %d stalled connections, a 20 ms request took %.2f ms", STALLED, ms);
    }
    hc_close(c);
    for (int i = 0; i < STALLED; i++)
        send_ok(srv, s[i], "\r\n", 2, "the stalled request's end");
    for (int i = 0; i < STALLED; i++) {
        expect_200(srv, s[i], 2, "a stalled request, completed");
        hc_close(s[i]);
    }
    stop_ok(srv, sp);
}

SERVER_TEST(idle, stalled_clients_do_not_block, 0, case_stalled, .timeout = 30)

/* --idle-timeout-ms 300 closes a silent connection, one idle after an answer and one that
   stalls mid-request, each after about 300 ms; a connection active every 100 ms stays. */
static void case_idle(const struct sut *srv)
{
    const char *args[] = {"--idle-timeout-ms", "300", NULL};
    struct server_proc *sp = start(srv, args);
    int port = server_port(sp);
    const char *names[3] = {"a silent connection", "a connection idle after an answer",
                            "a connection stalled mid-request"};
    struct hc_conn *c[3];
    double since[3];
    c[0] = connect_ok(srv, port);
    since[0] = tenv_now_ms();
    c[1] = connect_ok(srv, port);
    send_get(srv, c[1], "/?bytes=1");
    expect_200(srv, c[1], 1, names[1]);
    since[1] = tenv_now_ms();
    c[2] = connect_ok(srv, port);
    send_ok(srv, c[2], "GET / HT", 8, names[2]);
    since[2] = tenv_now_ms();

    struct hc_conn *busy = connect_ok(srv, port);
    for (int i = 0; i < 7; i++) { /* 700 ms, never 300 ms silent */
        send_get(srv, busy, "/?bytes=1");
        expect_200(srv, busy, 1, "a connection active every 100 ms");
        tenv_sleep_ms(100);
    }
    EXPECT(srv, hc_wait_close(busy, 1) == 0, "the busy connection was closed");
    send_get(srv, busy, "/?bytes=1");
    expect_200(srv, busy, 1, "the busy connection, at the end");
    hc_close(busy);
    for (int i = 0; i < 3; i++) {
        int closed = hc_wait_close(c[i], (int)(2000 * tenv_slack()));
        double ms = tenv_now_ms() - since[i];
        EXPECT(srv, closed == 1, "%s: still open %.0f ms later (idle timeout 300 ms)", names[i],
               ms);
        EXPECT(srv, c[i]->len == 0, "%s: unexpected bytes before the close: %.200s", names[i],
               c[i]->buf);
        hc_close(c[i]);
    }
    /* Those closed while the busy loop ran; a fresh silent connection times the close: not
       too early counted from before the connect (the server's clock starts after it), not too
       late counted from after it (a busy machine may hold this thread in between). */
    double t_before = tenv_now_ms();
    struct hc_conn *fresh = connect_ok(srv, port);
    double t0 = tenv_now_ms();
    int closed = hc_wait_close(fresh, (int)(2000 * tenv_slack()));
    double ms = tenv_now_ms() - t0, longest = tenv_now_ms() - t_before;
    EXPECT(srv, closed == 1 && longest >= 250 && ms < 300 + 700 * tenv_slack(),
           "a silent connection closed=%d after %.0f ms (%.0f from before its connect; idle "
           "timeout 300 ms)",
           closed, ms, longest);
    hc_close(fresh);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "idle_timeouts") >= 4, "idle_timeouts = %lld, want >= 4",
           counter(srv, ctr, "idle_timeouts"));
}

SERVER_TEST(idle, idle_timeout_closes, 0, case_idle, .timeout = 30)

/* A client that trickles a request one byte every 100 ms is never silent for the 300 ms
   idle timeout, yet it must not hold its connection forever: the request as a whole has
   to arrive within the timeout (slowloris). */
static void case_trickle(const struct sut *srv)
{
    const char *args[] = {"--idle-timeout-ms", "300", NULL};
    struct server_proc *sp = start(srv, args);
    double t_before = tenv_now_ms(); /* the server's clock starts after this, see case_idle */
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    const char *req = "GET /?bytes=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 0123456789\r\n\r\n";
    double t0 = tenv_now_ms(), closed_at = -1;
    double give_up = 300 + 1200 * tenv_slack();
    for (size_t i = 0; req[i] && closed_at < 0 && tenv_now_ms() - t0 < give_up; i++) {
        if (hc_send(c, req + i, 1, tenv_io_ms()) < 0 || hc_wait_close(c, 100) == 1)
            closed_at = tenv_now_ms() - t0;
    }
    EXPECT(srv, closed_at >= 0,
           "a request trickled over %.0f ms (one byte per 100 ms) was never cut off by the "
           "300 ms idle timeout",
           tenv_now_ms() - t0);
    EXPECT(srv, closed_at + (t0 - t_before) >= 250 && closed_at < 300 + 700 * tenv_slack(),
           "the trickling client was closed after %.0f ms (idle timeout 300 ms)", closed_at);
    hc_close(c);
    expect_served(srv, server_port(sp), "after a trickling client");
    stop_ok(srv, sp);
}

SERVER_TEST(idle, trickling_request_times_out, 0, case_trickle, .timeout = 30)
