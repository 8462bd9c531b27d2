/* stall_server: a tiny keep-alive HTTP server for tests that stalls exactly once. */
#ifndef TVT_STALL_SERVER_H
#define TVT_STALL_SERVER_H

#include <sys/types.h>

struct stall_server {
    pid_t pid;
    int port;
};

/* Forks a child that answers every GET on 127.0.0.1 (port picked by the kernel) with 200
 * and a body of the query's bytes=N 'x's (default 0, at most 4096), from one epoll loop.
 * after_ms after its first request it sleeps stall_ms once, so every connection waits.
 * The child dies with the calling thread. 0 ok, -1 with errno. */
int stall_server_start(struct stall_server *s, int after_ms, int stall_ms);

/* Kills (SIGKILL) and reaps it. */
void stall_server_stop(struct stall_server *s);

#endif
