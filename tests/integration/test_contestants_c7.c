/* test_contestants_c7: claim C7's two mechanisms in the contestants, as in the C servers:
 * the table every connection shares (state=shared: the counts per key, under contention too,
 * a full table, the bad values) and the graceful stop (idle connections closed by a FIN,
 * connects refused, requests in flight answered with Connection: close, or cut past
 * --grace-ms; nginx's own under its stop wrapper). A contestant whose binary or toolchain is
 * absent is skipped with the reason; they are looked for in bin/, as in test_contestants.c. */

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/contestant.h"
#include "../support/http_client.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

#define EXPECT CT_EXPECT

/* Claim C7, "handling shared resources": the table every connection shares (state=shared). */

/* Reads one 200 on c (bytes 0) and returns its X-Shared-Count, -1 when it has none. */
static long long read_shared(const struct ct_running *r, struct hc_conn *c, const char *what)
{
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, tenv_io_ms());
    int e = errno;
    EXPECT(r->who->name, rc == 0, "%s: no complete answer: %s", what, strerror(e));
    EXPECT(r->who->name, resp->status == 200, "%s: status %d, want 200: %.200s", what, resp->status,
           resp->body);
    char v[32];
    long long n = hc_header(resp, "X-Shared-Count", v, sizeof v) ? atoll(v) : -1;
    resp_done(resp);
    return n;
}

/* Sends one request for target on c and returns the answer's X-Shared-Count. */
static long long ask_shared(const struct ct_running *r, struct hc_conn *c, const char *target)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    ct_send(r, c, req, target);
    return read_shared(r, c, target);
}

/* The shared counters agree with the updates made: none lost, each counted once. */
static void expect_shared_counts(const char *who, json_t *ctr, long long updates)
{
    long long made = ct_counter(who, ctr, "shared_updates");
    EXPECT(who, made == updates && ct_counter(who, ctr, "shared_counted") == updates,
           "shared_updates %lld, shared_counted %lld, want %lld both", made,
           ct_counter(who, ctr, "shared_counted"), updates);
    EXPECT(who, ct_counter(who, ctr, "shared_lost") == 0, "shared_lost = %lld",
           ct_counter(who, ctr, "shared_lost"));
    long long share = ct_counter(who, ctr, "share_ns"),
              wait = ct_counter(who, ctr, "share_wait_ns");
    EXPECT(who, wait >= 0 && wait <= share, "share_wait_ns %lld is not part of share_ns %lld", wait,
           share);
    /* Go cannot see a parked goroutine's switches: null, not a made-up 0. */
    json_t *sw = json_object_get(ctr, "lock_switches");
    EXPECT(who, strcmp(who, "go") == 0 ? json_is_null(sw) : json_is_integer(sw),
           "lock_switches is neither a count nor, for Go, null");
    ct_counter(who, ctr, "lock_contended");
}

/* state=shared: a key's count goes up by one per update, whichever connection makes it, and
   the answer says it (X-Shared-Count); other keys count apart; a request without state=shared
   has no such header; the default key is "-"; share_us of CPU is spent inside each update. */
static void case_shared_counts(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    struct hc_conn *a = ct_connect(r), *b = ct_connect(r);
    long long n;
    for (int i = 1; i <= 4; i++) {
        n = ask_shared(r, a, "/?bytes=0&state=shared&key=alpha");
        EXPECT(who->name, n == 2 * i - 1, "alpha on one connection: count %lld, want %d", n,
               2 * i - 1);
        n = ask_shared(r, b, "/?bytes=0&state=shared&key=alpha");
        EXPECT(who->name, n == 2 * i, "alpha on another: count %lld, want %d", n, 2 * i);
        n = ask_shared(r, b, "/?bytes=0&state=shared&key=beta.2_B-");
        EXPECT(who->name, n == i, "beta.2_B-: count %lld, want %d", n, i);
    }
    n = ask_shared(r, a, "/?bytes=0");
    EXPECT(who->name, n == -1, "a request without state=shared says X-Shared-Count %lld", n);
    for (int i = 1; i <= 2; i++) {
        n = ask_shared(r, a, "/?bytes=0&state=shared&share_us=5000");
        EXPECT(who->name, n == i, "the default key '-': count %lld, want %d", n, i);
    }
    hc_close_all();
    json_t *ctr = ct_stop(r, 15);
    expect_shared_counts(who->name, ctr, 14);
    long long share = ct_counter(who->name, ctr, "share_ns");
    EXPECT(who->name, share >= 2 * 5000000LL + 12 * 2000LL,
           "share_ns = %lld: less than the share_us spent inside the updates", share);
    EXPECT(who->name, ct_counter(who->name, ctr, "shared_full") == 0, "shared_full counted");
}

