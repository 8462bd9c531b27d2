/* plan: every decision of a run, made from its options and the machine before anything starts,
 * in one place, and printed. */
#ifndef TVT_PLAN_H
#define TVT_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "load/load.h"
#include "plan/cli.h"
#include "plan/fdplan.h"
#include "plan/hosts_plan.h"
#include "record/result.h"

/* What the run will do beyond what the record keeps (r's placement, loops, workers, stack,
 * file limits, SLO, backend processes are written there, for the result). */
struct run_plan {
    struct load_opts load; /* the generator's options; target, request and source addresses
                              once the target is known (plan_target) */
    struct fdplan fds;     /* what each process needs of its open-file limit */
    bool start_backend;    /* run --io net without --upstream: the harness starts one */
    uint64_t stall_ns;     /* no answer for this long fails the run */
    double ramp_cap_s;     /* the connection ramp must end within this */
    bool have_target;      /* --target given: plan_make resolved it */
};

/* Decides the run from o (across the hosts of hp when hp->on; NULL: one machine): raises the
 * open-file limit as far as it goes, plans the CPUs, the server's processes, the backend's, each
 * process's fds, the capacity target, the stall limit, the ramp's bound and the generator's
 * options; resolves --target. Call it before this process pins itself (the planner reads every
 * allowed CPU). Fills r (result_init is done here) and p. 0 ok; -1 a usage error, the cause in err
 * (nothing was started). */
int plan_make(const struct cli_opts *o, const struct hosts_plan *hp, struct run_record *r,
              struct run_plan *p, char *err, size_t errlen);

/* The target becomes known (--target, or the server's `listening on` line): p's load options
 * get it, the request text (its Host header) and the source addresses of a loopback target;
 * r->target and r->source_ips say so. 0 ok; -1 with the cause in err. */
int plan_target(struct run_plan *p, struct run_record *r, const struct sockaddr_storage *ss,
                socklen_t len, const char *host, char *err, size_t errlen);

/* The plan in one line (what runs where, the loop, the fds), unless o->quiet. */
void plan_print(const struct cli_opts *o, const struct run_record *r, const struct run_plan *p);

/* A server flag (--stack-kib, --workers) among those passed after `--`, for the record; else
 * dflt. */
long plan_flag_from_args(const struct cli_opts *o, const char *flag, long dflt);

/* The processes an --impl server runs (--workers, else K event loops, or 1 thread server); -1
 * for --server-cmd. */
long plan_server_workers(const struct cli_opts *o, const struct placement *pl);

#endif
