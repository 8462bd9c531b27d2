/* spawn_json: spawn_bench's measurements as JSON (keys: microbench/SCHEMA.md). */
#ifndef TVT_SPAWN_JSON_H
#define TVT_SPAWN_JSON_H

#include "procfs.h"
#include "spawn.h"

#include <jansson.h>

/* What spawn_bench measured at one N. */
struct spawn_point {
    struct spawn_result r;
    struct proc_mem mem;
    long pss_kib; /* -1 if smaps_rollup is missing */
    struct sys_mem sys_before, sys_at;
    json_t *wall; /* first failure's diagnosis, or NULL */
    int read_err; /* errno if /proc could not be read at steady state */
};

/* One element of "points": counts, times, memory and its deltas against base / base_pss
   (-1: no PSS), failure. New object, caller owns it. */
json_t *spawn_json_point(const struct spawn_point *p, const struct proc_mem *base, long base_pss);

/* "slope": least-squares bytes (or ns) per unit over the np points with created > 0. */
json_t *spawn_json_slope(const struct spawn_point *pts, int np, const struct proc_mem *base,
                         long base_pss);

/* "wall": the failure of p (which has r.err set) with its diagnosis. */
json_t *spawn_json_wall(const struct spawn_point *p);

#endif
