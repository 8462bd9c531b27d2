/* gen: the generator, in this process or as P forked ones (each its own fd table), merged exactly.
 */
#ifndef TVT_GEN_H
#define TVT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hosts/hosts.h"
#include "load/load.h"

struct gen;

#define GEN_ENV_MAX 4096

/* What one host's part of the load did, filled in at each result the generator merges; the
 * run's record keeps a copy per host. */
struct gen_figures {
    int conns;            /* connections it was given */
    struct load_counts c; /* of the newest result */
    double cpu_s;         /* its loops' CPU */
    int conns_connected;
    double window_start_ms; /* its window opened this long after the earliest host's */
    double clock_offset_ms; /* its clock minus this one's (CLOCK_MONOTONIC), as measured */
    double clock_rtt_ms;    /* the round trip of that measurement */
};

/* One host's part of a load spread over hosts (gen_start_spread): what it is given, and what it
 * did. */
struct gen_share {
    const struct host *host; /* NULL: this machine, as forked processes */
    int procs;               /* this machine: its processes; a host: at least this many, or 0
                                for as many as its own fd limit needs */
    struct gen_figures fig;  /* filled in */
    char env[GEN_ENV_MAX];   /* a host's environment (JSON, from its hello); "" here */
};

/* Starts the load of o over procs processes (1: in this process, no fork). With procs > 1
 * each child runs load_start on its share of o->conns and o->requests, and answers the
 * commands below over pipes; call it before this process starts any thread. NULL with the
 * cause (a child's own error included) in err. */
struct gen *gen_start(const struct load_opts *o, int procs, char *err, size_t errlen);

/* The load of o spread over n hosts (each share's conns, rates and requests even, connection
 * indexes continuing), each host's generator started with `harness gen` through its command and
 * refused if its build differs from this one; shares stays the caller's and is filled in at
 * every result. Call it before this process starts any thread. NULL with the cause (naming the
 * host) in err. */
struct gen *gen_start_spread(const struct load_opts *o, struct gen_share *shares, int n, char *err,
                             size_t errlen);

/* false, with the cause in err, once a process or a host's generator has gone away during the
 * run (its stream closed). */
bool gen_alive(struct gen *g, char *err, size_t errlen);

/* `harness gen`: a host's generator on stdin and stdout: its hello, then what gen_child_main
 * does, its share replanned for this host. Returns the exit code. */
int gen_remote_main(void);

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
