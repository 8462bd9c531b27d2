/* test_lifecycle: SIGTERM and SIGINT end a server with exit 0 and one counters line, idle,
 * mid-request, mid-wait (answered, or cut past --grace-ms) and under load; the command line
 * and its errors.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/load_driver.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(lifecycle, .fini = itest_release, .timeout = 60);

/* ---- lifecycle ------------------------------------------------------------------------- */

/* SIGTERM with connections idle, mid-request and mid-wait: the wait is answered (with
   Connection: close), the rest closed; exit 0 once it is, with one JSON counters line that
   matches what was sent. A wait past --grace-ms is cut instead. SIGINT likewise. */
static void case_sigterm(const struct sut *srv)
{
    const char *grace[] = {"--grace-ms", "200", NULL};
    struct server_proc *sp = start(srv, grace);
    int port = server_port(sp);
    struct hc_conn *a = connect_ok(srv, port), *b = connect_ok(srv, port);
    for (int i = 0; i < 3; i++) {
        send_get(srv, a, "/?bytes=1");
        expect_200(srv, a, 1, "counted request on a");
    }
    for (int i = 0; i < 2; i++) {
        send_get(srv, b, "/?bytes=1");
        expect_200(srv, b, 1, "counted request on b");
    }
    expect_error_close(srv, port, "GARBAGE\r\n\r\n", 11, 400, "a counted malformed request");
    struct hc_conn *half = connect_ok(srv, port);
    send_ok(srv, half, "GET / HTTP/1.1\r\n", 16, "half a request");
    struct hc_conn *waiting = connect_ok(srv, port), *cut = connect_ok(srv, port);
    send_get(srv, waiting, "/?wait_us=150000&bytes=2"); /* answered within the grace */
    send_get(srv, cut, "/?wait_us=5000000");            /* still waiting at its end */
    tenv_sleep_ms(50);
    double t0 = tenv_now_ms();
    kill(server_pid(sp), SIGTERM);
    expect_200(srv, waiting, 2, "the wait in flight at the signal");
    json_t *ctr = await_counters(srv, sp, NULL);
    double ms = tenv_now_ms() - t0;
    EXPECT(srv, ms >= 190 && ms < 200 + 1800 * tenv_slack(),
           "SIGTERM with --grace-ms 200 and a 5 s wait took %.0f ms to exit", ms);
    EXPECT(srv, counter(srv, ctr, "accepted") == 6, "accepted = %lld, want 6",
           counter(srv, ctr, "accepted"));
    EXPECT(srv, counter(srv, ctr, "requests") == 6, "requests = %lld, want 6",
           counter(srv, ctr, "requests"));
    EXPECT(srv, counter(srv, ctr, "status_400") == 1, "status_400 = %lld, want 1",
           counter(srv, ctr, "status_400"));
    EXPECT(srv,
           counter(srv, ctr, "stop_answered") == 1 && counter(srv, ctr, "stop_cut") == 1 &&
               counter(srv, ctr, "stop_idle_closed") == 2 &&
               counter(srv, ctr, "stop_partial_closed") == 1,
           "stop: answered %lld, cut %lld, idle %lld, partial %lld; want 1, 1, 2, 1",
           counter(srv, ctr, "stop_answered"), counter(srv, ctr, "stop_cut"),
           counter(srv, ctr, "stop_idle_closed"), counter(srv, ctr, "stop_partial_closed"));
    hc_close(a);
    hc_close(b);
    hc_close(half);
    hc_close(waiting);
    hc_close(cut);

    sp = start(srv, NULL);
    expect_served(srv, server_port(sp), "before SIGINT");
    ctr = stop_counters(srv, sp, SIGINT, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 1, "after SIGINT: requests = %lld, want 1",
           counter(srv, ctr, "requests"));
}

SERVER_TEST(lifecycle, sigterm_exit_and_counters, 0, case_sigterm, .timeout = 30)

/* Command-line errors exit 2 naming the flag; --help exits 0. The server's own arguments
   (its line in the table) come first, as when the tests start it. */
