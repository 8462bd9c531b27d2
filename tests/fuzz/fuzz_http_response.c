/* fuzz_http_response.c: libFuzzer target for the harness's response parsing (chttp_feed).
 *
 * The first input byte is the mode. Bit 7 clear: the rest is raw server bytes, split into
 * reads of (byte % 17) bytes (0: one read), with a close at the end when bit 5 is set. The
 * per-call contract is checked (a known result, a reason with every error, counters that
 * add up, nothing after COMPLETE) and so is split invariance: the same bytes read whole
 * and read in pieces give the same verdict and the same figures, since a server's reads
 * may be cut anywhere. Bit 7 set: the rest drives a generator of valid answers (status,
 * body length, Content-Length / chunked / until-close, HTTP/1.0 or 1.1, Connection, extra
 * headers), which must parse COMPLETE with exactly that status, body length and
 * keep-alive, however they are split; one byte more is then an error. The body check of
 * `harness load` rests on that. libhttp_parser itself is not instrumented (a system
 * library), so coverage counts this file and client_http.c only.
 *
 * fuzz-sources: common/client_http.c */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_http.h"

#define GEN_MAX   16384 /* a generated answer: 1023 one-byte chunks fit */
#define BODY_MAX  1023
#define CHUNK_MAX 64

static void check(int cond)
{
    if (!cond)
        abort();
}

/* What one parse ended with. */
struct verdict {
    int result; /* the last chttp_feed result */
    int status;
    uint64_t body_bytes;
    bool headers_done, keep_alive;
};

/* One chttp_feed call with its contract checked; fed counts the bytes given so far. */
static int feed_checked(struct chttp *r, const char *buf, size_t n, uint64_t *fed)
{
    const char *why = NULL;
    bool was_headers = r->headers_done, was_complete = r->complete;
    int rc = chttp_feed(r, buf, n, &why);
    check(rc == CHTTP_MORE || rc == CHTTP_COMPLETE || rc == CHTTP_ERROR);
    if (!was_complete)
        *fed += n; /* bytes after a complete answer are refused, not counted */
    check(r->got_bytes == *fed);
    check(r->body_bytes <= r->got_bytes);
    check(!was_headers || r->headers_done); /* never goes back */
    if (rc == CHTTP_ERROR) {
        check(why != NULL && why[0] != '\0');
    } else if (rc == CHTTP_COMPLETE) {
        check(!was_complete);
        check(r->complete && r->headers_done);
    } else {
        check(!r->complete);
        check(n > 0); /* a close always settles the answer */
    }
    /* libhttp_parser takes any three digits, "000" too: the generator counts those as
       status errors, so 0 is a valid figure here */
    if (r->headers_done)
        check(r->status >= 0 && r->status <= 999);
    if (rc != CHTTP_ERROR && !r->headers_done)
        check(r->body_bytes == 0);
    return rc;
}

/* Parses data as `harness load` reads it: step bytes per read (0: one read), every read
 * fed even after the answer is complete (as later bytes would arrive), then a close if
 * eof and the answer is still open. */
static struct verdict parse(const uint8_t *data, size_t size, size_t step, bool eof)
{
    struct chttp r;
    uint64_t fed = 0;
    int rc = CHTTP_MORE;
    size_t off = 0;
    chttp_reset(&r);
    check(!r.complete && !r.headers_done && r.got_bytes == 0 && r.body_bytes == 0);
    while (off < size && rc != CHTTP_ERROR) {
        size_t n = step && size - off > step ? step : size - off;
        int got = feed_checked(&r, (const char *)data + off, n, &fed);
        /* a read after the answer is always refused */
        check(rc != CHTTP_COMPLETE || got == CHTTP_ERROR);
        rc = got;
        off += n;
    }
    if (eof && rc == CHTTP_MORE)
        rc = feed_checked(&r, NULL, 0, &fed);
    struct verdict v = {rc, r.status, r.body_bytes, r.headers_done, r.keep_alive};
    return v;
}

