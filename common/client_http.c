/* client_http: the client side of HTTP/1.1 (harness generator, servers to their backend). */
#include "client_http.h"

#include <stdio.h>
#include <string.h>

#include "container.h"

static int on_headers_complete(http_parser *p)
{
    struct chttp *r = container_of(p, struct chttp, parser);
    r->status = (int)p->status_code;
    r->headers_done = true;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    (void)at;
    struct chttp *r = container_of(p, struct chttp, parser);
    r->body_bytes += len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct chttp *r = container_of(p, struct chttp, parser);
    r->complete = true;
    r->keep_alive = http_should_keep_alive(p) != 0;
    /* stop here: anything after the answer is a protocol error, since we never pipeline */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings SETTINGS = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int chttp_format_request_q(char *buf, size_t cap, const char *host_port, const char *path,
                           const struct chttp_query *q)
{
    char qs[160] = "";
    size_t qn = 0;
    const char *names[] = {"wait_us", "work_us", "bytes", "io", "file_kib"};
    long vals[] = {q->wait_us, q->work_us, q->bytes, q->io ? 0 : -1, q->file_kib};
    for (int i = 0; i < 5; i++) {
        if (vals[i] < 0)
            continue;
        int w = i == 3 ? snprintf(qs + qn, sizeof qs - qn, "%sio=%s", qn ? "&" : "", q->io)
                       : snprintf(qs + qn, sizeof qs - qn, "%s%s=%ld", qn ? "&" : "", names[i],
                                  vals[i]);
        if (w < 0 || (size_t)w >= sizeof qs - qn)
            return -1;
        qn += (size_t)w;
    }
    if (q->state) {
        char share[32] = "";
        if (q->share_us >= 0)
            snprintf(share, sizeof share, "&share_us=%ld", q->share_us);
        int w = snprintf(qs + qn, sizeof qs - qn, "%sstate=%s%s%s", qn ? "&" : "", q->state, share,
                         q->key ? "&" CHTTP_KEY_DIGITS "00" : "");
        if (w < 0 || (size_t)w >= sizeof qs - qn)
            return -1;
        qn += (size_t)w;
    }
    const char *sep = qn == 0 ? "" : strchr(path, '?') ? "&" : "?";
    int n = snprintf(buf, cap, "GET %s%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", path, sep, qs, host_port);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int chttp_format_request(char *buf, size_t cap, const char *host_port, const char *path,
                         long wait_us, long work_us, long bytes)
{
    struct chttp_query q = {wait_us, work_us, bytes, NULL, -1, NULL, 0, false};
    return chttp_format_request_q(buf, cap, host_port, path, &q);
}

void chttp_reset(struct chttp *r)
{
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->body_bytes = 0;
    r->got_bytes = 0;
    r->status = 0;
    r->headers_done = false;
    r->complete = false;
    r->keep_alive = false;
}

int chttp_feed(struct chttp *r, const char *buf, size_t n, const char **why)
{
    if (r->complete) {
        *why = "bytes after a complete response";
        return CHTTP_ERROR;
    }
    r->got_bytes += n;
    size_t done = http_parser_execute(&r->parser, &SETTINGS, buf, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (r->complete) {
        if (done < n) {
            *why = "bytes after a complete response";
            return CHTTP_ERROR;
        }
        return CHTTP_COMPLETE;
    }
    if (e != HPE_OK) {
        *why = http_errno_description(e);
        return CHTTP_ERROR;
    }
    if (n == 0) {
        *why = "connection closed before a complete response";
        return CHTTP_ERROR;
    }
    return CHTTP_MORE;
}
