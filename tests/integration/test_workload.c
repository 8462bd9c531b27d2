/* test_workload: what a request asks for (wait_us, work_us, bytes, from the query or the
 * flags) is what it gets; curl and 200 concurrent connections are served.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(workload, .fini = itest_release, .timeout = 60);

/* ---- workload -------------------------------------------------------------------------- */

/* wait_us from the flag and from the query delays the answer by at least the wait, and
   not by much more; wait_us=0 overrides a flag's wait. */
static void case_wait(const struct sut *srv)
{
    const char *args[] = {"--wait-us", "30000", "--bytes", "8", NULL};
    struct server_proc *sp = start(srv, args);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    double extra = 150 * tenv_slack(); /* scheduling noise on a shared 2-core box */
    double ms = timed_get(srv, c, "/", 8);
    EXPECT(srv, ms >= 30 && ms < 30 + extra, "--wait-us 30000: answered after %.2f ms", ms);
    for (int i = 0; i < 3; i++) {
        ms = timed_get(srv, c, "/?wait_us=20000", 8);
        EXPECT(srv, ms >= 20 && ms < 20 + extra, "wait_us=20000: answered after %.2f ms", ms);
    }
    ms = timed_get(srv, c, "/?wait_us=2000", 8);
    EXPECT(srv, ms >= 2 && ms < 2 + extra, "wait_us=2000: answered after %.2f ms", ms);
    /* Sub-millisecond waits stay sub-millisecond: libev's epoll backend alone would round
       a 500 us timer up to about 1 ms. The fastest of 7 resists noise. */
    double best = 1e9;
    for (int i = 0; i < 7; i++) {
        ms = timed_get(srv, c, "/?wait_us=500", 8);
        best = ms < best ? ms : best;
    }
    EXPECT(srv, best >= 0.5 && best < 0.5 + 0.4 * tenv_slack(),
           "wait_us=500: fastest of 7 answers took %.3f ms, want 0.5 to %.1f ms", best,
           0.5 + 0.4 * tenv_slack());
    ms = timed_get(srv, c, "/?wait_us=0", 8);
    EXPECT(srv, ms < 30, "wait_us=0 should override --wait-us 30000: answered after %.2f ms", ms);
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(workload, wait_us_honoured, 0, case_wait, .timeout = 30)

/* The query sets the body length exactly, from 0 to the 1 MiB maximum, and work_us burns
   at least that long. */
static void case_query(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    static const size_t sizes[] = {0, 1, 100000, 1048576};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char target[64];
        snprintf(target, sizeof target, "/?bytes=%zu", sizes[i]);
        send_get(srv, c, target);
        expect_200(srv, c, sizes[i], target);
    }
    timed_get(srv, c, "/?wait_us=0&work_us=0&bytes=64", 64);
    timed_get(srv, c, "/?bytes=2&&wait_us=0", 2); /* empty pairs are tolerated */
    double ms = timed_get(srv, c, "/?work_us=5000&bytes=3", 3);
    EXPECT(srv, ms >= 5, "work_us=5000: answered after %.2f ms", ms);
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(workload, query_overrides, 0, case_query, .timeout = 30)

/* --bytes and --work-us set the defaults; the query overrides them per request. */
static void case_flag_defaults(const struct sut *srv)
{
    const char *args[] = {"--bytes", "7", "--work-us", "4000", NULL};
    struct server_proc *sp = start(srv, args);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    double ms = timed_get(srv, c, "/", 7);
    EXPECT(srv, ms >= 4, "--work-us 4000: answered after %.2f ms", ms);
    timed_get(srv, c, "/?bytes=3&work_us=0", 3);
    timed_get(srv, c, "/", 7); /* the override did not stick */
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(workload, flag_defaults, 0, case_flag_defaults, .timeout = 30)

/* ---- real clients and many connections ---------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* curl fetches two URLs over one kept-alive connection. */
static void case_curl(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    char f1[] = "/tmp/tvt-itest-curl-XXXXXX", f2[] = "/tmp/tvt-itest-curl-XXXXXX";
    int fd1 = mkstemp(f1), fd2 = mkstemp(f2);
    cr_assert(fd1 >= 0 && fd2 >= 0, "mkstemp: %s", strerror(errno));
    close(fd1);
    close(fd2);
    char u1[128], u2[128], tmo[32], out[4096];
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/?bytes=123", server_port(sp));
    snprintf(u2, sizeof u2, "http://127.0.0.1:%d/?bytes=5&wait_us=1000", server_port(sp));
    snprintf(tmo, sizeof tmo, "%d", (int)(5 * tenv_slack()));
    char *argv[] = {
        "curl", "-sS", "--max-time", tmo,  "-w", "%{http_code} %{size_download} %{num_connects}\\n",
        "-o",   f1,    u1,           "-o", f2,   u2,
        NULL};
    int st = tenv_run_cmd(argv, out, sizeof out, (int)(10000 * tenv_slack()));
    long s1 = file_size(f1), s2 = file_size(f2);
    unlink(f1);
    unlink(f2);
    EXPECT(srv, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 127,
           "could not run curl (install it: scripts/deps.sh); output: %s", out);
    EXPECT(srv, WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl exited %d: %s",
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    EXPECT(srv, strcmp(out, "200 123 1\n200 5 0\n") == 0,
           "curl saw `%s`, want `200 123 1` then `200 5 0` (second transfer reusing the "
           "connection)",
           out);
    EXPECT(srv, s1 == 123 && s2 == 5, "curl saved %ld and %ld bytes, want 123 and 5", s1, s2);
    stop_ok(srv, sp);
}

SERVER_TEST(workload, curl_works, 0, case_curl, .timeout = 30)

/* 200 connections each send a request that waits 100 ms; all are answered correctly, and
   together in far less than 200 x 100 ms, so they were served concurrently. */
#define CONCURRENT 200
static bool not_done(int i, void *done)
{
    return !((const bool *)done)[i];
}

static void case_concurrent(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *c[CONCURRENT];
    bool done[CONCURRENT] = {false};
    double t0 = tenv_now_ms(), deadline = t0 + 10000 * tenv_slack();
    for (int i = 0; i < CONCURRENT; i++) {
        int left_ms = (int)(deadline - tenv_now_ms());
        c[i] = left_ms > 0 ? hc_connect(port, left_ms) : NULL;
        int e = left_ms > 0 ? errno : ETIMEDOUT;
        EXPECT(srv, c[i], "connection %d of %d: connect: %s", i, CONCURRENT, strerror(e));
    }
    t0 = tenv_now_ms();
    for (int i = 0; i < CONCURRENT; i++) {
        char target[64];
        snprintf(target, sizeof target, "/?wait_us=100000&bytes=%d", i % 97 + 1);
        send_get(srv, c[i], target);
    }
    int left = CONCURRENT;
    while (left > 0 && tenv_now_ms() < deadline) {
        int ready[CONCURRENT];
        int n = hc_poll_in(c, CONCURRENT, not_done, done, 100, ready);
        for (int k = 0; k < n; k++) {
            int i = ready[k];
            int f = hc_fill(c[i]);
            struct hc_response *r = resp_new();
            int t = hc_try_response(c[i], r);
            EXPECT(srv, t >= 0, "connection %d: unparseable answer: %.200s", i, c[i]->buf);
            if (t == 0) {
                resp_done(r);
                EXPECT(srv, f >= 0, "connection %d closed or reset before its answer", i);
                continue;
            }
            size_t want = (size_t)(i % 97 + 1);
            EXPECT(srv, r->status == 200 && hc_body_is(r, want, 'x'),
                   "connection %d: status %d, %zu body bytes, want 200 and %zu", i, r->status,
                   r->body_len, want);
            resp_done(r);
            done[i] = true;
            left--;
        }
    }
    double ms = tenv_now_ms() - t0;
    EXPECT(srv, left == 0, "%d of %d connections got no answer within %.0f ms", left, CONCURRENT,
           ms);
    EXPECT(srv, ms >= 100 && ms < 3000 * tenv_slack(),
           "%d concurrent 100 ms waits took %.0f ms (serially: 20 s)", CONCURRENT, ms);
    for (int i = 0; i < CONCURRENT; i++)
        hc_close(c[i]);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "accepted") == CONCURRENT, "accepted %lld, want %d",
           counter(srv, ctr, "accepted"), CONCURRENT);
    EXPECT(srv, counter(srv, ctr, "requests") == CONCURRENT, "requests %lld, want %d",
           counter(srv, ctr, "requests"), CONCURRENT);
}

SERVER_TEST(workload, concurrent_200_connections, 0, case_concurrent, .timeout = 60)
