/* probe: one reading of the server process and of the system, from /proc and perf. */
#include "observe/probe.h"
#include "clock.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int probe_parse_stat(const char *text, long ticks_per_s, double *user_s, double *sys_s)
{
    /* the command name (field 2) may hold spaces and parentheses: skip to the last ')' */
    const char *s = strrchr(text, ')');
    unsigned long long ut, st;
    if (!s || ticks_per_s <= 0 ||
        sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        errno = EINVAL;
        return -1;
    }
    *user_s = (double)ut / (double)ticks_per_s;
    *sys_s = (double)st / (double)ticks_per_s;
    return 0;
}

int probe_cpu(pid_t pid, double *user_s, double *sys_s)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (procfs_slurp(path, buf, sizeof buf) < 0)
        return -1;
    return probe_parse_stat(buf, sysconf(_SC_CLK_TCK), user_s, sys_s);
}

/* Appends the children of pid's main thread (/proc/PID/task/PID/children). Children that
 * another thread forked are missed: servers fork their workers from the main thread, and
 * reading one file per thread would cost the thread server 30k reads every 100 ms. -1 when
 * the kernel has no such file (CONFIG_PROC_CHILDREN off). */
static int add_children(pid_t pid, pid_t *out, int n, int cap)
{
    char path[96], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    if (procfs_slurp(path, buf, sizeof buf) < 0)
        return errno == ENOENT && n == 1 ? -1 : n;
    for (char *p = buf, *end; n < cap; p = end) {
        long c = strtol(p, &end, 10);
        if (end == p)
            break;
        out[n++] = (pid_t)c;
    }
    return n;
}

/* The slow way, for kernels without the children files: every process's parent. */
static int tree_by_scan(pid_t root, pid_t *out, int cap)
{
    int n = 1;
    out[0] = root;
    for (int i = 0; i < n && n < cap; i++) {
        DIR *d = opendir("/proc");
        if (!d)
            break;
        struct dirent *de;
        char path[64], buf[512];
        while ((de = readdir(d)) && n < cap) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%.20s/stat", de->d_name);
            const char *close;
            int ppid;
            if (procfs_slurp(path, buf, sizeof buf) < 0 || !(close = strrchr(buf, ')')) ||
                sscanf(close + 1, " %*c %d", &ppid) != 1)
                continue;
            if (ppid == out[i])
                out[n++] = (pid_t)atoi(de->d_name);
        }
        closedir(d);
    }
    return n;
}

int probe_tree(pid_t pid, pid_t *out, int cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (cap < 1 || access(path, F_OK) < 0)
        return 0;
    int n = 1;
    out[0] = pid;
    for (int i = 0; i < n && n < cap; i++) {
        int m = add_children(out[i], out, n, cap);
        if (m < 0)
            return tree_by_scan(pid, out, cap);
        n = m;
    }
    return n;
}

void probe_read(pid_t pid, struct perfcs *perf, int what, struct probe *p)
{
    pid_t tree[PROBE_TREE_MAX];
    memset(p, 0, sizeof *p);
    p->perf_cs = -1;
    p->pss_kib = -1;
    p->t_ns = clock_now_ns();
    int n = what & (PROBE_MEM | PROBE_CTX | PROBE_CPU | PROBE_PSS)
                ? probe_tree(pid, tree, PROBE_TREE_MAX)
                : 0;
    p->nprocs = n;
    /* the root must answer; a descendant may end between the listing and the read */
    for (int i = 0; i < n; i++) {
        bool root = i == 0;
        if (what & PROBE_MEM) {
            struct proc_mem m;
            if (procfs_read_status(tree[i], &m) == 0) {
                p->mem_ok |= root;
                p->mem.rss_kib += m.rss_kib;
                p->mem.hwm_kib += m.hwm_kib;
                p->mem.vsz_kib += m.vsz_kib;
                p->mem.rss_anon_kib += m.rss_anon_kib;
                p->mem.threads += m.threads;
            }
        }
        if (what & PROBE_CTX) {
            long long v, iv;
            if (procfs_task_switches(tree[i], &v, &iv) == 0) {
                p->ctx_ok |= root;
                p->ctx_vol += v;
                p->ctx_invol += iv;
            }
        }
        if (what & PROBE_CPU) {
            double u, s;
            if (probe_cpu(tree[i], &u, &s) == 0) {
                p->cpu_ok |= root;
                p->cpu_user_s += u;
                p->cpu_sys_s += s;
            }
        }
        if (what & PROBE_PSS) {
            long pss;
            if (procfs_read_pss(tree[i], &pss) == 0)
                p->pss_kib = (p->pss_kib < 0 ? 0 : p->pss_kib) + pss;
            else if (root)
                break;
        }
    }
    if ((what & PROBE_PERF) && perf)
        p->perf_cs = perfcs_read(perf);
    if (what & PROBE_SYS) {
        p->sys_ok = procfs_read_meminfo(&p->sys) == 0;
        p->sock_ok = procfs_read_sockstat(&p->tcp_inuse, &p->tcp_pages) == 0;
    }
    p->t_end_ns = clock_now_ns();
}
