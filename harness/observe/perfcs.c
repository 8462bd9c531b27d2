/* perfcs: a process's context switches from the kernel's perf software counter (all threads). */
#include "observe/perfcs.h"

#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct perfcs {
    int n;
    int fds[];
};

static int open_counter(pid_t tid)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
    a.inherit = 1; /* count the threads this one creates from now on */
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Adds a counter for every thread of pid to *pp (grown as needed). 0 ok, -1 with err. */
static int open_process(struct perfcs **pp, int *cap, pid_t pid, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        if ((*pp)->n == *cap) {
            struct perfcs *q = realloc(*pp, sizeof **pp + (size_t)*cap * 2 * sizeof(int));
            if (!q) {
                snprintf(err, errlen, "out of memory");
                closedir(d);
                return -1;
            }
            *pp = q;
            *cap *= 2;
        }
        int fd = open_counter((pid_t)atoi(de->d_name));
        if (fd < 0) {
            if (errno == ESRCH)
                continue; /* the thread ended while we scanned */
            snprintf(err, errlen, "perf_event_open(context-switches, inherit) refused: %s%s",
                     strerror(errno),
                     errno == EACCES || errno == EPERM
                         ? " (kernel.perf_event_paranoid or missing CAP_PERFMON)"
                         : "");
            closedir(d);
            return -1;
        }
        (*pp)->fds[(*pp)->n++] = fd;
    }
    closedir(d);
    return 0;
}

struct perfcs *perfcs_open(const pid_t *pids, int n, char *err, size_t errlen)
{
    int cap = 16;
    struct perfcs *p = malloc(sizeof *p + (size_t)cap * sizeof(int));
    err[0] = '\0';
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->n = 0;
    for (int i = 0; i < n; i++) {
        if (open_process(&p, &cap, pids[i], err, errlen) < 0 && i == 0) {
            perfcs_close(p);
            return NULL;
        }
        err[0] = '\0'; /* a descendant that ended meanwhile is not an error */
    }
    if (p->n == 0) {
        snprintf(err, errlen, "no threads left to count");
        perfcs_close(p);
        return NULL;
    }
    return p;
}

long long perfcs_read(struct perfcs *p)
{
    long long sum = 0;
    for (int i = 0; i < p->n; i++) {
        uint64_t v;
        if (read(p->fds[i], &v, sizeof v) != (ssize_t)sizeof v)
            return -1;
        sum += (long long)v;
    }
    return sum;
}

void perfcs_close(struct perfcs *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        close(p->fds[i]);
    free(p);
}
