/* client_http: the client side of HTTP/1.1: one request text, response parsing and checks.
 * The harness's generator talks to the servers with it, and the servers to their backend
 * (io=net). */
#ifndef TVT_CLIENT_HTTP_H
#define TVT_CLIENT_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Response state of one connection (libhttp-parser underneath). The body is counted, never
 * stored. Not thread-safe; one per connection. */
struct chttp {
    http_parser parser;
    uint64_t body_bytes; /* body bytes seen so far */
    uint64_t got_bytes;  /* bytes of this response fed so far (0: nothing arrived yet) */
    int status;          /* status code, once the headers are complete */
    bool headers_done;
    bool complete;   /* one whole response parsed */
    bool keep_alive; /* valid once complete */
};

/* Outcome of chttp_feed. */
enum chttp_result {
    CHTTP_MORE = 0,     /* need more bytes */
    CHTTP_COMPLETE = 1, /* one response complete (see chttp fields) */
    CHTTP_ERROR = -1,   /* malformed, or bytes beyond the response (we never pipeline) */
};

/* Formats "GET path?wait_us=..&work_us=..&bytes=.. HTTP/1.1" with a Host header into buf.
 * path may carry its own query (the parameters are then appended with '&'); a negative
 * parameter is left out. Returns the length, or -1 if it does not fit in cap. */
int chttp_format_request(char *buf, size_t cap, const char *host_port, const char *path,
                         long wait_us, long work_us, long bytes);

/* The query keys of a request; a negative number or a NULL io is left out. */
struct chttp_query {
    long wait_us, work_us, bytes;
    const char *io; /* "timer", "net", "file" (workload_io_name) */
    long file_kib;
    const char *state; /* "shared" or "none" (NULL: not sent); with it share_us= and key= */
    long share_us;     /* < 0: not sent (the server's default) */
    bool key;          /* key=kNN: NN two digits the sender sets per connection
                          (CHTTP_KEY_DIGITS finds them) */
};

/* "key=k" before the two digits of a request's key (chttp_query.key). */
#define CHTTP_KEY_DIGITS "key=k"

/* chttp_format_request with every key of q, in the order wait_us, work_us, bytes, io,
 * file_kib: "GET /?wait_us=1000&work_us=0&bytes=64&io=file&file_kib=4 HTTP/1.1". Same
 * contract. */
int chttp_format_request_q(char *buf, size_t cap, const char *host_port, const char *path,
                           const struct chttp_query *q);

/* Prepares r for the next response. */
void chttp_reset(struct chttp *r);

/* Feeds n received bytes (n == 0 means the peer closed). Returns an enum chttp_result; on
 * CHTTP_ERROR *why names the cause (static string). */
int chttp_feed(struct chttp *r, const char *buf, size_t n, const char **why);

#endif
