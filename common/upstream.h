/* upstream.h: the backend of io=net requests: its address, connecting to it, the request
 * sent to it and the check of its answer, the same for every server. */
#ifndef TVT_UPSTREAM_H
#define TVT_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client_http.h"

#define UPSTREAM_TIMEOUT_MS_DEFAULT 5000
/* The request to the backend: "GET /?wait_us=W&work_us=0&bytes=0 HTTP/1.1" and a Host
   header; it fits a server's RESPONSE_HEAD_MAX head buffer, where the servers format it. */
#define UPSTREAM_REQUEST_MAX 384

struct upstream_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char host_port[264]; /* as given to --upstream (a DNS name and a port fit): the Host header */
};

/* Why an io=net request failed; the 502's body says which. */
enum upstream_failure {
    UPSTREAM_CONNECT,   /* connect failed (refused, unreachable, out of fds): err */
    UPSTREAM_SEND,      /* writing the request failed: err */
    UPSTREAM_RECV,      /* reading the answer failed (reset): err */
    UPSTREAM_CLOSED,    /* the backend closed before a whole answer */
    UPSTREAM_MALFORMED, /* not an HTTP/1.x answer: detail */
    UPSTREAM_STATUS,    /* a non-2xx answer: status */
    UPSTREAM_TIMEOUT,   /* no whole answer within --upstream-timeout-ms */
};

/* Resolves spec, "HOST:PORT" or "[V6]:PORT", into u. Unless allow_remote, the address must
 * be loopback (127.0.0.0/8 or ::1): a benchmark's backend belongs on this machine. 0 ok; -1
 * with a message naming the flag, the address and the fix in err. */
int upstream_resolve(struct upstream_addr *u, const char *spec, int allow_remote, char *err,
                     size_t errlen);

/* A non-blocking TCP socket (TCP_NODELAY, close-on-exec) connecting to u. Returns the fd with
 * *pending = 1 while the connect is in progress (wait for writability, then
 * upstream_connect_error), 0 once connected; -1 with errno when it failed at once. */
int upstream_connect(const struct upstream_addr *u, int *pending);

/* The outcome of a connect that was pending: 0 connected, else the errno (SO_ERROR). */
int upstream_connect_error(int fd);

/* Formats the backend request for a wait of wait_us into buf (cap >= UPSTREAM_REQUEST_MAX).
 * Returns its length. */
size_t upstream_format_request(char *buf, size_t cap, const struct upstream_addr *u,
                               uint32_t wait_us);

/* Feeds one read of the backend's answer, n bytes of buf (n == 0: the backend closed), to r.
 * As chttp_feed: CHTTP_MORE, CHTTP_COMPLETE (an answer run to the close is not kept alive),
 * or CHTTP_ERROR with its kind in *f: UPSTREAM_CLOSED before a whole answer, else
 * UPSTREAM_MALFORMED with *why naming the cause (static string). */
int upstream_feed(struct chttp *r, const char *buf, size_t n, enum upstream_failure *f,
                  const char **why);

/* Checks a complete answer (chttp_feed said CHTTP_COMPLETE): 0 when its status is 2xx, else
 * -1 (an UPSTREAM_STATUS failure). */
int upstream_answer_ok(const struct chttp *r);

/* The 502's body for a failure, into buf: "backend 127.0.0.1:8080: connect: Connection
 * refused". err is an errno (CONNECT, SEND, RECV), status an HTTP status (STATUS), detail a
 * parser's reason (MALFORMED), timeout_ms the bound (TIMEOUT). Returns buf. */
const char *upstream_reason(char *buf, size_t len, const struct upstream_addr *u,
                            enum upstream_failure f, int err, int status, const char *detail,
                            uint32_t timeout_ms);

#endif
