/* spawn: the server under test as a child process: start, pin, ready line, stop, rusage. */
#ifndef TVT_SPAWN_H
#define TVT_SPAWN_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SPAWN_KEEP (64 * 1024) /* bytes of the server's stdout and stderr kept */

/* One child. Its stdout and stderr are pipes that spawn_drain empties, so a chatty
 * server never blocks on a full pipe. Not thread-safe. */
struct spawn {
    pid_t pid;
    int out_fd, err_fd;
    char out[SPAWN_KEEP], err[SPAWN_KEEP]; /* the first bytes of each, NUL-terminated */
    size_t out_len, err_len;
    char host[128]; /* from `listening on HOST:PORT` */
    int port;
    bool exited, killed;
    int status;       /* wait status, once exited */
    struct rusage ru; /* wait4's, once exited */
};

/* Starts argv[0] (a path) with argv, or /bin/sh -c "exec CMD" when shell_cmd is set. The
 * child gets its own process group, dies with the harness (PR_SET_PDEATHSIG) and is pinned
 * to cpus (NULL: not pinned), which everything it starts inherits. 0 ok; -1 with the cause in
 * err. */
int spawn_start(struct spawn *s, char *const argv[], const char *shell_cmd, const cpu_set_t *cpus,
                char *err, size_t errlen);

/* Waits up to timeout_ms for `listening on HOST:PORT` on stdout, or, when probe is not NULL,
 * for probe to accept a connection. 0 ready; -1 with the cause (exit status, last stderr
 * line, timeout) in err. */
int spawn_wait_ready(struct spawn *s, int timeout_ms, const struct sockaddr *probe,
                     socklen_t probelen, char *err, size_t errlen);

/* Empties the pipes without blocking. */
void spawn_drain(struct spawn *s);

/* Reaps the child if it has exited (wait4, WNOHANG). true if it has. */
bool spawn_poll_exit(struct spawn *s);

/* Sends sig, waits up to timeout_ms (draining), then SIGKILLs the group and sets killed.
 * Fills status and ru. 0 ok; -1 if it could not be reaped. */
int spawn_stop(struct spawn *s, int sig, int timeout_ms);

/* Kills (if running) and reaps the child, closes the pipes. Safe to call twice. */
void spawn_cleanup(struct spawn *s);

/* "exited with status 3", "killed by signal 11 (Segmentation fault)", into buf. */
const char *spawn_describe(int status, char *buf, size_t len);

#endif
