/* test_framing.c: request framing, fed whole, byte by byte and pipelined. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "framing.h"

static const struct workload DEFAULTS = {.wait_us = 5,
                                         .work_us = 6,
                                         .bytes = 7,
                                         .io = IO_TIMER,
                                         .file_kib = 4,
                                         .state = STATE_NONE,
                                         .share_us = 2,
                                         .key = "-"};

/* Feeds input in chunks of `step` bytes (0 = all at once), as a server would
 * between reads. Collects up to max requests; returns how many completed, or
 * -status when framing failed. */
static int feed(const char *input, size_t step, struct request *reqs, int max)
{
    struct framer f;
    size_t len = strlen(input), off = 0;
    int n = 0;

    framer_init(&f, &DEFAULTS);
    while (off < len) {
        size_t chunk = step ? (len - off < step ? len - off : step) : len - off;
        size_t pos = 0;
        while (pos < chunk) {
            size_t used;
            struct request r;
            enum framing_result res = framer_feed(&f, input + off + pos, chunk - pos, &used, &r);
            pos += used;
            if (res == FRAMING_ERROR)
                return -f.status;
            if (res == FRAMING_REQUEST && n < max)
                reqs[n++] = r;
            if (res == FRAMING_MORE)
                cr_assert_eq(pos, chunk, "MORE must consume the whole chunk");
        }
        off += chunk;
    }
    return n;
}

struct valid_case {
    const char *name;
    const char *input;
    int requests;
    struct workload first;
    int keep_alive;
};

/* A timer wait with these figures and the defaults' other fields. */
#define TIMER(wait_us, work_us, bytes)                                                             \
    {                                                                                              \
        wait_us, work_us, bytes, IO_TIMER, 4, STATE_NONE, 2, "-"                                   \
    }

