/* stall_server: a tiny keep-alive HTTP server for tests that stalls exactly once. */
#ifndef TVT_STALL_SERVER_H
#define TVT_STALL_SERVER_H

#include "forked_server.h"

/* Starts a forked_server that answers every GET with 200 and a body of the query's bytes=N
 * 'x's (default 0, at most 4096), from one epoll loop. after_ms after its first request it
 * sleeps stall_ms once, so every connection waits. forked_server_stop stops it. 0 ok, -1
 * with errno. */
int stall_server_start(struct forked_server *s, int after_ms, int stall_ms);

#endif
