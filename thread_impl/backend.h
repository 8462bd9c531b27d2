/* backend.h: io=net in the thread server: the connection thread's own keep-alive backend
 * connection, written to and read from with blocking calls. */
#ifndef TVT_THREAD_BACKEND_H
#define TVT_THREAD_BACKEND_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "client_http.h"
#include "upstream.h"

struct backend {
    atomic_int fd;      /* -1: not connected; atomic: the stop path shuts it down (thread.c) */
    int rcv_timeout_ms; /* SO_RCVTIMEO now set on fd */
    struct chttp http;
};

enum backend_result {
    BACKEND_OK,      /* a whole 2xx answer arrived */
    BACKEND_FAILED,  /* the 502's body is in why; the connection was closed */
    BACKEND_STOPPED, /* the server's stop cut it: not answered */
};

void backend_init(struct backend *b);

/* Closes the connection, if any. */
void backend_close(struct backend *b);

/* Sends the backend request for wait_us (formatted into buf, cap >= UPSTREAM_REQUEST_MAX)
 * and blocks until its whole answer arrived, connecting first when the thread has no
 * connection (connect bounded by timeout_ms, the answer by SO_RCVTIMEO at timeout_ms from
 * the send). A signal or a shutdown that interrupts it with *stopping set (the server's cut
 * at the end of a stop's grace) ends it with BACKEND_STOPPED. */
enum backend_result backend_exchange(struct backend *b, const struct upstream_addr *u,
                                     uint32_t wait_us, uint32_t timeout_ms, char *buf, size_t cap,
                                     const atomic_int *stopping, char *why, size_t whylen);

#endif
