/* test_servers: both real servers on 127.0.0.1:0, driven over TCP, every case bounded.
 *
 * Each test runs once per server ("async", then "thread"; env TVT_IMPLS=thread or
 * TVT_IMPLS=async,thread narrows it) and names the server in every assertion. Env
 * TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

/* ---- servers this test started, so that .fini can stop them after a failed assert ---- */

/* Responses and the counters document live in slots that .fini releases, so that a failed
   assertion (which skips the test's own frees) leaves nothing for LeakSanitizer. */

static void release_all(void)
{
    itest_release();
}

static void stop_ok(const char *impl, struct server_proc *sp)
{
    stop_counters(impl, sp, SIGTERM, NULL);
}

/* ---- requests ------------------------------------------------------------------------ */

static void get_req(char *buf, size_t len, const char *target, const char *extra_headers)
{
    snprintf(buf, len, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", target,
             extra_headers ? extra_headers : "");
}

static void send_get(const char *impl, struct hc_conn *c, const char *target)
{
    char req[4096];
    get_req(req, sizeof req, target, NULL);
    send_ok(impl, c, req, strlen(req), target);
}

static void read_ok(const char *impl, struct hc_conn *c, struct hc_response *r, const char *what)
{
    int rc = hc_read_response(c, r, io_ms());
    int e = errno;
    EXPECT(impl, rc == 0, "%s: no complete response: %s (%zu bytes buffered: %.200s)", what,
           strerror(e), c->len, c->buf ? c->buf : "");
}

/* Reads one answer and checks it is a 200 with exactly `bytes` 'x' bytes. */
static void expect_200(const char *impl, struct hc_conn *c, size_t bytes, const char *what)
{
    struct hc_response *r = resp_new();
    read_ok(impl, c, r, what);
    EXPECT(impl, r->status == 200, "%s: status %d, want 200; head: %s body: %.200s", what,
           r->status, r->head, r->body);
    EXPECT(impl, r->content_length == (long)bytes, "%s: Content-Length %ld, want %zu", what,
           r->content_length, bytes);
    EXPECT(impl, hc_body_is(r, bytes, 'x'), "%s: body is %zu bytes, not %zu 'x'", what, r->body_len,
           bytes);
    resp_done(r);
}

/* One request on a fresh connection: the server still serves. */
static void expect_served(const char *impl, int port, const char *when)
{
    struct hc_conn *c = connect_ok(impl, port);
    send_get(impl, c, "/?bytes=5");
    char what[128];
    snprintf(what, sizeof what, "a normal request %s", when);
    expect_200(impl, c, 5, what);
    hc_close(c);
}

/* Sends raw bytes on a fresh connection and expects `status` and then a close. */
static void expect_error_close(const char *impl, int port, const char *data, size_t len, int status,
                               const char *what)
{
    struct hc_conn *c = connect_ok(impl, port);
    /* The server may answer and close before it has read everything: a failed send is
       fine, the answer is what counts. */
    hc_send(c, data, len, io_ms());
    struct hc_response *r = resp_new();
    read_ok(impl, c, r, what);
    EXPECT(impl, r->status == status, "%s: status %d, want %d; head: %s body: %.200s", what,
           r->status, status, r->head, r->body);
    EXPECT(impl, r->conn_close, "%s: a %d should say Connection: close; head: %s", what, status,
           r->head);
    int closed = hc_wait_close(c, io_ms());
    EXPECT(impl, closed == 1, "%s: connection still open after the %d", what, status);
    EXPECT(impl, c->len == 0, "%s: %zu unexpected bytes after the %d: %.200s", what, c->len, status,
           c->buf);
    resp_done(r);
    hc_close(c);
}

TestSuite(servers, .fini = release_all, .timeout = 60);

/* ---- keep-alive, pipelining, framing --------------------------------------------------- */

/* Several requests on one connection, each answered with its own length, connection kept. */
static void case_keep_alive(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    for (int i = 0; i < 6; i++) {
        char target[64], what[128];
        size_t bytes = (size_t)i * 37;
        snprintf(target, sizeof target, "/?bytes=%zu", bytes);
        snprintf(what, sizeof what, "request %d (%s)", i, target);
        send_get(impl, c, target);
        struct hc_response *r = resp_new();
        read_ok(impl, c, r, what);
        EXPECT(impl, r->status == 200 && hc_body_is(r, bytes, 'x'), "%s: status %d, %zu body bytes",
               what, r->status, r->body_len);
        EXPECT(impl, !r->conn_close, "%s: keep-alive answer says Connection: close", what);
        EXPECT(impl, r->minor == 1, "%s: answered HTTP/1.%d", what, r->minor);
        char v[128];
        EXPECT(impl, hc_header(r, "Date", v, sizeof v) && strstr(v, "GMT"),
               "%s: no Date header; head: %s", what, r->head);
        EXPECT(impl, hc_header(r, "Server", v, sizeof v), "%s: no Server header", what);
        resp_done(r);
    }
    EXPECT(impl, hc_wait_close(c, 50) == 0, "connection closed after a keep-alive answer");
    hc_close(c);
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "accepted") == 1, "accepted %lld connections, want 1",
           counter(impl, ctr, "accepted"));
    EXPECT(impl, counter(impl, ctr, "requests") == 6, "counted %lld requests, want 6",
           counter(impl, ctr, "requests"));
}

