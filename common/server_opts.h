/* server_opts.h: the command line both servers share, parsed one way. */
#ifndef TVT_SERVER_OPTS_H
#define TVT_SERVER_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "workload.h"

#define SERVER_BACKLOG_DEFAULT      4096
#define SERVER_IDLE_TIMEOUT_DEFAULT 60000 /* ms */

struct server_opts {
    const char *host;
    int port;                 /* 0: the kernel picks one */
    struct workload defaults; /* a request's query overrides these */
    int backlog;
    uint32_t idle_timeout_ms; /* 0: never */
    uint32_t stack_kib;       /* thread server only; 0: the system default */
    uint32_t workers;         /* processes sharing the port (SO_REUSEPORT) */
    int pin_workers;          /* worker i pins itself to the i-th CPU of its affinity mask */
};

enum server_opts_result { OPTS_OK, OPTS_HELP, OPTS_ERROR };

/* Parses argv into o. with_stack_kib enables --stack-kib (thread server).
 * OPTS_HELP: the usage text is in err (print it to stdout, exit 0).
 * OPTS_ERROR: a message naming the bad flag is in err (exit 2). */
enum server_opts_result server_opts_parse(struct server_opts *o, int argc, char **argv,
                                          const char *prog, int with_stack_kib, char *err,
                                          size_t errlen);

#endif
