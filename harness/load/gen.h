/* gen: the generator, in this process or as P forked ones (each its own fd table), merged exactly.
 */
#ifndef TVT_GEN_H
#define TVT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/load.h"

struct gen;

/* Starts the load of o over procs processes (1: in this process, no fork). With procs > 1
 * each child runs load_start on its share of o->conns and o->requests, and answers the
 * commands below over pipes; call it before this process starts any thread. NULL with the
 * cause (a child's own error included) in err. */
struct gen *gen_start(const struct load_opts *o, int procs, char *err, size_t errlen);

/* The load.h calls, over every process. Not thread-safe: one caller (the runner). */
bool gen_ramped(struct gen *g);
void gen_start_traffic(struct gen *g);
void gen_begin_measure(struct gen *g);
void gen_end_measure(struct gen *g);
bool gen_quota_done(struct gen *g);
uint64_t gen_progress(struct gen *g, uint64_t *errors);
void gen_conns(struct gen *g, int *open, int *failed);

/* The load.h calls of a capacity curve, over every process: the measured window while the
 * load runs on, and open-loop steps (each process paces its share of rate). 0 ok; -1 with the
 * cause in err. */
int gen_measured(struct gen *g, struct load_result *out, char *err, size_t errlen);
int gen_step_begin(struct gen *g, double rate, double settle_s, double length_s, char *err,
                   size_t errlen);
int gen_step_end(struct gen *g, struct load_result *out, char *err, size_t errlen);

/* A stop watch, over every process (load_stop_watch): returns once every process has sent its
 * slow requests. 0 ok; -1 with the cause in err. */
int gen_stop_watch(struct gen *g, char *err, size_t errlen);

/* Stops every process and merges their results into *out (histograms merged, not
 * percentiles averaged). Frees g. 0 ok; -1 with the cause in err if a process died or could
 * not report (out then holds what the others measured). */
int gen_stop(struct gen *g, struct load_result *out, char *err, size_t errlen);

#endif