Test(servers, keep_alive_sequence, .timeout = 30)
{
    for_each_impl(case_keep_alive);
}

/* Requests in one write are answered in order, even when an early one waits; a malformed
   one in the middle is answered 400 after the ones before it, and ends the connection. */
static void case_pipelined(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *c = connect_ok(impl, port);
    char batch[4096] = "";
    for (int i = 1; i <= 6; i++) {
        char target[64], req[256];
        /* The second one waits 20 ms: the ones behind it must not overtake it. */
        snprintf(target, sizeof target, "/?bytes=%d%s", i, i == 2 ? "&wait_us=20000" : "");
        get_req(req, sizeof req, target, i == 6 ? "Connection: close\r\n" : NULL);
        strcat(batch, req);
    }
    send_ok(impl, c, batch, strlen(batch), "6 pipelined requests");
    for (int i = 1; i <= 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "pipelined answer %d", i);
        expect_200(impl, c, (size_t)i, what);
    }
    EXPECT(impl, hc_wait_close(c, io_ms()) == 1,
           "not closed after the pipelined `Connection: close` request");
    hc_close(c);

    c = connect_ok(impl, port);
    const char *mixed = "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GARBAGE\r\n\r\n"
                        "GET /?bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_ok(impl, c, mixed, strlen(mixed), "good, malformed, good pipelined");
    expect_200(impl, c, 1, "the request before the malformed one");
    struct hc_response *r = resp_new();
    read_ok(impl, c, r, "the malformed pipelined request");
    EXPECT(impl, r->status == 400, "malformed pipelined request: status %d, want 400", r->status);
    resp_done(r);
    EXPECT(impl, hc_wait_close(c, io_ms()) == 1 && c->len == 0,
           "after the 400 the connection should close with nothing more (got %zu bytes)", c->len);
    hc_close(c);

    /* 200 requests in one write cross the servers' 4 KiB read buffer at arbitrary points;
       some carry a body (Content-Length or chunked) to be skipped, some a stray CRLF before
       them (RFC 9112 2.2 lets a server ignore it). */
    static char big[32 * 1024];
    size_t used = 0;
    for (int i = 0; i < 200; i++) {
        const char *extra = i % 7 == 3 ? "Content-Length: 5\r\n\r\nhello"
                            : i % 7 == 5
                                ? "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                                : "\r\n";
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "%sGET /?bytes=%d HTTP/1.1\r\nHost: a\r\n%s",
                                 i % 11 == 4 ? "\r\n" : "", i % 50, extra);
    }
    c = connect_ok(impl, port);
    send_ok(impl, c, big, used, "200 pipelined requests");
    for (int i = 0; i < 200; i++) {
        char what[64];
        snprintf(what, sizeof what, "answer %d of 200 pipelined", i);
        expect_200(impl, c, (size_t)(i % 50), what);
    }
    /* Answers larger than the socket buffer: the server resumes partial writes in order. */
    used = 0;
    for (int i = 0; i < 3; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=%d HTTP/1.1\r\nHost: a\r\n\r\n", 1048576 - i);
    send_ok(impl, c, big, used, "3 pipelined 1 MiB requests");
    for (int i = 0; i < 3; i++)
        expect_200(impl, c, (size_t)(1048576 - i), "a pipelined 1 MiB answer");
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, pipelined_in_order, .timeout = 30)
{
    for_each_impl(case_pipelined);
}

/* A request that arrives one byte at a time, and one split in two at every position. */
static void case_split(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    char req[512];
    get_req(req, sizeof req, "/?bytes=11&wait_us=0", "User-Agent: tvt-test\r\nAccept: */*\r\n");
    size_t len = strlen(req);
    for (int round = 0; round < 2; round++) {
        int rc = hc_send_pieces(c, req, len, 1, 300, io_ms());
        int e = errno;
        EXPECT(impl, rc == 0, "byte-by-byte send: %s", strerror(e));
        expect_200(impl, c, 11, "a request sent byte by byte");
    }
    /* Every split point; the pause makes the server see the two parts in two reads. */
    for (size_t k = 1; k < len; k++) {
        char what[64];
        snprintf(what, sizeof what, "a request split after byte %zu", k);
        send_ok(impl, c, req, k, what);
        tenv_sleep_ms(0.5);
        send_ok(impl, c, req + k, len - k, what);
        expect_200(impl, c, 11, what);
    }
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, split_at_every_byte, .timeout = 30)
{
    for_each_impl(case_split);
}

/* HTTP/1.0 and `Connection: close` end the connection after the answer; HTTP/1.0 with
   `Connection: keep-alive` keeps it. */