static const struct valid_case VALID[] = {
    /* the simplest keep-alive request: defaults apply */
    {"plain", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, TIMER(5, 6, 7), 1},
    /* the query overrides every field */
    {"query", "GET /?wait_us=2000&work_us=3&bytes=64 HTTP/1.1\r\n\r\n", 1, TIMER(2000, 3, 64), 1},
    /* a partial query keeps the other defaults */
    {"partial query", "GET /?bytes=0 HTTP/1.1\r\n\r\n", 1, TIMER(5, 6, 0), 1},
    /* HTTP/1.0 closes unless asked to keep alive */
    {"http/1.0", "GET / HTTP/1.0\r\n\r\n", 1, TIMER(5, 6, 7), 0},
    {"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, TIMER(5, 6, 7),
     1},
    /* Connection: close on HTTP/1.1 */
    {"close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, TIMER(5, 6, 7), 0},
    /* three pipelined requests in one buffer are returned one at a time */
    {"pipelined",
     "GET /?bytes=1 HTTP/1.1\r\n\r\nGET /?bytes=2 HTTP/1.1\r\n\r\nGET /?bytes=3 HTTP/1.1\r\n\r\n",
     3, TIMER(5, 6, 1), 1},
    /* a small body is read and dropped */
    {"body", "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", 2,
     TIMER(5, 6, 7), 1},
    /* HEAD is served */
    {"head", "HEAD / HTTP/1.1\r\n\r\n", 1, TIMER(5, 6, 7), 1},
    /* an absolute-form target with path / */
    {"absolute", "GET http://h/?bytes=9 HTTP/1.1\r\n\r\n", 1, TIMER(5, 6, 9), 1},
    /* the wait's kind and the read size come from the query too */
    {"io",
     "GET /?io=file&file_kib=8 HTTP/1.1\r\n\r\n",
     1,
     {5, 6, 7, IO_FILE, 8, STATE_NONE, 2, "-"},
     1},
    {"io net",
     "GET /?wait_us=9&io=net HTTP/1.1\r\n\r\n",
     1,
     {9, 6, 7, IO_NET, 4, STATE_NONE, 2, "-"},
     1},
    /* empty pairs are tolerated */
    {"empty pair", "GET /?&bytes=9& HTTP/1.1\r\n\r\n", 1, TIMER(5, 6, 9), 1},
    /* the shared state's keys, the rest defaults */
    {"shared",
     "GET /?state=shared&key=k.07&share_us=9 HTTP/1.1\r\n\r\n",
     1,
     {5, 6, 7, IO_TIMER, 4, STATE_SHARED, 9, "k.07"},
     1},
};

Test(framing, valid_requests_whole_and_byte_by_byte)
{
    for (size_t i = 0; i < sizeof(VALID) / sizeof(VALID[0]); i++) {
        const struct valid_case *c = &VALID[i];
        for (size_t step = 0; step <= 7; step += (step == 0 ? 1 : 6)) { /* whole, 1, 7 */
            struct request reqs[4];
            int n = feed(c->input, step, reqs, 4);
            cr_assert_eq(n, c->requests, "%s (step %zu): %d requests, want %d", c->name, step, n,
                         c->requests);
            cr_assert_eq(reqs[0].work.wait_us, c->first.wait_us, "%s: wait_us", c->name);
            cr_assert_eq(reqs[0].work.work_us, c->first.work_us, "%s: work_us", c->name);
            cr_assert_eq(reqs[0].work.bytes, c->first.bytes, "%s: bytes", c->name);
            cr_assert_eq(reqs[0].work.io, c->first.io, "%s: io", c->name);
            cr_assert_eq(reqs[0].work.file_kib, c->first.file_kib, "%s: file_kib", c->name);
            cr_assert_eq(reqs[0].work.state, c->first.state, "%s: state", c->name);
            cr_assert_eq(reqs[0].work.share_us, c->first.share_us, "%s: share_us", c->name);
            cr_assert_str_eq(reqs[0].work.key, c->first.key, "%s: key", c->name);
            cr_assert_eq(!!reqs[0].keep_alive, c->keep_alive, "%s: keep_alive", c->name);
        }
    }
}

Test(framing, pipelined_order_is_kept)
{
    struct request reqs[3];
    int n = feed("GET /?bytes=1 HTTP/1.1\r\n\r\nGET /?bytes=2 HTTP/1.1\r\n\r\n"
                 "GET /?bytes=3 HTTP/1.1\r\nConnection: close\r\n\r\n",
                 0, reqs, 3);

    cr_assert_eq(n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(reqs[i].work.bytes, (uint32_t)i + 1, "request %d out of order", i);
    cr_assert(reqs[1].keep_alive);
    cr_assert_not(reqs[2].keep_alive);
}

Test(framing, head_only_flag)
{
    struct request r[1];

    cr_assert_eq(feed("HEAD / HTTP/1.1\r\n\r\n", 0, r, 1), 1);
    cr_assert(r[0].head_only);
    cr_assert_eq(feed("GET / HTTP/1.1\r\n\r\n", 0, r, 1), 1);
    cr_assert_not(r[0].head_only);
}

struct error_case {
    const char *name;
    const char *input;
    int status;
};

static const struct error_case ERRORS[] = {
    /* not HTTP at all */
    {"garbage", "\x01\x02\x03 nonsense\r\n\r\n", 400},
    {"bad version", "GET / HTTP/9.9\r\n\r\n", 505},
    {"no space", "GET/HTTP/1.1\r\n\r\n", 400},
    /* workload values out of range or malformed: 400, never clamped */
    {"negative", "GET /?wait_us=-1 HTTP/1.1\r\n\r\n", 400},
    {"not a number", "GET /?wait_us=abc HTTP/1.1\r\n\r\n", 400},
    {"empty value", "GET /?bytes= HTTP/1.1\r\n\r\n", 400},
    {"bytes too big", "GET /?bytes=99999999999 HTTP/1.1\r\n\r\n", 400},
    {"bytes just over", "GET /?bytes=1048577 HTTP/1.1\r\n\r\n", 400},
    {"wait too long", "GET /?wait_us=60000001 HTTP/1.1\r\n\r\n", 400},
    {"unknown key", "GET /?wait=100 HTTP/1.1\r\n\r\n", 400},
    {"unknown io", "GET /?io=disk HTTP/1.1\r\n\r\n", 400},
    {"file_kib not a multiple of 4", "GET /?file_kib=6 HTTP/1.1\r\n\r\n", 400},
    {"no value", "GET /?bytes HTTP/1.1\r\n\r\n", 400},
    /* other paths and methods */
    {"path", "GET /index.html HTTP/1.1\r\n\r\n", 404},
    {"post", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
    /* bodies over 64 KiB, announced */
    {"big body", "GET / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413},
};

Test(framing, malformed_requests_get_their_status)
{
    for (size_t i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
        for (size_t step = 0; step <= 1; step++) {
            struct request r[1];
            int n = feed(ERRORS[i].input, step, r, 1);
            cr_assert_eq(n, -ERRORS[i].status, "%s (step %zu): got %d, want %d", ERRORS[i].name,
                         step, n, -ERRORS[i].status);
        }
    }
}

static char *repeat_into(char *dst, char ch, size_t n)
{
    memset(dst, ch, n);
    return dst + n;
}

Test(framing, oversized_header_is_431)
{
    static char req[16384];
    char *p = req;

    p += sprintf(p, "GET / HTTP/1.1\r\nX-Big: ");
    p = repeat_into(p, 'a', 8200);
    strcpy(p, "\r\n\r\n");
    for (size_t step = 0; step <= 1; step++) {
        struct request r[1];
        cr_assert_eq(feed(req, step, r, 1), -431, "step %zu", step);
    }
}

Test(framing, many_headers_under_the_limit_pass)
{
    static char req[16384];
    char *p = req;

    p += sprintf(p, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++) /* 100 x ~70 bytes: under 8 KiB */
        p += sprintf(p, "X-H%03d: %060d\r\n", i, i);
    strcpy(p, "\r\n");
    struct request r[1];
    cr_assert_eq(feed(req, 0, r, 1), 1);
}

Test(framing, long_uri_is_414)
{
    static char req[8192];
    char *p = req;

    p += sprintf(p, "GET /?bytes=1&");
    p = repeat_into(p, 'a', 3000);
    strcpy(p, " HTTP/1.1\r\n\r\n");
    struct request r[1];
    cr_assert_eq(feed(req, 0, r, 1), -414);
    cr_assert_eq(feed(req, 1, r, 1), -414);
}

Test(framing, chunked_body_over_limit_is_413)
{
    static char req[100000];
    char *p = req;

    p += sprintf(p, "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 20; i++) {
        p += sprintf(p, "1000\r\n");
        p = repeat_into(p, 'b', 4096);
        p += sprintf(p, "\r\n");
    }
    strcpy(p, "0\r\n\r\n");
    struct request r[1];
    cr_assert_eq(feed(req, 0, r, 1), -413);
}

Test(framing, mid_request_state)
{
    struct framer f;
    struct request r;
    size_t used;
    const char *half = "GET / HTT";
    const char *rest = "P/1.1\r\n\r\n";

    framer_init(&f, &DEFAULTS);
    cr_assert_not(framer_mid_request(&f), "fresh connection is not mid-request");
    cr_assert_eq(framer_feed(&f, half, strlen(half), &used, &r), FRAMING_MORE);
    cr_assert(framer_mid_request(&f), "half a request is mid-request");
    cr_assert_eq(framer_feed(&f, rest, strlen(rest), &used, &r), FRAMING_REQUEST);
    cr_assert_not(framer_mid_request(&f), "a complete request is not mid-request");
}

Test(framing, error_is_sticky)
{
    struct framer f;
    struct request r;
    size_t used;
    const char *bad = "BAD\x01 / HTTP/1.1\r\n\r\n";
    const char *good = "GET / HTTP/1.1\r\n\r\n";

    framer_init(&f, &DEFAULTS);
    cr_assert_eq(framer_feed(&f, bad, strlen(bad), &used, &r), FRAMING_ERROR);
    cr_assert_eq(framer_feed(&f, good, strlen(good), &used, &r), FRAMING_ERROR,
                 "after an error the connection must close, not parse on");
    cr_assert_eq(used, 0);
    cr_assert_neq(f.error[0], '\0', "an error has a reason for the body");
}
