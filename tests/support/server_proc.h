/* server_proc: start a server binary for a test, wait until it listens, stop it by PID. */
#ifndef TVT_SERVER_PROC_H
#define TVT_SERVER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* A resource limit the child sets on itself between fork and exec. */
struct server_rlimit {
    int resource; /* RLIMIT_AS, RLIMIT_NOFILE, ... */
    rlim_t cur;
    rlim_t max;
};

struct server_spec {
    const char *impl;        /* "async" or "thread": runs $TVT_BIN_DIR/<impl>_server */
    const char *binary;      /* or this program file under $TVT_BIN_DIR, when not NULL */
    const char *const *args; /* extra argv after the program name, NULL-terminated; may be NULL */
    const struct server_rlimit *limits; /* applied in the child before exec; may be NULL */
    size_t nlimits;
    int ready_timeout_ms; /* wait for `listening on HOST:PORT`; 0 means 10000 */
};

/* How a stopped server ended. */
struct server_exit {
    int status;        /* raw wait status */
    bool exited;       /* WIFEXITED(status) */
    int code;          /* WEXITSTATUS when exited, else -1 */
    int signal;        /* terminating signal, else 0 */
    bool killed;       /* the timeout ran out and we had to send SIGKILL */
    double elapsed_ms; /* from sending the stop signal to reaping */
    const char *err;   /* everything the server wrote to stderr; owned by the server_proc */
    const char *out;   /* everything it wrote to stdout; owned by the server_proc */
};

struct server_proc;

/* Forks and execs the server with stdout/stderr on pipes that a helper thread drains, then
   waits for its `listening on HOST:PORT` line. The child dies with the calling thread
   (PR_SET_PDEATHSIG), so an aborted test leaves no server behind. Returns a handle (free it
   with server_free after server_stop) or NULL with the cause (and the server's stderr) in err. */
struct server_proc *server_start(const struct server_spec *spec, char *err, size_t errlen);

int server_port(const struct server_proc *sp);
pid_t server_pid(const struct server_proc *sp);
/* The host part of the listening line (static per handle). */
const char *server_host(const struct server_proc *sp);

/* true while the process has not exited (reaps it, without blocking, if it has). */
bool server_alive(struct server_proc *sp);

/* Sets a limit on the running server (prlimit). 0 ok, -1 errno. */
int server_set_rlimit(struct server_proc *sp, int resource, rlim_t cur, rlim_t max);

/* Sends sig (SIGTERM, SIGINT, ...), waits up to timeout_ms for the exit, then SIGKILLs and
   records killed. Fills *out (its strings stay valid until server_free). 0 ok, -1 if the
   process could not be reaped (errno). Safe to call on an already-exited server. */
int server_stop(struct server_proc *sp, int sig, int timeout_ms, struct server_exit *out);

/* Kills (if still running), reaps and frees everything. NULL is fine. */
void server_free(struct server_proc *sp);

/* A snapshot of what the server wrote to stderr so far; caller frees. */
char *server_stderr_copy(struct server_proc *sp);

#endif
