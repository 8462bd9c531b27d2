/* test_faults: both servers under abuse (issue 6): slowloris, a burst of bad input, resets,
 * SIGPIPE, SIGTERM under load, fd and thread exhaustion; each bounded in time.
 *
 * Conventions as in test_servers.c: each test runs once per server ("async", then "thread";
 * env TVT_IMPLS narrows it), names the server in every assertion, and checks at the end that
 * the server exits 0 with its counters line, so that a sanitizer report fails the test. Env
 * TVT_SANITIZER (address|thread) stretches time bounds and scales the work down. Helper
 * threads that drive many sockets never assert: they record, and the test asserts after
 * joining them. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

/* ---- a helper thread that drives sockets; .fini stops it after a failed assert ---------- */

static atomic_bool bg_stop;
static pthread_t bg_tid;
static bool bg_running;

static void bg_start(void *(*fn)(void *), void *arg)
{
    cr_assert(!bg_running, "a helper thread is already running");
    atomic_store(&bg_stop, false);
    int rc = pthread_create(&bg_tid, NULL, fn, arg);
    cr_assert(rc == 0, "pthread_create: %s", strerror(rc));
    bg_running = true;
}

/* Tells the helper to stop (unless it should end on its own) and joins it. */
static void bg_join(bool tell)
{
    if (!bg_running)
        return;
    if (tell)
        atomic_store(&bg_stop, true);
    pthread_join(bg_tid, NULL);
    bg_running = false;
}

/* ---- servers this test started, so that .fini can stop them after a failed assert ---- */

/* Responses, payloads and the counters document live where .fini releases them, so that a
   failed assertion (which skips the test's own frees) leaves nothing for LeakSanitizer. */
#define MAX_PAYLOADS 256
static char *payloads[MAX_PAYLOADS];

static void release_all(void)
{
    bg_join(true); /* before closing the sockets it drives */
    itest_release();
    for (int i = 0; i < MAX_PAYLOADS; i++) {
        free(payloads[i]);
        payloads[i] = NULL;
    }
}

/* ---- /proc figures of the server ---------------------------------------------------- */

/* Open fds of pid, counting only those numbered below `below` (0: all); -1 on error. */
static int fd_count(pid_t pid, int below)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (below <= 0 || atoi(e->d_name) < below)
            n++;
    }
    closedir(d);
    return n;
}

static long thread_count(pid_t pid)
{
    struct proc_mem pm;
    return procfs_read_status(pid, &pm) == 0 ? pm.threads : -1;
}

/* Polls until the server's fd count (and, for want_threads >= 0, its thread count) is back
   at the given figures, or timeout_ms passes. true when reached; the last figures in *fds,
   *threads. Closing is asynchronous in both servers: a reset is noticed on the next read. */
static bool settle(pid_t pid, int want_fds, long want_threads, int timeout_ms, int *fds,
                   long *threads)
{
    double deadline = hc_now_ms() + timeout_ms;
    for (;;) {
        *fds = fd_count(pid, 0);
        *threads = want_threads >= 0 ? thread_count(pid) : -1;
        if (*fds == want_fds && *threads == want_threads)
            return true;
        if (hc_now_ms() > deadline)
            return false;
        tenv_sleep_ms(10);
    }
}

static void send_get(const char *impl, struct hc_conn *c, const char *target)
{
    char req[4096];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);
    send_ok(impl, c, req, strlen(req), target);
}

/* Reads one answer within timeout_ms and checks it is a 200 with exactly `bytes` 'x'. */
static void expect_200_within(const char *impl, struct hc_conn *c, size_t bytes, int timeout_ms,
                              const char *what)
{
    struct hc_response *r = resp_new();
    int rc = hc_read_response(c, r, timeout_ms);
    int e = errno;
    EXPECT(impl, rc == 0, "%s: no complete response within %d ms: %s (%zu bytes buffered: %.200s)",
           what, timeout_ms, strerror(e), c->len, c->buf ? c->buf : "");
    EXPECT(impl, r->status == 200, "%s: status %d, want 200; head: %s body: %.200s", what,
           r->status, r->head, r->body);
    EXPECT(impl, hc_body_is(r, bytes, 'x'), "%s: body is %zu bytes, not %zu 'x'", what, r->body_len,
           bytes);
    resp_done(r);
}

static void expect_200(const char *impl, struct hc_conn *c, size_t bytes, const char *what)
{
    expect_200_within(impl, c, bytes, io_ms(), what);
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

/* Reads until at least `want` bytes are buffered (or the peer closes, or timeout_ms). */
static void read_at_least(struct hc_conn *c, size_t want, int timeout_ms)
{
    double deadline = hc_now_ms() + timeout_ms;
    while (c->len < want && !c->eof && !c->reset && hc_now_ms() < deadline) {
        int f = hc_fill(c);
        if (f < 0)
            break;
        if (f == 0) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            poll(&p, 1, 10);
        }
    }
}

TestSuite(faults, .fini = release_all, .timeout = 60);

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

