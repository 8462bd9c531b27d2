/* limits: how close the machine and the server are to the limits that end a wall: tasks
 * against pid_max and threads-max, the server's memory maps against vm.max_map_count, open
 * files against fs.file-max, MemAvailable. Read at the moment it matters (the ramp's end, or
 * the failure), so that the cause of a wall is named from figures, not guessed. */
#ifndef TVT_LIMITS_H
#define TVT_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* One reading; -1 where unknown. */
struct limits {
    bool on;
    const char *at; /* "ramp end" or "failure" (static) */
    long tasks;     /* threads on the machine now (/proc/loadavg) */
    long pid_max, threads_max, max_map_count;
    long server_threads, server_maps; /* summed over the server's process tree */
    long files_open, file_max;        /* /proc/sys/fs/file-nr */
    long mem_available_kib;
};

/* Reads the machine's figures and, for pid > 0, the server tree's. */
void limits_read(struct limits *l, pid_t pid, const char *at);

/* The `limits` object of the result ({at, tasks, pid_max, ...}); null when not read. */
json_t *limits_json(const struct limits *l);

/* Parses "0.52 0.58 0.59 3/531 1234" (/proc/loadavg): the tasks, 531. -1 when malformed.
 * Pure. */
long limits_parse_loadavg_tasks(const char *text);

#endif
