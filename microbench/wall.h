/* wall: which system limit stopped thread (or fd) creation, from /proc at the moment of failure. */
#ifndef TVT_WALL_H
#define TVT_WALL_H

#include <jansson.h>

/* Reads every limit that can stop pthread_create or socket creation, with how much of it
   is in use right now: pid_max and threads-max (system-wide tasks), RLIMIT_NPROC (this
   user's tasks), max_map_count (this process's maps), memory, cgroup pids.max, RLIMIT_NOFILE,
   RLIMIT_AS and RLIMIT_DATA (thread stacks count against both).
   err is the errno of the failure. Returns a new object
   {"limit_hit": name or "unknown", "<name>": {"max", "used", "ratio", "note"?}, ...};
   caller owns it. Call it while the units still exist. */
json_t *wall_diagnose(int err);

#endif
