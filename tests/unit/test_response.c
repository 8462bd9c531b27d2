/* test_response.c: the exact bytes of the answers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "response.h"
#include "workload.h"

static struct date_cache fixed_date(void)
{
    struct date_cache dc = {0};
    date_cache_update(&dc, 0); /* the epoch: a known text */
    return dc;
}

Test(response, date_is_rfc7231)
{
    struct date_cache dc = fixed_date();
    cr_assert_str_eq(dc.text, "Thu, 01 Jan 1970 00:00:00 GMT");
    date_cache_update(&dc, 86400 + 3661);
    cr_assert_str_eq(dc.text, "Fri, 02 Jan 1970 01:01:01 GMT", "a new second reformats");
}

Test(response, ok_head_keep_alive_http11)
{
    struct date_cache dc = fixed_date();
    char buf[RESPONSE_HEAD_MAX];
    size_t n = response_head_ok(buf, 64, 1, 1, &dc);

    cr_assert_eq(n, strlen(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", buf);
    cr_assert(strstr(buf, "\r\nContent-Length: 64\r\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\r\nServer: ") != NULL, "%s", buf);
    cr_assert(strstr(buf, "Connection:") == NULL, "HTTP/1.1 keep-alive needs no header");
    cr_assert(strcmp(buf + n - 4, "\r\n\r\n") == 0, "ends with a blank line");
}

Test(response, ok_head_connection_headers)
{
    struct date_cache dc = fixed_date();
    char buf[RESPONSE_HEAD_MAX];

    response_head_ok(buf, 0, 0, 1, &dc);
    cr_assert(strstr(buf, "\r\nConnection: close\r\n") != NULL, "closing answer says so");
    response_head_ok(buf, 0, 1, 0, &dc);
    cr_assert(strstr(buf, "\r\nConnection: keep-alive\r\n") != NULL,
              "HTTP/1.0 keep-alive is announced");
}

Test(response, ok_head_shared_count)
{
    struct date_cache dc = fixed_date();
    char plain[RESPONSE_HEAD_MAX], buf[RESPONSE_HEAD_MAX];
    size_t n0 = response_head_ok(plain, 5, 1, 1, &dc);

    cr_assert_eq(response_head_ok_shared(buf, 5, 1, 1, 0, &dc), n0, "0: no count, no header");
    cr_assert_str_eq(buf, plain);
    size_t n = response_head_ok_shared(buf, 5, 0, 1, 42, &dc);
    cr_assert_eq(n, strlen(buf));
    cr_assert(strstr(buf, "\r\nX-Shared-Count: 42\r\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\r\nConnection: close\r\n") != NULL, "%s", buf);
    cr_assert(strcmp(buf + n - 4, "\r\n\r\n") == 0, "ends with a blank line");
    n = response_head_ok_shared(buf, BYTES_MAX, 1, 0, UINT64_MAX, &dc);
    cr_assert_lt(n, RESPONSE_HEAD_MAX, "the largest count fits the head");
    cr_assert(strstr(buf, "X-Shared-Count: 18446744073709551615\r\n") != NULL, "%s", buf);
}

Test(response, error_answer_has_exact_body)
{
    struct date_cache dc = fixed_date();
    char buf[RESPONSE_HEAD_MAX];
    size_t n = response_error(buf, 431, "too big", &dc);
    unsigned long clen = 0;
    const char *cl = strstr(buf, "Content-Length: ");
    const char *body = strstr(buf, "\r\n\r\n");

    cr_assert_eq(n, strlen(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46) == 0, "%s", buf);
    cr_assert(strstr(buf, "\r\nConnection: close\r\n") != NULL);
    cr_assert_not_null(cl);
    cr_assert_not_null(body);
    sscanf(cl, "Content-Length: %lu", &clen);
    cr_assert_eq(clen, strlen(body + 4), "Content-Length matches the body");
    cr_assert_str_eq(body + 4, "too big\n");
}

/* A 502 (or 500) the client did nothing to deserve keeps its connection, announced as a 200
   would be; asked to close, it says so. */
Test(response, status_answer_keeps_or_closes)
{
    struct date_cache dc = fixed_date();
    char buf[RESPONSE_HEAD_MAX];
    size_t n = response_status(buf, 502, "backend down", 1, 1, &dc);
    const char *body = strstr(buf, "\r\n\r\n");

    cr_assert_eq(n, strlen(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0, "%s", buf);
    cr_assert_null(strstr(buf, "Connection:"), "HTTP/1.1 keep-alive needs no header: %s", buf);
    cr_assert(strstr(buf, "\r\nContent-Length: 13\r\n"), "%s", buf);
    cr_assert_str_eq(body + 4, "backend down\n");
    response_status(buf, 502, "x", 1, 0, &dc);
    cr_assert(strstr(buf, "\r\nConnection: keep-alive\r\n"), "HTTP/1.0: announced; %s", buf);
    response_status(buf, 500, "x", 0, 1, &dc);
    cr_assert(strstr(buf, "HTTP/1.1 500 Internal Server Error\r\n") &&
                  strstr(buf, "\r\nConnection: close\r\n"),
              "%s", buf);
}

Test(response, long_error_reason_fits)
{
    struct date_cache dc = fixed_date();
    char buf[RESPONSE_HEAD_MAX], reason[1000];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    size_t n = response_error(buf, 400, reason, &dc);
    const char *body = strstr(buf, "\r\n\r\n");
    unsigned long clen = 0;

    cr_assert_lt(n, RESPONSE_HEAD_MAX);
    sscanf(strstr(buf, "Content-Length: "), "Content-Length: %lu", &clen);
    cr_assert_eq(clen, strlen(body + 4), "truncated reason keeps Content-Length exact");
}

Test(response, body_is_bytes_max_of_x)
{
    response_init();
    const char *b = response_body();
    cr_assert_eq(b[0], 'x');
    cr_assert_eq(b[BYTES_MAX - 1], 'x');
}

Test(response, reasons)
{
    cr_assert_str_eq(response_reason(400), "Bad Request");
    cr_assert_str_eq(response_reason(414), "URI Too Long");
    cr_assert_str_eq(response_reason(503), "Service Unavailable");
}
