/* runner_int: what the parts of a run share while it goes (runner.c, capacity_run.c). */
#ifndef TVT_RUNNER_INT_H
#define TVT_RUNNER_INT_H

#include <stdint.h>

#include "cli.h"
#include "gen.h"
#include "perfcs.h"
#include "probe.h"
#include "result.h"
#include "spawn.h"

/* The state of one run while it goes. */
struct runner {
    const struct cli_opts *o;
    struct run_record *r;
    struct spawn *sp; /* NULL for `harness load` */
    struct perfcs *perf;
    struct gen *load;
    uint64_t t0_ns; /* samples are timed from here */
    uint64_t next_sample_ns;
    uint64_t phase_ns, print_ns; /* start of the phase, last progress line */
    uint64_t last_answers, last_change_ns, print_answers;
    uint64_t stall_ns;
    const char *phase;
};

enum until { UNTIL_TIME, UNTIL_RAMPED, UNTIL_QUOTA };

/* CLOCK_MONOTONIC, ns. */
uint64_t runner_now_ns(void);

/* Watches the run until `until` (a time, the end of the ramp, the request quota), sampling the
 * server and printing progress as phase. 0 ok, -1 the run failed (x->r says why). */
int runner_watch(struct runner *x, const char *phase, uint64_t end_ns, enum until until);

/* The middle of a reading's time span. */
uint64_t runner_mid_ns(const struct probe *p);

/* --capacity, once the closed-loop window has closed (capacity_run.c). */
void capacity_run(struct runner *x);

#endif
