/* plan: every decision of a run, made from its options and the machine before anything starts. */
#include "plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_http.h"
#include "load/target.h"
#include "plan/machine.h"
#include "plan/place_opts.h"
#include "plan/placement.h"
#include "run/capacity.h"
#include "workload.h"

long plan_flag_from_args(const struct cli_opts *o, const char *flag, long dflt)
{
    size_t n = strlen(flag);
    for (int i = 0; i < o->n_server_args; i++) {
        const char *a = o->server_args[i];
        if (strcmp(a, flag) == 0 && i + 1 < o->n_server_args)
            return atol(o->server_args[i + 1]);
        if (strncmp(a, flag, n) == 0 && a[n] == '=')
            return atol(a + n + 1);
    }
    return dflt;
}

long plan_server_workers(const struct cli_opts *o, const struct placement *pl)
{
    if (!o->impl)
        return -1;
    /* event loops: one per server CPU, each on its own (the thread server's threads run free
       over the set instead) */
    bool loops = strcmp(o->impl, "thread") != 0;
    long given = plan_flag_from_args(o, "--workers", o->workers);
    return given >= 0 ? given : loops ? pl->server_k : 1;
}

/* The backend's processes: one per backend CPU up to K, more if one could not hold conns
 * connections within nofile fds (< 0: unlimited). */
static long backend_workers(const struct placement *pl, long conns, long nofile)
{
    /* the backend must not be the limit; more processes only where one's fds would not hold
       its connections */
    long w = pl->backend.n < pl->server_k ? pl->backend.n : pl->server_k;
    if (w < 1)
        w = 1;
    while (nofile >= 0 && w < FDPLAN_MAX_PROCS &&
           fdplan_share(conns, w, true) + FDPLAN_SERVER_RESERVE > nofile)
        w++;
    return w;
}

/* What the record says of the server: its name, stack and processes as asked for. */
static void plan_server(const struct cli_opts *o, struct run_record *r)
{
    r->impl = o->impl ? o->impl : o->server_cmd ? (o->name ? o->name : "custom") : NULL;
    r->stack_kib = o->cmd == CLI_RUN ? plan_flag_from_args(o, "--stack-kib", o->stack_kib) : -1;
    r->workers =
        o->impl ? plan_flag_from_args(o, "--workers", o->workers >= 0 ? o->workers : 1) : -1;
}

/* The capacity curve's target: --slo-ms, else the rule of capacity.h for the workload. */
static void plan_capacity(const struct cli_opts *o, struct run_record *r)
{
    if (!o->capacity)
        return;
    struct capacity *c = &r->cap;
    c->slo_ms = o->slo_ms > 0
                    ? o->slo_ms
                    : cap_default_slo_ms(o->wait_us, o->work_us, c->slo_rule, sizeof c->slo_rule);
    if (o->slo_ms > 0)
        snprintf(c->slo_rule, sizeof c->slo_rule, "--slo-ms %g", o->slo_ms);
    c->server_k = r->place.server.n > 0 ? r->place.server.n : machine_cpu_count();
    c->conns = o->conns;
}

/* io=net: the backend (started here, or --upstream's), its processes, and whether it shares
 * the generator's CPUs. */
static void plan_backend(const struct cli_opts *o, const struct hosts_plan *hp,
                         struct run_record *r, struct run_plan *p)
{
    bool run = o->cmd == CLI_RUN;
    p->start_backend = run && o->io == IO_NET && !o->upstream;
    if (!run || o->io != IO_NET)
        return;
    struct backend_result *b = &r->bk;
    const struct placement *pl = &r->place;
    b->on = true;
    b->started = false;
    b->cpu_s = b->window_s = -1;
    b->shares_client_cpus = p->start_backend && (pl->backend.n == 0 || pl->client.n == 0 ||
                                                 place_intersects(&pl->backend, &pl->client));
    if (hp && hp->on) { /* across hosts: only on a generators' host */
        b->shares_client_cpus = false;
        for (int i = 0; i < hp->nclients; i++)
            if (hp->clients[i] == hp->backend)
                b->shares_client_cpus = p->start_backend;
    }
    if (p->start_backend)
        b->workers = backend_workers(pl, o->conns, r->nofile_soft);
}

