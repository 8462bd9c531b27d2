/* fdplan: do a run's connections fit each process's open-file limit? (pure) */
#include "plan/fdplan.h"

#include <math.h>
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

/* The fewest processes (up to FDPLAN_MAX_PROCS) whose busiest fits nofile; 0 if none does. */
static long fewest(const struct fdplan_req *rq,
                   long (*need)(const struct fdplan_req *, long, long *))
{
    long share;
    for (long p = 1; p <= FDPLAN_MAX_PROCS; p++)
        if (need(rq, p, &share) <= rq->nofile)
            return p;
    return 0;
}

static void add(char *err, size_t errlen, size_t *off, const char *text)
{
    int w = snprintf(err + *off, errlen - *off, "%s%s", *off ? "; " : "", text);
    if (w > 0)
        *off = (size_t)w >= errlen - *off ? errlen - 1 : *off + (size_t)w;
}

int fdplan_check(const struct fdplan_req *rq, struct fdplan *out, char *err, size_t errlen)
{
    char text[400], fix[160];
    size_t off = 0;
    bool limited = rq->nofile >= 0;
    memset(out, 0, sizeof *out);
    out->server_need = out->gen_need = out->backend_need = -1;
    out->server_share = out->gen_share = out->backend_share = -1;
    if (errlen)
        err[0] = '\0';
    if (rq->server_workers > 0) {
        out->server_need = server_need(rq, rq->server_workers, &out->server_share);
        if (limited && out->server_need > rq->nofile) {
            long w = fewest(rq, server_need);
            snprintf(fix, sizeof fix, w ? "at least --workers %ld" : "more --workers than %ld",
                     w ? w : (long)FDPLAN_MAX_PROCS);
            snprintf(text, sizeof text,
                     "the server needs about %ld file descriptors in its busiest process "
                     "(%ld of the %ld connections over --workers %ld%s, + %d), over the limit of "
                     "%ld: spread them over more server processes, %s",
                     out->server_need, out->server_share, rq->conns, rq->server_workers,
                     rq->net ? ", x 2 with io=net: a backend connection each" : "",
                     FDPLAN_SERVER_RESERVE, rq->nofile, fix);
            add(err, errlen, &off, text);
        }
    }
    if (rq->procs > 0) {
        out->gen_need = gen_need(rq, rq->procs, &out->gen_share);
        if (limited && out->gen_need > rq->nofile) {
            long p = fewest(rq, gen_need);
            snprintf(fix, sizeof fix, p ? "at least --procs %ld" : "more --procs than %ld",
                     p ? p : (long)FDPLAN_MAX_PROCS);
            snprintf(text, sizeof text,
                     "the generator needs about %ld file descriptors per process (%ld of the %ld "
                     "connections over --procs %ld, + %ld for its %ld loops and itself), over "
                     "the limit of %ld: spread them over more generator processes, %s",
                     out->gen_need, out->gen_share, rq->conns, rq->procs,
                     out->gen_need - out->gen_share, rq->threads, rq->nofile, fix);
            add(err, errlen, &off, text);
        }
    }
    if (rq->backend_workers > 0) {
        out->backend_need = backend_need(rq, rq->backend_workers, &out->backend_share);
        if (limited && out->backend_need > rq->nofile) {
            snprintf(text, sizeof text,
                     "the backend needs about %ld file descriptors in its busiest process (%ld "
                     "of the %ld connections over its %ld process%s, one per CPU of "
                     "--backend-cpus, + %d), over the limit of %ld: give it more CPUs with "
                     "--backend-cpus, or run a backend of your own with --upstream",
                     out->backend_need, out->backend_share, rq->conns, rq->backend_workers,
                     rq->backend_workers == 1 ? "" : "es", FDPLAN_SERVER_RESERVE, rq->nofile);
            add(err, errlen, &off, text);
        }
    }
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
