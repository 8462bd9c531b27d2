/* test_abuse: a burst of 200 bad requests of 20 kinds at once: each gets its one answer and
 * a close, nothing hangs, the status counters match the mix.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

/* Payloads live where .fini frees them, so that a failed assertion (which skips the
   test's own frees) leaves nothing for LeakSanitizer. */
#define MAX_PAYLOADS 256
static char *payloads[MAX_PAYLOADS];

static void release_all(void)
{
    itest_release();
    for (int i = 0; i < MAX_PAYLOADS; i++) {
        free(payloads[i]);
        payloads[i] = NULL;
    }
}

TestSuite(abuse, .fini = release_all, .timeout = 60);

/* ---- a burst of bad input ------------------------------------------------------------- */

/* Kinds of bad request, each with the one answer every server gives it. */
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
static void case_burst(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *keep = connect_ok(srv, port);
    send_get(srv, keep, "/?bytes=3");
    expect_200(srv, keep, 3, "a keep-alive connection before the burst");

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
        c[i] = connect_ok(srv, port);

    double t0 = tenv_now_ms(), deadline = t0 + 5000 * tenv_slack();
    int left = BURST;
    long send_cut = 0; /* sends the server cut short by closing: fine */
    while (left > 0 && tenv_now_ms() < deadline) {
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
    double ms = tenv_now_ms() - t0;
    int answered[600] = {0}, silent = 0;
    for (int i = 0; i < BURST; i++) {
        int kind = i % K__COUNT;
        EXPECT(srv, !open[i],
               "connection %d (%s) still open %.0f ms into the burst (%zu of %zu bytes sent, "
               "%zu received: %.100s)",
               i, KINDS[kind].name, ms, off[i], len[i], c[i]->len, c[i]->buf ? c[i]->buf : "");
        if (c[i]->len == 0) {
            silent++; /* closed without an answer: allowed */
            continue;
        }
        struct hc_response *r = resp_new();
        int t = hc_try_response(c[i], r);
        EXPECT(srv, t == 1, "connection %d (%s): unparseable answer: %.200s", i, KINDS[kind].name,
               c[i]->buf);
        EXPECT(srv, r->status == KINDS[kind].status && r->conn_close,
               "connection %d (%s): status %d (Connection: close %d), want %d and a close; "
               "head: %s",
               i, KINDS[kind].name, r->status, r->conn_close, KINDS[kind].status, r->head);
        EXPECT(srv, c[i]->len == 0, "connection %d (%s): %zu bytes after the %d: %.100s", i,
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
                srv->name, BURST, ms, BURST - silent, silent, send_cut);
    expect_alive(srv, sp, "after the burst");
    send_get(srv, keep, "/?bytes=4");
    expect_200(srv, keep, 4, "the keep-alive connection opened before the burst");
    hc_close(keep);
    expect_served(srv, port, "after the burst");

    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    static const int statuses[] = {400, 404, 405, 413, 414, 431, 505};
    for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
        char key[32];
        snprintf(key, sizeof key, "status_%d", statuses[s]);
        long long got = counter(srv, ctr, key);
        EXPECT(srv, got == want[statuses[s]] && answered[statuses[s]] <= got,
               "%s = %lld, want %d (clients read %d such answers)", key, got, want[statuses[s]],
               answered[statuses[s]]);
    }
    EXPECT(srv, counter(srv, ctr, "requests") == 3, "requests = %lld, want 3 (only the good ones)",
           counter(srv, ctr, "requests"));
    EXPECT(srv, counter(srv, ctr, "accepted") == BURST + 2, "accepted = %lld, want %d",
           counter(srv, ctr, "accepted"), BURST + 2);
}

SERVER_TEST(abuse, burst_of_bad_requests, 0, case_burst, .timeout = 60)
