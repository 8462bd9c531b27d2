/* server_main.c: the servers' shared start-up (server_main.h). */
#include "server_main.h"

#include <signal.h>
#include <stdio.h>

#include "response.h"

int server_main(int argc, char **argv, const struct server_main *m)
{
    struct server_opts opts;
    static char msg[SERVER_HELP_MAX];
    switch (server_opts_parse(&opts, argc, argv, m->prog, m->flags, msg, sizeof(msg))) {
    case OPTS_HELP:
        fputs(msg, stdout);
        if (m->help_tail)
            fputs(m->help_tail, stdout);
        return 0;
    case OPTS_ERROR: fprintf(stderr, "%s: %s\n", m->prog, msg); return 2;
    case OPTS_OK: break;
    }
    int rc = m->check ? m->check(&opts, msg, sizeof(msg)) : 0;
    if (rc == 0 && opts.upstream &&
        upstream_resolve(m->up, opts.upstream, opts.allow_remote, msg, sizeof(msg)) < 0)
        rc = 2;
    if (rc == 0 && opts.data_file && datafile_open(m->df, opts.data_file, msg, sizeof(msg)) < 0)
        rc = 2;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", m->prog, msg);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    response_init();
    rc = workers_run(&opts, m->prog, m->impl, m->nonblock, m->serve);
    datafile_close(m->df);
    return rc;
}
