/* wall: which system limit stopped thread (or fd) creation, from /proc at the moment of failure. */
#include "wall.h"

#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A limit counts as hit when this much of it is in use: pid_max loses ~300 reserved
   pids and a few in flight, so an exact match never happens. */
#define LIMIT_HIT_RATIO 0.97

static long long read_ll(const char *path)
{
    char buf[64];
    if (procfs_slurp(path, buf, sizeof buf) <= 0)
        return -1;
    if (strncmp(buf, "max", 3) == 0)
        return -2; /* cgroup: unlimited */
    return strtoll(buf, NULL, 10);
}

/* Tasks (threads) in the whole system: the kernel's nr_threads, from /proc/loadavg's
   "running/total" field. */
static long long system_tasks(void)
{
    char buf[128];
    if (procfs_slurp("/proc/loadavg", buf, sizeof buf) <= 0)
        return -1;
    char *slash = strchr(buf, '/');
    return slash ? strtoll(slash + 1, NULL, 10) : -1;
}

struct user_threads {
    uid_t uid;
    long long sum;
};

/* procfs_each_status's fn: a process's threads, when it is the user's. */
static void add_user_threads(const char *text, void *arg)
{
    struct user_threads *u = arg;
    const char *uid = strstr(text, "\nUid:");
    const char *thr = strstr(text, "\nThreads:");
    if (uid && thr && (uid_t)strtoul(uid + 5, NULL, 10) == u->uid)
        u->sum += strtoll(thr + 9, NULL, 10);
}

/* Threads of all processes of this real uid: what RLIMIT_NPROC counts. O(processes). */
static long long user_tasks(void)
{
    struct user_threads u = {getuid(), 0};
    return procfs_each_status("/proc", add_user_threads, &u) < 0 ? -1 : u.sum;
}

/* Lines in a file read in pieces (maps of 60k threads are megabytes). */
static long long count_lines(const char *path)
{
    char buf[65536];
    long long n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
    }
    close(fd);
    return n;
}

static long long count_entries(const char *path)
{
    long long n = 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Path of this process's cgroup folder for a controller: the v1 hierarchy of that
   controller if mounted, else the v2 unified one. 0 ok, -1 none. */
static int cgroup_dir(const char *controller, char *out, size_t cap)
{
    char buf[2048];
    size_t clen = strlen(controller);
    if (procfs_slurp("/proc/self/cgroup", buf, sizeof buf) <= 0)
        return -1;
    /* Lines are "id:controllers:path"; v2 is "0::path". */
    for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c = strchr(line, ':');
        char *path = c ? strchr(c + 1, ':') : NULL;
        if (!path)
            continue;
        c++;
        if ((size_t)(path - c) == clen && strncmp(c, controller, clen) == 0) {
            snprintf(out, cap, "/sys/fs/cgroup/%s%s", controller,
                     strcmp(path + 1, "/") ? path + 1 : "");
            if (access(out, F_OK) == 0)
                return 0;
        }
        if (path == c && strncmp(line, "0:", 2) == 0) {
            snprintf(out, cap, "/sys/fs/cgroup%s", strcmp(path + 1, "/") ? path + 1 : "");
            char probe[700];
            snprintf(probe, sizeof probe, "%s/cgroup.controllers", out);
            if (access(probe, F_OK) == 0)
                return 0;
        }
    }
    return -1;
}

/* A cgroup limit and its usage, -1 each when absent (a root cgroup has no limit files). */
static void cgroup_pair(const char *controller, const char *max_file, const char *cur_file,
                        long long *max, long long *cur)
{
    char dir[512], path[700];
    *max = *cur = -1;
    if (cgroup_dir(controller, dir, sizeof dir) < 0)
        return;
    snprintf(path, sizeof path, "%s/%s", dir, max_file);
    *max = read_ll(path);
    snprintf(path, sizeof path, "%s/%s", dir, cur_file);
    *cur = read_ll(path);
}

/* Adds {"max","used","ratio"} under name and returns the ratio (-1 when unknown). */
static double add_limit(json_t *o, const char *name, long long max, long long used,
                        const char *note)
{
    double ratio = (max > 0 && used >= 0) ? (double)used / (double)max : -1;
    json_t *l = json_object();
    json_object_set_new(l, "max", max >= 0 ? json_integer(max) : json_null());
    json_object_set_new(l, "used", used >= 0 ? json_integer(used) : json_null());
    json_object_set_new(l, "ratio", ratio >= 0 ? json_real(ratio) : json_null());
    if (note)
        json_object_set_new(l, "note", json_string(note));
    json_object_set_new(o, name, l);
    return ratio;
}