static void case_cli(const struct sut *srv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tenv_bin_dir(), srv->binary);
    const struct cli_case cases[] = {
        {{"--help"}, 0, "--idle-timeout-ms"},
        {{"--bogus"}, 2, "--bogus"},
        {{"--bytes", "2000000"}, 2, "--bytes"},
        {{"--wait-us", "abc"}, 2, "--wait-us"},
        {{"stray"}, 2, "stray"},
        {{"--stack-kib", "256"}, srv->flags & SUT_THREADED ? -1 : 2, "--stack-kib"},
        {{"--grace-ms", "600001"}, 2, "--grace-ms"},
        {{"--state", "all"}, 2, "--state"},
        {{"--share-us", "1000001"}, 2, "--share-us"},
        {{"--lock", "none"}, srv->flags & SUT_THREADED ? -1 : 2, "--lock"},
        {{"--help"}, 0, "--grace-ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].code >= 0) /* else a valid flag for a threaded server: it would run */
            expect_cli(srv, path, srv->args, &cases[i]);
}

SERVER_TEST(lifecycle, command_line, 0, case_cli, .timeout = 30)

/* ---- SIGTERM under load --------------------------------------------------------------- */

/* 100 connections with 4 requests in flight each (waits of 0-3 ms, bodies up to 4 KiB) keep
   the server busy for load_ms; then SIGTERM. Checks the exit (0, within 2 s, one counters
   line) or, with `accounting`, only that the counters line accounts for every answer the
   clients read: a line printed while connections are still being answered undercounts. */
static struct load ld;

static void sigterm_load(const struct sut *srv, int load_ms, bool accounting)
{
    const int n = tenv_scaled(LOAD_MAX);
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    load_init(&ld, n, LOAD_DEPTH, 3000, true);
    for (int i = 0; i < n; i++)
        ld.c[i] = connect_ok(srv, port);
    bg_start(load_main, &ld);
    tenv_sleep_ms(load_ms - 100);
    /* the signal comes while answers flow: ten more since the last look (a busy machine may
       hold the server or the clients for a while; then this waits for them) */
    long before = atomic_load(&ld.ok);
    double flow_deadline = tenv_now_ms() + tenv_io_ms();
    while (atomic_load(&ld.ok) - before < 10 && tenv_now_ms() < flow_deadline)
        tenv_sleep_ms(5);
    long at_signal = atomic_load(&ld.ok);
    double cpu = cpu_seconds(server_pid(sp));
    double elapsed;
    json_t *ctr = stop_counters(srv, sp, SIGTERM, &elapsed);
    /* The server is gone, so every connection closes; the helper ends with them. */
    double deadline = tenv_now_ms() + tenv_io_ms();
    while (tenv_now_ms() < deadline && atomic_load(&ld.closed) < n)
        tenv_sleep_ms(10);
    bg_join(true);
    long ok = atomic_load(&ld.ok);
    long long requests = counter(srv, ctr, "requests");
    cr_log_info(
        "[%s] SIGTERM under load: %d connections x %d in flight, %ld answers in %.1f s "
        "(%ld just before the signal), server CPU %.2f s; exit 0 after %.0f ms; %ld answers "
        "read in all, %lld in the counters line",
        srv->name, n, LOAD_DEPTH, at_signal, load_ms / 1e3, at_signal - before, cpu, elapsed, ok,
        requests);
    EXPECT(srv, at_signal - before >= 10,
           "only %ld answers in the %d ms before the signal: the server was not under load",
           at_signal - before, tenv_io_ms());
    EXPECT(srv, ld.bad == 0, "%ld wrong answers under load, the first: %s", ld.bad, ld.first_bad);
    if (accounting) {
        EXPECT(srv, requests >= ok,
               "requests = %lld in the counters line, but the clients read %ld answers: the "
               "server went on answering %lld requests after it printed its counters",
               requests, ok, ok - requests);
    } else {
        EXPECT(srv, elapsed < 2000 * tenv_slack(),
               "SIGTERM under load: exit took %.0f ms, want < %.0f", elapsed, 2000 * tenv_slack());
        EXPECT(srv, counter(srv, ctr, "accepted") == n, "accepted = %lld, want %d",
               counter(srv, ctr, "accepted"), n);
    }
    for (int i = 0; i < n; i++)
        hc_close(ld.c[i]);
}

static void case_sigterm_load(const struct sut *srv)
{
    sigterm_load(srv, 700, false);
}

SERVER_TEST(lifecycle, sigterm_under_load, 0, case_sigterm_load, .timeout = 60)

static void case_sigterm_accounting(const struct sut *srv)
{
    sigterm_load(srv, 400, true);
}

SERVER_TEST(lifecycle, sigterm_counters_count_every_answer, 0, case_sigterm_accounting,
            .timeout = 60)
