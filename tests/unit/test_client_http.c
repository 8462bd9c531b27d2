/* Unit tests for common/client_http: the request text and response parsing, whole and byte
 * by byte, with the failures the generator counts. */
#include <criterion/criterion.h>
#include <string.h>

#include "client_http.h"

/* feeds text whole (step 0) or step bytes at a time; returns the last result */
static int feed(struct chttp *r, const char *text, size_t step, const char **why)
{
    size_t len = strlen(text);
    chttp_reset(r);
    if (step == 0)
        return chttp_feed(r, text, len, why);
    int rc = CHTTP_MORE;
    for (size_t off = 0; off < len && rc == CHTTP_MORE; off += step)
        rc = chttp_feed(r, text + off, off + step <= len ? step : len - off, why);
    return rc;
}

static const size_t STEPS[] = {0, 1, 7};

Test(client_http, formats_the_query)
{
    char buf[256];
    int n = chttp_format_request(buf, sizeof buf, "127.0.0.1:80", "/", 10, 0, 64);
    cr_assert_str_eq(buf,
                     "GET /?wait_us=10&work_us=0&bytes=64 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n");
    cr_assert_eq(n, (int)strlen(buf));
    chttp_format_request(buf, sizeof buf, "h:1", "/x?a=1", -1, -1, 5);
    cr_assert_str_eq(buf, "GET /x?a=1&bytes=5 HTTP/1.1\r\nHost: h:1\r\n\r\n");
    chttp_format_request(buf, sizeof buf, "h:1", "/p", -1, -1, -1);
    cr_assert_str_eq(buf, "GET /p HTTP/1.1\r\nHost: h:1\r\n\r\n");
    cr_assert_eq(chttp_format_request(buf, 20, "h:1", "/", 1, 2, 3), -1, "too small");
}

/* the io kind and the read size follow the other keys; left out when negative or NULL */
Test(client_http, formats_the_io_keys)
{
    char buf[256];
    struct chttp_query q = {1000, 0, 64, "file", 4, NULL, 0, false};
    int n = chttp_format_request_q(buf, sizeof buf, "127.0.0.1:80", "/", &q);
    cr_assert_str_eq(buf, "GET /?wait_us=1000&work_us=0&bytes=64&io=file&file_kib=4 "
                          "HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n");
    cr_assert_eq(n, (int)strlen(buf));
    struct chttp_query net = {-1, -1, -1, "net", -1, NULL, 0, false};
    chttp_format_request_q(buf, sizeof buf, "h:1", "/x?a=1", &net);
    cr_assert_str_eq(buf, "GET /x?a=1&io=net HTTP/1.1\r\nHost: h:1\r\n\r\n");
    struct chttp_query kib = {-1, -1, 5, NULL, 1024, NULL, 0, false};
    chttp_format_request_q(buf, sizeof buf, "h:1", "/", &kib);
    cr_assert_str_eq(buf, "GET /?bytes=5&file_kib=1024 HTTP/1.1\r\nHost: h:1\r\n\r\n");
    /* the old call is the new one without io and file_kib */
    char old[256];
    struct chttp_query same = {10, 0, 64, NULL, -1, NULL, 0, false};
    chttp_format_request(old, sizeof old, "h:1", "/", 10, 0, 64);
    chttp_format_request_q(buf, sizeof buf, "h:1", "/", &same);
    cr_assert_str_eq(buf, old);
    cr_assert_eq(chttp_format_request_q(buf, 40, "h:1", "/", &q), -1, "too small");
}

/* shared state: state=, share_us= and a key whose two digits each connection sets */
Test(client_http, formats_the_shared_state_keys)
{
    char buf[256];
    struct chttp_query q = {0, -1, 8, NULL, -1, "shared", 3, true};
    chttp_format_request_q(buf, sizeof buf, "h:1", "/", &q);
    cr_assert_str_eq(buf, "GET /?wait_us=0&bytes=8&state=shared&share_us=3&key=k00 "
                          "HTTP/1.1\r\nHost: h:1\r\n\r\n");
    cr_assert_not_null(strstr(buf, CHTTP_KEY_DIGITS "00"));
    struct chttp_query none = {-1, -1, -1, NULL, -1, "none", 0, false};
    chttp_format_request_q(buf, sizeof buf, "h:1", "/", &none);
    cr_assert_str_eq(buf, "GET /?state=none&share_us=0 HTTP/1.1\r\nHost: h:1\r\n\r\n");
}