json_t *wall_diagnose(int err)
{
    json_t *o = json_object();
    struct rlimit rl;
    struct sys_mem sm;
    const char *hit = "unknown";
    double best = LIMIT_HIT_RATIO;
    long long tasks = system_tasks();
    double r;

    r = add_limit(o, "pid_max", read_ll("/proc/sys/kernel/pid_max"), tasks,
                  "system-wide: every thread of every process takes a pid");
    if (r >= best)
        best = r, hit = "pid_max";
    r = add_limit(o, "threads_max", read_ll("/proc/sys/kernel/threads-max"), tasks, NULL);
    if (r >= best)
        best = r, hit = "threads_max";

    long long nproc = -1;
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        nproc = (long long)rl.rlim_cur;
    /* Root (CAP_SYS_RESOURCE/CAP_SYS_ADMIN) is exempt from RLIMIT_NPROC. */
    int exempt = geteuid() == 0;
    r = add_limit(o, "nproc", nproc, user_tasks(),
                  exempt ? "not enforced for root" : "this user's threads, all processes");
    if (!exempt && r >= best)
        best = r, hit = "nproc";

    r = add_limit(o, "max_map_count", read_ll("/proc/sys/vm/max_map_count"),
                  count_lines("/proc/self/maps"), "this process; about two maps per thread");
    if (r >= best)
        best = r, hit = "max_map_count";

    long long cmax, ccur;
    cgroup_pair("pids", "pids.max", "pids.current", &cmax, &ccur);
    r = add_limit(o, "cgroup_pids", cmax, ccur, cmax < 0 ? "no limit found" : NULL);
    if (r >= best)
        best = r, hit = "cgroup_pids";
    /* v1 says memory.limit_in_bytes (a huge number when unlimited), v2 memory.max. */
    cgroup_pair("memory", "memory.limit_in_bytes", "memory.usage_in_bytes", &cmax, &ccur);
    if (cmax == -1)
        cgroup_pair("memory", "memory.max", "memory.current", &cmax, &ccur);
    r = add_limit(o, "cgroup_memory_kib", cmax > 0 ? cmax / 1024 : cmax,
                  ccur > 0 ? ccur / 1024 : ccur, cmax < 0 ? "no limit found" : NULL);
    if (r >= best)
        best = r, hit = "cgroup_memory";

    long long nofile = -1;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        nofile = (long long)rl.rlim_cur;
    r = add_limit(o, "nofile", nofile, count_entries("/proc/self/fd"), "this process");
    if (r >= best || err == EMFILE)
        best = r, hit = "nofile";

    /* Thread stacks are private writable maps: RLIMIT_AS and RLIMIT_DATA both count them. */
    long long vm_kib = -1, data_kib = -1;
    char buf[8192];
    if (procfs_slurp("/proc/self/status", buf, sizeof buf) > 0) {
        char *p = strstr(buf, "\nVmSize:");
        char *q = strstr(buf, "\nVmData:");
        vm_kib = p ? strtoll(p + 8, NULL, 10) : -1;
        data_kib = q ? strtoll(q + 8, NULL, 10) : -1;
    }
    static const struct {
        int res;
        const char *name;
    } vlim[] = {{RLIMIT_AS, "address_space_kib"}, {RLIMIT_DATA, "data_kib"}};
    for (int i = 0; i < 2; i++) {
        long long max = -1;
        if (getrlimit(vlim[i].res, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            max = (long long)(rl.rlim_cur / 1024);
        r = add_limit(o, vlim[i].name, max, i == 0 ? vm_kib : data_kib,
                      max < 0 ? "unlimited" : "this process");
        if (r >= best)
            best = r, hit = i == 0 ? "address_space" : "data";
    }

    if (procfs_read_meminfo(&sm) == 0) {
        r = add_limit(o, "memory_kib", sm.mem_total_kib, sm.mem_total_kib - sm.mem_available_kib,
                      "used = MemTotal - MemAvailable");
        /* ENOMEM with no map-count or fd wall near means memory (or overcommit policy). */
        if (r >= best || (err == ENOMEM && !strcmp(hit, "unknown")))
            best = r, hit = "memory";
    }
    json_object_set_new(o, "overcommit_memory",
                        json_integer(read_ll("/proc/sys/vm/overcommit_memory")));
    json_object_set_new(o, "errno", json_integer(err));
    json_object_set_new(o, "error", json_string(strerror(err)));
    json_object_set_new(o, "limit_hit", json_string(hit));
    return o;
}