/* Each process's open files: refused now, naming the fix, rather than minutes into a ramp. */
static int plan_fds(const struct cli_opts *o, const struct hosts_plan *hp, struct run_record *r,
                    struct run_plan *p, char *err, size_t errlen)
{
    /* across hosts only this machine's processes are checked here: each host plans its own */
    bool on = hp && hp->on;
    bool srv_here = !on || host_is_here(hp->server), bk_here = !on || host_is_here(hp->backend);
    struct fdplan_req rq = {
        .conns = o->conns,
        .net = o->io == IO_NET,
        .server_workers =
            o->cmd == CLI_RUN && o->impl && srv_here ? plan_server_workers(o, &r->place) : 0,
        .procs = !on || hp->clients_here ? o->procs : 0,
        .threads = r->threads,
        .backend_workers = p->start_backend && bk_here ? r->bk.workers : 0,
        .nofile = r->nofile_soft,
    };
    return fdplan_check(&rq, &p->fds, err, errlen);
}

/* The generator's options, but for its target. */
static void plan_load(const struct cli_opts *o, const struct run_record *r, struct run_plan *p)
{
    struct load_opts *lo = &p->load;
    memset(lo, 0, sizeof *lo);
    lo->key_off = -1;
    lo->conns = o->conns;
    lo->threads = r->threads;
    lo->rate = o->rate;
    lo->think_ms = o->think_ms;
    lo->connect_rate = o->connect_rate;
    lo->connect_retries = o->connect_retries;
    lo->timeout_ms = o->timeout_ms;
    lo->connect_timeout_ms = o->connect_timeout_ms;
    lo->requests = o->requests;
    lo->expect_bytes = o->body_check ? o->bytes : -1;
    lo->slow_conns = o->stop ? (int)o->stop_inflight : 0;
    CPU_ZERO(&lo->cpus);
    for (int i = 0; i < r->place.client.n; i++)
        CPU_SET(r->place.client.cpu[i], &lo->cpus);
    lo->pin = r->place.client.n > 0;
    lo->first_loop = 0;
}

/* How long a run may go without an answer, and how long the ramp may take. */
static void plan_bounds(const struct cli_opts *o, struct run_plan *p)
{
    double stall_s = o->stall_s > 0
                         ? o->stall_s
                         : 5.0 + o->think_ms / 1000.0 + (o->rate > 0 ? o->conns / o->rate : 0) +
                               o->wait_us / 1e6 + o->work_us / 1e6;
    p->stall_ns = (uint64_t)(stall_s * 1e9);
    p->ramp_cap_s = (o->connect_rate > 0 ? o->conns / o->connect_rate : 0) +
                    (o->connect_retries + 1) * (o->connect_timeout_ms / 1000.0 + 1.0) + 10.0;
}

int plan_make(const struct cli_opts *o, const struct hosts_plan *hp, struct run_record *r,
              struct run_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    result_init(r, o);
    r->nofile_soft = machine_raise_nofile(&r->nofile_hard);
    plan_server(o, r);
    /* where to pin: decided before this process pins itself, so both see every CPU */
    if ((hp && hp->on ? place_on_hosts(o, hp, r, err, errlen)
                      : place_from_opts(o, r, err, errlen)) < 0)
        return -1;
    plan_capacity(o, r);
    plan_backend(o, hp, r, p);
    if (plan_fds(o, hp, r, p, err, errlen) < 0)
        return -1;
    plan_load(o, r, p);
    plan_bounds(o, p);
    if (!o->target) {
        /* the server names its address once it runs: the request must fit with any */
        char probe[sizeof p->load.request];
        struct chttp_query q = {o->wait_us,
                                o->work_us,
                                o->bytes,
                                o->io_set ? "timer" : NULL,
                                o->file_kib >= 0 ? o->file_kib : (long)FILE_KIB_DEFAULT,
                                o->state,
                                o->share_us,
                                o->state != NULL};
        if (chttp_format_request_q(probe, sizeof probe,
                                   "[ffff:ffff:ffff:ffff:ffff:ffff:255."
                                   "255.255.255]:65535",
                                   o->path, &q) < 0) {
            snprintf(err, errlen, "the request for --path '%s' does not fit in %zu bytes", o->path,
                     sizeof probe);
            return -1;
        }
    } else {
        struct sockaddr_storage ss;
        socklen_t len;
        char host[192];
        if (target_resolve(o->target, o->allow_remote, &ss, &len, host, sizeof host, err, errlen) <
                0 ||
            plan_target(p, r, &ss, len, host, err, errlen) < 0)
            return -1;
        p->have_target = true;
    }
    return 0;
}