static void case_close_semantics(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct {
        const char *req;
        size_t bytes;
        bool closes;
        const char *what;
    } cases[] = {
        {"GET /?bytes=3 HTTP/1.0\r\n\r\n", 3, true, "HTTP/1.0"},
        {"GET /?bytes=4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 4, true,
         "HTTP/1.1 Connection: close"},
        {"GET /?bytes=5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 5, false,
         "HTTP/1.0 Connection: keep-alive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hc_conn *c = connect_ok(impl, port);
        send_ok(impl, c, cases[i].req, strlen(cases[i].req), cases[i].what);
        struct hc_response *r = resp_new();
        read_ok(impl, c, r, cases[i].what);
        EXPECT(impl, r->status == 200 && hc_body_is(r, cases[i].bytes, 'x'),
               "%s: status %d, %zu body bytes", cases[i].what, r->status, r->body_len);
        int closed = hc_wait_close(c, cases[i].closes ? io_ms() : 100);
        EXPECT(impl, closed == (cases[i].closes ? 1 : 0), "%s: connection %s after the answer",
               cases[i].what, closed == 1 ? "closed" : "still open");
        if (cases[i].closes)
            EXPECT(impl, r->conn_close, "%s: answer lacks Connection: close; head: %s",
                   cases[i].what, r->head);
        else {
            char v[64] = "";
            EXPECT(impl,
                   !r->conn_close && hc_header(r, "Connection", v, sizeof v) &&
                       strcasecmp(v, "keep-alive") == 0,
                   "%s: answer should say Connection: keep-alive; head: %s", cases[i].what,
                   r->head);
        }
        resp_done(r);
        if (!cases[i].closes) { /* and the kept connection serves a second request */
            send_ok(impl, c, cases[i].req, strlen(cases[i].req), cases[i].what);
            expect_200(impl, c, cases[i].bytes, cases[i].what);
        }
        hc_close(c);
    }
    /* A client that half-closes after its request (`printf ... | nc`) still gets the answer. */
    struct hc_conn *c = connect_ok(impl, port);
    const char *req = "GET /?bytes=6&wait_us=20000 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_ok(impl, c, req, strlen(req), "a request followed by FIN");
    EXPECT(impl, hc_shutdown_write(c) == 0, "shutdown(SHUT_WR): %s", strerror(errno));
    expect_200(impl, c, 6, "a request followed by the client's FIN");
    EXPECT(impl, hc_wait_close(c, io_ms()) == 1, "not closed after the half-closed request");
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, close_semantics, .timeout = 30)
{
    for_each_impl(case_close_semantics);
}

/* ---- workload -------------------------------------------------------------------------- */

/* One request and its latency in ms. */
static double timed_get(const char *impl, struct hc_conn *c, const char *target, size_t bytes)
{
    double t0 = hc_now_ms();
    send_get(impl, c, target);
    expect_200(impl, c, bytes, target);
    return hc_now_ms() - t0;
}

/* wait_us from the flag and from the query delays the answer by at least the wait, and
   not by much more; wait_us=0 overrides a flag's wait. */
static void case_wait(const char *impl)
{
    const char *args[] = {"--wait-us", "30000", "--bytes", "8", NULL};
    struct server_proc *sp = start(impl, args);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    double extra = 150 * tenv_slack(); /* scheduling noise on a shared 2-core box */
    double ms = timed_get(impl, c, "/", 8);
    EXPECT(impl, ms >= 30 && ms < 30 + extra, "--wait-us 30000: answered after %.2f ms", ms);
    for (int i = 0; i < 3; i++) {
        ms = timed_get(impl, c, "/?wait_us=20000", 8);
        EXPECT(impl, ms >= 20 && ms < 20 + extra, "wait_us=20000: answered after %.2f ms", ms);
    }
    ms = timed_get(impl, c, "/?wait_us=2000", 8);
    EXPECT(impl, ms >= 2 && ms < 2 + extra, "wait_us=2000: answered after %.2f ms", ms);
    /* Sub-millisecond waits stay sub-millisecond: libev's epoll backend alone would round
       a 500 us timer up to about 1 ms (DESIGN.md 6). The fastest of 7 resists noise. */
    double best = 1e9;
    for (int i = 0; i < 7; i++) {
        ms = timed_get(impl, c, "/?wait_us=500", 8);
        best = ms < best ? ms : best;
    }
    EXPECT(impl, best >= 0.5 && best < 0.5 + 0.4 * tenv_slack(),
           "wait_us=500: fastest of 7 answers took %.3f ms, want 0.5 to %.1f ms", best,
           0.5 + 0.4 * tenv_slack());
    ms = timed_get(impl, c, "/?wait_us=0", 8);
    EXPECT(impl, ms < 30, "wait_us=0 should override --wait-us 30000: answered after %.2f ms", ms);
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, wait_us_honoured, .timeout = 30)
{
    for_each_impl(case_wait);
}

/* The query sets the body length exactly, from 0 to the 1 MiB maximum, and work_us burns
   at least that long. */
static void case_query(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    static const size_t sizes[] = {0, 1, 100000, 1048576};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char target[64];
        snprintf(target, sizeof target, "/?bytes=%zu", sizes[i]);
        send_get(impl, c, target);
        expect_200(impl, c, sizes[i], target);
    }
    timed_get(impl, c, "/?wait_us=0&work_us=0&bytes=64", 64);
    timed_get(impl, c, "/?bytes=2&&wait_us=0", 2); /* empty pairs are tolerated */
    double ms = timed_get(impl, c, "/?work_us=5000&bytes=3", 3);
    EXPECT(impl, ms >= 5, "work_us=5000: answered after %.2f ms", ms);
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, query_overrides, .timeout = 30)
{
    for_each_impl(case_query);
}

/* --bytes and --work-us set the defaults; the query overrides them per request. */
static void case_flag_defaults(const char *impl)
{
    const char *args[] = {"--bytes", "7", "--work-us", "4000", NULL};
    struct server_proc *sp = start(impl, args);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    double ms = timed_get(impl, c, "/", 7);
    EXPECT(impl, ms >= 4, "--work-us 4000: answered after %.2f ms", ms);
    timed_get(impl, c, "/?bytes=3&work_us=0", 3);
    timed_get(impl, c, "/", 7); /* the override did not stick */
    hc_close(c);
    stop_ok(impl, sp);
}

