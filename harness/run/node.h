/* node: where a run's server (or backend) runs and is measured: this machine, or a host of the
 * hosts file reached through its agent (`harness agent` there, hosts/remote.h). One table of
 * operations, two implementations (node_local.c, node_remote.c); run/ calls through it, so
 * that what is measured of a server is always measured on its own host. */
#ifndef TVT_NODE_H
#define TVT_NODE_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "hosts/hosts.h"
#include "observe/cpustat.h"
#include "observe/inflight.h"
#include "observe/limits.h"
#include "observe/probe.h"
#include "plan/placement.h"
#include "record/result.h"
#include "run/spawn.h"

struct data_req;

struct node;

/* Every call acts on one spawned program of the node (sp: its local record, kept up to date:
 * pid, exited, status, ru, killed, out/err, host/port); what would fail says so in err. */
struct node_ops {
    int (*spawn)(struct node *n, struct spawn *sp, char *const argv[], const char *shell_cmd,
                 const cpu_set_t *cpus, char *err, size_t errlen);
    int (*wait_ready)(struct node *n, struct spawn *sp, int timeout_ms,
                      const struct sockaddr *probe, socklen_t probelen, char *err, size_t errlen);
    bool (*poll_exit)(struct node *n, struct spawn *sp); /* its output drained too */
    void (*signal)(struct node *n, struct spawn *sp, int sig);
    int (*stop)(struct node *n, struct spawn *sp, int sig, int timeout_ms);
    void (*cleanup)(struct node *n, struct spawn *sp);
    /* readings of sp's process tree; PROBE_PERF needs perf_open first */
    void (*probe)(struct node *n, struct spawn *sp, int what, struct probe *p);
    void (*perf_open)(struct node *n, struct spawn *sp, char *note, size_t notelen);
    void (*perf_close)(struct node *n);
    void (*limits)(struct node *n, struct spawn *sp, struct limits *l, const char *at);
    void (*cpustat)(struct node *n, const struct cpu_list *l, struct cpustat *out);
    /* io=file: the data file made ready on the node (data_here.h's prepare_data_here), its
       device opened for sampling there (dev reads through the node afterwards) */
    int (*data)(struct node *n, const struct data_req *rq, struct data_result *d,
                struct inflight *dev, char *line, size_t linelen, char *err, size_t errlen);
    void (*free)(struct node *n);
};

struct node {
    const struct node_ops *ops;
    const char *name; /* "here", or the host's name */
    void *impl;
    char gone[700]; /* a host's agent that stopped answering: why, naming the host; "" */
};

/* The calls, spelled short. */
static inline void node_probe(struct node *n, struct spawn *sp, int what, struct probe *p)
{
    n->ops->probe(n, sp, what, p);
}

static inline bool node_poll_exit(struct node *n, struct spawn *sp)
{
    return n->ops->poll_exit(n, sp);
}

static inline void node_cpustat(struct node *n, const struct cpu_list *l, struct cpustat *out)
{
    n->ops->cpustat(n, l, out);
}

/* This machine. Static storage. */
struct node *node_local(void);

/* Host h, through `harness agent` run there; its environment (JSON text, sysenv's keys) into
 * env. NULL with the cause in err (it could not be started, or its build differs from this
 * harness's). */
struct node *node_remote(const struct host *h, char *env, size_t envlen, char *err, size_t errlen);

/* `harness agent`: the remote side of node_remote, on stdin and stdout, until EOF, working in
 * dir (NULL: where it was started). Returns the exit code. */
int node_agent_main(const char *dir);

#endif
