/* wire: the generator's control messages, framed on a byte stream. */
#include "load/wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"

#define HEAD 5 /* kind, then the payload's length (4 bytes, this machine's order) */

static void head(char *h, char kind, size_t len)
{
    uint32_t n = (uint32_t)len;
    h[0] = kind;
    memcpy(h + 1, &n, sizeof n);
}

int wire_send(int fd, char kind, const void *payload, size_t len, uint64_t deadline_ms)
{
    char h[HEAD];
    head(h, kind, len);
    if (fdio_write_until(fd, h, sizeof h, deadline_ms) < 0)
        return -1;
    return len ? fdio_write_until(fd, payload, len, deadline_ms) : 0;
}

int wire_send_now(int fd, char kind, const void *payload, size_t len)
{
    char buf[HEAD + 512];
    if (len > sizeof buf - HEAD)
        return -1;
    head(buf, kind, len);
    memcpy(buf + HEAD, payload, len);
    /* at most PIPE_BUF bytes: a pipe takes them all or none */
    return write(fd, buf, HEAD + len) == (ssize_t)(HEAD + len) ? 0 : -1;
}

int wire_send_result(int fd, const struct load_result *res, uint64_t deadline_ms)
{
    size_t len = sizeof *res + 2 * sizeof *res->latency;
    char h[HEAD];
    head(h, WIRE_RESULT, len);
    return fdio_write_until(fd, h, sizeof h, deadline_ms) == 0 &&
                   fdio_write_until(fd, (const char *)res, sizeof *res, deadline_ms) == 0 &&
                   fdio_write_until(fd, (const char *)res->latency, sizeof *res->latency,
                                    deadline_ms) == 0 &&
                   fdio_write_until(fd, (const char *)res->latency_raw, sizeof *res->latency_raw,
                                    deadline_ms) == 0
               ? 0
               : -1;
}

void wire_rx_fill(struct wire_rx *rx, int fd)
{
    if (rx->taken) { /* a payload handed out may move: it is done with once we read more */
        memmove(rx->buf, rx->buf + rx->taken, rx->len - rx->taken);
        rx->len -= rx->taken;
        rx->taken = 0;
    }
    for (;;) {
        if (rx->cap - rx->len < 65536) {
            size_t cap = rx->cap ? rx->cap * 2 : 131072;
            char *nb = realloc(rx->buf, cap);
            if (!nb) {
                rx->eof = true;
                return;
            }
            rx->buf = nb;
            rx->cap = cap;
        }
        ssize_t n = read(fd, rx->buf + rx->len, rx->cap - rx->len);
        if (n > 0) {
            rx->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || errno != EAGAIN)
            rx->eof = true;
        return;
    }
}

bool wire_rx_next(struct wire_rx *rx, char *kind, const char **payload, size_t *len)
{
    if (rx->taken) {
        memmove(rx->buf, rx->buf + rx->taken, rx->len - rx->taken);
        rx->len -= rx->taken;
        rx->taken = 0;
    }
    if (rx->len < HEAD)
        return false;
    uint32_t n;
    memcpy(&n, rx->buf + 1, sizeof n);
    if (n > WIRE_MAX) {
        rx->eof = true;
        return false;
    }
    if (rx->len < HEAD + (size_t)n)
        return false;
    *kind = rx->buf[0];
    *payload = rx->buf + HEAD;
    *len = n;
    rx->taken = HEAD + n;
    return true;
}

bool wire_rx_wait(struct wire_rx *rx, int fd, char kind, const char **payload, size_t *len,
                  uint64_t deadline_ms,
                  void (*on_other)(void *arg, char kind, const char *payload, size_t len),
                  void *arg)
{
    for (;;) {
        char k;
        while (wire_rx_next(rx, &k, payload, len)) {
            if (k == kind)
                return true;
            if (on_other)
                on_other(arg, k, *payload, *len);
        }
        uint64_t now = clock_now_ms();
        if (rx->eof || now >= deadline_ms)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(deadline_ms - now)) > 0)
            wire_rx_fill(rx, fd);
    }
}

int wire_parse_result(const char *payload, size_t len, struct load_result *out)
{
    memset(out, 0, sizeof *out);
    if (len != sizeof *out + 2 * sizeof(struct hist))
        return -1;
    memcpy(out, payload, sizeof *out);
    out->latency = hist_new();
    out->latency_raw = hist_new();
    if (!out->latency || !out->latency_raw) {
        load_result_free(out);
        return -1;
    }
    memcpy(out->latency, payload + sizeof *out, sizeof *out->latency);
    memcpy(out->latency_raw, payload + sizeof *out + sizeof *out->latency,
           sizeof *out->latency_raw);
    return 0;
}

void wire_rx_free(struct wire_rx *rx)
{
    free(rx->buf);
    memset(rx, 0, sizeof *rx);
}
