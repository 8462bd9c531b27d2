/* test_net_wait: io=net: a request waits on a backend (the suite's own async_server, started
 * by the test on port 0, or a fake one that fails in a chosen way); each failure is a 502
 * that keeps the client's connection, and service comes back with the backend.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../support/fake_backend.h"
#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/load_driver.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

static struct forked_server fake = {.pid = -1};

static void release_all(void)
{
    itest_release();
    forked_server_stop(&fake);
}

TestSuite(net_wait, .fini = release_all, .timeout = 60);

/* Starts srv with --upstream 127.0.0.1:port and the extra arguments (NULL-terminated). */
static struct server_proc *start_front(const struct sut *srv, int port, const char *extra1,
                                       const char *extra2)
{
    char up[32];
    snprintf(up, sizeof up, "127.0.0.1:%d", port);
    const char *args[] = {"--upstream", up, extra1, extra2, NULL};
    return start(srv, args);
}

/* A backend whose stop cuts at once (--grace-ms 0): stopped, it goes away like a crashed one,
   closing the connections that wait on it, however long their waits. */
static struct server_proc *start_cutting_backend(void)
{
    const char *args[] = {"--port", "0", "--grace-ms", "0", NULL};
    return start(&BACKEND, args);
}

/* Reads one answer and checks it is a 502 whose body names `cause`, on a kept connection. */
static void expect_502(const struct sut *srv, struct hc_conn *c, const char *cause,
                       const char *what)
{
    struct hc_response *r = resp_new();
    read_ok(srv, c, r, what);
    EXPECT(srv, r->status == 502, "%s: status %d, want 502; body: %.200s", what, r->status,
           r->body);
    EXPECT(srv, strstr(r->body, cause), "%s: the 502's body does not name '%s': %.200s", what,
           cause, r->body);
    EXPECT(srv, !r->conn_close, "%s: a 502 should keep the connection; head: %s", what, r->head);
    resp_done(r);
}

/* io=net waits at least the backend's wait; one backend connection per client connection,
   kept across its requests; --io net makes it the default. */
static void case_answered(const struct sut *srv)
{
    struct server_proc *be = start_backend(0);
    struct server_proc *sp = start_front(srv, server_port(be), NULL, NULL);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    double extra = 150 * tenv_slack();
    for (int i = 0; i < 3; i++) {
        double ms = timed_get(srv, c, "/?io=net&wait_us=20000&bytes=7", 7);
        EXPECT(srv, ms >= 20 && ms < 20 + extra, "io=net wait_us=20000: answered after %.2f ms",
               ms);
    }
    timed_get(srv, c, "/?io=net&wait_us=0&bytes=0", 0);
    double ms = timed_get(srv, c, "/?io=net&wait_us=5000&work_us=3000&bytes=2", 2);
    EXPECT(srv, ms >= 8, "io=net wait 5 ms + work 3 ms: answered after %.2f ms", ms);
    struct hc_conn *d = connect_ok(srv, server_port(sp));
    timed_get(srv, d, "/?io=net&wait_us=1000&bytes=3", 3);
    timed_get(srv, c, "/?wait_us=1000&bytes=1", 1); /* a timer wait on the same connection */
    hc_close(c);
    hc_close(d);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 7 && counter(srv, ctr, "upstream_errors") == 0,
           "requests %lld (want 7), upstream_errors %lld", counter(srv, ctr, "requests"),
           counter(srv, ctr, "upstream_errors"));
    ctr = stop_counters(&BACKEND, be, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 6 && counter(srv, ctr, "accepted") == 2,
           "the backend saw %lld requests on %lld connections, want 6 on 2 (one kept connection "
           "per client connection)",
           counter(srv, ctr, "requests"), counter(srv, ctr, "accepted"));

    /* --io net: the kind of a request that does not name one. */
    be = start_backend(0);
    sp = start_front(srv, server_port(be), "--io", "net");
    c = connect_ok(srv, server_port(sp));
    ms = timed_get(srv, c, "/?wait_us=10000&bytes=4", 4);
    EXPECT(srv, ms >= 10, "--io net, wait_us=10000: answered after %.2f ms", ms);
    timed_get(srv, c, "/?io=timer&bytes=4", 4);
    hc_close(c);
    stop_ok(srv, sp);
    ctr = stop_counters(&BACKEND, be, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 1, "--io net: the backend saw %lld requests",
           counter(srv, ctr, "requests"));
}

SERVER_TEST(net_wait, answered_after_the_backend, 0, case_answered, .timeout = 60)

/* Every way a backend can fail is a 502 naming it, on a connection that goes on: a timer
   request after it is served, and so is the next io=net request (reconnecting). */
