/* stall_server: a tiny keep-alive HTTP server for tests that stalls exactly once. */
#include "stall_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

#define MAX_FD   1024
#define REQ_MAX  1024
#define BODY_MAX 4096

/* per-fd request buffers: static, so the child needs no allocation after fork */
static char req[MAX_FD][REQ_MAX];
static int req_len[MAX_FD];
static char out[256 + BODY_MAX];

static long query_bytes(const char *r, int len)
{
    const char *end = memchr(r, '\n', (size_t)len);
    const char *p = r;
    while (end && (p = memchr(p, 'b', (size_t)(end - p)))) {
        if (end - p > 6 && memcmp(p, "bytes=", 6) == 0 &&
            (p == r || p[-1] == '?' || p[-1] == '&')) {
            long v = strtol(p + 6, NULL, 10);
            return v < 0 ? 0 : v > BODY_MAX ? BODY_MAX : v;
        }
        p++;
    }
    return 0;
}

/* answers every complete request in the fd's buffer; -1 to close */
static int serve(int fd)
{
    char *b = req[fd];
    for (;;) {
        char *eoh = NULL;
        for (int i = 3; i < req_len[fd]; i++)
            if (memcmp(b + i - 3, "\r\n\r\n", 4) == 0) {
                eoh = b + i + 1;
                break;
            }
        if (!eoh)
            return req_len[fd] >= REQ_MAX ? -1 : 0;
        long n = query_bytes(b, (int)(eoh - b));
        int h = 0;
        const char *head = "HTTP/1.1 200 OK\r\nContent-Length: ";
        memcpy(out, head, strlen(head));
        h = (int)strlen(head);
        char num[24];
        int k = 0;
        long v = n;
        do {
            num[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (k)
            out[h++] = num[--k];
        memcpy(out + h, "\r\n\r\n", 4);
        h += 4;
        memset(out + h, 'x', (size_t)n);
        h += (int)n;
        if (write(fd, out, (size_t)h) != h)
            return -1;
        int used = (int)(eoh - b);
        memmove(b, eoh, (size_t)(req_len[fd] - used));
        req_len[fd] -= used;
    }
}

static void child_loop(int lfd, int after_ms, int stall_ms)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    uint64_t first = 0;
    int stalled = 0;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, 10);
        if (first && !stalled && clock_now_ms() >= first + (uint64_t)after_ms) {
            stalled = 1;
            usleep((useconds_t)stall_ms * 1000);
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                    continue;
                if (c >= MAX_FD) {
                    close(c);
                    continue;
                }
                int one = 1;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                req_len[c] = 0;
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                continue;
            }
            ssize_t r = read(fd, req[fd] + req_len[fd], (size_t)(REQ_MAX - req_len[fd]));
            if (r > 0) {
                req_len[fd] += (int)r;
                if (!first)
                    first = clock_now_ms();
            }
            if (r <= 0 || serve(fd) < 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

struct stall {
    int after_ms, stall_ms;
};

static void serve_all(int lfd, void *arg)
{
    const struct stall *st = arg;
    child_loop(lfd, st->after_ms, st->stall_ms);
}

int stall_server_start(struct forked_server *s, int after_ms, int stall_ms)
{
    struct stall st = {after_ms, stall_ms}; /* the child has its own copy */
    return forked_server_start(s, 512, serve_all, &st);
}
