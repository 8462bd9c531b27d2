/* fdplan: do a run's connections fit each process's open-file limit? (pure) */
#include "plan/fdplan.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "load/load.h"

long fdplan_share(long conns, long procs, bool by_hash)
{
    if (procs <= 1)
        return conns;
    long even = (conns + procs - 1) / procs;
    if (!by_hash)
        return even;
    /* each connection lands on a process by a hash of its addresses: binomial spread */
    double p = 1.0 / (double)procs;
    double sd = sqrt((double)conns * p * (1 - p));
    long share = even + (long)ceil(3 * sd);
    return share < conns ? share : conns;
}

static long server_need(const struct fdplan_req *rq, long workers, long *share)
{
    *share = fdplan_share(rq->conns, workers, true);
    return *share * (rq->net ? 2 : 1) + FDPLAN_SERVER_RESERVE;
}

static long backend_need(const struct fdplan_req *rq, long workers, long *share)
{
    *share = fdplan_share(rq->conns, workers, true);
    return *share + FDPLAN_SERVER_RESERVE;
}

static long gen_need(const struct fdplan_req *rq, long procs, long *share)
{
    *share = fdplan_share(rq->conns, procs, false);
    return load_fds_needed(*share, rq->threads > 0 ? rq->threads : 1);
}

typedef long need_fn(const struct fdplan_req *rq, long procs, long *share);

/* The fewest processes (up to FDPLAN_MAX_PROCS) whose busiest fits nofile; 0 if none does. */
static long fewest(const struct fdplan_req *rq, need_fn *need)
{
    long share;
    for (long p = 1; p <= FDPLAN_MAX_PROCS; p++)
        if (need(rq, p, &share) <= rq->nofile)
            return p;
    return 0;
}

/* The fix naming flag: the fewest processes that fit, or more than any we would suggest. */
static const char *suggest(char *fix, size_t len, const struct fdplan_req *rq, need_fn *need,
                           const char *flag)
{
    long p = fewest(rq, need);
    if (p)
        snprintf(fix, len, "at least %s %ld", flag, p);
    else
        snprintf(fix, len, "more %s than %ld", flag, (long)FDPLAN_MAX_PROCS);
    return fix;
}

/* Appends one side's complaint to err, "; " after the first; truncates at errlen. */
static void add(char *err, size_t errlen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(char *err, size_t errlen, size_t *off, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    int w = snprintf(err + *off, errlen - *off, "%s%s", *off ? "; " : "", text);
    if (w > 0)
        *off = (size_t)w >= errlen - *off ? errlen - 1 : *off + (size_t)w;
}

int fdplan_check(const struct fdplan_req *rq, struct fdplan *out, char *err, size_t errlen)
{
    char fix[160];
    size_t off = 0;
    long cap = rq->nofile >= 0 ? rq->nofile : LONG_MAX; /* a need of -1 is never over it */
    memset(out, 0, sizeof *out);
    out->server_need = out->gen_need = out->backend_need = -1;
    out->server_share = out->gen_share = out->backend_share = -1;
    if (errlen)
        err[0] = '\0';
    if (rq->server_workers > 0)
        out->server_need = server_need(rq, rq->server_workers, &out->server_share);
    if (rq->procs > 0)
        out->gen_need = gen_need(rq, rq->procs, &out->gen_share);
    if (rq->backend_workers > 0)
        out->backend_need = backend_need(rq, rq->backend_workers, &out->backend_share);
    if (out->server_need > cap)
        add(err, errlen, &off,
            "the server needs about %ld file descriptors in its busiest process "
            "(%ld of the %ld connections over --workers %ld%s, + %d), over the limit of "
            "%ld: spread them over more server processes, %s",
            out->server_need, out->server_share, rq->conns, rq->server_workers,
            rq->net ? ", x 2 with io=net: a backend connection each" : "", FDPLAN_SERVER_RESERVE,
            rq->nofile, suggest(fix, sizeof fix, rq, server_need, "--workers"));
    if (out->gen_need > cap)
        add(err, errlen, &off,
            "the generator needs about %ld file descriptors per process (%ld of the %ld "
            "connections over --procs %ld, + %ld for its %ld loops and itself), over "
            "the limit of %ld: spread them over more generator processes, %s",
            out->gen_need, out->gen_share, rq->conns, rq->procs, out->gen_need - out->gen_share,
            rq->threads, rq->nofile, suggest(fix, sizeof fix, rq, gen_need, "--procs"));
    if (out->backend_need > cap)
        add(err, errlen, &off,
            "the backend needs about %ld file descriptors in its busiest process (%ld "
            "of the %ld connections over its %ld process%s, one per CPU of "
            "--backend-cpus, + %d), over the limit of %ld: give it more CPUs with "
            "--backend-cpus, or run a backend of your own with --upstream",
            out->backend_need, out->backend_share, rq->conns, rq->backend_workers,
            rq->backend_workers == 1 ? "" : "es", FDPLAN_SERVER_RESERVE, rq->nofile);
    if (off == 0)
        return 0;
    char tail[200];
    snprintf(tail, sizeof tail,
             " (RLIMIT_NOFILE %ld, which the servers inherit; --workers spreads the server's "
             "connections over processes, --procs the generator's)",
             rq->nofile);
    if (off + strlen(tail) < errlen)
        strcat(err, tail);
    return -1;
}
