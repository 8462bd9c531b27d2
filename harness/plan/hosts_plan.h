/* hosts_plan: who runs where in a run across hosts (--hosts, --server-on, --clients-on,
 * --backend-on): the hosts file read and the names resolved before anything starts. */
#ifndef TVT_HOSTS_PLAN_H
#define TVT_HOSTS_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "hosts/hosts.h"
#include "plan/cli.h"
#include "plan/placement.h"

struct hosts_plan {
    bool on; /* --hosts given */
    struct hosts hosts;
    const struct host *server, *backend; /* backend: the server's unless --backend-on */
    const struct host *clients[HOSTS_MAX];
    int nclients;
    bool clients_here;           /* one of the generators' hosts is this machine */
    bool clients_remote;         /* one of them is not */
    struct cpu_list server_cpus; /* the CPUs the server's host lets its programs use */
};

/* A host is this machine when its command is empty. */
static inline bool host_is_here(const struct host *h)
{
    return h->ncmd == 0;
}

/* Reads o's hosts file and resolves the names into hp (hp->on false without --hosts). 0 ok;
 * -1 a usage error with the cause (the file, the line, the unknown name) in err. */
int hosts_plan_make(const struct cli_opts *o, struct hosts_plan *hp, char *err, size_t errlen);

/* The server's host's allowed CPUs from its environment (hello.h's cpus_allowed, JSON text);
 * this machine's when it is here. 0 ok; -1 with the cause in err. */
int hosts_plan_server_cpus(struct hosts_plan *hp, const char *env, char *err, size_t errlen);

#endif
