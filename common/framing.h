/* framing.h: HTTP/1.x request framing on libhttp-parser, one request at a time. */
#ifndef TVT_FRAMING_H
#define TVT_FRAMING_H

#include <http_parser.h>
#include <stddef.h>

#include "workload.h"

#define FRAMING_URL_MAX  2048  /* longer request-target: 414 */
#define FRAMING_HEAD_MAX 8192  /* header names + values: 431 past it */
#define FRAMING_BODY_MAX 65536 /* a GET needs no body; a larger one: 413 */

/* Both servers read into a buffer of this size per connection, so that the
 * memory per connection differs only by how each design waits. */
#define CONN_READ_BUF 4096

enum framing_result {
    FRAMING_MORE,    /* every byte consumed, no request complete yet */
    FRAMING_REQUEST, /* one request complete; the rest of the input is untouched */
    FRAMING_ERROR,   /* answer f->status with f->error as body, then close */
};

struct request {
    struct workload work; /* the server's defaults with the query applied */
    int keep_alive;       /* 0: close after the answer */
    int head_only;        /* HEAD: Content-Length but no body */
    int http_minor;       /* 0 for HTTP/1.0: keep-alive must be announced */
};

/* Parse state of one connection. Lives inside the connection (heap for a
 * task, the thread's stack for a thread); holds no pointers to free. */
struct framer {
    http_parser parser;
    const struct workload *defaults;
    struct request req; /* being filled in */
    size_t head_bytes;
    size_t body_bytes;
    size_t url_len;
    int status; /* HTTP status to answer on FRAMING_ERROR */
    int complete;
    int in_message; /* bytes of a request seen and not yet complete */
    char error[128];
    char url[FRAMING_URL_MAX];
};

/* Prepares f for a new connection. defaults must outlive f. */
void framer_init(struct framer *f, const struct workload *defaults);

/* Feeds len bytes and stops after the first complete request, so that
 * pipelined requests are answered one at a time and in order. *consumed is
 * the number of bytes used; feed the rest after answering. */
enum framing_result framer_feed(struct framer *f, const char *buf, size_t len, size_t *consumed,
                                struct request *req);

/* 1 when part of a request has been read: a close now aborts it. */
int framer_mid_request(const struct framer *f);

#endif
