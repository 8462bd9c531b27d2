/* fake_backend: a backend for io=net tests that misbehaves in one chosen way. */
#include "fake_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

int fake_backend_start(struct fake_backend *b, enum fake_backend_mode mode)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;
        close(lfd);
        errno = e;
        return -1;
    }
    b->port = ntohs(a.sin_port);
    b->pid = fork();
    if (b->pid < 0) {
        int e = errno;
        close(lfd);
        errno = e;
        return -1;
    }
    if (b->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0)
                continue;
            serve(fd, mode);
            close(fd);
        }
    }
    close(lfd);
    return 0;
}

void fake_backend_stop(struct fake_backend *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
    }
    b->pid = -1;
}