Test(servers, flag_defaults, .timeout = 30)
{
    for_each_impl(case_flag_defaults);
}

/* ---- real clients and many connections ---------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* curl fetches two URLs over one kept-alive connection. */
static void case_curl(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
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
    EXPECT(impl, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 127,
           "could not run curl (install it: scripts/deps.sh); output: %s", out);
    EXPECT(impl, WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl exited %d: %s",
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    EXPECT(impl, strcmp(out, "200 123 1\n200 5 0\n") == 0,
           "curl saw `%s`, want `200 123 1` then `200 5 0` (second transfer reusing the "
           "connection)",
           out);
    EXPECT(impl, s1 == 123 && s2 == 5, "curl saved %ld and %ld bytes, want 123 and 5", s1, s2);
    stop_ok(impl, sp);
}

Test(servers, curl_works, .timeout = 30)
{
    for_each_impl(case_curl);
}

/* 200 connections each send a request that waits 100 ms; all are answered correctly, and
   together in far less than 200 x 100 ms, so they were served concurrently. */
#define CONCURRENT 200
static void case_concurrent(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *c[CONCURRENT];
    bool done[CONCURRENT] = {false};
    double t0 = hc_now_ms(), deadline = t0 + 10000 * tenv_slack();
    for (int i = 0; i < CONCURRENT; i++) {
        int left_ms = (int)(deadline - hc_now_ms());
        c[i] = left_ms > 0 ? hc_connect(port, left_ms) : NULL;
        int e = left_ms > 0 ? errno : ETIMEDOUT;
        EXPECT(impl, c[i], "connection %d of %d: connect: %s", i, CONCURRENT, strerror(e));
    }
    t0 = hc_now_ms();
    for (int i = 0; i < CONCURRENT; i++) {
        char target[64];
        snprintf(target, sizeof target, "/?wait_us=100000&bytes=%d", i % 97 + 1);
        send_get(impl, c[i], target);
    }
    int left = CONCURRENT;
    while (left > 0 && hc_now_ms() < deadline) {
        struct pollfd pfd[CONCURRENT];
        int idx[CONCURRENT], n = 0;
        for (int i = 0; i < CONCURRENT; i++)
            if (!done[i]) {
                pfd[n] = (struct pollfd){.fd = c[i]->fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, 100) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            int i = idx[k];
            int f = hc_fill(c[i]);
            struct hc_response *r = resp_new();
            int t = hc_try_response(c[i], r);
            EXPECT(impl, t >= 0, "connection %d: unparseable answer: %.200s", i, c[i]->buf);
            if (t == 0) {
                resp_done(r);
                EXPECT(impl, f >= 0, "connection %d closed or reset before its answer", i);
                continue;
            }
            size_t want = (size_t)(i % 97 + 1);
            EXPECT(impl, r->status == 200 && hc_body_is(r, want, 'x'),
                   "connection %d: status %d, %zu body bytes, want 200 and %zu", i, r->status,
                   r->body_len, want);
            resp_done(r);
            done[i] = true;
            left--;
        }
    }
    double ms = hc_now_ms() - t0;
    EXPECT(impl, left == 0, "%d of %d connections got no answer within %.0f ms", left, CONCURRENT,
           ms);
    EXPECT(impl, ms >= 100 && ms < 3000 * tenv_slack(),
           "%d concurrent 100 ms waits took %.0f ms (serially: 20 s)", CONCURRENT, ms);
    for (int i = 0; i < CONCURRENT; i++)
        hc_close(c[i]);
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "accepted") == CONCURRENT, "accepted %lld, want %d",
           counter(impl, ctr, "accepted"), CONCURRENT);
    EXPECT(impl, counter(impl, ctr, "requests") == CONCURRENT, "requests %lld, want %d",
           counter(impl, ctr, "requests"), CONCURRENT);
}

Test(servers, concurrent_200_connections, .timeout = 60)
{
    for_each_impl(case_concurrent);
}

/* ---- bad input ------------------------------------------------------------------------- */

/* Malformed requests get 400 and a close, while a connection that is mid-request goes on
   to be served. */
static void case_malformed(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *other = connect_ok(impl, port);
    const char *half = "GET /?bytes=9 HTTP/1.1\r\nHost: a\r\n";
    send_ok(impl, other, half, strlen(half), "the other connection's first half");

    static const struct {
        const char *data;
        size_t len; /* 0: strlen */
        int status;
        const char *what;
    } bad[] = {
        {"GARBAGE\r\n\r\n", 0, 400, "an unknown method"},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 400, "a TLS ClientHello"},
        {"\0\0\0\0\r\n\r\n", 8, 400, "NUL bytes"},
        {"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 0, 400, "a bad Content-Length"},
        {"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", 0, 400, "a header without colon"},
        {"GET /a\x01z HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "a control byte in the target"},
        {"GET / HTTP/1.1 junk\r\nHost: a\r\n\r\n", 0, 400, "junk after the version"},
        {"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 0, 404, "another path"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", 0, 405, "a POST"},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n", 0, 413,
         "a 70000-byte body announced"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error_close(impl, port, bad[i].data, bad[i].len ? bad[i].len : strlen(bad[i].data),
                           bad[i].status, bad[i].what);
    send_ok(impl, other, "\r\n", 2, "the other connection's end");
    expect_200(impl, other, 9, "the other connection, after the malformed ones");
    hc_close(other);
    expect_alive(impl, sp, "after malformed requests");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "status_400") == 7, "status_400 = %lld, want 7",
           counter(impl, ctr, "status_400"));
}

