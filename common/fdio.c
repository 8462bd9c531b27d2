/* fdio: whole writes to a file descriptor, the iovec step, and the last line of a text. */
#include "fdio.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

int fdio_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fdio_write_until(int fd, const void *buf, size_t len, uint64_t deadline_ms)
{
    const char *p = buf;
    int sock = 1; /* until send says ENOTSOCK */
    while (len > 0) {
        ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == ENOTSOCK && sock) {
            sock = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -1;
        uint64_t now = clock_now_ms();
        if (deadline_ms && now >= deadline_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, deadline_ms ? (int)(deadline_ms - now) : 1000);
    }
    return 0;
}

struct iovec *fdio_iov_consume(struct iovec *iov, size_t *cnt, size_t n)
{
    while (*cnt > 0 && n >= iov[0].iov_len) {
        n -= iov[0].iov_len;
        iov++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        iov[0].iov_base = (char *)iov[0].iov_base + n;
        iov[0].iov_len -= n;
    }
    return iov;
}

void fdio_last_line(const char *text, char *out, size_t outlen)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    size_t start = n;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(out, outlen, "%.*s", (int)(n - start), text + start);
}
