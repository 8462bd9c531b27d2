/* machine: what this machine lets a run use: open files, CPUs, ephemeral ports. */
#include "plan/machine.h"

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

int machine_port_range(void)
{
    char buf[64];
    int lo, hi;
    if (procfs_slurp("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof buf) > 0 &&
        sscanf(buf, "%d %d", &lo, &hi) == 2 && hi >= lo)
        return hi - lo + 1;
    return 28232;
}