Test(servers, malformed_gets_400, .timeout = 30)
{
    for_each_impl(case_malformed);
}

/* Query values out of range or not numbers: 400 and a close, not a clamp. */
static void case_bad_query(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    static const char *const targets[] = {
        "/?wait_us=-1",       "/?wait_us=abc",      "/?bytes=99999999999", "/?bytes=1048577",
        "/?work_us=10000001", "/?wait_us=60000001", "/?wait_us=",          "/?bytes",
        "/?bytes=1x",         "/?bytes=+5",         "/?nosuch=1",          "/?bytes=5&wait_us=-1",
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char req[256];
        get_req(req, sizeof req, targets[i], NULL);
        expect_error_close(impl, port, req, strlen(req), 400, targets[i]);
    }
    expect_served(impl, port, "after bad queries");
    stop_ok(impl, sp);
}

Test(servers, bad_query_values_400, .timeout = 30)
{
    for_each_impl(case_bad_query);
}

/* Headers past 8 KiB: 431 (one huge header or many small ones); 7 KiB is fine. */
static void case_big_headers(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    static char req[32 * 1024], fill[16 * 1024];
    size_t cap = sizeof req;

    memset(fill, 'a', 7000);
    int n =
        snprintf(req, cap, "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\nX-Fill: %.7000s\r\n\r\n", fill);
    struct hc_conn *c = connect_ok(impl, port);
    send_ok(impl, c, req, (size_t)n, "a 7000-byte header");
    expect_200(impl, c, 2, "a 7000-byte header (under 8 KiB)");
    hc_close(c);

    memset(fill, 'a', 9000);
    n = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: %.9000s\r\n\r\n", fill);
    expect_error_close(impl, port, req, (size_t)n, 431, "one 9000-byte header");

    n = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 200; i++)
        n += snprintf(req + n, cap - (size_t)n, "X-H%03d: %040d\r\n", i, i);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    expect_error_close(impl, port, req, (size_t)n, 431, "200 headers of 50 bytes");
    expect_served(impl, port, "after oversized headers");
    stop_ok(impl, sp);
}

Test(servers, oversized_header_431, .timeout = 30)
{
    for_each_impl(case_big_headers);
}

/* A target past 2 KiB: 414; 2000 bytes is fine. */
static void case_long_uri(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    char target[4096], req[4200];
    int n = snprintf(target, sizeof target, "/?bytes=3");
    while (n < 1990)
        n += snprintf(target + n, sizeof target - (size_t)n, "&wait_us=0");
    get_req(req, sizeof req, target, NULL);
    struct hc_conn *c = connect_ok(impl, port);
    send_ok(impl, c, req, strlen(req), "a 1990-byte target");
    expect_200(impl, c, 3, "a 1990-byte target");
    hc_close(c);
    while (n < 3000)
        n += snprintf(target + n, sizeof target - (size_t)n, "&wait_us=0");
    get_req(req, sizeof req, target, NULL);
    expect_error_close(impl, port, req, strlen(req), 414, "a 3000-byte target");
    expect_served(impl, port, "after a long URI");
    stop_ok(impl, sp);
}

Test(servers, long_uri_414, .timeout = 30)
{
    for_each_impl(case_long_uri);
}

/* Clients that vanish: mid-request (FIN and RST), during the wait, and without reading a
   1 MiB answer. The server keeps serving and counts the aborts. */
static void case_vanish(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    const char *half = "GET /?bytes=5 HTTP/1.1\r\nHo";
    struct hc_conn *c = connect_ok(impl, port);
    send_ok(impl, c, half, strlen(half), "half a request, then FIN");
    tenv_sleep_ms(20);
    hc_close(c);

    c = connect_ok(impl, port);
    send_ok(impl, c, half, strlen(half), "half a request, then RST");
    tenv_sleep_ms(20);
    hc_abort(c);

    c = connect_ok(impl, port);
    send_get(impl, c, "/?wait_us=50000&bytes=5");
    hc_abort(c); /* gone before the answer is written */

    c = connect_ok(impl, port);
    send_get(impl, c, "/?bytes=1048576");
    tenv_sleep_ms(20);
    hc_abort(c); /* gone with most of a 1 MiB answer unread */

    tenv_sleep_ms(150); /* past the 50 ms wait */
    expect_alive(impl, sp, "after clients vanished");
    expect_served(impl, port, "after clients vanished");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "aborted") >= 2,
           "aborted = %lld, want >= 2 (two clients left mid-request)",
           counter(impl, ctr, "aborted"));
}

Test(servers, client_vanishes_mid_request, .timeout = 30)
{
    for_each_impl(case_vanish);
}

/* 50 connections that send half a request and stall do not delay a normal client; when
   they finish their requests, they are served too. */
