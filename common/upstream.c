/* upstream.c: the io=net backend's address, connecting to it, its request and its answer. */
#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127; /* ::ffff:127.x.y.z */
    }
    return 0;
}

int upstream_resolve(struct upstream_addr *u, const char *spec, int allow_remote, char *err,
                     size_t errlen)
{
    char host[256];
    const char *port, *colon = strrchr(spec, ':');
    size_t hlen;

    memset(u, 0, sizeof *u);
    if (!colon || colon == spec || colon[1] == '\0') {
        snprintf(err, errlen, "--upstream '%s': want HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
                 spec);
        return -1;
    }
    port = colon + 1;
    if (spec[0] == '[') { /* [V6]:PORT */
        if (colon[-1] != ']') {
            snprintf(err, errlen, "--upstream '%s': want [V6ADDR]:PORT", spec);
            return -1;
        }
        hlen = (size_t)(colon - spec) - 2;
        if (hlen >= sizeof host) {
            snprintf(err, errlen, "--upstream: host name too long");
            return -1;
        }
        memcpy(host, spec + 1, hlen);
    } else {
        hlen = (size_t)(colon - spec);
        if (hlen >= sizeof host || memchr(spec, ':', hlen)) {
            snprintf(err, errlen,
                     "--upstream '%s': want HOST:PORT (an IPv6 address goes in brackets: "
                     "[::1]:8080)",
                     spec);
            return -1;
        }
        memcpy(host, spec, hlen);
    }
    host[hlen] = '\0';
    if (strlen(spec) >= sizeof u->host_port) {
        snprintf(err, errlen, "--upstream: '%.40s...' is too long", spec);
        return -1;
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "--upstream %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    memcpy(&u->sa, res->ai_addr, res->ai_addrlen);
    u->len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(u->host_port, sizeof u->host_port, "%s", spec);
    if (!allow_remote && !is_loopback(&u->sa)) {
        char text[INET6_ADDRSTRLEN] = "?";
        const void *a = u->sa.ss_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)&u->sa)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)&u->sa)->sin6_addr;
        inet_ntop(u->sa.ss_family, a, text, sizeof text);
        snprintf(err, errlen,
                 "--upstream %s is %s, not a loopback address (127.0.0.0/8 or ::1): a remote "
                 "backend measures the network too; add --allow-remote if that is what you want",
                 spec, text);
        return -1;
    }
    return 0;
}

int upstream_connect(const struct upstream_addr *u, int *pending)
{
    int one = 1;
    int fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    *pending = 0;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&u->sa, u->len) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        *pending = 1;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int upstream_connect_error(int fd)
{
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        return errno;
    return e;
}

size_t upstream_format_request(char *buf, size_t cap, const struct upstream_addr *u,
                               uint32_t wait_us)
{
    int n = chttp_format_request(buf, cap, u->host_port, "/", (long)wait_us, 0, 0);
    return n < 0 ? 0 : (size_t)n; /* cannot happen for cap >= UPSTREAM_REQUEST_MAX */
}

int upstream_feed(struct chttp *r, const char *buf, size_t n, enum upstream_failure *f,
                  const char **why)
{
    int fr = chttp_feed(r, buf, n, why);
    if (fr == CHTTP_COMPLETE && n == 0)
        r->keep_alive = false;
    if (fr == CHTTP_ERROR)
        *f = n == 0 ? UPSTREAM_CLOSED : UPSTREAM_MALFORMED;
    return fr;
}

int upstream_answer_ok(const struct chttp *r)
{
    return r->status >= 200 && r->status <= 299 ? 0 : -1;
}

const char *upstream_reason(char *buf, size_t len, const struct upstream_addr *u,
                            enum upstream_failure f, int err, int status, const char *detail,
                            uint32_t timeout_ms)
{
    const char *hp = u->host_port;
    switch (f) {
    case UPSTREAM_CONNECT: snprintf(buf, len, "backend %s: connect: %s", hp, strerror(err)); break;
    case UPSTREAM_SEND:
        snprintf(buf, len, "backend %s: sending the request: %s", hp, strerror(err));
        break;
    case UPSTREAM_RECV:
        snprintf(buf, len, "backend %s: reading the answer: %s", hp, strerror(err));
        break;
    case UPSTREAM_CLOSED:
        snprintf(buf, len, "backend %s: closed the connection before a whole answer", hp);
        break;
    case UPSTREAM_MALFORMED:
        snprintf(buf, len, "backend %s: malformed answer: %s", hp, detail ? detail : "?");
        break;
    case UPSTREAM_STATUS: snprintf(buf, len, "backend %s: answered %d", hp, status); break;
    case UPSTREAM_TIMEOUT:
        snprintf(buf, len, "backend %s: no whole answer within --upstream-timeout-ms %u", hp,
                 timeout_ms);
        break;
    }
    return buf;
}
