/* test_stop: the graceful stop at SIGTERM (claim C7's "ensuring proper shutdown"): with idle
 * connections, half-read ones and requests in flight, a server stops listening at once, closes
 * the idle connections with a FIN, answers every request in flight with Connection: close
 * within --grace-ms, cuts what is left past it, and exits 0 with counters that say so. Workers
 * whose master is killed outright stop the same way.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(stop, .fini = itest_release, .timeout = 60);

#define CONNS_MAX 2000

static struct hc_conn *conns[CONNS_MAX];

/* Opens n connections, each confirmed by one answered request: the server holds them all
   (a thread or a task each) before the test goes on. */
static void open_confirmed(const struct sut *srv, int port, int n)
{
    for (int i = 0; i < n; i++) {
        conns[i] = connect_ok(srv, port);
        send_get(srv, conns[i], "/?bytes=1");
    }
    for (int i = 0; i < n; i++)
        expect_200(srv, conns[i], 1, "the request that confirms a connection");
}

/* c is closed with a FIN (read returns 0), with nothing sent before it and no reset. */
static void expect_fin(const struct sut *srv, struct hc_conn *c, const char *what, int i)
{
    int closed = hc_wait_close(c, tenv_io_ms());
    EXPECT(srv, closed == 1, "%s %d: still open %d ms after the signal", what, i, tenv_io_ms());
    EXPECT(srv, c->eof && !c->reset, "%s %d: closed by a reset, not a FIN", what, i);
    EXPECT(srv, c->len == 0, "%s %d: %zu bytes before the close: %.100s", what, i, c->len, c->buf);
}

/* A connect now is refused: the server no longer listens. */
static void expect_refused(const struct sut *srv, int port)
{
    struct hc_conn *c = hc_connect(port, 1000);
    int e = errno;
    EXPECT(srv, !c, "a connect after the signal was accepted");
    EXPECT(srv, e == ECONNREFUSED, "a connect after the signal: %s, want refused", strerror(e));
}

/* One answer of an in-flight request: a 200 of 3 bytes saying Connection: close, then a FIN. */
static void expect_answered_and_closed(const struct sut *srv, struct hc_conn *c, int i)
{
    struct hc_response *r = resp_new();
    read_ok(srv, c, r, "a request in flight at the signal");
    EXPECT(srv, r->status == 200 && hc_body_is(r, 3, 'x'),
           "in flight %d: status %d, body '%.20s'; want a 200 of 3 bytes", i, r->status, r->body);
    EXPECT(srv, r->conn_close, "in flight %d: the answer does not say Connection: close: %s", i,
           r->head);
    resp_done(r);
    expect_fin(srv, c, "in flight, after its answer", i);
}

/* N connections, M of them with a request waiting 500 ms at the signal, one holding half a
   request, the rest idle: every idle one closed by a FIN at once, the connect after it
   refused, every request in flight answered 200 with Connection: close, the exit 0 once the
   waits are over, and counters that say all of it. */
