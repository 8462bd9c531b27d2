/* gen: the generator's one interface over its implementations (gen_int.h): in this process, or
 * as P forked processes each with its own fd table, merged exactly. */
#include "load/gen.h"

#include <stdio.h>
#include <stdlib.h>

#include "load/gen_int.h"
#include "load/wire.h"

struct gen *gen_start(const struct load_opts *o, int procs, char *err, size_t errlen)
{
    if (procs <= 1)
        return gen_local_start(o, err, errlen);
    struct gen_share *here = calloc(1, sizeof *here);
    if (!here) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    here->procs = procs;
    struct gen *g = gen_procs_start(o, here, -1, err, errlen); /* -1: the share is its own */
    if (!g)
        free(here);
    return g;
}

struct gen *gen_start_spread(const struct load_opts *o, struct gen_share *shares, int n, char *err,
                             size_t errlen)
{
    return gen_procs_start(o, shares, n, err, errlen);
}

bool gen_alive(struct gen *g, char *err, size_t errlen)
{
    return g->ops->alive(g->impl, err, errlen);
}

bool gen_ramped(struct gen *g)
{
    return g->ops->ramped(g->impl);
}

void gen_start_traffic(struct gen *g)
{
    g->ops->command(g->impl, WIRE_TRAFFIC);
}

void gen_begin_measure(struct gen *g)
{
    g->ops->command(g->impl, WIRE_MEASURE);
}

void gen_end_measure(struct gen *g)
{
    g->ops->command(g->impl, WIRE_END);
}

bool gen_quota_done(struct gen *g)
{
    return g->ops->quota_done(g->impl);
}

uint64_t gen_progress(struct gen *g, uint64_t *errors)
{
    return g->ops->progress(g->impl, errors);
}

void gen_conns(struct gen *g, int *open, int *failed)
{
    g->ops->conns(g->impl, open, failed);
}

int gen_measured(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    return g->ops->measured(g->impl, out, err, errlen);
}

int gen_step_begin(struct gen *g, double rate, double settle_s, double length_s, char *err,
                   size_t errlen)
{
    return g->ops->step_begin(g->impl, rate, settle_s, length_s, err, errlen);
}

int gen_step_end(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    return g->ops->step_end(g->impl, out, err, errlen);
}

int gen_stop_watch(struct gen *g, char *err, size_t errlen)
{
    return g->ops->watch(g->impl, err, errlen);
}

int gen_stop(struct gen *g, struct load_result *out, char *err, size_t errlen)
{
    err[0] = '\0';
    int rc = g->ops->stop(g->impl, out, err, errlen);
    free(g);
    return rc;
}
