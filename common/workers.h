/* workers.h: --workers W: W server processes sharing one port through SO_REUSEPORT. */
#ifndef TVT_WORKERS_H
#define TVT_WORKERS_H

#include <stdio.h>

#include "counters.h"
#include "server_opts.h"

/* Runs one server process on its own listening socket until SIGTERM/SIGINT,
 * then returns with its counters filled in. ready() must be called once the
 * process is ready to accept. listen_fd is fn's: it closes it, at the signal
 * (so that new connects are refused while the connections it has drain) or
 * at the latest before it returns. Returns the process's exit code. */
typedef int (*worker_fn)(const struct server_opts *o, int listen_fd, struct counters *ctr,
                         void (*ready)(void));

/* The server's whole life, for any --workers:
 * - W == 1: listens, prints `listening on HOST:PORT`, runs fn in this process,
 *   prints the counters line to stderr.
 * - W > 1: this process binds the port (without listening, so it receives no
 *   connection), forks W workers that each listen on it with SO_REUSEPORT and
 *   run fn, prints `listening on` once all are ready, forwards SIGTERM/SIGINT,
 *   sums their counters into one line on stderr (stop_ms: the slowest
 *   worker's). The supervisor's socket only holds the port (bound, never
 *   listening, so it accepts nothing) and is closed once the workers are
 *   ready. A worker that dies on its
 *   own stops the others, and the exit code says so.
 * Returns the exit code for main. Fatal start-up errors are printed here,
 * prefixed with prog. */
int workers_run(const struct server_opts *o, const char *prog, const char *impl, int nonblock,
                worker_fn fn);

#endif
