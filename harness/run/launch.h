/* launch: the processes a run starts and stops: the server under test (its command line,
 * pinning, placeholders and environment) and the backend of io=net runs. */
#ifndef TVT_LAUNCH_H
#define TVT_LAUNCH_H

#include <stddef.h>

#include "run/run.h"

#define LAUNCH_STOP_WAIT_MS                                                                        \
    8000 /* SIGTERM, then this long before SIGKILL: past a server's                                \
            own grace for what is in flight (5 s) */

/* Where the server binaries are: $TVT_BIN_DIR, else the harness's own folder. */
void launch_bin_dir(char *out, size_t len);

/* Starts what `run` measures: the backend of io=net (when the harness starts it: x->bk, its
 * `listening on` line giving x->r->bk.upstream), then the server (x->sp, with TVT_SERVER_CPUS,
 * TVT_UPSTREAM, TVT_DATA_FILE in its environment and --server-cmd's {workers}, {upstream},
 * {data_file} replaced), waits until it is ready and finds the target it listens on (unless
 * --target), and opens the perf counter of its process tree. 0 ok; -1 with the cause in x->r. */
int launch_all(struct run *x);

/* Stops the server (SIGTERM, then SIGKILL after LAUNCH_STOP_WAIT_MS) and keeps its exit, rusage
 * and stderr in x->r; then the backend likewise (after the server: its last answers may still
 * wait on it). A server or backend that does not exit cleanly fails the run. Frees both; safe
 * when they never started. */
void launch_stop_all(struct run *x);

#endif
