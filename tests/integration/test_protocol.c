/* test_protocol: keep-alive, pipelining, requests split anywhere, and when a connection
 * closes, over TCP on 127.0.0.1:0.
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
#include <strings.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(protocol, .fini = itest_release, .timeout = 60);

/* ---- keep-alive, pipelining, framing --------------------------------------------------- */

/* Several requests on one connection, each answered with its own length, connection kept. */
static void case_keep_alive(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    for (int i = 0; i < 6; i++) {
        char target[64], what[128];
        size_t bytes = (size_t)i * 37;
        snprintf(target, sizeof target, "/?bytes=%zu", bytes);
        snprintf(what, sizeof what, "request %d (%s)", i, target);
        send_get(srv, c, target);
        struct hc_response *r = resp_new();
        read_ok(srv, c, r, what);
        EXPECT(srv, r->status == 200 && hc_body_is(r, bytes, 'x'), "%s: status %d, %zu body bytes",
               what, r->status, r->body_len);
        EXPECT(srv, !r->conn_close, "%s: keep-alive answer says Connection: close", what);
        EXPECT(srv, r->minor == 1, "%s: answered HTTP/1.%d", what, r->minor);
        char v[128];
        EXPECT(srv, hc_header(r, "Date", v, sizeof v) && strstr(v, "GMT"),
               "%s: no Date header; head: %s", what, r->head);
        EXPECT(srv, hc_header(r, "Server", v, sizeof v), "%s: no Server header", what);
        resp_done(r);
    }
    EXPECT(srv, hc_wait_close(c, 50) == 0, "connection closed after a keep-alive answer");
    hc_close(c);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "accepted") == 1, "accepted %lld connections, want 1",
           counter(srv, ctr, "accepted"));
    EXPECT(srv, counter(srv, ctr, "requests") == 6, "counted %lld requests, want 6",
           counter(srv, ctr, "requests"));
}

SERVER_TEST(protocol, keep_alive_sequence, 0, case_keep_alive, .timeout = 30)

/* Requests in one write are answered in order, even when an early one waits; a malformed
   one in the middle is answered 400 after the ones before it, and ends the connection. */
