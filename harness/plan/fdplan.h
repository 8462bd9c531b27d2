/* fdplan: do a run's connections fit each process's open-file limit? (pure) */
#ifndef TVT_FDPLAN_H
#define TVT_FDPLAN_H

#include <stdbool.h>
#include <stddef.h>

#define FDPLAN_SERVER_RESERVE 64   /* listener, epoll, timers, eventfds, stdio, data file, a ring */
#define FDPLAN_MAX_PROCS      1024 /* the largest --workers and --procs suggested */

/* What a run will open. A process count of 0 leaves that side unchecked. */
struct fdplan_req {
    long conns;
    bool net;             /* io=net: a server holds a backend connection per client connection */
    long server_workers;  /* server processes sharing the port; 0: unknown (--server-cmd) */
    long procs;           /* generator processes */
    long threads;         /* generator loops per process */
    long backend_workers; /* processes of the backend the harness starts; 0: none */
    long nofile;          /* RLIMIT_NOFILE every process gets (they inherit it); < 0 unlimited */
};

/* The file descriptors each process needs at most; -1 where not checked. */
struct fdplan {
    long server_need, gen_need, backend_need;
    long server_share, gen_share, backend_share; /* connections of the busiest process */
};

/* Connections of the busiest of `procs` processes when conns spread over them: the even share,
 * plus 3 standard deviations of SO_REUSEPORT's hashing when the kernel spreads them (by_hash).
 * Pure. */
long fdplan_share(long conns, long procs, bool by_hash);

/* Fills out. 0 when everything fits; -1 with a message naming each side that does not, the
 * numbers, and the fix (--workers W, --procs P, --backend-cpus) in err. Pure. */
int fdplan_check(const struct fdplan_req *rq, struct fdplan *out, char *err, size_t errlen);

#endif
