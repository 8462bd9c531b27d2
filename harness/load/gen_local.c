/* gen_local: the generator in this process: gen.h's calls on one struct load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "load/gen_int.h"
#include "load/wire.h"

static bool local_ramped(void *impl)
{
    return load_ramped(impl);
}

static void local_command(void *impl, char cmd)
{
    if (cmd == WIRE_TRAFFIC)
        load_start_traffic(impl);
    else if (cmd == WIRE_MEASURE)
        load_begin_measure(impl);
    else if (cmd == WIRE_END)
        load_end_measure(impl);
}

static bool local_quota_done(void *impl)
{
    return load_quota_done(impl);
}

static uint64_t local_progress(void *impl, uint64_t *errors)
{
    return load_progress(impl, errors);
}

static void local_conns(void *impl, int *open, int *failed)
{
    load_conns(impl, open, failed);
}

/* 0 when rc is; otherwise -1 with the message in err. */
static int checked(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int checked(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (rc == 0)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int local_measured(void *impl, struct load_result *out, char *err, size_t errlen)
{
    return checked(load_measured(impl, out), err, errlen,
                   "the generator could not report its measured window");
}

static int local_step_begin(void *impl, double rate, double settle_s, double length_s, char *err,
                            size_t errlen)
{
    return checked(load_step_begin(impl, rate, settle_s, length_s), err, errlen,
                   "the generator could not start a step at %.0f req/s", rate);
}

static int local_step_end(void *impl, struct load_result *out, char *err, size_t errlen)
{
    return checked(load_step_end(impl, out), err, errlen,
                   "the generator could not report its step");
}

static int local_watch(void *impl, char *err, size_t errlen)
{
    return checked(load_stop_watch(impl), err, errlen,
                   "the generator's loops did not all start the stop watch");
}

static int local_stop(void *impl, struct load_result *out, char *err, size_t errlen)
{
    return checked(load_stop(impl, out), err, errlen, "out of memory merging the results");
}

static bool local_alive(void *impl, char *err, size_t errlen)
{
    (void)impl;
    (void)err;
    (void)errlen;
    return true;
}

static const struct gen_ops LOCAL = {
    .ramped = local_ramped,
    .command = local_command,
    .quota_done = local_quota_done,
    .progress = local_progress,
    .conns = local_conns,
    .measured = local_measured,
    .step_begin = local_step_begin,
    .step_end = local_step_end,
    .watch = local_watch,
    .stop = local_stop,
    .alive = local_alive,
};

struct gen *gen_local_start(const struct load_opts *o, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->ops = &LOCAL;
    g->impl = load_start(o, err, errlen);
    if (!g->impl) {
        free(g);
        return NULL;
    }
    return g;
}