static void case_graceful(const struct sut *srv)
{
    const int n = tenv_scaled(200), m = n / 10;
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    open_confirmed(srv, port, n);
    struct hc_conn *half = connect_ok(srv, port);
    send_get(srv, half, "/?bytes=1");
    expect_200(srv, half, 1, "the half request's connection, confirmed");
    send_ok(srv, half, "GET /?bytes=2 HTTP/1.1\r\n", 24, "half a request");
    for (int i = 0; i < m; i++)
        send_get(srv, conns[i], "/?wait_us=500000&bytes=3");
    tenv_sleep_ms(100); /* the server has read them all */
    double t0 = tenv_now_ms();
    kill(server_pid(sp), SIGTERM);
    for (int i = m; i < n; i++)
        expect_fin(srv, conns[i], "idle", i);
    double idle_ms = tenv_now_ms() - t0;
    expect_refused(srv, port);
    int closed = hc_wait_close(half, tenv_io_ms());
    EXPECT(srv, closed == 1 && half->len == 0, "the half-read connection: closed %d, %zu bytes",
           closed, half->len);
    for (int i = 0; i < m; i++)
        expect_answered_and_closed(srv, conns[i], i);
    double elapsed;
    json_t *ctr = await_counters(srv, sp, &elapsed);
    double exit_ms = tenv_now_ms() - t0;
    cr_log_info("[%s] stop: %d idle closed within %.0f ms, %d answered, exit after %.0f ms",
                srv->name, n - m, idle_ms, m, exit_ms);
    EXPECT(srv, idle_ms < 400 * tenv_slack(), "the idle connections took %.0f ms to close",
           idle_ms);
    EXPECT(srv, exit_ms >= 350 && exit_ms < 2000 * tenv_slack(),
           "exit %.0f ms after the signal: the waits end ~400 ms after it", exit_ms);
    const struct {
        const char *key;
        long long want;
    } want[] = {
        {"stop_inflight", m},
        {"stop_answered", m},
        {"stop_cut", 0},
        {"stop_idle_closed", n - m},
        {"stop_partial_closed", 1},
        {"requests", n + 1 + m}, /* the confirmations and the answers in flight */
        {"accepted", n + 1},
        {"closed", n + 1},
        {"aborted", 0},
        {"io_errors", 0},
        {"unfinished_at_exit", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        EXPECT(srv, counter(srv, ctr, want[i].key) == want[i].want, "%s = %lld, want %lld",
               want[i].key, counter(srv, ctr, want[i].key), want[i].want);
    long long stop_ms = counter(srv, ctr, "stop_ms");
    EXPECT(srv, stop_ms >= 350 && stop_ms <= exit_ms + 1, "stop_ms = %lld, exit after %.0f ms",
           stop_ms, exit_ms);
    for (int i = 0; i < n; i++)
        hc_close(conns[i]);
    hc_close(half);
}

SERVER_TEST(stop, graceful, 0, case_graceful, .timeout = 60)

/* --grace-ms 100 with requests waiting 2 s: the waits are cut (their connections closed with
   nothing sent), counted, and the exit comes soon after the grace. */
static void case_grace_cut(const struct sut *srv)
{
    const int n = 20, m = 10;
    const char *args[] = {"--grace-ms", "100", NULL};
    struct server_proc *sp = start(srv, args);
    int port = server_port(sp);
    open_confirmed(srv, port, n);
    for (int i = 0; i < m; i++)
        send_get(srv, conns[i], "/?wait_us=2000000&bytes=3");
    tenv_sleep_ms(100);
    double t0 = tenv_now_ms();
    kill(server_pid(sp), SIGTERM);
    for (int i = 0; i < m; i++) {
        int closed = hc_wait_close(conns[i], tenv_io_ms());
        EXPECT(srv, closed == 1 && conns[i]->len == 0,
               "a cut request %d: closed %d, %zu bytes sent: %.100s", i, closed, conns[i]->len,
               conns[i]->buf);
    }
    json_t *ctr = await_counters(srv, sp, NULL);
    double exit_ms = tenv_now_ms() - t0;
    cr_log_info("[%s] --grace-ms 100: exit after %.0f ms", srv->name, exit_ms);
    EXPECT(srv, exit_ms >= 90 && exit_ms < 100 + 900 * tenv_slack(),
           "exit %.0f ms after the signal, with --grace-ms 100 and 2 s waits", exit_ms);
    EXPECT(srv, counter(srv, ctr, "stop_inflight") == m && counter(srv, ctr, "stop_cut") == m,
           "stop_inflight %lld, stop_cut %lld, want %d each", counter(srv, ctr, "stop_inflight"),
           counter(srv, ctr, "stop_cut"), m);
    EXPECT(srv, counter(srv, ctr, "stop_answered") == 0 && counter(srv, ctr, "requests") == n,
           "stop_answered %lld, requests %lld: nothing answered after the grace",
           counter(srv, ctr, "stop_answered"), counter(srv, ctr, "requests"));
    EXPECT(srv, counter(srv, ctr, "stop_idle_closed") == n - m, "stop_idle_closed %lld",
           counter(srv, ctr, "stop_idle_closed"));
    long long stop_ms = counter(srv, ctr, "stop_ms");
    EXPECT(srv, stop_ms >= 95 && stop_ms < 100 + 900 * tenv_slack(), "stop_ms = %lld", stop_ms);
    for (int i = 0; i < n; i++)
        hc_close(conns[i]);
}

SERVER_TEST(stop, grace_cuts_what_is_left, 0, case_grace_cut, .timeout = 60)

/* A second SIGTERM cuts at once what the first stop waits for. */
static void case_second_signal(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    open_confirmed(srv, server_port(sp), 2);
    send_get(srv, conns[0], "/?wait_us=5000000");
    tenv_sleep_ms(100);
    kill(server_pid(sp), SIGTERM);
    tenv_sleep_ms(100);
    double elapsed;
    json_t *ctr = stop_counters(srv, sp, SIGTERM, &elapsed);
    EXPECT(srv, elapsed < 1000 * tenv_slack(), "exit %.0f ms after the second signal", elapsed);
    EXPECT(srv, counter(srv, ctr, "stop_cut") == 1 && counter(srv, ctr, "stop_idle_closed") == 1,
           "stop_cut %lld, stop_idle_closed %lld", counter(srv, ctr, "stop_cut"),
           counter(srv, ctr, "stop_idle_closed"));
    hc_close(conns[0]);
    hc_close(conns[1]);
}

SERVER_TEST(stop, second_signal_cuts, 0, case_second_signal, .timeout = 30)

/* Many idle connections and nothing in flight: the stop is one pass, not one close after
   another waited for (the thread server wakes every blocked read at once). */
static void case_many_idle(const struct sut *srv)
{
    const int n = tenv_scaled(CONNS_MAX);
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    open_confirmed(srv, port, n);
    double elapsed;
    json_t *ctr = stop_counters(srv, sp, SIGTERM, &elapsed);
    cr_log_info("[%s] stop with %d idle connections: exit after %.0f ms", srv->name, n, elapsed);
    EXPECT(srv, elapsed < 1000 * tenv_slack(), "%d idle connections: exit after %.0f ms", n,
           elapsed);
    EXPECT(srv, counter(srv, ctr, "stop_idle_closed") == n, "stop_idle_closed = %lld, want %d",
           counter(srv, ctr, "stop_idle_closed"), n);
    EXPECT(srv, counter(srv, ctr, "stop_ms") <= elapsed + 1, "stop_ms = %lld, exit after %.0f ms",
           counter(srv, ctr, "stop_ms"), elapsed);
    int fins = 0;
    for (int i = 0; i < n; i++) {
        if (hc_wait_close(conns[i], tenv_io_ms()) == 1 && conns[i]->eof && !conns[i]->reset)
            fins++;
        hc_close(conns[i]);
    }
    EXPECT(srv, fins == n, "%d of %d idle connections ended by a FIN", fins, n);
}

SERVER_TEST(stop, many_idle_at_once, 0, case_many_idle, .timeout = 60)

/* Starts srv with --workers 2 and n idle connections spread over its workers, sends sig to
   the master and checks that every connection gets a FIN (what names them) and that the
   port then refuses connects. The server (registered: itest_release reaps it if the
   caller does not). */
static struct server_proc *stop_two_workers(const struct sut *srv, int n, int sig, const char *what)
{
    const char *args[] = {"--workers", "2", NULL};
    struct server_proc *sp = start(srv, args);
    int port = server_port(sp);
    open_confirmed(srv, port, n);
    kill(server_pid(sp), sig);
    for (int i = 0; i < n; i++)
        expect_fin(srv, conns[i], what, i);
    expect_refused(srv, port);
    return sp;
}

/* --workers 2: each worker stops listening, so the port refuses connects once the idle
   connections of both are closed; the summed line counts every one of them. */
static void case_workers(const struct sut *srv)
{
    const int n = 40;
    struct server_proc *sp = stop_two_workers(srv, n, SIGTERM, "idle");
    json_t *ctr = await_counters(srv, sp, NULL);
    EXPECT(srv, counter(srv, ctr, "workers") == 2, "workers = %lld", counter(srv, ctr, "workers"));
    EXPECT(srv, counter(srv, ctr, "stop_idle_closed") == n, "stop_idle_closed = %lld, want %d",
           counter(srv, ctr, "stop_idle_closed"), n);
    for (int i = 0; i < n; i++)
        hc_close(conns[i]);
}

SERVER_TEST(stop, workers_refuse_connects, 0, case_workers, .timeout = 30)

/* --workers 2 and the master killed outright (SIGKILL, as a harness that is killed takes its
   server): the workers stop as at SIGTERM, so nothing goes on serving unwatched: the idle
   connections of both get a FIN and connects are refused. */
static void case_workers_orphaned(const struct sut *srv)
{
    const int n = 20;
    stop_two_workers(srv, n, SIGKILL, "idle, its master killed");
    for (int i = 0; i < n; i++)
        hc_close(conns[i]);
}

SERVER_TEST(stop, workers_follow_a_killed_master, 0, case_workers_orphaned, .timeout = 30)