static void case_pipelined(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *c = connect_ok(srv, port);
    char batch[4096] = "";
    for (int i = 1; i <= 6; i++) {
        char target[64], req[256];
        /* The second one waits 20 ms: the ones behind it must not overtake it. */
        snprintf(target, sizeof target, "/?bytes=%d%s", i, i == 2 ? "&wait_us=20000" : "");
        get_req(req, sizeof req, target, i == 6 ? "Connection: close\r\n" : NULL);
        strcat(batch, req);
    }
    send_ok(srv, c, batch, strlen(batch), "6 pipelined requests");
    for (int i = 1; i <= 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "pipelined answer %d", i);
        expect_200(srv, c, (size_t)i, what);
    }
    EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1,
           "not closed after the pipelined `Connection: close` request");
    hc_close(c);

    c = connect_ok(srv, port);
    const char *mixed = "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GARBAGE\r\n\r\n"
                        "GET /?bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_ok(srv, c, mixed, strlen(mixed), "good, malformed, good pipelined");
    expect_200(srv, c, 1, "the request before the malformed one");
    struct hc_response *r = resp_new();
    read_ok(srv, c, r, "the malformed pipelined request");
    EXPECT(srv, r->status == 400, "malformed pipelined request: status %d, want 400", r->status);
    resp_done(r);
    EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1 && c->len == 0,
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
    c = connect_ok(srv, port);
    send_ok(srv, c, big, used, "200 pipelined requests");
    for (int i = 0; i < 200; i++) {
        char what[64];
        snprintf(what, sizeof what, "answer %d of 200 pipelined", i);
        expect_200(srv, c, (size_t)(i % 50), what);
    }
    /* Answers larger than the socket buffer: the server resumes partial writes in order. */
    used = 0;
    for (int i = 0; i < 3; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=%d HTTP/1.1\r\nHost: a\r\n\r\n", 1048576 - i);
    send_ok(srv, c, big, used, "3 pipelined 1 MiB requests");
    for (int i = 0; i < 3; i++)
        expect_200(srv, c, (size_t)(1048576 - i), "a pipelined 1 MiB answer");
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(protocol, pipelined_in_order, 0, case_pipelined, .timeout = 30)

/* A request that arrives one byte at a time, and one split in two at every position. */
static void case_split(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    char req[512];
    get_req(req, sizeof req, "/?bytes=11&wait_us=0", "User-Agent: tvt-test\r\nAccept: */*\r\n");
    size_t len = strlen(req);
    for (int round = 0; round < 2; round++) {
        int rc = hc_send_pieces(c, req, len, 1, 300, tenv_io_ms());
        int e = errno;
        EXPECT(srv, rc == 0, "byte-by-byte send: %s", strerror(e));
        expect_200(srv, c, 11, "a request sent byte by byte");
    }
    /* Every split point; the pause makes the server see the two parts in two reads. */
    for (size_t k = 1; k < len; k++) {
        char what[64];
        snprintf(what, sizeof what, "a request split after byte %zu", k);
        send_ok(srv, c, req, k, what);
        tenv_sleep_ms(0.5);
        send_ok(srv, c, req + k, len - k, what);
        expect_200(srv, c, 11, what);
    }
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(protocol, split_at_every_byte, 0, case_split, .timeout = 30)

/* HTTP/1.0 and `Connection: close` end the connection after the answer; HTTP/1.0 with
   `Connection: keep-alive` keeps it. */
static void case_close_semantics(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
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
        struct hc_conn *c = connect_ok(srv, port);
        send_ok(srv, c, cases[i].req, strlen(cases[i].req), cases[i].what);
        struct hc_response *r = resp_new();
        read_ok(srv, c, r, cases[i].what);
        EXPECT(srv, r->status == 200 && hc_body_is(r, cases[i].bytes, 'x'),
               "%s: status %d, %zu body bytes", cases[i].what, r->status, r->body_len);
        int closed = hc_wait_close(c, cases[i].closes ? tenv_io_ms() : 100);
        EXPECT(srv, closed == (cases[i].closes ? 1 : 0), "%s: connection %s after the answer",
               cases[i].what, closed == 1 ? "closed" : "still open");
        if (cases[i].closes)
            EXPECT(srv, r->conn_close, "%s: answer lacks Connection: close; head: %s",
                   cases[i].what, r->head);
        else {
            char v[64] = "";
            EXPECT(srv,
                   !r->conn_close && hc_header(r, "Connection", v, sizeof v) &&
                       strcasecmp(v, "keep-alive") == 0,
                   "%s: answer should say Connection: keep-alive; head: %s", cases[i].what,
                   r->head);
        }
        resp_done(r);
        if (!cases[i].closes) { /* and the kept connection serves a second request */
            send_ok(srv, c, cases[i].req, strlen(cases[i].req), cases[i].what);
            expect_200(srv, c, cases[i].bytes, cases[i].what);
        }
        hc_close(c);
    }
    /* A client that half-closes after its request (`printf ... | nc`) still gets the answer. */
    struct hc_conn *c = connect_ok(srv, port);
    const char *req = "GET /?bytes=6&wait_us=20000 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_ok(srv, c, req, strlen(req), "a request followed by FIN");
    EXPECT(srv, hc_shutdown_write(c) == 0, "shutdown(SHUT_WR): %s", strerror(errno));
    expect_200(srv, c, 6, "a request followed by the client's FIN");
    EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1, "not closed after the half-closed request");
    hc_close(c);
    stop_ok(srv, sp);
}

SERVER_TEST(protocol, close_semantics, 0, case_close_semantics, .timeout = 30)
