/* place_opts: the CPU plan of a run from its flags, into its record (placement.h does the plan). */
#include "plan/place_opts.h"

#include <sched.h>
#include <stdio.h>

#include "plan/placement.h"
#include "workload.h"

/* Does this run start a backend server? `run --io net`, unless --upstream names one. */
static bool needs_backend(const struct cli_opts *o)
{
    return o->cmd == CLI_RUN && o->io == IO_NET && !o->upstream;
}

int place_from_opts(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen)
{
    static struct cpu_list srv, cli, bck; /* 4 KiB each */
    static int allowed[PLACE_MAX_CPUS];
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && c < PLACE_MAX_CPUS; c++)
            if (CPU_ISSET(c, &set))
                allowed[n++] = c;
    struct place_req rq = {
        .allowed = allowed,
        .nallowed = n,
        .server_k = o->server_k,
        .server_unpinned = o->server_cpu_set && o->server_cpu < 0,
        .client_unpinned = o->client_cpu_set && o->client_cpu < 0,
        .server_external = o->cmd == CLI_LOAD,
        .need_backend = needs_backend(o),
        .allow_overlap = o->allow_overlap,
    };
    if (o->server_cpu_set && o->server_cpu >= 0) {
        srv.n = 1;
        srv.cpu[0] = o->server_cpu;
        rq.server = &srv;
    }
    if (o->client_cpu_set && o->client_cpu >= 0) {
        cli.n = 1;
        cli.cpu[0] = o->client_cpu;
        rq.client = &cli;
        rq.client_flag = "--client-cpu";
    } else if (o->client_cpus) {
        if (place_parse_list("--client-cpus", o->client_cpus, &cli, err, errlen) < 0)
            return -1;
        rq.client = &cli;
    }
    if (o->backend_cpus) {
        if (place_parse_list("--backend-cpus", o->backend_cpus, &bck, err, errlen) < 0)
            return -1;
        rq.backend = &bck;
    }
    if (place_plan(&rq, &r->place, err, errlen) < 0)
        return -1;
    const struct placement *p = &r->place;
    r->server_cpu = p->server.n > 0 ? p->server.cpu[0] : -1;
    r->client_cpu = p->client.n > 0 ? p->client.cpu[0] : -1;
    snprintf(r->cpu_note, sizeof r->cpu_note, "%s", p->note);
    if (o->threads_set)
        r->threads = o->threads;
    else if (p->client.n > 0)
        r->threads = (p->client.n + o->procs - 1) / o->procs;
    else
        r->threads = 1;
    return 0;
}
