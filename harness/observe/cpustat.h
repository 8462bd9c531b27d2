/* cpustat: how busy a set of CPUs was, over every process, from /proc/stat. */
#ifndef TVT_CPUSTAT_H
#define TVT_CPUSTAT_H

#include <stdbool.h>

#include "plan/placement.h"

/* Time in clock ticks, summed over a set of CPUs. */
struct cpustat {
    unsigned long long busy;  /* user, nice, system, irq, softirq, steal */
    unsigned long long total; /* busy + idle + iowait */
    bool ok;
};

/* Parses /proc/stat text for the CPUs in l (the per-CPU "cpuN" lines). 0 ok; -1 when a CPU of
 * l has no line. Pure. */
int cpustat_parse(const char *text, const struct cpu_list *l, struct cpustat *out);

/* Reads /proc/stat for the CPUs in l. out->ok says whether it worked. */
void cpustat_read(const struct cpu_list *l, struct cpustat *out);

/* The share of the set's time that was busy between a and b (0..1), -1 unknown. */
double cpustat_busy(const struct cpustat *a, const struct cpustat *b);

#endif
