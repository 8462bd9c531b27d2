/* place_opts: the CPU plan of a run from its flags, into its record (placement.h does the plan). */
#include "plan/place_opts.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "plan/machine.h"

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

int place_on_hosts(const struct cli_opts *o, const struct hosts_plan *hp, struct run_record *r,
                   char *err, size_t errlen)
{
    /* the server shares this machine with generators: the split of one machine */
    if (host_is_here(hp->server) && hp->clients_here)
        return place_from_opts(o, r, err, errlen);
    struct placement *p = &r->place;
    const struct cpu_list *all = &hp->server_cpus;
    memset(p, 0, sizeof *p);
    p->allowed = *all;
    int k = o->server_k > 0 ? o->server_k : all->n;
    if (k > all->n) {
        snprintf(err, errlen, "--server-cpus %d: host %s lets its programs use %d CPUs", k,
                 hp->server->name, all->n);
        return -1;
    }
    /* a host of its own: the server its K lowest CPUs, pinned as on one machine; a backend
       beside it the ones above, if any are left */
    p->server.n = k;
    memcpy(p->server.cpu, all->cpu, sizeof(int) * (size_t)k);
    p->server_k = k > 0 ? k : 1;
    p->server_pinned = k > 0;
    if (needs_backend(o) && hp->backend == hp->server && all->n > k)
        for (int i = k; i < all->n && p->backend.n < k; i++)
            p->backend.cpu[p->backend.n++] = all->cpu[i];
    r->server_cpu = k > 0 ? p->server.cpu[0] : -1;
    r->client_cpu = -1;
    char srv[256];
    snprintf(r->cpu_note, sizeof r->cpu_note,
             "server on host %s, CPUs %s; generators on their "
             "hosts' own CPUs",
             hp->server->name, place_format(&p->server, srv, sizeof srv));
    /* the loops of a generator here: one per CPU of this machine, over its processes */
    int here = machine_cpu_count();
    r->threads = o->threads_set     ? o->threads
                 : hp->clients_here ? (here + o->procs - 1) / o->procs
                                    : 0; /* each host: one loop per CPU of its own */
    return 0;
}
