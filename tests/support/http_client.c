/* http_client: a tiny blocking HTTP/1.x client for the integration tests, every call bounded. */
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "test_env.h"

#define HEAD_MAX (64 * 1024) /* a response head longer than this is garbage */

static struct hc_conn *open_conns; /* list head, see hc_close_all */

/* Milliseconds left until deadline (never negative). */
static int left_ms(double deadline)
{
    double left = deadline - tenv_now_ms();
    return left <= 0 ? 0 : (int)(left + 0.999);
}

/* poll one fd for events until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        return r > 0;
    }
}

struct hc_conn *hc_connect(int port, int timeout_ms)
{
    struct hc_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = -1;
    double deadline = tenv_now_ms() + timeout_ms;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        int r = wait_fd(c->fd, POLLOUT, deadline);
        if (r <= 0) {
            if (r == 0)
                errno = ETIMEDOUT;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            goto fail;
        if (soerr) {
            errno = soerr;
            goto fail;
        }
    }
    c->next = open_conns;
    if (open_conns)
        open_conns->prev = c;
    open_conns = c;
    return c;
fail:;
    int e = errno;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    errno = e;
    return NULL;
}

int hc_send(struct hc_conn *c, const void *data, size_t len, int timeout_ms)
{
    return fdio_write_until(c->fd, data, len,
                            clock_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0));
}

int hc_send_str(struct hc_conn *c, const char *s, int timeout_ms)
{
    return hc_send(c, s, strlen(s), timeout_ms);
}

int hc_send_pieces(struct hc_conn *c, const void *data, size_t len, size_t piece, long delay_us,
                   int timeout_ms)
{
    const char *p = data;
    double deadline = tenv_now_ms() + timeout_ms;
    if (piece == 0)
        piece = 1;
    while (len > 0) {
        size_t n = len < piece ? len : piece;
        if (hc_send(c, p, n, left_ms(deadline) + 1) < 0)
            return -1;
        p += n;
        len -= n;
        if (len > 0 && delay_us > 0) {
            struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
            deadline += delay_us / 1e3;
        }
    }
    return 0;
}

int hc_fill(struct hc_conn *c)
{
    if (c->eof || c->reset)
        return -1;
    if (c->cap - c->len < 16384) {
        size_t cap = c->cap ? c->cap * 2 : 32768;
        char *nb = realloc(c->buf, cap);
        if (!nb)
            return -1;
        c->buf = nb;
        c->cap = cap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = '\0';
            return 1;
        }
        if (n == 0) {
            c->eof = true;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        if (errno == ECONNRESET)
            c->reset = true;
        return -1;
    }
}

/* Finds the end of the head (CRLF CRLF); offset just past it, or 0. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* Parses status line and headers in head (NUL-terminated). 0 ok, -1 malformed. */
static int parse_head(struct hc_response *r, char *head)
{
    int status = 0, minor = -1, used = 0;
    if (sscanf(head, "HTTP/1.%d %3d%n", &minor, &status, &used) != 2 || minor < 0 || status < 100 ||
        status > 599 || (head[used] != ' ' && head[used] != '\r'))
        return -1;
    r->status = status;
    r->minor = minor;
    r->content_length = -1;
    char *line = strstr(head, "\r\n");
    while (line && line[2] != '\r' && line[2] != '\0') {
        line += 2;
        char *eol = strstr(line, "\r\n");
        char *colon = memchr(line, ':', eol ? (size_t)(eol - line) : strlen(line));
        if (!colon || !eol)
            return -1;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t nlen = (size_t)(colon - line);
        if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            char *end;
            errno = 0;
            long cl = strtol(v, &end, 10);
            while (*end == ' ' || *end == '\t')
                end++;
            if (errno || cl < 0 || end != eol || r->content_length >= 0)
                return -1;
            r->content_length = cl;
        } else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
            char val[128];
            size_t vl = (size_t)(eol - v) < sizeof val - 1 ? (size_t)(eol - v) : sizeof val - 1;
            memcpy(val, v, vl);
            val[vl] = '\0';
            if (strcasestr(val, "close"))
                r->conn_close = true;
        } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            return -1; /* the servers never chunk; this client does not decode it */
        }
        line = eol;
    }
    return 0;
}

