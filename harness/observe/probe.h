/* probe: one reading of the server process and of the system, from /proc and perf. */
#ifndef TVT_PROBE_H
#define TVT_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "observe/perfcs.h"
#include "procfs.h"

#define PROBE_TREE_MAX 256 /* processes followed under the server (its --workers, nginx's) */

/* A reading of the server's process tree (the process and its descendants, summed: a
 * --workers supervisor or nginx's master alone would hide the work). Each part has its own
 * ok flag, since a process can end between two reads. */
struct probe {
    int nprocs;              /* processes in the tree at this reading */
    uint64_t t_ns, t_end_ns; /* CLOCK_MONOTONIC, when the reading began and ended */
    struct proc_mem mem;     /* sums; hwm_kib is the sum of each process's peak */
    bool mem_ok;
    long pss_kib;                 /* with PROBE_PSS only; -1 unknown */
    long long ctx_vol, ctx_invol; /* summed over /proc/PID/task/ */
    bool ctx_ok;
    double cpu_user_s, cpu_sys_s; /* /proc/PID/stat, all threads, dead ones included */
    bool cpu_ok;
    long long perf_cs; /* perf counter, -1 if unavailable */
    struct sys_mem sys;
    bool sys_ok;
    long tcp_inuse, tcp_pages;
    bool sock_ok;
};

/* Reads what `what` asks for (PROBE_* bits) about the tree under pid into *p; perf may be
 * NULL. Never fails as a whole: see the ok flags. */
enum {
    PROBE_MEM = 1,
    PROBE_CTX = 2,
    PROBE_CPU = 4,
    PROBE_SYS = 8,
    PROBE_PSS = 16,
    PROBE_PERF = 32
};
void probe_read(pid_t pid, struct perfcs *perf, int what, struct probe *p);

/* The middle of a reading's time span. */
static inline uint64_t probe_mid_ns(const struct probe *p)
{
    return p->t_ns + (p->t_end_ns - p->t_ns) / 2;
}

/* pid, then its descendants (children of their main threads, recursively), at most cap.
 * Returns how many were written (0 if pid is gone). */
int probe_tree(pid_t pid, pid_t *out, int cap);

/* CPU time of pid from /proc/PID/stat (utime, stime). 0 ok, -1 with errno. */
int probe_cpu(pid_t pid, double *user_s, double *sys_s);

/* Parses the text of /proc/PID/stat. 0 ok, -1 (EINVAL) if malformed. Pure. */
int probe_parse_stat(const char *text, long ticks_per_s, double *user_s, double *sys_s);

#endif
