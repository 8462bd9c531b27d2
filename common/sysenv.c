/* sysenv: the environment of a run (machine, limits, versions), recorded in every result. */
#include "sysenv.h"

#include "procfs.h"
#include "version.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* A number read from a one-line /proc/sys file, or null. */
static json_t *proc_number(const char *path)
{
    char buf[64];
    if (procfs_slurp(path, buf, sizeof buf) <= 0)
        return json_null();
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end == buf)
        return json_null();
    return json_integer(v);
}

static json_t *rlimit_json(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) < 0)
        return json_null();
    if (rl.rlim_cur == RLIM_INFINITY)
        return json_string("unlimited");
    return json_integer((json_int_t)rl.rlim_cur);
}

/* First "model name" in /proc/cpuinfo; the first CPU's block is within 8 kB. */
static json_t *cpu_model(void)
{
    char buf[8192];
    if (procfs_slurp("/proc/cpuinfo", buf, sizeof buf) <= 0)
        return json_null();
    char *p = strstr(buf, "model name");
    if (!p)
        return json_null();
    p = strchr(p, ':');
    if (!p)
        return json_null();
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, "\n");
    return json_stringn(p, n);
}

static json_t *kernel(void)
{
    struct utsname u;
    char buf[sizeof u.sysname + sizeof u.release + sizeof u.machine + 4];
    if (uname(&u) < 0)
        return json_null();
    snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.machine);
    return json_string(buf);
}

static json_t *date_utc(void)
{
    char buf[32];
    struct tm tm;
    time_t now = time(NULL);
    if (!gmtime_r(&now, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

json_t *sysenv_json(void)
{
    json_t *o = json_object();
    struct sys_mem sm;
    char ev[32];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    /* json_object_set_new() accepts NULL values and fails cleanly, so an allocation
       failure only loses a key; the caller still gets an object. */
    json_object_set_new(o, "kernel", kernel());
    json_object_set_new(o, "cpu_model", cpu_model());
    json_object_set_new(o, "cores", cores > 0 ? json_integer(cores) : json_null());
    json_object_set_new(
        o, "mem_kib", procfs_read_meminfo(&sm) == 0 ? json_integer(sm.mem_total_kib) : json_null());
    json_object_set_new(o, "pid_max", proc_number("/proc/sys/kernel/pid_max"));
    json_object_set_new(o, "threads_max", proc_number("/proc/sys/kernel/threads-max"));
    json_object_set_new(o, "nproc_limit", rlimit_json(RLIMIT_NPROC));
    json_object_set_new(o, "nofile_limit", rlimit_json(RLIMIT_NOFILE));
    json_object_set_new(o, "max_map_count", proc_number("/proc/sys/vm/max_map_count"));
    snprintf(ev, sizeof ev, "%d.%d", ev_version_major(), ev_version_minor());
    json_object_set_new(o, "libev_version", json_string(ev));
#ifdef __VERSION__
    json_object_set_new(o, "cc_version", json_string(__VERSION__));
#else
    json_object_set_new(o, "cc_version", json_null());
#endif
    json_object_set_new(o, "git_commit", json_string(tvt_version()));
    json_object_set_new(o, "date", date_utc());
    return o;
}
