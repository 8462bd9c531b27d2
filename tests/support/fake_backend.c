/* fake_backend: a backend for io=net tests that misbehaves in one chosen way. */
#include "fake_backend.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void write_str(int fd, const char *s)
{
    (void)!write(fd, s, strlen(s));
}

/* One connection: every request head gets the mode's treatment; 0 when it closed. */
static void serve(int fd, enum fake_backend_mode mode)
{
    char buf[2048];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        char *eoh;
        while ((eoh = strstr(buf, "\r\n\r\n")) != NULL) {
            size_t used = (size_t)(eoh + 4 - buf);
            memmove(buf, buf + used, len - used + 1);
            len -= used;
            switch (mode) {
            case FAKE_STATUS_503:
                write_str(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
                break;
            case FAKE_GARBAGE: write_str(fd, "\x16\x03\x01 this is no HTTP answer\r\n\r\n"); return;
            case FAKE_CLOSE: return;
            case FAKE_RESET: {
                struct linger lg = {1, 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                return;
            }
            }
        }
        if (len == sizeof buf - 1)
            return;
    }
}

/* The child: one connection after another. */
static void serve_all(int lfd, void *arg)
{
    enum fake_backend_mode mode = *(const enum fake_backend_mode *)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd, mode);
        close(fd);
    }
}

int fake_backend_start(struct forked_server *b, enum fake_backend_mode mode)
{
    return forked_server_start(b, 64, serve_all, &mode); /* the child has its own copy */
}
