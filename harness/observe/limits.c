/* limits: the machine's and the server's distance to the limits that end a wall. */
#include "observe/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/probe.h"
#include "procfs.h"

static long read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

long limits_parse_loadavg_tasks(const char *text)
{
    const char *slash = strchr(text, '/');
    if (!slash)
        return -1;
    char *end;
    long v = strtol(slash + 1, &end, 10);
    return end == slash + 1 || v < 0 ? -1 : v;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Threads and memory maps summed over the tree under pid. */
static void server_figures(struct limits *l, pid_t pid)
{
    pid_t tree[PROBE_TREE_MAX];
    int n = probe_tree(pid, tree, PROBE_TREE_MAX);
    l->server_threads = l->server_maps = n > 0 ? 0 : -1;
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/maps", (int)tree[i]);
        long maps = count_lines(path);
        if (maps > 0)
            l->server_maps += maps;
        struct probe p;
        probe_read(tree[i], NULL, PROBE_MEM, &p);
        if (p.mem_ok)
            l->server_threads += p.mem.threads;
    }
}

void limits_read(struct limits *l, pid_t pid, const char *at)
{
    char buf[128] = "";
    memset(l, 0, sizeof *l);
    l->on = true;
    l->at = at;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    l->tasks = limits_parse_loadavg_tasks(buf);
    l->pid_max = read_number("/proc/sys/kernel/pid_max");
    l->threads_max = read_number("/proc/sys/kernel/threads-max");
    l->max_map_count = read_number("/proc/sys/vm/max_map_count");
    long open = -1, unused = -1, max = -1;
    f = fopen("/proc/sys/fs/file-nr", "r");
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &open, &unused, &max) != 3)
            open = max = -1;
        fclose(f);
    }
    l->files_open = open;
    l->file_max = max;
    struct sys_mem m;
    l->mem_available_kib = procfs_read_meminfo(&m) == 0 ? m.mem_available_kib : -1;
    l->server_threads = l->server_maps = -1;
    if (pid > 0)
        server_figures(l, pid);
}

static json_t *num(long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

json_t *limits_json(const struct limits *l)
{
    if (!l->on)
        return json_null();
    return json_pack("{ss? so so so so so so so so so}", "at", l->at, "tasks", num(l->tasks),
                     "pid_max", num(l->pid_max), "threads_max", num(l->threads_max),
                     "max_map_count", num(l->max_map_count), "server_threads",
                     num(l->server_threads), "server_maps", num(l->server_maps), "files_open",
                     num(l->files_open), "file_max", num(l->file_max), "mem_available_kib",
                     num(l->mem_available_kib));
}
