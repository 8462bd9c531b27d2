/* procfs: readers for /proc (process memory, system memory, sockets, switches); no printing. */
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* status is ~1.5 kB, meminfo ~1.5 kB; 8 kB leaves room for long CPU masks. */
#define PROCFS_BUF 8192

/* Finds "key" at the start of a line followed by ':' and parses the first integer after
   it. 0 ok, -1 absent or not a number. Keys are compared whole, so "Pss" never matches
   "Pss_Anon". */
static int field_ll(const char *text, const char *key, long long *out)
{
    size_t klen = strlen(key);
    const char *p = text;

    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            char *end;
            errno = 0;
            long long v = strtoll(p + klen + 1, &end, 10);
            if (end == p + klen + 1 || errno == ERANGE)
                return -1;
            *out = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static int field_l(const char *text, const char *key, long *out)
{
    long long v;
    if (field_ll(text, key, &v) < 0)
        return -1;
    *out = (long)v;
    return 0;
}

ssize_t procfs_slurp(const char *path, char *buf, size_t cap)
{
    if (cap == 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return (ssize_t)len;
}

/* Reads /proc/<pid>/<name> (pid 0 = self) into buf. */
static ssize_t slurp_pid(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/%s", name);
    else
        snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    return procfs_slurp(path, buf, cap);
}

int procfs_parse_status(const char *text, struct proc_mem *out)
{
    struct proc_mem m;
    if (field_l(text, "VmRSS", &m.rss_kib) < 0 || field_l(text, "VmHWM", &m.hwm_kib) < 0 ||
        field_l(text, "VmSize", &m.vsz_kib) < 0 || field_l(text, "RssAnon", &m.rss_anon_kib) < 0 ||
        field_l(text, "Threads", &m.threads) < 0 ||
        field_ll(text, "voluntary_ctxt_switches", &m.ctx_vol) < 0 ||
        field_ll(text, "nonvoluntary_ctxt_switches", &m.ctx_invol) < 0) {
        errno = EINVAL;
        return -1;
    }
    *out = m;
    return 0;
}

int procfs_read_status(pid_t pid, struct proc_mem *out)
{
    char buf[PROCFS_BUF];
    if (slurp_pid(pid, "status", buf, sizeof buf) < 0)
        return -1;
    return procfs_parse_status(buf, out);
}

int procfs_parse_smaps_rollup(const char *text, long *pss_kib)
{
    if (field_l(text, "Pss", pss_kib) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int procfs_read_pss(pid_t pid, long *pss_kib)
{
    char buf[PROCFS_BUF];
    if (slurp_pid(pid, "smaps_rollup", buf, sizeof buf) < 0)
        return -1;
    return procfs_parse_smaps_rollup(buf, pss_kib);
}

int procfs_parse_meminfo(const char *text, struct sys_mem *out)
{
    struct sys_mem m;
    if (field_l(text, "MemTotal", &m.mem_total_kib) < 0 ||
        field_l(text, "MemAvailable", &m.mem_available_kib) < 0 ||
        field_l(text, "KernelStack", &m.kernel_stack_kib) < 0 ||
        field_l(text, "SUnreclaim", &m.sunreclaim_kib) < 0) {
        errno = EINVAL;
        return -1;
    }
    *out = m;
    return 0;
}

int procfs_read_meminfo(struct sys_mem *out)
{
    char buf[PROCFS_BUF];
    if (procfs_slurp("/proc/meminfo", buf, sizeof buf) < 0)
        return -1;
    return procfs_parse_meminfo(buf, out);
}

int procfs_parse_sockstat(const char *text, long *tcp_inuse, long *tcp_mem_pages)
{
    /* "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 257": key/value pairs after the tag. */
    const char *line = text;
    while (line && strncmp(line, "TCP:", 4) != 0) {
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (!line) {
        errno = EINVAL;
        return -1;
    }
    const char *inuse = strstr(line, " inuse ");
    const char *mem = strstr(line, " mem ");
    const char *eol = strchr(line, '\n');
    if (!inuse || !mem || (eol && (inuse > eol || mem > eol))) {
        errno = EINVAL;
        return -1;
    }
    *tcp_inuse = strtol(inuse + 7, NULL, 10);
    *tcp_mem_pages = strtol(mem + 5, NULL, 10);
    return 0;
}

int procfs_read_sockstat(long *tcp_inuse, long *tcp_mem_pages)
{
    char buf[PROCFS_BUF];
    if (procfs_slurp("/proc/net/sockstat", buf, sizeof buf) < 0)
        return -1;
    return procfs_parse_sockstat(buf, tcp_inuse, tcp_mem_pages);
}

int procfs_each_status(const char *dir, void (*fn)(const char *text, void *arg), void *arg)
{
    char buf[PROCFS_BUF];
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s/status", dir, e->d_name);
        if (procfs_slurp(path, buf, sizeof buf) > 0)
            fn(buf, arg);
    }
    closedir(d);
    return 0;
}

struct switches {
    long long vol, invol;
};

/* procfs_each_status's fn: one thread's switches into the sums; a thread whose status
   lacks them (it is exiting) adds none. */
static void add_switches(const char *text, void *arg)
{
    struct switches *sum = arg;
    long long v, iv;
    if (field_ll(text, "voluntary_ctxt_switches", &v) < 0 ||
        field_ll(text, "nonvoluntary_ctxt_switches", &iv) < 0)
        return;
    sum->vol += v;
    sum->invol += iv;
}

int procfs_task_switches(pid_t pid, long long *vol, long long *invol)
{
    char dir[64];
    struct switches sum = {0, 0};

    if (pid == 0)
        snprintf(dir, sizeof dir, "/proc/self/task");
    else
        snprintf(dir, sizeof dir, "/proc/%ld/task", (long)pid);
    if (procfs_each_status(dir, add_switches, &sum) < 0)
        return -1;
    *vol = sum.vol;
    *invol = sum.invol;
    return 0;
}