#define STALLED 50
static void case_stalled(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *s[STALLED];
    const char *half = "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < STALLED; i++) {
        s[i] = connect_ok(impl, port);
        send_ok(impl, s[i], half, strlen(half), "a stalled half request");
    }
    tenv_sleep_ms(50);
    struct hc_conn *c = connect_ok(impl, port);
    for (int i = 0; i < 3; i++) {
        double ms = timed_get(impl, c, "/?wait_us=20000&bytes=4", 4);
        EXPECT(impl, ms >= 20 && ms < 20 + 100 * tenv_slack(),
               "with %d stalled connections, a 20 ms request took %.2f ms", STALLED, ms);
    }
    hc_close(c);
    for (int i = 0; i < STALLED; i++)
        send_ok(impl, s[i], "\r\n", 2, "the stalled request's end");
    for (int i = 0; i < STALLED; i++) {
        expect_200(impl, s[i], 2, "a stalled request, completed");
        hc_close(s[i]);
    }
    stop_ok(impl, sp);
}

Test(servers, stalled_clients_do_not_block, .timeout = 30)
{
    for_each_impl(case_stalled);
}

/* --idle-timeout-ms 300 closes a silent connection, one idle after an answer and one that
   stalls mid-request, each after about 300 ms; a connection active every 100 ms stays. */
static void case_idle(const char *impl)
{
    const char *args[] = {"--idle-timeout-ms", "300", NULL};
    struct server_proc *sp = start(impl, args);
    int port = server_port(sp);
    const char *names[3] = {"a silent connection", "a connection idle after an answer",
                            "a connection stalled mid-request"};
    struct hc_conn *c[3];
    double since[3];
    c[0] = connect_ok(impl, port);
    since[0] = hc_now_ms();
    c[1] = connect_ok(impl, port);
    send_get(impl, c[1], "/?bytes=1");
    expect_200(impl, c[1], 1, names[1]);
    since[1] = hc_now_ms();
    c[2] = connect_ok(impl, port);
    send_ok(impl, c[2], "GET / HT", 8, names[2]);
    since[2] = hc_now_ms();

    struct hc_conn *busy = connect_ok(impl, port);
    for (int i = 0; i < 7; i++) { /* 700 ms, never 300 ms silent */
        send_get(impl, busy, "/?bytes=1");
        expect_200(impl, busy, 1, "a connection active every 100 ms");
        tenv_sleep_ms(100);
    }
    EXPECT(impl, hc_wait_close(busy, 1) == 0, "the busy connection was closed");
    send_get(impl, busy, "/?bytes=1");
    expect_200(impl, busy, 1, "the busy connection, at the end");
    hc_close(busy);
    for (int i = 0; i < 3; i++) {
        int closed = hc_wait_close(c[i], (int)(2000 * tenv_slack()));
        double ms = hc_now_ms() - since[i];
        EXPECT(impl, closed == 1, "%s: still open %.0f ms later (idle timeout 300 ms)", names[i],
               ms);
        EXPECT(impl, c[i]->len == 0, "%s: unexpected bytes before the close: %.200s", names[i],
               c[i]->buf);
        hc_close(c[i]);
    }
    /* Those closed while the busy loop ran; a fresh silent connection times the close. */
    struct hc_conn *fresh = connect_ok(impl, port);
    double t0 = hc_now_ms();
    int closed = hc_wait_close(fresh, (int)(2000 * tenv_slack()));
    double ms = hc_now_ms() - t0;
    EXPECT(impl, closed == 1 && ms >= 250 && ms < 300 + 700 * tenv_slack(),
           "a silent connection closed=%d after %.0f ms (idle timeout 300 ms)", closed, ms);
    hc_close(fresh);
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "idle_timeouts") >= 4, "idle_timeouts = %lld, want >= 4",
           counter(impl, ctr, "idle_timeouts"));
}

Test(servers, idle_timeout_closes, .timeout = 30)
{
    for_each_impl(case_idle);
}

/* A client that trickles a request one byte every 100 ms is never silent for the 300 ms
   idle timeout, yet it must not hold its connection forever: the request as a whole has
   to arrive within the timeout (slowloris). */
static void case_trickle(const char *impl)
{
    const char *args[] = {"--idle-timeout-ms", "300", NULL};
    struct server_proc *sp = start(impl, args);
    struct hc_conn *c = connect_ok(impl, server_port(sp));
    const char *req = "GET /?bytes=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 0123456789\r\n\r\n";
    double t0 = hc_now_ms(), closed_at = -1;
    double give_up = 300 + 1200 * tenv_slack();
    for (size_t i = 0; req[i] && closed_at < 0 && hc_now_ms() - t0 < give_up; i++) {
        if (hc_send(c, req + i, 1, io_ms()) < 0 || hc_wait_close(c, 100) == 1)
            closed_at = hc_now_ms() - t0;
    }
    EXPECT(impl, closed_at >= 0,
           "a request trickled over %.0f ms (one byte per 100 ms) was never cut off by the "
           "300 ms idle timeout",
           hc_now_ms() - t0);
    EXPECT(impl, closed_at >= 250 && closed_at < 300 + 700 * tenv_slack(),
           "the trickling client was closed after %.0f ms (idle timeout 300 ms)", closed_at);
    hc_close(c);
    expect_served(impl, server_port(sp), "after a trickling client");
    stop_ok(impl, sp);
}