/* Source addresses for a loopback target: at most 40% of each address's ephemeral ports. */
static int source_ips_for(const struct cli_opts *o, const struct sockaddr *sa, char *err,
                          size_t errlen)
{
    bool v4 = target_is_ipv4(sa), lo = v4 && target_is_loopback(sa);
    if (o->source_ips > 0) {
        if (!lo) {
            snprintf(err, errlen, "--source-ips needs an IPv4 loopback target");
            return -1;
        }
        return o->source_ips;
    }
    if (!lo)
        return 0;
    /* connect() tries even ports first, so past about half the range every connect scans the
       taken ones and the ramp slows to a crawl (seen at 14k per address); the rest is spare
       for TIME_WAIT and other users */
    int per_ip = machine_port_range() * 2 / 5;
    int need = (o->conns + per_ip - 1) / (per_ip > 0 ? per_ip : 1);
    return need > 1 ? (need < 254 ? need : 254) : 0;
}

int plan_target(struct run_plan *p, struct run_record *r, const struct sockaddr_storage *ss,
                socklen_t len, const char *host, char *err, size_t errlen)
{
    const struct cli_opts *o = r->o;
    struct load_opts *lo = &p->load;
    memcpy(&lo->target, ss, len);
    lo->target_len = len;
    /* io= and file_kib= only when asked for: a server that predates the wait kinds (or a
       contestant that does not have them) keeps answering the plain timer requests */
    struct chttp_query q = {
        o->wait_us,
        o->work_us,
        o->bytes,
        o->io_set ? workload_io_name(o->io) : NULL,
        o->file_kib >= 0   ? o->file_kib
        : o->io == IO_FILE ? (long)FILE_KIB_DEFAULT
                           : -1,
        o->state,
        o->share_us,
        o->state != NULL,
    };
    if (o->stop) {
        /* the ramp's first requests confirm each connection at once; the slow ones wait */
        lo->slow_request_len =
            chttp_format_request_q(lo->slow_request, sizeof lo->slow_request, host, o->path, &q);
        q.wait_us = q.work_us = 0;
    }
    lo->request_len = chttp_format_request_q(lo->request, sizeof lo->request, host, o->path, &q);
    if (lo->request_len < 0 || lo->slow_request_len < 0) {
        snprintf(err, errlen, "the request for --path '%s' does not fit in %zu bytes", o->path,
                 sizeof lo->request);
        return -1;
    }
    /* each connection asks for its own key: the two digits after key=k */
    const char *key = o->state ? strstr(lo->request, CHTTP_KEY_DIGITS) : NULL;
    lo->key_off = key ? (int)(key - lo->request + strlen(CHTTP_KEY_DIGITS)) : -1;
    lo->keys = o->keys;
    int ips = source_ips_for(o, (const struct sockaddr *)ss, err, errlen);
    if (ips < 0)
        return -1;
    lo->source_ips = r->source_ips = ips;
    snprintf(r->target, sizeof r->target, "%s", host);
    return 0;
}

void plan_print(const struct cli_opts *o, const struct run_record *r, const struct run_plan *p)
{
    if (o->quiet)
        return;
    const struct placement *pl = &r->place;
    char srv[256], cli[256];
    if (r->threads > 0)
        printf("%s: %d connections, %d thread%s", o->cmd == CLI_RUN ? r->impl : "load", o->conns,
               r->threads, r->threads == 1 ? "" : "s");
    else
        printf("%s: %d connections, generators on hosts %s (a loop per CPU of each)",
               o->cmd == CLI_RUN ? r->impl : "load", o->conns, o->clients_on);
    if (o->procs > 1)
        printf(" x %d processes", o->procs);
    printf(", %s loop", o->capacity   ? "closed then open (capacity)"
                        : o->rate > 0 ? "open"
                                      : "closed");
    if (o->hosts_file) { /* the note says where, host by host */
        printf("; %s\n", r->cpu_note);
        fflush(stdout);
        return;
    }
    if (o->cmd == CLI_RUN)
        printf("; server on CPU%s %s", pl->server.n == 1 ? "" : "s",
               pl->server.n ? place_format(&pl->server, srv, sizeof srv) : "any");
    printf("; generator on CPU%s %s%s%s%s", pl->client.n == 1 ? "" : "s",
           pl->client.n ? place_format(&pl->client, cli, sizeof cli) : "any",
           pl->overlap ? " (overlapping the server's)" : "", r->cpu_note[0] ? "; " : "",
           r->cpu_note);
    if (p->fds.gen_need >= 0 && r->nofile_soft >= 0)
        printf("; fds per generator process %ld of %ld", p->fds.gen_need, r->nofile_soft);
    printf("\n");
    fflush(stdout);
}