#define HOT_CONNS 8
#define HOT_EACH  50

/* Eight connections at once, 50 pipelined updates each of one key, 20 us of CPU inside each:
   the 400 answers' counts are 1..400, each once (no update lost, none counted twice), whatever
   guards the table, and the counters agree. */
static void case_shared_contended(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    static const char one[] = "GET /?bytes=0&state=shared&share_us=20&key=hot HTTP/1.1\r\n"
                              "Host: a\r\n\r\n";
    static char burst[HOT_EACH * sizeof one];
    burst[0] = '\0';
    for (int i = 0; i < HOT_EACH; i++)
        strcat(burst, one);
    struct hc_conn *c[HOT_CONNS];
    for (int i = 0; i < HOT_CONNS; i++)
        c[i] = ct_connect(r);
    for (int i = 0; i < HOT_CONNS; i++)
        ct_send(r, c[i], burst, "50 pipelined updates of one key");
    static bool seen[HOT_CONNS * HOT_EACH + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < HOT_CONNS; i++)
        for (int j = 0; j < HOT_EACH; j++) {
            long long n = read_shared(r, c[i], "an update of a contended key");
            EXPECT(who->name, n >= 1 && n <= HOT_CONNS * HOT_EACH && !seen[n],
                   "count %lld of key hot: out of 1..%d, or given twice", n, HOT_CONNS * HOT_EACH);
            seen[n] = true;
        }
    hc_close_all();
    json_t *ctr = ct_stop(r, HOT_CONNS * HOT_EACH);
    expect_shared_counts(who->name, ctr, HOT_CONNS * HOT_EACH);
}

/* 1024 keys fill the table; a new key is then answered 503 saying so, the connection kept,
   and counted (shared_full, status_503); a key the table holds still counts. */
static void case_shared_full(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    struct hc_conn *c = ct_connect(r);
    static char batch[64 * 96];
    for (int k = 0; k < 1024; k += 64) {
        batch[0] = '\0';
        for (int i = k; i < k + 64; i++) {
            char one[96];
            snprintf(one, sizeof one,
                     "GET /?bytes=0&state=shared&share_us=0&key=k%04d HTTP/1.1\r\nHost: a\r\n\r\n",
                     i);
            strcat(batch, one);
        }
        ct_send(r, c, batch, "64 new keys");
        for (int i = k; i < k + 64; i++)
            EXPECT(who->name, read_shared(r, c, "a new key") == 1, "key k%04d: not a first count",
                   i);
    }
    ct_send(r, c, "GET /?bytes=0&state=shared&key=one-more HTTP/1.1\r\nHost: a\r\n\r\n",
            "a new key, the table full");
    ct_expect_status(r, c, 503, "full", true, "a new key, the table full");
    long long n = ask_shared(r, c, "/?bytes=0&state=shared&key=k0007");
    EXPECT(who->name, n == 2, "a key of the full table: count %lld, want 2", n);
    hc_close(c);
    json_t *ctr = ct_stop(r, 1025);
    expect_shared_counts(who->name, ctr, 1025);
    EXPECT(who->name,
           ct_counter(who->name, ctr, "shared_full") == 1 &&
               ct_counter(who->name, ctr, "status_503") == 1,
           "shared_full %lld, status_503 %lld, want 1 each",
           ct_counter(who->name, ctr, "shared_full"), ct_counter(who->name, ctr, "status_503"));
}

/* Runs the contestant's binary with one flag and value: exit 2, the flag named. */
static void expect_flag_refused(const struct contestant *who, const char *flag, const char *value)
{
    char path[256], out[8192];
    ct_binary(who, path, sizeof path);
    char *argv[8] = {path};
    int n = 1;
    for (int i = 0; who->args && who->args[i] && n < 4; i++)
        argv[n++] = (char *)who->args[i];
    argv[n++] = (char *)flag;
    argv[n++] = (char *)value;
    argv[n] = NULL;
    int st = tenv_run_cmd(argv, out, sizeof out, tenv_io_ms());
    EXPECT(who->name, WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s: status %d, want exit 2", flag,
           value, st);
    EXPECT(who->name, strstr(out, flag), "%s %s refused without naming it: %s", flag, value, out);
}