static void case_failures(const struct sut *srv)
{
    static const struct {
        int fake; /* a fake_backend_mode, or -1: a real backend, -2: nothing listening */
        const char *query;
        const char *cause;
    } CASES[] = {
        {-2, "/?io=net", "connect"},
        {FAKE_RESET, "/?io=net", "reading the answer"},
        {FAKE_CLOSE, "/?io=net", "closed"},
        {FAKE_GARBAGE, "/?io=net", "malformed"},
        {FAKE_STATUS_503, "/?io=net", "answered 503"},
        {-1, "/?io=net&wait_us=2000000", "--upstream-timeout-ms 150"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct server_proc *be = NULL;
        int port;
        if (CASES[i].fake >= 0) {
            EXPECT(srv, fake_backend_start(&fake, CASES[i].fake) == 0, "fake backend: %s",
                   strerror(errno));
            port = fake.port;
        } else if (CASES[i].fake == -1) {
            be = start_backend(0);
            port = server_port(be);
        } else { /* a port nobody listens on: a backend's, just stopped */
            be = start_backend(0);
            port = server_port(be);
            stop_counters(&BACKEND, be, SIGTERM, NULL);
            be = NULL;
        }
        struct server_proc *sp = start_front(srv, port, "--upstream-timeout-ms", "150");
        struct hc_conn *c = connect_ok(srv, server_port(sp));
        for (int k = 0; k < 2; k++) {
            double t0 = tenv_now_ms();
            send_get(srv, c, CASES[i].query);
            expect_502(srv, c, CASES[i].cause, CASES[i].cause);
            if (CASES[i].fake == -1) {
                double ms = tenv_now_ms() - t0;
                EXPECT(srv, ms >= 140 && ms < 150 + 1000 * tenv_slack(),
                       "a 150 ms timeout gave its 502 after %.0f ms", ms);
            }
            send_get(srv, c, "/?bytes=3");
            expect_200(srv, c, 3, "a timer request after a 502");
        }
        /* A client that asked to close gets its 502 and the close. */
        char req[256];
        get_req(req, sizeof req, CASES[i].query, "Connection: close\r\n");
        send_ok(srv, c, req, strlen(req), "io=net with Connection: close");
        struct hc_response *r = resp_new();
        read_ok(srv, c, r, "a 502 asked to close");
        EXPECT(srv, r->status == 502 && r->conn_close, "status %d, close %d", r->status,
               r->conn_close);
        resp_done(r);
        EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1, "open after a 502 with Connection: close");
        hc_close(c);
        json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
        EXPECT(srv,
               counter(srv, ctr, "status_502") == 3 && counter(srv, ctr, "upstream_errors") == 3,
               "%s: status_502 = %lld, upstream_errors = %lld, want 3 each", CASES[i].cause,
               counter(srv, ctr, "status_502"), counter(srv, ctr, "upstream_errors"));
        EXPECT(srv, counter(srv, ctr, "requests") == 2, "%s: requests = %lld, want 2",
               CASES[i].cause, counter(srv, ctr, "requests"));
        if (be)
            stop_counters(&BACKEND, be, SIGTERM, NULL);
        forked_server_stop(&fake);
    }
}

SERVER_TEST(net_wait, backend_failures_502, 0, case_failures, .timeout = 60)

/* The backend goes away in the middle of a run and comes back on the same port: io=net
   requests get 502s meanwhile (one in flight when it goes, too), while timer requests on
   other connections are served throughout; then io=net is answered 200 again. */