Test(servers, trickling_request_times_out, .timeout = 30)
{
    for_each_impl(case_trickle);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

/* SIGTERM with connections idle, mid-request and mid-wait: exit 0 promptly with one JSON
   counters line that matches what was sent. SIGINT likewise. */
static void case_sigterm(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *a = connect_ok(impl, port), *b = connect_ok(impl, port);
    for (int i = 0; i < 3; i++) {
        send_get(impl, a, "/?bytes=1");
        expect_200(impl, a, 1, "counted request on a");
    }
    for (int i = 0; i < 2; i++) {
        send_get(impl, b, "/?bytes=1");
        expect_200(impl, b, 1, "counted request on b");
    }
    expect_error_close(impl, port, "GARBAGE\r\n\r\n", 11, 400, "a counted malformed request");
    struct hc_conn *half = connect_ok(impl, port);
    send_ok(impl, half, "GET / HTTP/1.1\r\n", 16, "half a request");
    struct hc_conn *waiting = connect_ok(impl, port);
    send_get(impl, waiting, "/?wait_us=5000000"); /* still waiting when the signal comes */
    tenv_sleep_ms(50);
    double t0 = hc_now_ms();
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    double ms = hc_now_ms() - t0;
    EXPECT(impl, ms < 2000 * tenv_slack(), "SIGTERM with open connections took %.0f ms to exit",
           ms);
    EXPECT(impl, counter(impl, ctr, "accepted") == 5, "accepted = %lld, want 5",
           counter(impl, ctr, "accepted"));
    EXPECT(impl, counter(impl, ctr, "requests") == 5, "requests = %lld, want 5",
           counter(impl, ctr, "requests"));
    EXPECT(impl, counter(impl, ctr, "status_400") == 1, "status_400 = %lld, want 1",
           counter(impl, ctr, "status_400"));
    hc_close(a);
    hc_close(b);
    hc_close(half);
    hc_close(waiting);

    sp = start(impl, NULL);
    expect_served(impl, server_port(sp), "before SIGINT");
    ctr = stop_counters(impl, sp, SIGINT, NULL);
    EXPECT(impl, counter(impl, ctr, "requests") == 1, "after SIGINT: requests = %lld, want 1",
           counter(impl, ctr, "requests"));
}

Test(servers, sigterm_exit_and_counters, .timeout = 30)
{
    for_each_impl(case_sigterm);
}

/* Command-line errors exit 2 naming the flag; --help exits 0. */
static void case_cli(const char *impl)
{
    char path[4096], out[8192];
    snprintf(path, sizeof path, "%s/%s_server", server_bin_dir(), impl);
    struct {
        const char *args[4];
        int code;
        const char *needle;
    } cases[] = {
        {{"--help"}, 0, "--idle-timeout-ms"},
        {{"--bogus"}, 2, "--bogus"},
        {{"--bytes", "2000000"}, 2, "--bytes"},
        {{"--wait-us", "abc"}, 2, "--wait-us"},
        {{"stray"}, 2, "stray"},
        {{"--stack-kib", "256"}, strcmp(impl, "thread") == 0 ? -1 : 2, "--stack-kib"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].code < 0)
            continue; /* a valid flag for the thread server: the server would run */
        char *argv[6] = {path};
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[k + 1] = (char *)cases[i].args[k];
        int st = tenv_run_cmd(argv, out, sizeof out, (int)(5000 * tenv_slack()));
        EXPECT(impl, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == cases[i].code,
               "%s %s: exit %d, want %d; output: %s", path, cases[i].args[0],
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, cases[i].code, out);
        EXPECT(impl, strstr(out, cases[i].needle), "%s %s: output does not mention %s: %s", path,
               cases[i].args[0], cases[i].needle, out);
    }
}

Test(servers, command_line, .timeout = 30)
{
    for_each_impl(case_cli);
}

/* ---- fd exhaustion ---------------------------------------------------------------------- */

/* With RLIMIT_NOFILE at 32 (set before exec), 40 connections: the ones the server could
   accept are served, the rest wait in the backlog while the server neither dies nor spins,
   and are served once the first ones close. */
#define FD_CONNS 40
static void case_fd_limit(const char *impl)
{
    const struct server_rlimit lim = {RLIMIT_NOFILE, 32, 32};
    struct server_spec spec = {.impl = impl, .limits = &lim, .nlimits = 1};
    struct server_proc *sp = start_spec(&spec);
    int port = server_port(sp);
    struct hc_conn *c[FD_CONNS];
    bool answered[FD_CONNS] = {false};
    int n = 0;
    for (int i = 0; i < FD_CONNS; i++) {
        c[i] = connect_ok(impl, port); /* the kernel completes the handshake into the backlog */
        send_get(impl, c[i], "/?bytes=1");
    }
    double cpu0 = cpu_seconds(server_pid(sp)), t0 = hc_now_ms();
    for (int i = 0; i < FD_CONNS; i++) {
        struct hc_response *r = resp_new();
        int rc = hc_read_response(c[i], r, i == 0 ? io_ms() : (int)(50 * tenv_slack()));
        int e = errno;
        EXPECT(impl, rc == 0 || e == ETIMEDOUT, "connection %d: %s", i, strerror(e));
        if (rc == 0) {
            EXPECT(impl, r->status == 200, "connection %d: status %d", i, r->status);
            answered[i] = true;
            n++;
        }
        resp_done(r);
    }
    tenv_sleep_ms(300); /* the server sits at its fd limit */
    double cpu = cpu_seconds(server_pid(sp)) - cpu0, wall = (hc_now_ms() - t0) / 1e3;
    cr_log_info("[%s] %d of %d connections served at RLIMIT_NOFILE 32; %.2f s CPU in %.2f s", impl,
                n, FD_CONNS, cpu, wall);
    EXPECT(impl, n >= 16 && n < FD_CONNS,
           "%d of %d connections answered with 32 fds: want at least 16 and not all", n, FD_CONNS);
    EXPECT(impl, cpu >= 0 && cpu < 0.3 * wall,
           "the server burnt %.2f s CPU in %.2f s while out of fds (spinning on accept?)", cpu,
           wall);
    expect_alive(impl, sp, "at its fd limit");
    for (int i = 0; i < FD_CONNS; i++)
        if (answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    for (int i = 0; i < FD_CONNS; i++)
        if (c[i]) {
            expect_200(impl, c[i], 1, "a connection that waited for a free fd");
            hc_close(c[i]);
        }
    expect_served(impl, port, "after the fd limit was hit");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "accept_emfile") >= 1, "accept_emfile = %lld, want >= 1",
           counter(impl, ctr, "accept_emfile"));
}

