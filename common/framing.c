/* framing.c: request framing and validation over libhttp-parser callbacks. */
#include "framing.h"

#include <stdio.h>
#include <string.h>

static int fail(struct framer *f, int status, const char *why)
{
    if (f->status == 0) {
        f->status = status;
        snprintf(f->error, sizeof(f->error), "%s", why);
    }
    return -1; /* makes http_parser stop with HPE_CB_* */
}

static int on_message_begin(http_parser *p)
{
    struct framer *f = p->data;

    f->head_bytes = 0;
    f->body_bytes = 0;
    f->url_len = 0;
    f->in_message = 1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct framer *f = p->data;

    if (len > FRAMING_URL_MAX - f->url_len)
        return fail(f, 414, "request-target longer than 2048 bytes");
    memcpy(f->url + f->url_len, at, len);
    f->url_len += len;
    return 0;
}

static int on_header_bytes(http_parser *p, const char *at, size_t len)
{
    struct framer *f = p->data;

    (void)at;
    f->head_bytes += len;
    if (f->head_bytes > FRAMING_HEAD_MAX)
        return fail(f, 431, "request header fields larger than 8 KiB");
    return 0;
}

/* Resolves the target: path "/" only, the query over the server's defaults. */
static int parse_target(struct framer *f)
{
    struct http_parser_url u;

    http_parser_url_init(&u);
    if (http_parser_parse_url(f->url, f->url_len, 0, &u) != 0)
        return fail(f, 400, "malformed request-target");
    if (u.field_set & (1 << UF_PATH)) {
        const char *path = f->url + u.field_data[UF_PATH].off;
        if (u.field_data[UF_PATH].len != 1 || path[0] != '/')
            return fail(f, 404, "no such path: only / is served");
    }
    f->req.work = *f->defaults;
    if (u.field_set & (1 << UF_QUERY)) {
        char why[sizeof f->error];
        if (workload_parse_query(&f->req.work, f->url + u.field_data[UF_QUERY].off,
                                 u.field_data[UF_QUERY].len, why, sizeof(why)) < 0)
            return fail(f, 400, why);
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct framer *f = p->data;

    if (p->http_major != 1)
        return fail(f, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    if (p->method != HTTP_GET && p->method != HTTP_HEAD)
        return fail(f, 405, "only GET and HEAD are served");
    /* ULLONG_MAX means "no Content-Length" (chunked or none). */
    if (p->content_length != (uint64_t)-1 && p->content_length > FRAMING_BODY_MAX)
        return fail(f, 413, "request body larger than 64 KiB");
    if (parse_target(f) < 0)
        return -1;
    f->req.head_only = p->method == HTTP_HEAD;
    f->req.http_minor = p->http_minor;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct framer *f = p->data;

    (void)at; /* a GET body is read and dropped, never stored */
    f->body_bytes += len;
    if (f->body_bytes > FRAMING_BODY_MAX)
        return fail(f, 413, "request body larger than 64 KiB");
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct framer *f = p->data;

    f->req.keep_alive = http_should_keep_alive(p);
    f->complete = 1;
    f->in_message = 0;
    /* Stop here: the bytes after this request stay unparsed until it is answered. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings SETTINGS = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_bytes,
    .on_header_value = on_header_bytes,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void framer_init(struct framer *f, const struct workload *defaults)
{
    http_parser_init(&f->parser, HTTP_REQUEST);
    f->parser.data = f;
    f->defaults = defaults;
    f->head_bytes = f->body_bytes = f->url_len = 0;
    f->status = 0;
    f->complete = 0;
    f->in_message = 0;
    f->error[0] = '\0';
}

enum framing_result framer_feed(struct framer *f, const char *buf, size_t len, size_t *consumed,
                                struct request *req)
{
    size_t n;
    enum http_errno e;

    *consumed = 0;
    if (f->status != 0)
        return FRAMING_ERROR;
    if (HTTP_PARSER_ERRNO(&f->parser) == HPE_PAUSED)
        http_parser_pause(&f->parser, 0);
    if (len == 0)
        return FRAMING_MORE; /* a zero length means EOF to http_parser: never pass it */
    f->complete = 0;
    n = http_parser_execute(&f->parser, &SETTINGS, buf, len);
    *consumed = n;
    e = HTTP_PARSER_ERRNO(&f->parser);
    if (f->complete) {
        *req = f->req;
        return FRAMING_REQUEST;
    }
    if (e == HPE_OK && n == len)
        return FRAMING_MORE;
    if (f->status == 0) {
        if (e == HPE_HEADER_OVERFLOW)
            fail(f, 431, "request header fields too large");
        else
            fail(f, 400, http_errno_description(e));
    }
    return FRAMING_ERROR;
}

int framer_mid_request(const struct framer *f)
{
    return f->in_message;
}
