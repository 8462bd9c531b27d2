/* net.h: listening sockets and per-socket options, shared by both servers. */
#ifndef TVT_NET_H
#define TVT_NET_H

#include <stddef.h>

/* Creates a TCP socket bound to host:port (port 0 lets the kernel pick) and
 * listening with the given backlog (only a hint: the kernel caps it at
 * net.core.somaxconn); a negative backlog binds without listening.
 * reuseport sets SO_REUSEPORT first. Returns the fd, or -1 with a message
 * naming the cause in err. */
int net_listen(const char *host, int port, int backlog, int nonblock, int reuseport, char *err,
               size_t errlen);

/* The local port of a bound socket, or -1 with errno set. */
int net_local_port(int fd);

/* Disables Nagle on an accepted socket so that small answers leave at once.
 * 0 ok, -1 errno. */
int net_set_nodelay(int fd);

#endif
