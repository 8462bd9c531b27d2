/* child_proc: run a program from a test and collect what it says. Its stdout and stderr go
   through one pipe into a buffer (never a file unless asked: RLIMIT_FSIZE must bind only the
   file under test); resource limits, a network namespace and environment variables are set
   between fork and exec. The child dies with the test (PR_SET_PDEATHSIG) and is stopped by
   its PID. Every function that runs a child asserts through Criterion. */
#ifndef TVT_CHILD_PROC_H
#define TVT_CHILD_PROC_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define CHILD_OUT_MAX      (64 * 1024) /* of a child's stdout + stderr kept in struct child */
#define CHILD_NETNS_FAILED 125         /* the child's exit code when unshare(CLONE_NEWNET) fails */

/* A resource limit set in the child, soft and hard. */
struct child_limit {
    int resource;
    rlim_t value;
};

struct child_opts {
    const struct child_limit *limits;
    size_t nlimits;
    bool netns;             /* unshare(CLONE_NEWNET): only a downed lo, no route anywhere */
    const char *const *env; /* "K=V", replacing the inherited value; may be NULL */
    const char *log;        /* stdout + stderr to this file (truncated) instead of out[] */
    bool group;             /* a process group of its own: a timeout stops the whole group
                               (SIGTERM, then SIGKILL 5 s later), not the child alone */
};

struct child {
    pid_t pid;
    int fd;                  /* read end of its stdout + stderr, -1 once at EOF (or with a log) */
    char out[CHILD_OUT_MAX]; /* what it said, NUL-terminated; the rest is read and dropped */
    size_t len;
    bool done;
    int code;        /* exit code, or 128 + signal; -1 if it had to be stopped */
    int status;      /* the raw wait status */
    double start_ms; /* CLOCK_MONOTONIC */
    double end_ms;
    bool group; /* started with child_opts.group */
};

/* Starts argv (PATH lookup) with the options (NULL: none), stdin on /dev/null. */
void child_start(struct child *c, const char *const *argv, const struct child_opts *o);

/* Reads what is there (waiting up to wait_ms for it), reaps the child if it has exited.
   true once it has. */
bool child_pump(struct child *c, int wait_ms);

/* Waits for the exit within timeout_ms, else stops it (code -1). Returns the code. A
   grandchild still holding the pipe is not waited for. */
int child_wait(struct child *c, int timeout_ms);

/* child_start and child_wait. */
int child_run(struct child *c, const char *const *argv, const struct child_opts *o, int timeout_ms);

/* The PID of a child of parent whose command name (/proc/PID/stat) is comm, or -1. */
pid_t child_find(pid_t parent, const char *comm);

/* ---- other processes, from /proc -------------------------------------------------------- */

/* The next process of d (an opendir("/proc")), passing over the entries that are not
   processes: its PID, or 0 at the end of d. */
pid_t child_proc_next(DIR *d);
/* Reads /proc/PID/file into buf (NUL-terminated, cut at size - 1 bytes): its length, or -1
   with errno and buf empty when it cannot be read (the process may have ended). */
ssize_t child_proc_read(pid_t pid, const char *file, char *buf, size_t size);

#endif
