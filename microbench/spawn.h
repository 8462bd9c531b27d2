/* spawn: create N waiting units (tasks or threads), hold them, tear them down. */
#ifndef TVT_SPAWN_H
#define TVT_SPAWN_H

#include <stddef.h>
#include <stdint.h>

enum spawn_kind { SPAWN_TASK_TIMER, SPAWN_TASK_IO, SPAWN_THREAD_COND, SPAWN_THREAD_PIPE };

struct spawn_cfg {
    enum spawn_kind kind;
    size_t stack_kib;   /* threads; 0 = the system default */
    size_t state_bytes; /* per-unit state each unit writes, so RSS counts it */
};

/* What one create/hold/teardown cycle did. Times are CLOCK_MONOTONIC intervals. */
struct spawn_result {
    size_t requested, created, ready, torn_down;
    int err;                 /* errno of the first failure, 0 if none */
    const char *failed_call; /* "pthread_create", "socketpair", "malloc", ... or NULL */
    uint64_t create_ns;      /* the create calls, from the first to the last */
    uint64_t ready_ns;       /* from the first create until every unit waits */
    uint64_t teardown_ns;    /* from the stop signal until the last unit is gone */
};

struct spawn_set; /* the live units of one run */

/* Creates up to r->requested units of cfg->kind and returns once every created unit is
   waiting. Stops at the first failure (r->err, r->failed_call) and keeps what it made.
   NULL only if nothing could be set up at all (r->err says why). */
struct spawn_set *spawn_tasks_create(const struct spawn_cfg *cfg, struct spawn_result *r);
struct spawn_set *spawn_threads_create(const struct spawn_cfg *cfg, struct spawn_result *r);

/* Stops every unit, joins or frees it, counts r->torn_down, frees the set. */
void spawn_tasks_teardown(struct spawn_set *s, struct spawn_result *r);
void spawn_threads_teardown(struct spawn_set *s, struct spawn_result *r);

/* Stack size a thread of this cfg gets, in KiB (the default one when cfg->stack_kib is 0). */
size_t spawn_threads_stack_kib(const struct spawn_cfg *cfg);

#endif