static void case_slowloris(const char *impl)
{
    const int n = tenv_scaled(SLOW_MAX);
    char idle[16];
    snprintf(idle, sizeof idle, "%d", SLOW_IDLE_MS);
    const char *args[] = {"--idle-timeout-ms", idle, NULL};
    struct server_proc *sp = start(impl, args);
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
        slow[i] = connect_ok(impl, port);
        opened[i] = hc_now_ms();
        send_ok(impl, slow[i], head, strlen(head), "a slowloris request line");
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
    EXPECT(impl, fds >= fds0 + n,
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
        struct hc_conn *c = connect_ok(impl, port);
        send_get(impl, c, target);
        expect_200(impl, c, 16, "a normal client among the slowloris connections");
        double ms = hc_now_ms() - t0;
        hc_close(c);
        worst = ms > worst ? ms : worst;
        if (probes < 64)
            lat[probes] = ms;
        probes++;
        EXPECT(impl, ms < bound,
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
                impl, n, t_open, t_accepted, probes, nlat ? lat[nlat / 2] : 0, worst, first_close,
                last_close, eof, rst);
    EXPECT(impl, probes >= 5 && ticks_during_probes == SLOW_DRIPS,
           "only %d probes and %d drip rounds while the slowloris connections were open", probes,
           ticks_during_probes);
    EXPECT(impl, still == 0,
           "%d of %d slowloris connections still open %.0f ms after opening (idle timeout %d ms)",
           still, n, trk.give_up_ms - opened[n - 1], SLOW_IDLE_MS);
    EXPECT(impl, early == 0 && late == 0,
           "slowloris connections closed after %.0f..%.0f ms: %d too early, %d too late "
           "(idle timeout %d ms)",
           first_close, last_close, early, late, SLOW_IDLE_MS);
    EXPECT(impl, data == 0, "the server sent %zu bytes to slowloris clients; it should just close",
           data);
    EXPECT(impl, min_sent == SLOW_DRIPS && trk.send_errors == 0,
           "each slow client should have dripped %d bytes (fewest %zu, %d send errors)", SLOW_DRIPS,
           min_sent, trk.send_errors);
    EXPECT(impl, eof == n, "only %d of %d slowloris clients saw a clean FIN (%d resets)", eof, n,
           rst);
    for (int i = 0; i < n; i++)
        hc_close(slow[i]);
    expect_served(impl, port, "after the slowloris connections");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "idle_timeouts") == n, "idle_timeouts = %lld, want %d",
           counter(impl, ctr, "idle_timeouts"), n);
    EXPECT(impl, counter(impl, ctr, "aborted") == n,
           "aborted = %lld, want %d (each slowloris request was cut off midway)",
           counter(impl, ctr, "aborted"), n);
    EXPECT(impl, counter(impl, ctr, "accepted") == n + probes + 1, "accepted = %lld, want %d",
           counter(impl, ctr, "accepted"), n + probes + 1);
}

Test(faults, slowloris_1000_connections, .timeout = 60)
{
    for_each_impl(case_slowloris);
}

/* ---- a burst of bad input ------------------------------------------------------------- */

/* Kinds of bad request, each with the one answer both servers give it. */
enum {
    K_GARBAGE,
    K_BINARY,
    K_NULS,
    K_TLS,
    K_BIG_HEADER,
    K_MANY_HEADERS,
    K_ENDLESS_NAME,
    K_LONG_URI,
    K_BAD_QUERY,
    K_BIG_BODY,
    K_BIG_CHUNKED,
    K_BAD_CHUNK,
    K_TWO_LENGTHS,
    K_SMUGGLE,
    K_CTRL_HEADER,
    K_H2_PREFACE,
    K_VERSION,
    K_BAD_METHOD,
    K_POST,
    K_PATH,
    K__COUNT
};

static const struct {
    const char *name;
    int status;
} KINDS[K__COUNT] = {
    [K_GARBAGE] = {"printable garbage", 400},
    [K_BINARY] = {"random binary", 400},
    [K_NULS] = {"NUL bytes", 400},
    [K_TLS] = {"a TLS record", 400},
    [K_BIG_HEADER] = {"one 20 KiB header", 431},
    [K_MANY_HEADERS] = {"300 headers", 431},
    [K_ENDLESS_NAME] = {"a 12 KiB header name", 431},
    [K_LONG_URI] = {"a 6 KiB target", 414},
    [K_BAD_QUERY] = {"a bad query value", 400},
    [K_BIG_BODY] = {"a 100000-byte body", 413},
    [K_BIG_CHUNKED] = {"a 96 KiB chunked body", 413},
    [K_BAD_CHUNK] = {"a bad chunk size", 400},
    [K_TWO_LENGTHS] = {"two Content-Lengths", 400},
    [K_SMUGGLE] = {"Content-Length with chunked", 400},
    [K_CTRL_HEADER] = {"a control byte in a header", 400},
    [K_H2_PREFACE] = {"the HTTP/2 preface", 400},
    [K_VERSION] = {"HTTP/9.9", 505},
    [K_BAD_METHOD] = {"an unknown method", 400},
    [K_POST] = {"a POST", 405},
    [K_PATH] = {"another path", 404},
};

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Writes the bytes of one bad request of `kind` into buf (cap >= 128 KiB); returns the length.
   variant picks among similar inputs; rng makes the random ones repeatable. */