Test(client_http, complete_response_counts_the_body)
{
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nxxxxx";
    for (size_t i = 0; i < 3; i++) {
        struct chttp r;
        const char *why = NULL;
        cr_assert_eq(feed(&r, resp, STEPS[i], &why), CHTTP_COMPLETE, "step %zu", STEPS[i]);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_bytes, 5);
        cr_assert(r.keep_alive);
    }
}

Test(client_http, status_and_close_are_reported)
{
    struct chttp r;
    const char *why;
    const char *resp = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    cr_assert_eq(feed(&r, resp, 0, &why), CHTTP_COMPLETE);
    cr_assert_eq(r.status, 503);
    cr_assert_not(r.keep_alive);
}

Test(client_http, body_until_close)
{
    struct chttp r;
    const char *why;
    cr_assert_eq(feed(&r, "HTTP/1.1 200 OK\r\n\r\nabc", 0, &why), CHTTP_MORE);
    cr_assert_eq(chttp_feed(&r, NULL, 0, &why), CHTTP_COMPLETE);
    cr_assert_eq(r.body_bytes, 3);
}

Test(client_http, short_body_then_close_is_an_error)
{
    struct chttp r;
    const char *why = NULL;
    cr_assert_eq(feed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, &why), CHTTP_MORE);
    cr_assert(r.headers_done);
    cr_assert_eq(chttp_feed(&r, NULL, 0, &why), CHTTP_ERROR);
    cr_assert_not_null(why);
}

Test(client_http, close_before_any_byte_is_an_error)
{
    struct chttp r;
    const char *why = NULL;
    chttp_reset(&r);
    cr_assert_eq(chttp_feed(&r, NULL, 0, &why), CHTTP_ERROR);
    cr_assert_eq(r.got_bytes, 0);
}

Test(client_http, garbage_and_extra_bytes_are_errors)
{
    for (size_t i = 0; i < 3; i++) {
        struct chttp r;
        const char *why = NULL;
        cr_assert_eq(feed(&r, "SSH-2.0-OpenSSH\r\n\r\n", STEPS[i], &why), CHTTP_ERROR);
        cr_assert_not_null(why);
    }
    struct chttp r;
    const char *why = NULL;
    /* we never pipeline: a second answer in the same read is a protocol error */
    cr_assert_eq(feed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", 0, &why),
                 CHTTP_ERROR);
}

/* Cases below pin what tests/fuzz/fuzz_http_response.c checks on generated answers. */

Test(client_http, chunked_body_is_counted_decoded_however_split)
{
    /* an extension on a chunk size and a trailer: neither counts as body */
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nxxx\r\na;ext=1\r\nxxxxxxxxxx\r\n0\r\nTrailer: t\r\n\r\n";
    for (size_t i = 0; i < 3; i++) {
        struct chttp r;
        const char *why = NULL;
        cr_assert_eq(feed(&r, resp, STEPS[i], &why), CHTTP_COMPLETE, "step %zu: %s", STEPS[i],
                     why ? why : "");
        cr_assert_eq(r.body_bytes, 13, "step %zu", STEPS[i]);
        cr_assert_eq(r.got_bytes, strlen(resp));
        cr_assert(r.keep_alive);
    }
}

Test(client_http, keep_alive_follows_the_version_and_connection_header)
{
    static const struct {
        const char *resp;
        bool keep;
    } cases[] = {
        /* HTTP/1.1 keeps the connection unless told otherwise */
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", true},
        {"HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 1\r\n\r\nx", false},
        /* HTTP/1.0 closes unless it says keep-alive */
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
        {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t i = 0; i < 3; i++) {
            struct chttp r;
            const char *why = NULL;
            cr_assert_eq(feed(&r, cases[c].resp, STEPS[i], &why), CHTTP_COMPLETE, "case %zu", c);
            cr_assert_eq(r.keep_alive, cases[c].keep, "case %zu step %zu", c, STEPS[i]);
            cr_assert_eq(r.body_bytes, 1);
        }
}

Test(client_http, a_read_after_the_answer_is_refused_and_not_counted)
{
    struct chttp r;
    const char *why = NULL;
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxx";
    cr_assert_eq(feed(&r, resp, 0, &why), CHTTP_COMPLETE);
    cr_assert_eq(chttp_feed(&r, "H", 1, &why), CHTTP_ERROR);
    cr_assert_not_null(why);
    cr_assert_eq(r.got_bytes, strlen(resp));
    cr_assert_eq(r.body_bytes, 2);
}