/* The shared state's and the stop's values out of range or malformed are refused, never
   clamped: a 400 naming the query key, exit 2 naming the flag. --state shared and --share-us
   set the defaults that the query overrides. */
static void case_shared_refusals(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    static const struct {
        const char *query, *names;
    } bad[] = {
        {"state=global", "state"},
        {"state=", "state"},
        {"share_us=1000001", "share_us"},
        {"share_us=-1", "share_us"},
        {"key=", "key"},
        {"key=a/b", "key"},
        {"key=%41", "key"},
        {"key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "key"}, /* 33 */
    };
    char req[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(req, sizeof req, "GET /?state=shared&%s HTTP/1.1\r\nHost: a\r\n\r\n",
                 bad[i].query);
        ct_expect_error_close(r, req, 400, bad[i].names, bad[i].query);
    }
    json_t *ctr = ct_stop(r, 0);
    EXPECT(who->name,
           ct_counter(who->name, ctr, "status_400") == (long long)(sizeof bad / sizeof bad[0]),
           "status_400 = %lld", ct_counter(who->name, ctr, "status_400"));
    EXPECT(who->name, ct_counter(who->name, ctr, "shared_updates") == 0,
           "a refused update counted");
    expect_flag_refused(who, "--state", "global");
    expect_flag_refused(who, "--share-us", "1000001");
    expect_flag_refused(who, "--grace-ms", "600001");

    const char *const args[] = {"--state", "shared", "--share-us", "0", NULL};
    r = ct_start(who, args);
    struct hc_conn *c = ct_connect(r);
    EXPECT(who->name, ask_shared(r, c, "/?bytes=0") == 1, "--state shared: no count by default");
    EXPECT(who->name, ask_shared(r, c, "/?bytes=0") == 2, "--state shared: not counted up");
    EXPECT(who->name, ask_shared(r, c, "/?bytes=0&state=none") == -1,
           "state=none over --state shared still counted");
    hc_close(c);
    ctr = ct_stop(r, 3);
    expect_shared_counts(who->name, ctr, 2);
}

/* Claim C7, "ensuring proper shutdown": the graceful stop at SIGTERM. */

#define STOP_IDLE     6   /* keep-alive connections, each answered once, idle at the signal */
#define STOP_INFLIGHT 4   /* connections with a request waiting STOP_WAIT_MS at the signal */
#define STOP_WAIT_MS  500 /* the in-flight requests' wait */
#define STOP_SETTLE   50  /* ms from sending them to the signal: they reach their wait */

/* c is closed by a FIN (not a reset) within ms, with no bytes sent. */
static void expect_fin(const struct ct_running *r, struct hc_conn *c, int ms, const char *what)
{
    EXPECT(r->who->name, hc_wait_close(c, ms) == 1, "%s: still open %d ms after SIGTERM", what, ms);
    EXPECT(r->who->name, c->eof && !c->reset, "%s: closed by a reset, not a FIN", what);
    EXPECT(r->who->name, c->len == 0, "%s: %zu unasked bytes before the close", what, c->len);
}

/* A connect after the signal is refused: the listener is gone. */
static void expect_refused(const struct ct_running *r)
{
    struct hc_conn *c = hc_connect(r->port, 500);
    int e = errno;
    EXPECT(r->who->name, !c && e == ECONNREFUSED, "a connect after SIGTERM: %s, want refused",
           c ? "accepted" : strerror(e));
}

/* SIGTERM with 11 connections: 6 idle keep-alive ones, one holding half a request, 4 with a
   request waiting 500 ms. The idle and the half ones are closed by a FIN at once (before the
   waits end), a new connect is refused, the 4 are answered 200 with Connection: close after
   their whole wait and closed; exit 0, and the stop counters say all of it. */
static void case_graceful_stop(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    struct hc_conn *idle[STOP_IDLE], *busy[STOP_INFLIGHT];
    for (int i = 0; i < STOP_IDLE; i++) {
        idle[i] = ct_connect(r);
        ct_send(r, idle[i], "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", "before the stop");
        ct_expect_200(r, idle[i], 1, "before the stop");
    }
    struct hc_conn *half = ct_connect(r);
    ct_send(r, half, "GET /?bytes=1 HTTP/1.1\r\nHo", "half a request");
    double t_sent = tenv_now_ms();
    for (int i = 0; i < STOP_INFLIGHT; i++) {
        busy[i] = ct_connect(r);
        ct_send(r, busy[i], "GET /?bytes=5&wait_us=500000 HTTP/1.1\r\nHost: a\r\n\r\n",
                "a request in flight");
    }
    tenv_sleep_ms(STOP_SETTLE);
    ct_signal(r, SIGTERM);
    for (int i = 0; i < STOP_IDLE; i++)
        expect_fin(r, idle[i], STOP_WAIT_MS / 2, "an idle keep-alive connection");
    expect_fin(r, half, STOP_WAIT_MS / 2, "a connection holding half a request");
    double closed_at = tenv_now_ms() - t_sent;
    EXPECT(who->name, closed_at < STOP_WAIT_MS,
           "the idle connections closed %.0f ms after the slow requests went out: not before "
           "their %d ms wait was over",
           closed_at, STOP_WAIT_MS);
    expect_refused(r);
    for (int i = 0; i < STOP_INFLIGHT; i++) {
        struct hc_response *resp = resp_new();
        int rc = hc_read_response(busy[i], resp, tenv_io_ms());
        int e = errno;
        double at = tenv_now_ms() - t_sent;
        EXPECT(who->name, rc == 0, "a request in flight at SIGTERM: no answer: %s", strerror(e));
        EXPECT(who->name, resp->status == 200 && hc_body_is(resp, 5, 'x'),
               "a request in flight at SIGTERM: %d with %zu bytes, want 200 with 5", resp->status,
               resp->body_len);
        EXPECT(who->name, resp->conn_close, "the answer during the stop lacks Connection: close");
        EXPECT(who->name, at >= STOP_WAIT_MS - 1, "answered after %.0f ms, before its wait", at);
        resp_done(resp);
        expect_fin(r, busy[i], tenv_io_ms(), "a connection after its answer at the stop");
    }
    EXPECT(who->name, ct_exited_within(r, tenv_io_ms()), "still running after the stop");
    json_t *ctr = ct_stop(r, STOP_IDLE + STOP_INFLIGHT);
    static const struct {
        const char *key;
        long long want;
    } counts[] = {{"stop_inflight", STOP_INFLIGHT},
                  {"stop_answered", STOP_INFLIGHT},
                  {"stop_cut", 0},
                  {"stop_idle_closed", STOP_IDLE},
                  {"stop_partial_closed", 1},
                  {"unfinished_at_exit", 0},
                  {"aborted", 0},
                  {"idle_timeouts", 0},
                  {"closed", STOP_IDLE + STOP_INFLIGHT + 1}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        EXPECT(who->name, ct_counter(who->name, ctr, counts[i].key) == counts[i].want,
               "%s = %lld, want %lld", counts[i].key, ct_counter(who->name, ctr, counts[i].key),
               counts[i].want);
    long long stop_ms = ct_counter(who->name, ctr, "stop_ms");
    EXPECT(who->name, stop_ms >= STOP_WAIT_MS - STOP_SETTLE - 20 && stop_ms < 2000,
           "stop_ms = %lld, want the rest of the %d ms wait", stop_ms, STOP_WAIT_MS);
}

/* --grace-ms 200 with two requests waiting 5 s: past the grace both are cut (closed with no
   answer), not earlier; the idle connection is closed at once; the server exits long before
   the waits would have ended, and counts them cut. */
static void case_grace_cut(const struct contestant *who)
{
    const char *const args[] = {"--grace-ms", "200", NULL};
    struct ct_running *r = ct_start(who, args);
    struct hc_conn *idle = ct_connect(r), *busy[2];
    ct_send(r, idle, "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", "before the stop");
    ct_expect_200(r, idle, 1, "before the stop");
    for (int i = 0; i < 2; i++) {
        busy[i] = ct_connect(r);
        ct_send(r, busy[i], "GET /?bytes=5&wait_us=5000000 HTTP/1.1\r\nHost: a\r\n\r\n",
                "a 5 s request");
    }
    tenv_sleep_ms(STOP_SETTLE);
    double t_sig = tenv_now_ms();
    ct_signal(r, SIGTERM);
    expect_fin(r, idle, 150, "an idle connection, with a short grace");
    for (int i = 0; i < 2; i++)
        ct_expect_cut(r, busy[i], t_sig, 200, 1500, "a request");
    EXPECT(who->name, ct_exited_within(r, 1500), "still running 1.5 s after a 200 ms grace");
    json_t *ctr = ct_stop(r, 1);
    EXPECT(who->name,
           ct_counter(who->name, ctr, "stop_inflight") == 2 &&
               ct_counter(who->name, ctr, "stop_cut") == 2 &&
               ct_counter(who->name, ctr, "stop_answered") == 0 &&
               ct_counter(who->name, ctr, "stop_idle_closed") == 1,
           "stop_inflight %lld, stop_cut %lld, stop_answered %lld, stop_idle_closed %lld; want "
           "2, 2, 0, 1",
           ct_counter(who->name, ctr, "stop_inflight"), ct_counter(who->name, ctr, "stop_cut"),
           ct_counter(who->name, ctr, "stop_answered"),
           ct_counter(who->name, ctr, "stop_idle_closed"));
    long long stop_ms = ct_counter(who->name, ctr, "stop_ms");
    EXPECT(who->name, stop_ms >= 195 && stop_ms < 1500, "stop_ms = %lld, want about 200", stop_ms);
}

TestSuite(contestants_c7, .fini = ct_release, .timeout = 30);

#define C7_TESTS(tag, who)                                                                         \
    CT_TEST(contestants_c7, tag, who, graceful_stop)                                               \
    CT_TEST(contestants_c7, tag, who, grace_cut)                                                   \
    CT_TEST(contestants_c7, tag, who, shared_counts)                                               \
    CT_TEST(contestants_c7, tag, who, shared_contended)                                            \
    CT_TEST(contestants_c7, tag, who, shared_full)                                                 \
    CT_TEST(contestants_c7, tag, who, shared_refusals)

CT_QUERY_CONTESTANTS(C7_TESTS)

/* nginx --graceful: SIGTERM becomes nginx's SIGQUIT through its wrapper. Idle keep-alive
   connections are closed by a FIN, a new connect is refused, and answers being written when
   the signal came are finished whole (16 pipelined 1 MiB answers to a client that reads only
   after the signal: the kernel holds a few of them, nginx the rest), never cut mid-way as a
   stop of one nginx process would; exit 0. */
Test(contestants_c7, nginx_graceful_stop)
{
    const char *const args[] = {"--graceful", "--bytes", "1048576", NULL};
    struct ct_running *r = ct_start(&CT_NGINX, args);
    struct hc_conn *idle[3];
    for (int i = 0; i < 3; i++) {
        idle[i] = ct_connect(r);
        ct_send(r, idle[i], "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "before the stop");
        ct_expect_200(r, idle[i], 1048576, "before the stop");
    }
    struct hc_conn *slow = ct_connect(r);
    for (int i = 0; i < 16; i++)
        ct_send(r, slow, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "a pipelined 1 MiB answer");
    tenv_sleep_ms(300); /* nginx fills the socket's buffers */
    ct_signal(r, SIGTERM);
    for (int i = 0; i < 3; i++)
        expect_fin(r, idle[i], 1000, "an idle keep-alive connection of nginx");
    expect_refused(r);
    int whole = 0;
    for (;;) {
        struct hc_response *resp = resp_new();
        int rc = hc_read_response(slow, resp, tenv_io_ms());
        int e = errno;
        resp_done(resp);
        if (rc < 0) {
            EXPECT("nginx", e == ECONNABORTED && slow->len == 0,
                   "after %d whole answers: %s with %zu bytes of a cut answer", whole, strerror(e),
                   slow->len);
            break;
        }
        whole++;
    }
    EXPECT("nginx", whole >= 1, "no answer finished at the graceful stop");
    /* nginx's lingering close: with requests it never read, it waits for this close (up to
       lingering_timeout, 5 s) before its worker may exit. */
    hc_close(slow);
    ct_stop(r, -1);
}
