/* gen_int: the generator's table of operations and its implementations (gen.c dispatches):
 * gen_local.c runs the load in this process, gen_procs.c in forked processes that gen_child.c
 * drives. Not an API: gen.h is. */
#ifndef TVT_GEN_INT_H
#define TVT_GEN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/gen.h"
#include "load/load.h"

/* One implementation of gen.h's calls; impl is its own state. The calls that can fail write
 * the cause into err. stop frees impl. */
struct gen_ops {
    bool (*ramped)(void *impl);
    void (*command)(void *impl, char cmd); /* WIRE_TRAFFIC, WIRE_MEASURE or WIRE_END */
    bool (*quota_done)(void *impl);
    uint64_t (*progress)(void *impl, uint64_t *errors);
    void (*conns)(void *impl, int *open, int *failed);
    int (*measured)(void *impl, struct load_result *out, char *err, size_t errlen);
    int (*step_begin)(void *impl, double rate, double settle_s, double length_s, char *err,
                      size_t errlen);
    int (*step_end)(void *impl, struct load_result *out, char *err, size_t errlen);
    int (*watch)(void *impl, char *err, size_t errlen);
    int (*stop)(void *impl, struct load_result *out, char *err, size_t errlen);
    bool (*alive)(void *impl, char *err, size_t errlen);
};

struct gen {
    const struct gen_ops *ops;
    void *impl;
};

/* The load of o in this process. NULL with the cause in err. */
struct gen *gen_local_start(const struct load_opts *o, char *err, size_t errlen);

/* The load of o over its shares' processes: forked ones here, a `harness gen` on each host
 * (gen.h's gen_start_spread). NULL with the cause in err. */
struct gen *gen_procs_start(const struct load_opts *o, struct gen_share *shares, int n, char *err,
                            size_t errlen);

struct wire_opts;

/* How a generator process starts the generator of its options (gen.h's gen_start, or
 * gen_local_start for a forked one). NULL with the cause in err. */
typedef struct gen *gen_start_fn(const struct load_opts *o, int procs, char *err, size_t errlen);

/* A generator process's life on its two streams: its options (WIRE_OPTS, clock questions
 * answered while it waits) from in, replanned by replan when not NULL (-1 with the cause: it
 * does not start), its generator started by start, then the commands, status and results of
 * wire.h until WIRE_STOP or EOF. Returns its exit code. */
int gen_child_main(int in_fd, int out_fd, gen_start_fn *start,
                   int (*replan)(struct wire_opts *w, char *err, size_t errlen));

/* Adds one process's result r into out (exactly as load_stop merges its threads), its window
 * moved by shift_ns onto this clock; histograms included. */
void gen_merge(struct load_result *out, const struct load_result *r, int64_t shift_ns);

#endif
