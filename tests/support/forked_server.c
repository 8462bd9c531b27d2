/* forked_server: a loopback listener served by a forked child. */
#include "forked_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int forked_server_start(struct forked_server *s, int backlog, void (*serve)(int lfd, void *arg),
                        void *arg)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, backlog) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) < 0) {
        int e = errno;
        close(lfd);
        errno = e;
        return -1;
    }
    s->port = ntohs(a.sin_port);
    s->pid = fork();
    if (s->pid < 0) {
        int e = errno;
        close(lfd);
        errno = e;
        return -1;
    }
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        serve(lfd, arg);
        _exit(0);
    }
    close(lfd);
    return 0;
}

void forked_server_stop(struct forked_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = -1;
}