Test(servers, fd_limit_recovers, .timeout = 30)
{
    for_each_impl(case_fd_limit);
}

/* ---- thread exhaustion ----------------------------------------------------------------- */

/* The thread server, made unable to map more thread stacks, answers 503 to the excess
   connections and serves the rest. RLIMIT_NPROC does not bind root, so the limit is on
   address space: set with prlimit once the server runs, at its measured size plus room for
   THREADS_OK stacks and half a stack (for malloc), so that only stacks can fail. Measuring
   first is what makes this work under ASan and TSan too: their shadow reservations are
   already in the measured size, where a limit set before exec would stop them starting. */
#define THREADS_OK 3
#define HELD       12
static void case_thread_503(const char *impl)
{
    const long stack_kib = 8192;
    const char *args[] = {"--stack-kib", "8192", NULL};
    struct server_proc *sp = start(impl, args);
    int port = server_port(sp);
    /* Warm up first: the first thread creates its malloc arena and, once gone, leaves its
       stack in glibc's cache, both counted in the size measured next. */
    expect_served(impl, port, "before the limit");
    tenv_sleep_ms(50);
    struct proc_mem pm;
    EXPECT(impl, procfs_read_status(server_pid(sp), &pm) == 0, "reading /proc/%d/status: %s",
           (int)server_pid(sp), strerror(errno));
    rlim_t limit = (rlim_t)(pm.vsz_kib + THREADS_OK * stack_kib + stack_kib / 2) * 1024;
    EXPECT(impl, server_set_rlimit(sp, RLIMIT_AS, limit, RLIM_INFINITY) == 0,
           "prlimit(RLIMIT_AS, %llu): %s", (unsigned long long)limit, strerror(errno));

    struct hc_conn *c[HELD];
    bool got503[HELD] = {false};
    for (int i = 0; i < HELD; i++)
        c[i] = connect_ok(impl, port);
    int n503 = 0;
    for (int i = 0; i < HELD; i++) {
        /* Held connections send nothing yet: an answer now can only be the 503. */
        struct hc_response *r = resp_new();
        int rc = hc_read_response(c[i], r, i < THREADS_OK ? 100 : (int)(300 * tenv_slack()));
        if (rc < 0) {
            int e = errno;
            resp_done(r);
            EXPECT(impl, e == ETIMEDOUT, "held connection %d: %s", i, strerror(e));
            continue;
        }
        EXPECT(impl, r->status == 503, "held connection %d: unasked answer %d", i, r->status);
        EXPECT(impl, hc_wait_close(c[i], io_ms()) == 1, "held connection %d: open after 503", i);
        got503[i] = true;
        n503++;
        resp_done(r);
    }
    /* glibc's cached stack from the warm-up makes room for one more; allow some slack for
       the libc and sanitizer runtimes, but most of the excess must be refused. */
    EXPECT(impl, n503 >= HELD - THREADS_OK - 3,
           "%d of %d connections got 503, want at least %d, with room for about %d threads "
           "(RLIMIT_AS %llu, VmSize was %ld KiB)",
           n503, HELD, HELD - THREADS_OK - 3, THREADS_OK + 1, (unsigned long long)limit,
           pm.vsz_kib);
    EXPECT(impl, n503 <= HELD - THREADS_OK,
           "%d of %d connections got 503, but %d threads should fit", n503, HELD, THREADS_OK);
    cr_log_info("[%s] %d of %d held connections got 503 (RLIMIT_AS %llu KiB, VmSize %ld KiB)", impl,
                n503, HELD, (unsigned long long)(limit / 1024), pm.vsz_kib);
    expect_alive(impl, sp, "after failing to create threads");
    for (int i = 0; i < HELD; i++) {
        if (got503[i])
            continue;
        send_get(impl, c[i], "/?bytes=6");
        expect_200(impl, c[i], 6, "a connection that got a thread");
    }
    for (int i = 0; i < HELD; i++)
        hc_close(c[i]);
    tenv_sleep_ms(100); /* their threads end and free their stacks */
    expect_served(impl, port, "after the held connections closed");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "thread_create_failed") >= n503,
           "thread_create_failed = %lld, but %d connections got 503",
           counter(impl, ctr, "thread_create_failed"), n503);
    EXPECT(impl, counter(impl, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           counter(impl, ctr, "status_503"), n503);
}

Test(servers, thread_server_503_without_threads, .timeout = 30)
{
    if (!tenv_impl_enabled("thread"))
        cr_skip_test("TVT_IMPLS=%s excludes the thread server", getenv("TVT_IMPLS"));
    case_thread_503("thread");
}
