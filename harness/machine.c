/* machine: what this machine lets a run use: open files, CPUs, ephemeral ports. */
#include "machine.h"

#include <stdio.h>
#include <sys/resource.h>

#include "procfs.h"

long machine_raise_nofile(long *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        *hard = -1;
        return -1;
    }
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    *hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

int machine_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int machine_pick_cpu(int want, bool explicit_, int avoid, char *note, size_t notelen)
{
    cpu_set_t set;
    note[0] = '\0';
    if (want < 0)
        return -1;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        CPU_ZERO(&set);
    bool allowed = want < CPU_SETSIZE && CPU_ISSET(want, &set);
    if (allowed && (want != avoid || explicit_)) {
        if (want == avoid)
            snprintf(note, notelen, "server and generator share CPU %d, as asked", want);
        return want;
    }
    if (explicit_) {
        snprintf(note, notelen, "CPU %d is not available to this process (%d CPUs allowed)", want,
                 CPU_COUNT(&set));
        return -2;
    }
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        if (c != avoid) {
            snprintf(note, notelen, "CPU %d is %s: using CPU %d", want,
                     allowed ? "the server's" : "not available", c);
            return c;
        }
        if (first < 0)
            first = c;
    }
    if (first < 0)
        return -1;
    snprintf(note, notelen, "only one CPU: server and generator share CPU %d", first);
    return first;
}

int machine_port_range(void)
{
    char buf[64];
    int lo, hi;
    if (procfs_slurp("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof buf) > 0 &&
        sscanf(buf, "%d %d", &lo, &hi) == 2 && hi >= lo)
        return hi - lo + 1;
    return 28232;
}
