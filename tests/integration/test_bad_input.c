/* test_bad_input: malformed requests, bad query values, oversized headers and targets get
 * their 4xx and a close, while every other connection goes on being served.
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

TestSuite(bad_input, .fini = itest_release, .timeout = 60);

/* ---- bad input ------------------------------------------------------------------------- */

/* Malformed requests get 400 and a close, while a connection that is mid-request goes on
   to be served. */
static void case_malformed(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *other = connect_ok(srv, port);
    const char *half = "GET /?bytes=9 HTTP/1.1\r\nHost: a\r\n";
    send_ok(srv, other, half, strlen(half), "the other connection's first half");

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
        expect_error_close(srv, port, bad[i].data, bad[i].len ? bad[i].len : strlen(bad[i].data),
                           bad[i].status, bad[i].what);
    send_ok(srv, other, "\r\n", 2, "the other connection's end");
    expect_200(srv, other, 9, "the other connection, after the malformed ones");
    hc_close(other);
    expect_alive(srv, sp, "after malformed requests");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "status_400") == 7, "status_400 = %lld, want 7",
           counter(srv, ctr, "status_400"));
}

SERVER_TEST(bad_input, malformed_gets_400, 0, case_malformed, .timeout = 30)

/* Query values out of range or not numbers: 400 and a close, not a clamp. */
static void case_bad_query(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    static const char *const targets[] = {
        "/?wait_us=-1",       "/?wait_us=abc",      "/?bytes=99999999999", "/?bytes=1048577",
        "/?work_us=10000001", "/?wait_us=60000001", "/?wait_us=",          "/?bytes",
        "/?bytes=1x",         "/?bytes=+5",         "/?nosuch=1",          "/?bytes=5&wait_us=-1",
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char req[256];
        get_req(req, sizeof req, targets[i], NULL);
        expect_error_close(srv, port, req, strlen(req), 400, targets[i]);
    }
    expect_served(srv, port, "after bad queries");
    stop_ok(srv, sp);
}

SERVER_TEST(bad_input, bad_query_values_400, 0, case_bad_query, .timeout = 30)

/* Headers past 8 KiB: 431 (one huge header or many small ones); 7 KiB is fine. */
static void case_big_headers(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    static char req[32 * 1024], fill[16 * 1024];
    size_t cap = sizeof req;

    memset(fill, 'a', 7000);
    int n =
        snprintf(req, cap, "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\nX-Fill: %.7000s\r\n\r\n", fill);
    struct hc_conn *c = connect_ok(srv, port);
    send_ok(srv, c, req, (size_t)n, "a 7000-byte header");
    expect_200(srv, c, 2, "a 7000-byte header (under 8 KiB)");
    hc_close(c);

    memset(fill, 'a', 9000);
    n = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: %.9000s\r\n\r\n", fill);
    expect_error_close(srv, port, req, (size_t)n, 431, "one 9000-byte header");

    n = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 200; i++)
        n += snprintf(req + n, cap - (size_t)n, "X-H%03d: %040d\r\n", i, i);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    expect_error_close(srv, port, req, (size_t)n, 431, "200 headers of 50 bytes");
    expect_served(srv, port, "after oversized headers");
    stop_ok(srv, sp);
}

SERVER_TEST(bad_input, oversized_header_431, 0, case_big_headers, .timeout = 30)

/* A target past 2 KiB: 414; 2000 bytes is fine. */
static void case_long_uri(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    char target[4096], req[4200];
    int n = snprintf(target, sizeof target, "/?bytes=3");
    while (n < 1990)
        n += snprintf(target + n, sizeof target - (size_t)n, "&wait_us=0");
    get_req(req, sizeof req, target, NULL);
    struct hc_conn *c = connect_ok(srv, port);
    send_ok(srv, c, req, strlen(req), "a 1990-byte target");
    expect_200(srv, c, 3, "a 1990-byte target");
    hc_close(c);
    while (n < 3000)
        n += snprintf(target + n, sizeof target - (size_t)n, "&wait_us=0");
    get_req(req, sizeof req, target, NULL);
    expect_error_close(srv, port, req, strlen(req), 414, "a 3000-byte target");
    expect_served(srv, port, "after a long URI");
    stop_ok(srv, sp);
}

SERVER_TEST(bad_input, long_uri_414, 0, case_long_uri, .timeout = 30)
