/* runner_int: what the parts of a run share while it goes (runner.c, capacity_run.c). */
#ifndef TVT_RUNNER_INT_H
#define TVT_RUNNER_INT_H

#include <signal.h>
#include <stdint.h>

#include "plan/cli.h"
#include "observe/cpustat.h"
#include "plan/fdplan.h"
#include "load/gen.h"
#include "observe/perfcs.h"
#include "observe/probe.h"
#include "record/result.h"
#include "run/spawn.h"

/* The state of one run while it goes. */
struct runner {
    const struct cli_opts *o;
    struct run_record *r;
    struct spawn *sp; /* NULL for `harness load` */
    struct spawn *bk; /* the backend of run --io net, when the harness starts it; else NULL */
    struct perfcs *perf;
    struct gen *load;
    uint64_t t0_ns; /* samples are timed from here */
    uint64_t next_sample_ns;
    uint64_t phase_ns, print_ns; /* start of the phase, last progress line */
    uint64_t last_answers, last_change_ns, print_answers;
    uint64_t stall_ns;
    const char *phase;
    struct probe bk_start;               /* the backend's CPU at the window's start */
    struct cpustat cs_server, cs_client; /* /proc/stat of both CPU sets at the window's start */
};

enum until { UNTIL_TIME, UNTIL_RAMPED, UNTIL_QUOTA };

/* Watches the run until `until` (a time, the end of the ramp, the request quota), sampling the
 * server and printing progress as phase. 0 ok, -1 the run failed (x->r says why). */
int runner_watch(struct runner *x, const char *phase, uint64_t end_ns, enum until until);

/* The middle of a reading's time span. */
uint64_t runner_mid_ns(const struct probe *p);

/* --capacity, once the closed-loop window has closed (capacity_run.c). */
void capacity_run(struct runner *x);

/* launch.c: starting the processes of a run. */

/* Where the server binaries are: $TVT_BIN_DIR, else the harness's own folder. */
void launch_bin_dir(char *out, size_t len);

/* A server flag (--stack-kib, --workers) among those passed through after `--`, for the
 * record; else dflt. */
long launch_flag_from_args(const struct cli_opts *o, const char *flag, long dflt);

/* The processes an --impl server runs (--workers, else K event loops, or 1 thread server);
 * -1 for --server-cmd. */
long launch_server_workers(const struct cli_opts *o, const struct placement *pl);

/* Starts the server (x->sp): its command line, pinning and environment (TVT_SERVER_CPUS,
 * TVT_UPSTREAM, TVT_DATA_FILE; --server-cmd's {workers}, {upstream}, {data_file}). 0 ok; -1
 * with the cause in x->r. */
int launch_server(struct runner *x);

/* The backend's processes: one per backend CPU up to K, more if one could not hold conns
 * connections within nofile fds (< 0: unlimited). */
long launch_backend_workers(const struct placement *pl, long conns, long nofile);

/* Starts the backend (x->bk, x->r->bk.workers set) on the backend CPUs and waits for its
 * `listening on` line: x->r->bk.upstream. 0 ok; -1 with the cause in x->r. */
int launch_backend(struct runner *x);

/* SIGTERM, wait up to wait_ms (then SIGKILL), keep its exit and stderr; a bad exit fails the
 * run. Safe when it never started. */
void launch_backend_stop(struct runner *x, int wait_ms);

/* waitkind.c: what io=net and io=file runs need before they start. */

/* The fd plan, the data file (written or reused, or --data-file checked), an --upstream
 * checked, the device to sample. 0 ok; -1 a usage error, with the cause in err (exit 2).
 * stop says whether a signal asked the run to end (the data file's write gives up). */
int waitkind_prepare(struct runner *x, volatile const sig_atomic_t *stop, char *err, size_t errlen);

#endif
