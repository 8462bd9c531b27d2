/* forked_server: a listener on 127.0.0.1 (port picked by the kernel) served by a forked
   child: the tests' own small servers (fake_backend, stall_server) are a serve function run
   by it. The child ignores SIGPIPE and dies with the calling thread (PR_SET_PDEATHSIG). */
#ifndef TVT_FORKED_SERVER_H
#define TVT_FORKED_SERVER_H

#include <sys/types.h>

struct forked_server {
    pid_t pid; /* -1 when stopped */
    int port;
};

/* Listens (with this backlog) and forks a child that runs serve(lfd, arg) and exits when it
   returns. 0 ok, -1 with errno. */
int forked_server_start(struct forked_server *s, int backlog, void (*serve)(int lfd, void *arg),
                        void *arg);

/* Kills (SIGKILL) and reaps the child; nothing if it is not running. */
void forked_server_stop(struct forked_server *s);

#endif
