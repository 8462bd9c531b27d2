/* cpustat: how busy a set of CPUs was, over every process, from /proc/stat. */
#include "observe/cpustat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int cpustat_parse(const char *text, const struct cpu_list *l, struct cpustat *out)
{
    int found = 0;
    out->busy = out->total = 0;
    out->ok = false;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        unsigned long long v[8] = {0};
        int cpu;
        /* cpuN user nice system idle iowait irq softirq steal [guest guest_nice] */
        if (strncmp(p, "cpu", 3) != 0 || p[3] < '0' || p[3] > '9' ||
            sscanf(p, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]) < 8)
            continue;
        bool want = false;
        for (int i = 0; i < l->n && !want; i++)
            want = l->cpu[i] == cpu;
        if (!want)
            continue;
        unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        out->busy += busy;
        out->total += busy + v[3] + v[4];
        found++;
    }
    out->ok = found == l->n && l->n > 0;
    return out->ok ? 0 : -1;
}

void cpustat_read(const struct cpu_list *l, struct cpustat *out)
{
    /* the per-CPU lines come first, at most about 160 bytes each: the rest (interrupts) may
       be cut off */
    int top = l->n > 0 ? l->cpu[l->n - 1] : 0;
    size_t cap = 8192 + (size_t)(top + 1) * 160;
    char *buf = malloc(cap);
    out->ok = false;
    if (!buf)
        return;
    if (procfs_slurp("/proc/stat", buf, cap) > 0)
        cpustat_parse(buf, l, out);
    free(buf);
}

double cpustat_busy(const struct cpustat *a, const struct cpustat *b)
{
    if (!a->ok || !b->ok || b->total <= a->total || b->busy < a->busy)
        return -1;
    return (double)(b->busy - a->busy) / (double)(b->total - a->total);
}