static void case_killed(const struct sut *srv)
{
    static struct load ld;
    struct server_proc *be = start_cutting_backend();
    int be_port = server_port(be);
    struct server_proc *sp = start_front(srv, be_port, NULL, NULL);
    int port = server_port(sp);
    struct hc_conn *net = connect_ok(srv, port), *inflight = connect_ok(srv, port);
    timed_get(srv, net, "/?io=net&wait_us=1000&bytes=1", 1);
    load_init(&ld, 4, 2, 2000, false); /* timer waits of 0-2 ms on 4 other connections */
    for (int i = 0; i < ld.n; i++)
        ld.c[i] = connect_ok(srv, port);
    bg_start(load_main, &ld);
    send_get(srv, inflight, "/?io=net&wait_us=3000000&bytes=1");
    tenv_sleep_ms(100);
    long before = atomic_load(&ld.ok);
    /* the backend goes away, closing the waiting connection */
    json_t *bctr = stop_counters(&BACKEND, be, SIGTERM, NULL);
    EXPECT(srv, counter(srv, bctr, "stop_cut") == 1, "the backend cut %lld requests, want 1",
           counter(srv, bctr, "stop_cut"));
    expect_502(srv, inflight, "closed", "the request in flight when the backend went");
    int n502 = 1;
    for (int i = 0; i < 5; i++, n502++) {
        send_get(srv, net, "/?io=net&bytes=1");
        expect_502(srv, net, "connect", "io=net while the backend is gone");
        tenv_sleep_ms(20);
    }
    /* the timer clients go on meanwhile: twenty answers, however long a busy machine takes */
    double flow_deadline = tenv_now_ms() + tenv_io_ms();
    while (atomic_load(&ld.ok) - before < 20 && tenv_now_ms() < flow_deadline)
        tenv_sleep_ms(5);
    long during = atomic_load(&ld.ok) - before;
    be = start_backend(be_port);
    for (int i = 0; i < 3; i++) {
        double ms = timed_get(srv, net, "/?io=net&wait_us=5000&bytes=2", 2);
        EXPECT(srv, ms >= 5, "io=net after the backend came back: %.2f ms", ms);
    }
    timed_get(srv, inflight, "/?io=net&bytes=2", 2);
    bg_join(true);
    cr_log_info("[%s] backend gone: %d 502s, %ld timer answers meanwhile", srv->name, n502, during);
    EXPECT(srv, during >= 20, "only %ld timer answers while the backend was gone", during);
    EXPECT(srv, ld.bad == 0 && ld.cut == 0 && ld.send_failed == 0,
           "timer requests while the backend was gone: %ld wrong (%s), %ld cut, %ld failed sends",
           ld.bad, ld.first_bad, ld.cut, ld.send_failed);
    for (int i = 0; i < ld.n; i++)
        hc_close(ld.c[i]);
    hc_close(net);
    hc_close(inflight);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "status_502") == n502, "status_502 = %lld, want %d",
           counter(srv, ctr, "status_502"), n502);
    stop_ok(&BACKEND, be);
}

SERVER_TEST(net_wait, backend_killed_and_back, 0, case_killed, .timeout = 60)

/* SIGTERM while requests wait on the backend: each is answered (Connection: close) once the
   backend answers, within the grace; with --grace-ms 100 and 5 s backend waits they are cut
   instead, soon after the grace, and a cut is no backend failure. (A sanitizer would report a
   leak or a use after free as a failed exit.) */
static void case_sigterm(const struct sut *srv)
{
    struct server_proc *be = start_cutting_backend(); /* the cut waits leave nothing behind */
    for (int cut = 0; cut < 2; cut++) {
        struct server_proc *sp =
            start_front(srv, server_port(be), cut ? "--grace-ms" : NULL, cut ? "100" : NULL);
        struct hc_conn *c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = connect_ok(srv, server_port(sp));
            send_get(srv, c[i], cut ? "/?io=net&wait_us=5000000" : "/?io=net&wait_us=300000");
        }
        tenv_sleep_ms(100);
        double t0 = tenv_now_ms();
        kill(server_pid(sp), SIGTERM);
        for (int i = 0; i < 4 && !cut; i++) {
            struct hc_response *r = resp_new();
            read_ok(srv, c[i], r, "a backend wait in flight at the signal");
            EXPECT(srv, r->status == 200 && r->conn_close, "status %d, Connection: close %d",
                   r->status, r->conn_close);
            resp_done(r);
        }
        json_t *ctr = await_counters(srv, sp, NULL);
        double ms = tenv_now_ms() - t0;
        EXPECT(srv, ms < (cut ? 100 : 200) + 1800 * tenv_slack(),
               "SIGTERM with backend waits took %.0f ms", ms);
        EXPECT(srv, counter(srv, ctr, "upstream_errors") == 0,
               "upstream_errors %lld: a stop is not a backend failure",
               counter(srv, ctr, "upstream_errors"));
        EXPECT(srv,
               counter(srv, ctr, "requests") == (cut ? 0 : 4) &&
                   counter(srv, ctr, "stop_answered") == (cut ? 0 : 4) &&
                   counter(srv, ctr, "stop_cut") == (cut ? 4 : 0),
               "%s: requests %lld, stop_answered %lld, stop_cut %lld", cut ? "cut" : "answered",
               counter(srv, ctr, "requests"), counter(srv, ctr, "stop_answered"),
               counter(srv, ctr, "stop_cut"));
        for (int i = 0; i < 4; i++)
            hc_close(c[i]);
    }
    stop_ok(&BACKEND, be);
}

SERVER_TEST(net_wait, sigterm_while_waiting, 0, case_sigterm, .timeout = 60)
