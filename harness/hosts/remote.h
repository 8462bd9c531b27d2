/* remote: a program of the harness's run on a host of the hosts file, through that host's
 * command (ssh, ip netns exec, or nothing), talking over its stdin and stdout; its stderr is
 * kept for the messages. ssh hosts share one multiplexed connection each (ControlMaster),
 * closed by remote_close_masters. */
#ifndef TVT_REMOTE_H
#define TVT_REMOTE_H

#include <stddef.h>
#include <sys/types.h>

#include "hosts/hosts.h"

#define REMOTE_ERR_KEEP 4096 /* bytes of its stderr kept */

struct rproc {
    const struct host *host;
    pid_t pid;   /* the local end: ssh, ip, or the program itself; -1 none */
    int to_fd;   /* its stdin */
    int from_fd; /* its stdout, non-blocking */
    int err_fd;  /* its stderr, non-blocking */
    char err[REMOTE_ERR_KEEP];
    size_t err_len;
};

/* The folder of the ssh control sockets (the harness makes it under /tmp and removes it at
 * remote_close_masters). */
const char *remote_control_dir(void);

/* Starts argv (argv[0] an absolute path, valid on that host) on h. 0 ok; -1 with the cause in
 * err. The program is a child of this process (its local end), killed with it. */
int remote_start(const struct host *h, char *const argv[], struct rproc *p, char *err,
                 size_t errlen);

/* Reads what its stderr has now into p->err (the newest kept). */
void remote_drain_err(struct rproc *p);

/* Closes its stdin (it sees EOF), waits up to wait_ms for it to end, then kills it. Returns its
 * wait status, -1 if it had to be killed. Safe on a never-started p. */
int remote_end(struct rproc *p, int wait_ms);

/* Ends the ssh control masters this process opened. */
void remote_close_masters(const struct hosts *hs);

/* The absolute path of this harness binary, which each host runs at the same path. Static. */
const char *remote_self(void);

#endif
