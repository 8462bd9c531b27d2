/* server_main.h: the start-up the three servers share, in one order: the options (--help and
 * usage errors), the design's own check, --upstream resolved, --data-file opened and checked,
 * SIGPIPE ignored, the answers' tables built, then the workers until the stop. */
#ifndef TVT_SERVER_MAIN_H
#define TVT_SERVER_MAIN_H

#include <stddef.h>

#include "datafile.h"
#include "server_opts.h"
#include "upstream.h"
#include "workers.h"

struct server_main {
    const char *prog;      /* "async_server": the prefix of every message */
    const char *impl;      /* "async": the design's name in the counters line */
    unsigned flags;        /* the SERVER_OPTS_* options this design takes */
    const char *help_tail; /* printed after --help's text; NULL none */
    int nonblock;          /* workers_run's: accepted sockets non-blocking */
    worker_fn serve;
    /* After the options, before anything is opened: 0 go on, or the exit code with the cause
       and the fix in msg (printed after prog). NULL: none. */
    int (*check)(const struct server_opts *o, char *msg, size_t msglen);
    struct upstream_addr *up; /* --upstream resolves into it */
    struct datafile *df;      /* --data-file opens into it (closed when the workers end) */
};

/* The server's whole life: main's body. Exit codes: 0 stopped cleanly (or --help), 2 a usage
 * error or a refused --upstream / --data-file, check's own codes, or workers_run's. */
int server_main(int argc, char **argv, const struct server_main *m);

#endif