static size_t make_bad(int kind, int variant, char *buf, size_t cap, uint32_t *rng)
{
    static const char *const queries[] = {"/?bytes=abc",
                                          "/?wait_us=-5",
                                          "/?bytes=1048577",
                                          "/?work_us=99999999",
                                          "/?nosuch=1",
                                          "/?bytes=1%00",
                                          "/?bytes=99999999999999999999"};
    const char *host = "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n";
    size_t n = 0;
    switch (kind) {
    case K_GARBAGE: /* lowercase first: no HTTP method */
        buf[n++] = (char)('a' + xorshift(rng) % 26);
        while (n < 300)
            buf[n++] = (char)(0x21 + xorshift(rng) % 94);
        return n;
    case K_BINARY: /* a first byte no request line can start with */
        buf[n++] = (char)(0x80 | xorshift(rng));
        while (n < 2048)
            buf[n++] = (char)xorshift(rng);
        return n;
    case K_NULS: memset(buf, 0, 512); return 512;
    case K_TLS: /* a ClientHello record header, then noise */
        memcpy(buf, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
        for (n = 11; n < 517; n++)
            buf[n] = (char)xorshift(rng);
        return n;
    case K_BIG_HEADER:
        n = (size_t)snprintf(buf, cap, "%sX-Big: ", host);
        memset(buf + n, 'a', 20000);
        n += 20000;
        return n + (size_t)snprintf(buf + n, cap - n, "\r\n\r\n");
    case K_MANY_HEADERS:
        n = (size_t)snprintf(buf, cap, "%s", host);
        for (int i = 0; i < 300; i++)
            n += (size_t)snprintf(buf + n, cap - n, "X-H%03d: %040d\r\n", i, i);
        return n + (size_t)snprintf(buf + n, cap - n, "\r\n");
    case K_ENDLESS_NAME: /* never a colon, never an end */
        n = (size_t)snprintf(buf, cap, "%s", host);
        memset(buf + n, 'N', 12000);
        return n + 12000;
    case K_LONG_URI:
        n = (size_t)snprintf(buf, cap, "GET /?bytes=1&");
        memset(buf + n, 'u', 6000);
        n += 6000;
        return n + (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    case K_BAD_QUERY:
        return (size_t)snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n",
                                queries[variant % (int)(sizeof queries / sizeof queries[0])]);
    case K_BIG_BODY:
        n = (size_t)snprintf(buf, cap, "%sContent-Length: 100000\r\n\r\n", host);
        memset(buf + n, 'b', 100000);
        return n + 100000;
    case K_BIG_CHUNKED:
        n = (size_t)snprintf(buf, cap, "%sTransfer-Encoding: chunked\r\n\r\n", host);
        for (int i = 0; i < 12; i++) {
            n += (size_t)snprintf(buf + n, cap - n, "2000\r\n");
            memset(buf + n, 'c', 0x2000);
            n += 0x2000;
            n += (size_t)snprintf(buf + n, cap - n, "\r\n");
        }
        return n + (size_t)snprintf(buf + n, cap - n, "0\r\n\r\n");
    case K_BAD_CHUNK:
        return (size_t)snprintf(buf, cap, "%sTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
                                host);
    case K_TWO_LENGTHS:
        return (size_t)snprintf(buf, cap, "%sContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                                host);
    case K_SMUGGLE:
        return (size_t)snprintf(
            buf, cap, "%sContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", host);
    case K_CTRL_HEADER: return (size_t)snprintf(buf, cap, "%sX-Ctrl: a\x01\x02z\r\n\r\n", host);
    case K_H2_PREFACE: /* the preface and an empty SETTINGS frame, as h2load sends */
        n = (size_t)snprintf(buf, cap, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        memcpy(buf + n, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
        return n + 9;
    case K_VERSION: return (size_t)snprintf(buf, cap, "GET / HTTP/9.9\r\nHost: a\r\n\r\n");
    case K_BAD_METHOD:
        return (size_t)snprintf(buf, cap, "FOOBARBAZQUUX / HTTP/1.1\r\nHost: a\r\n\r\n");
    case K_POST:
        return (size_t)snprintf(buf, cap,
                                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
    case K_PATH: return (size_t)snprintf(buf, cap, "GET /etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n");
    default: return 0;
    }
}

/* 200 connections at once, each with one bad request from a mix of 20 kinds, sent
   concurrently from one poll loop: every one is answered with its 4xx (505 for a version)
   and closed, or just closed; nothing hangs; a connection opened before the burst and a
   fresh one are served after it; the server's status counters match the mix exactly. */
#define BURST 200
static void case_burst(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    struct hc_conn *keep = connect_ok(impl, port);
    send_get(impl, keep, "/?bytes=3");
    expect_200(impl, keep, 3, "a keep-alive connection before the burst");

    static struct hc_conn *c[BURST];
    static size_t len[BURST], off[BURST];
    static bool sending[BURST], open[BURST];
    static char scratch[128 * 1024];
    int want[600] = {0}; /* answers per status the mix should produce */
    uint32_t rng = 0x9e3779b9u;
    for (int i = 0; i < BURST; i++) {
        int kind = i % K__COUNT;
        len[i] = make_bad(kind, i / K__COUNT, scratch, sizeof scratch, &rng);
        payloads[i] = malloc(len[i]);
        cr_assert(payloads[i], "out of memory");
        memcpy(payloads[i], scratch, len[i]);
        want[KINDS[kind].status]++;
        off[i] = 0;
        sending[i] = open[i] = true;
    }
    for (int i = 0; i < BURST; i++)
        c[i] = connect_ok(impl, port);

    double t0 = hc_now_ms(), deadline = t0 + 5000 * tenv_slack();
    int left = BURST;
    long send_cut = 0; /* sends the server cut short by closing: fine */
    while (left > 0 && hc_now_ms() < deadline) {
        static struct pollfd pfd[BURST];
        static int idx[BURST];
        int n = 0;
        for (int i = 0; i < BURST; i++)
            if (open[i]) {
                pfd[n] = (struct pollfd){.fd = c[i]->fd,
                                         .events = (short)(POLLIN | (sending[i] ? POLLOUT : 0))};
                idx[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, 50) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            int i = idx[k];
            if ((pfd[k].revents & POLLOUT) && sending[i]) {
                ssize_t w = send(c[i]->fd, payloads[i] + off[i], len[i] - off[i],
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w > 0)
                    off[i] += (size_t)w;
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    sending[i] = false;
                    send_cut++;
                }
                if (off[i] == len[i])
                    sending[i] = false;
            }
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                while (hc_fill(c[i]) > 0)
                    ;
                if (c[i]->eof || c[i]->reset) {
                    open[i] = false;
                    left--;
                }
            }
        }
    }
    double ms = hc_now_ms() - t0;
    int answered[600] = {0}, silent = 0;
    for (int i = 0; i < BURST; i++) {
        int kind = i % K__COUNT;
        EXPECT(impl, !open[i],
               "connection %d (%s) still open %.0f ms into the burst (%zu of %zu bytes sent, "
               "%zu received: %.100s)",
               i, KINDS[kind].name, ms, off[i], len[i], c[i]->len, c[i]->buf ? c[i]->buf : "");
        if (c[i]->len == 0) {
            silent++; /* closed without an answer: allowed */
            continue;
        }
        struct hc_response *r = resp_new();
        int t = hc_try_response(c[i], r);
        EXPECT(impl, t == 1, "connection %d (%s): unparseable answer: %.200s", i, KINDS[kind].name,
               c[i]->buf);
        EXPECT(impl, r->status == KINDS[kind].status && r->conn_close,
               "connection %d (%s): status %d (Connection: close %d), want %d and a close; "
               "head: %s",
               i, KINDS[kind].name, r->status, r->conn_close, KINDS[kind].status, r->head);
        EXPECT(impl, c[i]->len == 0, "connection %d (%s): %zu bytes after the %d: %.100s", i,
               KINDS[kind].name, c[i]->len, r->status, c[i]->buf);
        answered[r->status]++;
        resp_done(r);
    }
    for (int i = 0; i < BURST; i++) {
        hc_close(c[i]);
        free(payloads[i]);
        payloads[i] = NULL;
    }
    cr_log_info("[%s] burst: %d bad requests done in %.0f ms: %d answered, %d closed silently, "
                "%ld sends cut short",
                impl, BURST, ms, BURST - silent, silent, send_cut);
    expect_alive(impl, sp, "after the burst");
    send_get(impl, keep, "/?bytes=4");
    expect_200(impl, keep, 4, "the keep-alive connection opened before the burst");
    hc_close(keep);
    expect_served(impl, port, "after the burst");

    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    static const int statuses[] = {400, 404, 405, 413, 414, 431, 505};
    for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
        char key[32];
        snprintf(key, sizeof key, "status_%d", statuses[s]);
        long long got = counter(impl, ctr, key);
        EXPECT(impl, got == want[statuses[s]] && answered[statuses[s]] <= got,
               "%s = %lld, want %d (clients read %d such answers)", key, got, want[statuses[s]],
               answered[statuses[s]]);
    }
    EXPECT(impl, counter(impl, ctr, "requests") == 3,
           "requests = %lld, want 3 (only the good ones)", counter(impl, ctr, "requests"));
    EXPECT(impl, counter(impl, ctr, "accepted") == BURST + 2, "accepted = %lld, want %d",
           counter(impl, ctr, "accepted"), BURST + 2);
}

Test(faults, burst_of_bad_requests, .timeout = 60)
{
    for_each_impl(case_burst);
}

/* ---- resets and fd leaks -------------------------------------------------------------- */

/* Clients reset (SO_LINGER 0, then close) mid-request, during a 200 ms wait, and mid-way through
   reading pipelined 1 MiB answers (12 MiB asked: more than the socket buffers hold, so the
   server is surely still writing). Afterwards the server is back at the fds (and threads)
   it had before, serves, and counted every one as aborted. */
#define RESET_EACH 20
static void case_resets(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    bool threads = strcmp(impl, "thread") == 0;
    int fds0 = fd_count(pid, 0);
    long thr0 = threads ? thread_count(pid) : -1;
    expect_served(impl, port, "before the resets");
    int fds;
    long thr;
    bool back = settle(pid, fds0, thr0, io_ms(), &fds, &thr);
    EXPECT(impl, back, "after one normal connection: %d fds, %ld threads; %d and %ld before", fds,
           thr, fds0, thr0);

    static char big[12 * 64];
    size_t used = 0;
    for (int i = 0; i < 12; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=1048576 HTTP/1.1\r\nHost: a\r\n\r\n");
    const char *half = "GET /?bytes=5 HTTP/1.1\r\nHost: a\r\nX-Half: abc";
    /* The pipelining ones first, each until 64 KiB of its answers arrived; then the others,
       whose resets then follow their requests within a few ms (well inside the 200 ms wait). */
    struct hc_conn *c[3 * RESET_EACH];
    int mid_answer = 0;
    for (int i = 2; i < 3 * RESET_EACH; i += 3) {
        c[i] = connect_ok(impl, port);
        send_ok(impl, c[i], big, used, "12 pipelined 1 MiB requests");
        read_at_least(c[i], 65536, io_ms());
        mid_answer += c[i]->len >= 65536 && !c[i]->eof && !c[i]->reset;
    }
    EXPECT(impl, mid_answer == RESET_EACH, "only %d of %d clients got 64 KiB of their answers",
           mid_answer, RESET_EACH);
    for (int i = 0; i < 3 * RESET_EACH; i++) {
        if (i % 3 == 2)
            continue;
        c[i] = connect_ok(impl, port);
        if (i % 3 == 0)
            send_ok(impl, c[i], half, strlen(half), "half a request");
        else
            send_get(impl, c[i], "/?wait_us=200000&bytes=100");
    }
    double t_sent = hc_now_ms();
    int during = fd_count(pid, 0);
    while (during < fds0 + 3 * RESET_EACH && hc_now_ms() < t_sent + 100) {
        tenv_sleep_ms(2);
        during = fd_count(pid, 0);
    }
    long thr_during = threads ? thread_count(pid) : -1;
    for (int i = 0; i < 3 * RESET_EACH; i++)
        hc_abort(c[i]);
    back = settle(pid, fds0, thr0, io_ms(), &fds, &thr);
    cr_log_info("[%s] resets: fds %d before, %d with %d connections, %d after; threads %ld, %ld, "
                "%ld",
                impl, fds0, during, 3 * RESET_EACH, fds, thr0, thr_during, thr);
    EXPECT(impl, during >= fds0 + RESET_EACH,
           "%d fds while %d connections were open, %d before: the count does not see them", during,
           3 * RESET_EACH, fds0);
    EXPECT(impl, back,
           "after %d resets the server holds %d fds and %ld threads, %d and %ld before (waited "
           "%d ms)",
           3 * RESET_EACH, fds, thr, fds0, thr0, io_ms());
    expect_alive(impl, sp, "after the resets");
    expect_served(impl, port, "after the resets");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    long long aborted = counter(impl, ctr, "aborted"), io = counter(impl, ctr, "io_errors");
    EXPECT(impl, aborted == 3 * RESET_EACH && io == 0,
           "aborted = %lld, io_errors = %lld; want %d aborted (every reset client was mid-request "
           "or mid-answer)",
           aborted, io, 3 * RESET_EACH);
    /* Answers count when begun: one per waiting client, one or more per pipelining one. */
    long long req = counter(impl, ctr, "requests");
    EXPECT(impl, req >= 2 + 2 * RESET_EACH && req <= 2 + 13 * RESET_EACH,
           "requests = %lld, want %d to %d", req, 2 + 2 * RESET_EACH, 2 + 13 * RESET_EACH);
}

Test(faults, resets_leak_no_fds, .timeout = 60)
{
    for_each_impl(case_resets);
}

/* ---- SIGPIPE -------------------------------------------------------------------------- */

/* Clients close (FIN, not reset) while a large answer is due or being written. A server that
   writes to such a socket gets RST and then EPIPE, which raises SIGPIPE unless ignored; the
   test starts servers with every signal at its default, so an unhandled one kills them:
     - close right after the request, during its 20 ms wait: the first write of the 1 MiB
       answer draws the RST, the next one EPIPE (deterministic);
     - read part of 12 pipelined 1 MiB answers, drain what is there, close;
     - half-close after the request, read 64 KiB, close. */
#define PIPE_EACH 15
static void case_sigpipe(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    static char big[12 * 64];
    size_t used = 0;
    for (int i = 0; i < 12; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=1048576 HTTP/1.1\r\nHost: a\r\n\r\n");
    struct hc_conn *c[3 * PIPE_EACH];
    for (int i = 0; i < 3 * PIPE_EACH; i++) {
        c[i] = connect_ok(impl, port);
        switch (i % 3) {
        case 0: send_get(impl, c[i], "/?wait_us=20000&bytes=1048576"); break;
        case 1: send_ok(impl, c[i], big, used, "12 pipelined 1 MiB requests"); break;
        default:
            send_get(impl, c[i], "/?bytes=1048576");
            EXPECT(impl, hc_shutdown_write(c[i]) == 0, "shutdown: %s", strerror(errno));
            break;
        }
        if (i % 3 == 0) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    }
    for (int i = 0; i < 3 * PIPE_EACH; i++) {
        if (!c[i])
            continue;
        read_at_least(c[i], i % 3 == 1 ? 256 * 1024 : 65536, io_ms());
        /* Take what has arrived, so that the close is more often a FIN than a reset. */
        size_t had = c[i]->len;
        while (c[i]->len < had + 1048576 && hc_fill(c[i]) > 0)
            ;
        hc_close(c[i]);
    }
    tenv_sleep_ms(100 *
                  tenv_slack()); /* past the 20 ms waits: the servers write into closed sockets */
    expect_alive(impl, sp, "after clients closed during large answers (SIGPIPE?)");
    expect_served(impl, port, "after clients closed during large answers");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    long long aborted = counter(impl, ctr, "aborted");
    cr_log_info("[%s] sigpipe: %d clients closed mid-answer; aborted = %lld, io_errors = %lld",
                impl, 3 * PIPE_EACH, aborted, counter(impl, ctr, "io_errors"));
    EXPECT(impl, aborted >= PIPE_EACH,
           "aborted = %lld: at least the %d answers written after the close should fail", aborted,
           PIPE_EACH);
}

Test(faults, sigpipe_never_kills, .timeout = 60)
{
    for_each_impl(case_sigpipe);
}

/* ---- a load driver for the helper thread ---------------------------------------------- */

/* Keeps `depth` requests in flight on each connection, sending one more per answer, and
   checks each answer. The connections are opened by the test thread (hc_connect keeps a
   list that is not locked); the helper only sends and receives on them. */
#define LOAD_MAX   100
#define LOAD_DEPTH 4
#define LOAD_TIMES 4096
struct load {
    struct hc_conn *c[LOAD_MAX];
    int n, depth;
    uint32_t wait_us_max; /* each request waits 0..wait_us_max */
    bool stop_on_close;   /* a close is the end (SIGTERM), not a failure */
    /* state */
    bool open[LOAD_MAX];
    uint32_t want[LOAD_MAX][LOAD_DEPTH]; /* body lengths of the requests in flight, FIFO */
    int head[LOAD_MAX], inflight[LOAD_MAX];
    uint32_t seq;
    /* results */
    atomic_long ok;
    long bad, cut, send_failed;
    atomic_long closed; /* read by the test thread while the helper runs */
    char first_bad[256];
    double done_ms[4][LOAD_TIMES]; /* answer times of the first four connections */
    int ndone[4];
};

static struct load ld;

static int load_send(struct load *l, int i)
{
    char req[128];
    uint32_t s = l->seq++;
    uint32_t bytes = (s * 131u) % 4096u;
    uint32_t wait = l->wait_us_max ? s % (l->wait_us_max + 1) : 0;
    int n = snprintf(req, sizeof req, "GET /?bytes=%u&wait_us=%u HTTP/1.1\r\nHost: a\r\n\r\n",
                     bytes, wait);
    if (hc_send(l->c[i], req, (size_t)n, 1000) < 0)
        return -1;
    l->want[i][(l->head[i] + l->inflight[i]) % LOAD_DEPTH] = bytes;
    l->inflight[i]++;
    return 0;
}

static void load_close(struct load *l, int i)
{
    l->open[i] = false;
    atomic_fetch_add(&l->closed, 1);
}

/* Runs until told to stop, then reads the answers still in flight (sending no more) so that
   the test can go on using the connections; or until every connection has closed. */
static void *load_main(void *arg)
{
    struct load *l = arg;
    static struct pollfd pfd[LOAD_MAX];
    static int idx[LOAD_MAX];
    double drain_until = -1;
    for (int i = 0; i < l->n; i++) {
        l->open[i] = true;
        for (int k = 0; k < l->depth && l->open[i]; k++)
            if (load_send(l, i) < 0) {
                l->send_failed++;
                load_close(l, i);
            }
    }
    for (;;) {
        if (drain_until < 0 && atomic_load(&bg_stop))
            drain_until = hc_now_ms() + 2000;
        int n = 0;
        for (int i = 0; i < l->n; i++)
            if (l->open[i] && (drain_until < 0 || l->inflight[i] > 0)) {
                pfd[n] = (struct pollfd){.fd = l->c[i]->fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (n == 0 || (drain_until >= 0 && hc_now_ms() > drain_until))
            break;
        if (poll(pfd, (nfds_t)n, 20) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            int i = idx[k];
            struct hc_conn *c = l->c[i];
            while (hc_fill(c) > 0)
                ;
            while (l->inflight[i] > 0) {
                struct hc_response r;
                int t = hc_try_response(c, &r);
                if (t == 0)
                    break;
                if (t < 0) { /* a head cut off by the close */
                    l->cut++;
                    load_close(l, i);
                    break;
                }
                uint32_t want = l->want[i][l->head[i]];
                l->head[i] = (l->head[i] + 1) % LOAD_DEPTH;
                l->inflight[i]--;
                if (r.status == 200 && hc_body_is(&r, want, 'x')) {
                    atomic_fetch_add(&l->ok, 1);
                    if (i < 4 && l->ndone[i] < LOAD_TIMES)
                        l->done_ms[i][l->ndone[i]++] = hc_now_ms();
                } else if (l->bad++ == 0) {
                    snprintf(l->first_bad, sizeof l->first_bad,
                             "connection %d: status %d, %zu body bytes, want 200 and %u", i,
                             r.status, r.body_len, want);
                }
                hc_response_free(&r);
                if (drain_until < 0 && load_send(l, i) < 0) {
                    if (!l->stop_on_close)
                        l->send_failed++;
                    load_close(l, i);
                    break;
                }
            }
            if (l->open[i] && (c->eof || c->reset)) {
                if (l->inflight[i] > 0 && !l->stop_on_close)
                    l->cut++;
                load_close(l, i);
            }
        }
    }
    return NULL;
}

static void load_init(struct load *l, int n, int depth, uint32_t wait_us_max, bool stop_on_close)
{
    memset(l, 0, sizeof *l);
    l->n = n;
    l->depth = depth;
    l->wait_us_max = wait_us_max;
    l->stop_on_close = stop_on_close;
}

/* ---- SIGTERM under load --------------------------------------------------------------- */

/* 100 connections with 4 requests in flight each (waits of 0-3 ms, bodies up to 4 KiB) keep
   the server busy for load_ms; then SIGTERM. Checks the exit (0, within 2 s, one counters
   line) or, with `accounting`, only that the counters line accounts for every answer the
   clients read: a line printed while connections are still being answered undercounts. */
static void sigterm_load(const char *impl, int load_ms, bool accounting)
{
    const int n = tenv_scaled(LOAD_MAX);
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    load_init(&ld, n, LOAD_DEPTH, 3000, true);
    for (int i = 0; i < n; i++)
        ld.c[i] = connect_ok(impl, port);
    bg_start(load_main, &ld);
    tenv_sleep_ms(load_ms - 100);
    long before = atomic_load(&ld.ok);
    tenv_sleep_ms(100);
    long at_signal = atomic_load(&ld.ok);
    double cpu = cpu_seconds(server_pid(sp));
    double elapsed;
    json_t *ctr = stop_counters(impl, sp, SIGTERM, &elapsed);
    /* The server is gone, so every connection closes; the helper ends with them. */
    double deadline = hc_now_ms() + io_ms();
    while (hc_now_ms() < deadline && atomic_load(&ld.closed) < n)
        tenv_sleep_ms(10);
    bg_join(true);
    long ok = atomic_load(&ld.ok);
    long long requests = counter(impl, ctr, "requests");
    cr_log_info("[%s] SIGTERM under load: %d connections x %d in flight, %ld answers in %.1f s "
                "(%ld in the last 0.1 s), server CPU %.2f s; exit 0 after %.0f ms; %ld answers "
                "read in all, %lld in the counters line",
                impl, n, LOAD_DEPTH, at_signal, load_ms / 1e3, at_signal - before, cpu, elapsed, ok,
                requests);
    EXPECT(impl, at_signal - before >= 10,
           "only %ld answers in the 100 ms before the signal: the server was not under load",
           at_signal - before);
    EXPECT(impl, ld.bad == 0, "%ld wrong answers under load, the first: %s", ld.bad, ld.first_bad);
    if (accounting) {
        EXPECT(impl, requests >= ok,
               "requests = %lld in the counters line, but the clients read %ld answers: the "
               "server went on answering %lld requests after it printed its counters",
               requests, ok, ok - requests);
    } else {
        EXPECT(impl, elapsed < 2000 * tenv_slack(),
               "SIGTERM under load: exit took %.0f ms, want < %.0f", elapsed, 2000 * tenv_slack());
        EXPECT(impl, counter(impl, ctr, "accepted") == n, "accepted = %lld, want %d",
               counter(impl, ctr, "accepted"), n);
    }
    for (int i = 0; i < n; i++)
        hc_close(ld.c[i]);
}

static void case_sigterm_load(const char *impl)
{
    sigterm_load(impl, 700, false);
}

Test(faults, sigterm_under_load, .timeout = 60)
{
    for_each_impl(case_sigterm_load);
}

static void case_sigterm_accounting(const char *impl)
{
    sigterm_load(impl, 400, true);
}

Test(faults, sigterm_counters_count_every_answer, .timeout = 60)
{
    for_each_impl(case_sigterm_accounting);
}

/* ---- fd exhaustion -------------------------------------------------------------------- */

/* Running servers get RLIMIT_NOFILE lowered (prlimit) to leave room for FD_ROOM more fds;
   FD_ROOM + FD_WAITING clients connect and ask. The first FD_ROOM are served, the rest wait
   in the backlog while accept fails with EMFILE. For 1 s the open ones send a keep-alive
   request every 100 ms and are answered, while the server uses under 20% of a CPU (it does
   not spin on a listening socket that stays readable). Closing 3 open connections lets
   exactly 3 waiting ones in; closing the rest lets everyone in. */
#define FD_ROOM    8
#define FD_WAITING 10
#define FD_FREED   3
static int count_answered(struct hc_conn **c, bool *answered, int n, int timeout_ms, int stop_at)
{
    double deadline = hc_now_ms() + timeout_ms;
    int got = 0;
    for (int i = 0; i < n; i++)
        got += answered[i];
    while (got < stop_at && hc_now_ms() < deadline) {
        struct pollfd pfd[FD_ROOM + FD_WAITING];
        int idx[FD_ROOM + FD_WAITING], k = 0;
        for (int i = 0; i < n; i++)
            if (c[i] && !answered[i]) {
                pfd[k] = (struct pollfd){.fd = c[i]->fd, .events = POLLIN};
                idx[k++] = i;
            }
        if (k == 0)
            break;
        int left = (int)(deadline - hc_now_ms());
        if (poll(pfd, (nfds_t)k, left > 0 ? left : 0) <= 0)
            continue;
        for (int j = 0; j < k; j++)
            if (pfd[j].revents) {
                struct hc_conn *cc = c[idx[j]];
                while (hc_fill(cc) > 0)
                    ;
                struct hc_response r;
                if (hc_try_response(cc, &r) == 1) {
                    bool good = r.status == 200 && hc_body_is(&r, 1, 'x');
                    hc_response_free(&r);
                    if (!good)
                        return -1;
                    answered[idx[j]] = true;
                    got++;
                } else if (cc->eof || cc->reset) {
                    return -1;
                }
            }
    }
    return got;
}

static void case_emfile(const char *impl)
{
    struct server_proc *sp = start(impl, NULL);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    int fds0 = fd_count(pid, 0), fds;
    long thr;
    expect_served(impl, port, "before the fd limit");
    EXPECT(impl, settle(pid, fds0, -1, io_ms(), &fds, &thr),
           "the warm-up connection left %d fds open, %d before", fds, fds0);
    rlim_t lim = (rlim_t)fds0 + FD_ROOM;
    EXPECT(impl, server_set_rlimit(sp, RLIMIT_NOFILE, lim, lim) == 0,
           "prlimit(RLIMIT_NOFILE, %d): %s", (int)lim, strerror(errno));
    int room = (int)lim - fd_count(pid, (int)lim); /* fds below the limit that are still free */

    const int n = FD_ROOM + FD_WAITING;
    struct hc_conn *c[FD_ROOM + FD_WAITING];
    bool answered[FD_ROOM + FD_WAITING] = {false};
    for (int i = 0; i < n; i++) {
        c[i] = connect_ok(impl, port); /* the kernel completes the handshake into the backlog */
        send_get(impl, c[i], "/?bytes=1");
    }
    int got = count_answered(c, answered, n, io_ms(), room);
    EXPECT(impl, got >= 0, "a connection got a wrong answer or was closed at the fd limit");
    got = count_answered(c, answered, n, (int)(300 * tenv_slack()), n); /* and no more come */
    EXPECT(impl, got == room, "%d of %d connections served with room for %d fds", got, n, room);

    /* One second at the limit: the open ones keep being served, the server stays idle. */
    double cpu0 = cpu_seconds(pid), t0 = hc_now_ms(), worst = 0;
    int served = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < n; i++) {
            if (!answered[i])
                continue;
            double s = hc_now_ms();
            send_get(impl, c[i], "/?bytes=2");
            expect_200_within(impl, c[i], 2, (int)(200 * tenv_slack()),
                              "a keep-alive request on an open connection at the fd limit");
            double ms = hc_now_ms() - s;
            worst = ms > worst ? ms : worst;
            served++;
        }
        double next = t0 + 100.0 * (round + 1);
        if (next > hc_now_ms())
            tenv_sleep_ms(next - hc_now_ms());
    }
    double cpu = cpu_seconds(pid) - cpu0, wall = (hc_now_ms() - t0) / 1e3;
    expect_alive(impl, sp, "at its fd limit");
    int waiting_answered = count_answered(c, answered, n, 0, n) - room;
    cr_log_info("[%s] fd limit: %d fds in use, RLIMIT_NOFILE %d: %d served, %d waiting; %d "
                "keep-alive requests (worst %.1f ms); server CPU %.3f s in %.2f s wall (%.1f%%)",
                impl, fds0, (int)lim, room, n - room, served, worst, cpu, wall, 100 * cpu / wall);
    EXPECT(impl, cpu >= 0 && cpu < 0.2 * wall,
           "the server burnt %.3f s CPU in %.2f s while out of fds (spinning on accept?)", cpu,
           wall);
    EXPECT(impl, waiting_answered == 0, "%d waiting connections were answered without a free fd",
           waiting_answered);

    /* Free FD_FREED fds: that many waiting ones get in, no more. */
    int closed = 0;
    for (int i = 0; i < n && closed < FD_FREED; i++)
        if (answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
            closed++;
        }
    double tf = hc_now_ms();
    got = count_answered(c, answered, n, io_ms(), room + FD_FREED);
    double in_ms = hc_now_ms() - tf;
    EXPECT(impl, got == room + FD_FREED, "after %d connections closed, %d waiting ones got in",
           FD_FREED, got - room);
    got = count_answered(c, answered, n, (int)(300 * tenv_slack()), n);
    EXPECT(impl, got == room + FD_FREED, "after %d connections closed, %d waiting ones got in",
           FD_FREED, got - room);
    cr_log_info("[%s] fd limit: %d closed, %d waiting ones served %.0f ms later", impl, FD_FREED,
                FD_FREED, in_ms);

    /* Free everything: all the rest get in. */
    for (int i = 0; i < n; i++)
        if (c[i] && answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    got = count_answered(c, answered, n, io_ms(), n);
    EXPECT(impl, got == n, "after every open connection closed, %d of %d were served", got, n);
    for (int i = 0; i < n; i++)
        hc_close(c[i]);
    expect_served(impl, port, "after the fd limit");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "accept_emfile") >= 1, "accept_emfile = %lld, want >= 1",
           counter(impl, ctr, "accept_emfile"));
    EXPECT(impl, counter(impl, ctr, "accepted") == n + 2, "accepted = %lld, want %d",
           counter(impl, ctr, "accepted"), n + 2);
}

Test(faults, fd_exhaustion_no_spin, .timeout = 60)
{
    for_each_impl(case_emfile);
}

/* ---- thread exhaustion while serving ---------------------------------------------------- */

/* The thread server, out of address space for more stacks (RLIMIT_AS at its measured size
   plus room for KEEP_CONNS stacks, as in test_servers.c), refuses new connections with 503
   while the connections that have threads are answering keep-alive requests at that very
   moment: a helper drives them continuously; the excess connections arrive one every 20 ms
   in the middle of it. */
#define KEEP_CONNS 3
#define EXCESS     8
static void case_503_while_serving(const char *impl)
{
    const long stack_kib = 8192;
    const char *args[] = {"--stack-kib", "8192", NULL};
    struct server_proc *sp = start(impl, args);
    int port = server_port(sp);
    expect_served(impl, port, "before the limit"); /* first arena and a cached stack */
    tenv_sleep_ms(50);
    struct proc_mem pm;
    EXPECT(impl, procfs_read_status(server_pid(sp), &pm) == 0, "reading /proc/%d/status: %s",
           (int)server_pid(sp), strerror(errno));
    rlim_t limit = (rlim_t)(pm.vsz_kib + KEEP_CONNS * stack_kib + stack_kib / 2) * 1024;
    EXPECT(impl, server_set_rlimit(sp, RLIMIT_AS, limit, RLIM_INFINITY) == 0,
           "prlimit(RLIMIT_AS, %llu): %s", (unsigned long long)limit, strerror(errno));

    load_init(&ld, KEEP_CONNS, 1, 2000, false);
    for (int i = 0; i < KEEP_CONNS; i++) {
        ld.c[i] = connect_ok(impl, port);
        send_get(impl, ld.c[i], "/?bytes=3");
        expect_200(impl, ld.c[i], 3, "a connection that got a thread under the limit");
    }
    bg_start(load_main, &ld);
    tenv_sleep_ms(50);

    struct hc_conn *x[EXCESS];
    bool refused[EXCESS] = {false};
    int n503 = 0;
    double t_begin = hc_now_ms();
    for (int j = 0; j < EXCESS; j++) {
        x[j] = connect_ok(impl, port);
        /* It sends nothing: an answer can only be the 503. */
        struct hc_response *r = resp_new();
        int rc = hc_read_response(x[j], r, (int)(300 * tenv_slack()));
        int e = errno;
        if (rc == 0) {
            EXPECT(impl, r->status == 503, "excess connection %d: unasked answer %d", j, r->status);
            EXPECT(impl, hc_wait_close(x[j], io_ms()) == 1, "excess connection %d: open after 503",
                   j);
            refused[j] = true;
            n503++;
        } else {
            EXPECT(impl, e == ETIMEDOUT, "excess connection %d: %s", j, strerror(e));
        }
        resp_done(r);
        tenv_sleep_ms(20);
    }
    double t_end = hc_now_ms();
    tenv_sleep_ms(50);
    bg_join(true);
    int fewest = 1 << 30;
    for (int i = 0; i < KEEP_CONNS; i++) {
        int in = 0;
        for (int k = 0; k < ld.ndone[i]; k++)
            in += ld.done_ms[i][k] >= t_begin && ld.done_ms[i][k] <= t_end;
        fewest = in < fewest ? in : fewest;
    }
    cr_log_info("[%s] %d of %d excess connections got 503 in %.0f ms while %d open connections "
                "were answered %ld times (fewest in that window: %d)",
                impl, n503, EXCESS, t_end - t_begin, KEEP_CONNS, atomic_load(&ld.ok), fewest);
    EXPECT(impl, ld.bad == 0 && ld.cut == 0 && ld.send_failed == 0 && ld.closed == 0,
           "the open connections under the limit: %ld wrong answers (%s), %ld cut, %ld failed "
           "sends, %ld closed",
           ld.bad, ld.first_bad, ld.cut, ld.send_failed, atomic_load(&ld.closed));
    EXPECT(impl, fewest >= 5,
           "an open connection got only %d answers while the excess was refused over %.0f ms",
           fewest, t_end - t_begin);
    /* glibc's cached stack from the warm-up makes room for one more thread. */
    EXPECT(impl, n503 >= EXCESS - 2, "%d of %d excess connections got 503, want at least %d", n503,
           EXCESS, EXCESS - 2);
    expect_alive(impl, sp, "after refusing connections");
    for (int i = 0; i < KEEP_CONNS; i++) {
        send_get(impl, ld.c[i], "/?bytes=6");
        expect_200(impl, ld.c[i], 6, "an open connection after the excess was refused");
    }
    for (int j = 0; j < EXCESS; j++) {
        if (!refused[j]) { /* it got a thread after all: it is served */
            send_get(impl, x[j], "/?bytes=6");
            expect_200(impl, x[j], 6, "an excess connection that got a thread");
        }
        hc_close(x[j]);
    }
    for (int i = 0; i < KEEP_CONNS; i++)
        hc_close(ld.c[i]);
    tenv_sleep_ms(100); /* their threads end and free their stacks */
    expect_served(impl, port, "after the open connections closed");
    json_t *ctr = stop_counters(impl, sp, SIGTERM, NULL);
    EXPECT(impl, counter(impl, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           counter(impl, ctr, "status_503"), n503);
    EXPECT(impl, counter(impl, ctr, "thread_create_failed") >= n503,
           "thread_create_failed = %lld, but %d connections got 503",
           counter(impl, ctr, "thread_create_failed"), n503);
}

Test(faults, thread_503_while_serving, .timeout = 60)
{
    if (!tenv_impl_enabled("thread"))
        cr_skip_test("TVT_IMPLS=%s excludes the thread server", getenv("TVT_IMPLS"));
    case_503_while_serving("thread");
}
