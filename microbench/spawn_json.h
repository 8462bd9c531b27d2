/* spawn_json: spawn_bench's measurements as JSON (keys: microbench/SCHEMA.md). */
#ifndef TVT_SPAWN_JSON_H
#define TVT_SPAWN_JSON_H

#include "procfs.h"
#include "spawn.h"

#include <jansson.h>
#include <stdbool.h>

/* What spawn_bench measured at one N. */
struct spawn_point {
    struct spawn_result r;
    struct proc_mem mem;
    long pss_kib; /* -1 if smaps_rollup is missing */
    struct sys_mem sys_before, sys_at;
    json_t *wall; /* first failure's diagnosis, or NULL */
    int read_err; /* errno if /proc could not be read at steady state */
};

/* What one spawn_bench run was asked and what it found. */
struct spawn_run {
    const char *kind;              /* "task-timer", "task-io", "thread-cond", "thread-pipe" */
    bool threads;                  /* the units are threads (else tasks) */
    const struct spawn_cfg *cfg;   /* kind, stack and state asked for */
    const uint64_t *counts;        /* the N asked for, ascending */
    int ncounts;                   /* ... of them */
    uint32_t hold_ms;              /* steady-state hold */
    bool until_failure;            /* a creation failure ends the run normally */
    struct proc_mem base;          /* the process before any unit */
    long base_pss;                 /* -1: no PSS */
    const struct spawn_point *pts; /* one per N measured, ascending */
    int np;
    const struct spawn_point *wall; /* the point whose creation failed, or NULL */
    size_t created, torn_down;      /* summed over the points */
    bool ok; /* every point made its units (or met the wall under until_failure) */
};

/* The whole spawn_*.json document of run, keys as microbench/SCHEMA.md has them; its "ok"
   also needs created == torn_down. New object, caller owns it. */
json_t *spawn_json_doc(const struct spawn_run *run);

#endif
