/* backend.c: io=net in the thread server: the thread writes the backend request and blocks
 * in read() until the whole answer is there, on its own keep-alive connection. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "timeout.h"

#define ANSWER_CHUNK 4096 /* backend answers are read through the stack, never kept */

void backend_init(struct backend *b)
{
    atomic_store(&b->fd, -1);
    b->rcv_timeout_ms = 0;
}

void backend_close(struct backend *b)
{
    int fd = atomic_exchange(&b->fd, -1);
    if (fd >= 0)
        close(fd);
}

/* A kept connection the backend closed while it was idle (its idle timeout, say), or one
   with bytes nobody asked for: drop it, so that the request reconnects instead of failing.
   One non-blocking peek per request. */
static void drop_if_stale(struct backend *b)
{
    char byte;
    int fd = atomic_load(&b->fd);
    if (fd < 0)
        return;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EINTR))
        backend_close(b);
}

/* Connects within timeout_ms; the socket is then blocking, with both timeouts set. */
static enum backend_result backend_connect(struct backend *b, const struct upstream_addr *u,
                                           uint32_t timeout_ms, const atomic_int *stopping,
                                           int *err)
{
    int pending;
    int fd = upstream_connect(u, &pending);

    if (fd < 0) {
        *err = errno;
        return BACKEND_FAILED;
    }
    atomic_store(&b->fd, fd);
    int64_t deadline = timeout_deadline(timeout_ms);
    while (pending) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int64_t left = timeout_left(deadline);
        int r = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR) {
            if (atomic_load(stopping))
                return BACKEND_STOPPED;
            continue;
        }
        if (r <= 0) {
            *err = r == 0 ? ETIMEDOUT : errno;
            return BACKEND_FAILED;
        }
        pending = 0;
        if ((*err = upstream_connect_error(fd)) != 0)
            return BACKEND_FAILED;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeout_set(fd, SO_SNDTIMEO, timeout_ms);
    timeout_set(fd, SO_RCVTIMEO, timeout_ms);
    b->rcv_timeout_ms = (int)timeout_ms;
    return BACKEND_OK;
}

static enum backend_result fail(struct backend *b, char *why, size_t whylen,
                                const struct upstream_addr *u, enum upstream_failure f, int err,
                                int status, const char *detail, uint32_t timeout_ms)
{
    backend_close(b);
    upstream_reason(why, whylen, u, f, err, status, detail, timeout_ms);
    return BACKEND_FAILED;
}

enum backend_result backend_exchange(struct backend *b, const struct upstream_addr *u,
                                     uint32_t wait_us, uint32_t timeout_ms, char *buf, size_t cap,
                                     const atomic_int *stopping, char *why, size_t whylen)
{
    enum backend_result r;
    int err = 0;

    drop_if_stale(b);
    if (atomic_load(&b->fd) < 0) {
        r = backend_connect(b, u, timeout_ms, stopping, &err);
        if (r == BACKEND_STOPPED) {
            backend_close(b);
            return r;
        }
        if (r == BACKEND_FAILED)
            return fail(b, why, whylen, u, UPSTREAM_CONNECT, err, 0, NULL, timeout_ms);
    }
    int fd = atomic_load(&b->fd);
    size_t len = upstream_format_request(buf, cap, u, wait_us);
    if (fdio_write_all(fd, buf, len) < 0) {
        /* A stop shuts the socket down before its signal interrupts us: the write retried
           after EINTR fails, and the stop is what ended it. */
        if (atomic_load(stopping)) {
            backend_close(b);
            return BACKEND_STOPPED;
        }
        return fail(b, why, whylen, u,
                    errno == EAGAIN || errno == EWOULDBLOCK ? UPSTREAM_TIMEOUT : UPSTREAM_SEND,
                    errno, 0, NULL, timeout_ms);
    }

    int64_t deadline = timeout_deadline(timeout_ms);
    if (b->rcv_timeout_ms != (int)timeout_ms) { /* a longer answer last time narrowed it */
        timeout_set(fd, SO_RCVTIMEO, timeout_ms);
        b->rcv_timeout_ms = (int)timeout_ms;
    }
    chttp_reset(&b->http);
    for (;;) {
        char chunk[ANSWER_CHUNK];
        const char *detail = NULL;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR && atomic_load(stopping)) {
            backend_close(b);
            return BACKEND_STOPPED;
        }
        if (n < 0 && errno != EINTR)
            return fail(b, why, whylen, u,
                        errno == EAGAIN || errno == EWOULDBLOCK ? UPSTREAM_TIMEOUT : UPSTREAM_RECV,
                        errno, 0, NULL, timeout_ms);
        if (n >= 0) {
            enum upstream_failure f;
            int fr = upstream_feed(&b->http, chunk, (size_t)n, &f, &detail); /* 0: it closed */
            if (fr == CHTTP_ERROR)
                return fail(b, why, whylen, u, f, 0, 0, detail, timeout_ms);
            if (fr == CHTTP_COMPLETE)
                break;
        }
        /* More to come: the rest of the answer gets what is left of the timeout. */
        int64_t left = timeout_left(deadline);
        if (left <= 0)
            return fail(b, why, whylen, u, UPSTREAM_TIMEOUT, 0, 0, NULL, timeout_ms);
        timeout_set(fd, SO_RCVTIMEO, left);
        b->rcv_timeout_ms = (int)left;
    }
    if (upstream_answer_ok(&b->http) < 0)
        return fail(b, why, whylen, u, UPSTREAM_STATUS, 0, b->http.status, NULL, timeout_ms);
    if (!b->http.keep_alive)
        backend_close(b); /* the backend said close (or ran its answer to the close) */
    return BACKEND_OK;
}
