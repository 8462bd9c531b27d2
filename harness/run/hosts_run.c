/* hosts_run: a run's hosts opened, used and closed. */
#include "run/hosts_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts/remote.h"
#include "plan/machine.h"
#include "plan/placement.h"

/* host's node: this machine, or its agent (the env of its hello into env). NULL with x->r
 * failed. */
static struct node *open_node(struct run *x, const struct host *h, char *env, size_t envlen)
{
    char why[700];
    if (host_is_here(h))
        return node_local();
    struct node *n = node_remote(h, env, envlen, why, sizeof why);
    if (!n)
        result_fail(x->r, "%s", why);
    return n;
}

/* The CPUs a host's environment says its programs may use; 1 when it does not say. */
static int env_cpus(const char *env)
{
    static struct cpu_list l;
    char err[128];
    json_t *doc = json_loads(env, 0, NULL);
    const char *s = json_string_value(json_object_get(doc, "cpus_allowed"));
    int n = s && place_parse_list("cpus_allowed", s, &l, err, sizeof err) == 0 ? l.n : 1;
    json_decref(doc);
    return n > 0 ? n : 1;
}

int hosts_open(struct run *x, char *err, size_t errlen)
{
    struct hosts_plan *hp = &x->hp;
    if (hosts_plan_make(x->o, hp, err, errlen) < 0)
        return 2;
    if (!hp->on)
        return 0;
    x->clients_remote = hp->clients_remote;
    result_init(x->r, x->o); /* a host that fails is the run's failure, with a result */
    x->r->impl = x->o->impl ? x->o->impl : x->o->name ? x->o->name : "custom";
    if (!(x->srv_node = open_node(x, hp->server, x->srv_env, sizeof x->srv_env))) {
        x->srv_node = node_local();
        return 1;
    }
    if (hp->backend == hp->server)
        x->bk_node = x->srv_node;
    else if (!(x->bk_node = open_node(x, hp->backend, x->bk_env, sizeof x->bk_env))) {
        x->bk_node = node_local();
        return 1;
    }
    char why[512];
    if (hosts_plan_server_cpus(hp, x->srv_env, why, sizeof why) < 0) {
        result_fail(x->r, "%s", why);
        return 1;
    }
    return 0;
}

struct gen *hosts_start_load(struct run *x, char *err, size_t errlen)
{
    const struct hosts_plan *hp = &x->hp;
    const struct cli_opts *o = x->o;
    for (int i = 0; i < hp->nclients; i++) {
        struct gen_share *s = &x->shares[i];
        memset(s, 0, sizeof *s);
        s->host = host_is_here(hp->clients[i]) ? NULL : hp->clients[i];
        /* here: --procs; a host: at least --procs when given, else as its fd limit needs */
        s->procs = !s->host ? o->procs : o->procs > 1 ? o->procs : 0;
    }
    return gen_start_spread(&x->plan.load, x->shares, hp->nclients, err, errlen);
}

int hosts_client_cpus(const struct run *x, int *loops)
{
    int cpus = 0;
    *loops = 0;
    if (!x->hp.on)
        return 0;
    for (int i = 0; i < x->hp.nclients; i++) {
        const struct gen_share *s = &x->shares[i];
        int n = s->host ? env_cpus(s->env) : machine_cpu_count();
        cpus += n;
        *loops += x->o->threads_set ? x->o->threads * (s->procs > 1 ? s->procs : 1) : n;
    }
    return cpus;
}

/* The entry of host h, added on first sight. */
static struct host_entry *entry(struct run_record *r, const struct host *h)
{
    for (int i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i].name, h->name) == 0)
            return &r->hosts[i];
    struct host_entry *e = &r->hosts[r->nhosts++];
    snprintf(e->name, sizeof e->name, "%s", h->name);
    snprintf(e->addr, sizeof e->addr, "%s", h->addr);
    e->here = host_is_here(h);
    return e;
}

static void set_env(struct host_entry *e, const char *env)
{
    if (!e->env && !e->here && env && env[0])
        e->env = strdup(env);
}

void hosts_record(struct run *x)
{
    const struct hosts_plan *hp = &x->hp;
    struct run_record *r = x->r;
    if (!hp->on || r->hosts)
        return;
    r->hosts = calloc((size_t)hp->hosts.n, sizeof *r->hosts);
    if (!r->hosts)
        return;
    struct host_entry *e = entry(r, hp->server);
    e->server = true;
    set_env(e, x->srv_env);
    if (r->bk.on && !x->o->upstream) {
        e = entry(r, hp->backend);
        e->backend = true;
        set_env(e, hp->backend == hp->server ? x->srv_env : x->bk_env);
    }
    for (int i = 0; i < hp->nclients; i++) {
        const struct gen_share *s = &x->shares[i];
        e = entry(r, hp->clients[i]);
        e->clients = true;
        set_env(e, s->env);
        e->has_share = true;
        e->share = s->fig;
    }
}

void hosts_close(struct run *x)
{
    if (!x->hp.on)
        return;
    if (x->bk_node && x->bk_node != x->srv_node && x->bk_node != node_local())
        x->bk_node->ops->free(x->bk_node);
    if (x->srv_node && x->srv_node != node_local())
        x->srv_node->ops->free(x->srv_node);
    x->srv_node = x->bk_node = node_local();
    remote_close_masters(&x->hp.hosts);
}
