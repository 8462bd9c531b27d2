/* hosts_plan: the hosts file and the run's names in it. */
#include "plan/hosts_plan.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

/* The host called name, or -1 with the cause in err. */
static const struct host *named(const struct hosts *hs, const char *flag, const char *name,
                                char *err, size_t errlen)
{
    const struct host *h = hosts_find(hs, name);
    if (!h) {
        size_t n = (size_t)snprintf(err, errlen, "%s %s: no such host in the hosts file (it has",
                                    flag, name);
        for (int i = 0; i < hs->n && n < errlen; i++)
            n += (size_t)snprintf(err + n, errlen - n, " %s", hs->h[i].name);
        if (n < errlen)
            snprintf(err + n, errlen - n, ")");
    }
    return h;
}

/* --clients-on's comma-separated names. 0 ok; -1. */
static int clients(const struct cli_opts *o, struct hosts_plan *hp, char *err, size_t errlen)
{
    char list[1024];
    snprintf(list, sizeof list, "%s", o->clients_on);
    for (char *save, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        const struct host *h = named(&hp->hosts, "--clients-on", w, err, errlen);
        if (!h)
            return -1;
        for (int i = 0; i < hp->nclients; i++)
            if (hp->clients[i] == h) {
                snprintf(err, errlen, "--clients-on names %s twice", w);
                return -1;
            }
        hp->clients[hp->nclients++] = h;
        if (host_is_here(h))
            hp->clients_here = true;
        else
            hp->clients_remote = true;
    }
    if (hp->nclients == 0) {
        snprintf(err, errlen, "--clients-on names no host");
        return -1;
    }
    return 0;
}

/* A server's address must be numeric: the generators connect to it as written. */
static int check_addr(const struct host *h, char *err, size_t errlen)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, h->addr, buf) == 1 || inet_pton(AF_INET6, h->addr, buf) == 1)
        return 0;
    snprintf(err, errlen,
             "host %s: its address %s is not a numeric IPv4 or IPv6 address (the server listens "
             "on it and the generators connect to it as written)",
             h->name, h->addr);
    return -1;
}

int hosts_plan_make(const struct cli_opts *o, struct hosts_plan *hp, char *err, size_t errlen)
{
    memset(hp, 0, sizeof *hp);
    if (!o->hosts_file)
        return 0;
    hp->on = true;
    if (hosts_load(o->hosts_file, &hp->hosts, err, errlen) < 0)
        return -1;
    hp->server = named(&hp->hosts, "--server-on", o->server_on, err, errlen);
    if (!hp->server || check_addr(hp->server, err, errlen) < 0)
        return -1;
    hp->backend =
        o->backend_on ? named(&hp->hosts, "--backend-on", o->backend_on, err, errlen) : hp->server;
    if (!hp->backend || check_addr(hp->backend, err, errlen) < 0)
        return -1;
    return clients(o, hp, err, errlen);
}

int hosts_plan_server_cpus(struct hosts_plan *hp, const char *env, char *err, size_t errlen)
{
    struct cpu_list *l = &hp->server_cpus;
    l->n = 0;
    if (host_is_here(hp->server)) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            for (int c = 0; c < CPU_SETSIZE && l->n < PLACE_MAX_CPUS; c++)
                if (CPU_ISSET(c, &set))
                    l->cpu[l->n++] = c;
        return 0;
    }
    json_t *doc = json_loads(env, 0, NULL);
    const char *s = json_string_value(json_object_get(doc, "cpus_allowed"));
    int rc = s ? place_parse_list("cpus_allowed", s, l, err, errlen) : -1;
    if (!s)
        snprintf(err, errlen, "host %s did not say which CPUs it has", hp->server->name);
    json_decref(doc);
    return rc;
}