int hc_try_response(struct hc_conn *c, struct hc_response *r)
{
    memset(r, 0, sizeof *r);
    size_t hend = head_end(c->buf ? c->buf : "", c->len);
    if (hend == 0) {
        if (c->len > HEAD_MAX || ((c->eof || c->reset) && c->len > 0)) {
            errno = EPROTO;
            return -1;
        }
        return 0;
    }
    char *head = malloc(hend + 1);
    if (!head)
        return -1;
    memcpy(head, c->buf, hend);
    head[hend] = '\0';
    if (parse_head(r, head) < 0) {
        free(head);
        memset(r, 0, sizeof *r);
        errno = EPROTO;
        return -1;
    }
    size_t blen;
    if (r->content_length >= 0) {
        blen = (size_t)r->content_length;
        if (c->len - hend < blen) {
            free(head);
            memset(r, 0, sizeof *r);
            return 0;
        }
    } else {
        if (!c->eof && !c->reset) { /* no length: the body runs to the close */
            free(head);
            memset(r, 0, sizeof *r);
            return 0;
        }
        blen = c->len - hend;
    }
    r->head = head;
    r->body = malloc(blen + 1);
    if (!r->body) {
        hc_response_free(r);
        return -1;
    }
    memcpy(r->body, c->buf + hend, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    memmove(c->buf, c->buf + hend + blen, c->len - hend - blen);
    c->len -= hend + blen;
    return 1;
}

int hc_read_response(struct hc_conn *c, struct hc_response *r, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    for (;;) {
        int t = hc_try_response(c, r);
        if (t == 1)
            return 0;
        if (t < 0)
            return -1;
        if (c->eof || c->reset) {
            errno = c->reset ? ECONNRESET : ECONNABORTED;
            return -1;
        }
        int f = hc_fill(c);
        if (f == 1)
            continue;
        if (f < 0) {
            if (c->eof || c->reset)
                continue; /* parse what we have once more, then report the close */
            return -1;
        }
        int w = wait_fd(c->fd, POLLIN, deadline);
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

int hc_wait_close(struct hc_conn *c, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    for (;;) {
        if (c->eof || c->reset)
            return 1;
        int f = hc_fill(c);
        if (f < 0)
            return (c->eof || c->reset) ? 1 : -1;
        if (f == 1)
            continue;
        int w = wait_fd(c->fd, POLLIN, deadline);
        if (w < 0)
            return -1;
        if (w == 0)
            return 0;
    }
}

int hc_poll_in(struct hc_conn *const *c, int n, hc_want_fn *want, void *arg, int timeout_ms,
               int *ready)
{
    struct pollfd *pfd = calloc((size_t)(n > 0 ? n : 1), sizeof *pfd);
    if (!pfd)
        return 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (want(i, arg)) {
            pfd[m] = (struct pollfd){.fd = c[i]->fd, .events = POLLIN};
            ready[m++] = i; /* the candidates first, the readable ones below */
        }
    int got = 0;
    if (m > 0 && poll(pfd, (nfds_t)m, timeout_ms) > 0)
        for (int k = 0; k < m; k++)
            if (pfd[k].revents)
                ready[got++] = ready[k];
    free(pfd);
    return m == 0 ? -1 : got;
}

bool hc_header(const struct hc_response *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *line = r->head ? strstr(r->head, "\r\n") : NULL;
    while (line && line[2] != '\r' && line[2] != '\0') {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(eol - v);
            if (outlen) {
                if (vl >= outlen)
                    vl = outlen - 1;
                memcpy(out, v, vl);
                out[vl] = '\0';
            }
            return true;
        }
        line = eol;
    }
    return false;
}

bool hc_body_is(const struct hc_response *r, size_t n, char ch)
{
    if (r->body_len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (r->body[i] != ch)
            return false;
    return true;
}

void hc_response_free(struct hc_response *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int hc_shutdown_write(struct hc_conn *c)
{
    return shutdown(c->fd, SHUT_WR);
}

void hc_close(struct hc_conn *c)
{
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else if (open_conns == c)
        open_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

void hc_close_all(void)
{
    while (open_conns)
        hc_close(open_conns);
}

void hc_abort(struct hc_conn *c)
{
    if (c && c->fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    hc_close(c);
}