static void raw_mode(uint8_t mode, const uint8_t *data, size_t size)
{
    size_t step = (mode & 0x1f) % 17;
    bool eof = (mode & 0x20) != 0;
    struct verdict whole = parse(data, size, 0, eof);
    struct verdict split = parse(data, size, step ? step : 1, eof);
    check(whole.result == split.result);
    check(whole.headers_done == split.headers_done);
    if (whole.headers_done)
        check(whole.status == split.status);
    if (whole.result == CHTTP_COMPLETE) {
        check(whole.body_bytes == split.body_bytes);
        check(whole.keep_alive == split.keep_alive);
    }
}

/* Reads the generator's choices from the input, 0 once it runs out. */
struct src {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct src *s)
{
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

static size_t append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t append(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, GEN_MAX - len, fmt, ap);
    va_end(ap);
    check(n >= 0 && len + (size_t)n < GEN_MAX);
    return len + (size_t)n;
}

static void gen_mode(const uint8_t *data, size_t size)
{
    static const int STATUSES[] = {200, 201, 202, 206, 400, 404, 413, 414, 431, 500, 503, 599};
    static const char *const CASES[] = {"Content-Length", "content-length", "CONTENT-LENGTH"};
    static char buf[GEN_MAX];
    struct src s = {data, size};
    unsigned flags = take(&s);
    int status = STATUSES[take(&s) % (sizeof STATUSES / sizeof STATUSES[0])];
    size_t body = ((take(&s) << 8) | take(&s)) % (BODY_MAX + 1);
    size_t step = take(&s) % 17;
    int framing = (int)(flags & 3) % 3; /* 0 Content-Length, 1 chunked, 2 until the close */
    bool http10 = (flags & 4) != 0;
    bool conn_close = (flags & 8) != 0, conn_keep = (flags & 16) != 0;
    int extra = (int)(take(&s) % 4);
    if (http10 && framing == 1)
        framing = 0; /* chunked is HTTP/1.1 only */

    size_t len = append(buf, 0, "HTTP/1.%d %d Whatever\r\n", http10 ? 0 : 1, status);
    for (int i = 0; i < extra; i++) {
        /* a header whose value is any visible text (the parser must not care) */
        char val[33];
        size_t vn = take(&s) % 32;
        for (size_t k = 0; k < vn; k++)
            val[k] = (char)(0x21 + take(&s) % 94);
        val[vn] = '\0';
        len = append(buf, len, "X-Extra-%d: %s\r\n", i, val);
    }
    if (framing == 2)
        conn_close = true; /* the close is what ends it */
    if (conn_close)
        len = append(buf, len, "Connection: close\r\n");
    else if (conn_keep)
        len = append(buf, len, "Connection: keep-alive\r\n");
    if (framing == 0)
        len = append(buf, len, "%s: %zu\r\n", CASES[(flags >> 5) % 3], body);
    else if (framing == 1)
        len = append(buf, len, "Transfer-Encoding: chunked\r\n");
    len = append(buf, len, "\r\n");
    if (framing == 1) {
        size_t left = body;
        while (left > 0) {
            size_t c = 1 + take(&s) % CHUNK_MAX;
            if (c > left)
                c = left;
            len = append(buf, len, (flags & 32) ? "%zX\r\n" : "%zx\r\n", c);
            check(len + c + 2 < GEN_MAX);
            memset(buf + len, 'x', c);
            len += c;
            len = append(buf, len, "\r\n");
            left -= c;
        }
        len = append(buf, len, "0\r\n\r\n");
    } else {
        check(len + body < GEN_MAX);
        memset(buf + len, 'x', body);
        len += body;
    }

    bool keep = !conn_close && (!http10 || conn_keep) && framing != 2;
    struct verdict v = parse((const uint8_t *)buf, len, step, framing == 2);
    check(v.result == CHTTP_COMPLETE);
    check(v.status == status);
    check(v.body_bytes == body);
    check(v.keep_alive == keep);

    /* one byte more (a pipelined answer we never asked for) is an error */
    if (framing != 2) {
        buf[len] = 'H';
        check(parse((const uint8_t *)buf, len + 1, step, false).result == CHTTP_ERROR);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        gen_mode(data + 1, size - 1);
    else
        raw_mode(data[0], data + 1, size - 1);
    return 0;
}
