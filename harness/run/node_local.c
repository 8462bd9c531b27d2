/* node_local: the node of this machine: node.h's calls on spawn.c, probe.c, limits.c, cpustat.c
 * directly. The agent of a remote node runs these same calls on its host. */
#include <signal.h>

#include "observe/perfcs.h"
#include "run/data_here.h"
#include "run/node.h"
#include "run/watch.h"

static struct perfcs *perf; /* of the one program measured by perf (the server) */

static int local_spawn(struct node *n, struct spawn *sp, char *const argv[], const char *shell_cmd,
                       const cpu_set_t *cpus, char *err, size_t errlen)
{
    (void)n;
    return spawn_start(sp, argv, shell_cmd, cpus, err, errlen);
}

static int local_wait_ready(struct node *n, struct spawn *sp, int timeout_ms,
                            const struct sockaddr *probe, socklen_t probelen, char *err,
                            size_t errlen)
{
    (void)n;
    return spawn_wait_ready(sp, timeout_ms, probe, probelen, err, errlen);
}

static bool local_poll_exit(struct node *n, struct spawn *sp)
{
    (void)n;
    spawn_drain(sp);
    return spawn_poll_exit(sp);
}

static void local_signal(struct node *n, struct spawn *sp, int sig)
{
    (void)n;
    if (sp->pid > 0 && !sp->exited)
        kill(sp->pid, sig);
}

static int local_stop(struct node *n, struct spawn *sp, int sig, int timeout_ms)
{
    (void)n;
    return spawn_stop(sp, sig, timeout_ms);
}

static void local_cleanup(struct node *n, struct spawn *sp)
{
    (void)n;
    spawn_cleanup(sp);
}

static void local_probe(struct node *n, struct spawn *sp, int what, struct probe *p)
{
    (void)n;
    probe_read(sp->pid, perf, what, p);
}

static void local_perf_open(struct node *n, struct spawn *sp, char *note, size_t notelen)
{
    (void)n;
    pid_t tree[PROBE_TREE_MAX];
    int ntree = probe_tree(sp->pid, tree, PROBE_TREE_MAX);
    perfcs_close(perf);
    perf = perfcs_open(tree, ntree, note, notelen);
}

static void local_perf_close(struct node *n)
{
    (void)n;
    perfcs_close(perf);
    perf = NULL;
}

static void local_limits(struct node *n, struct spawn *sp, struct limits *l, const char *at)
{
    (void)n;
    limits_read(l, sp ? sp->pid : 0, at);
}

static void local_cpustat(struct node *n, const struct cpu_list *l, struct cpustat *out)
{
    (void)n;
    cpustat_read(l, out);
}

static int local_data(struct node *n, const struct data_req *rq, struct data_result *d,
                      struct inflight *dev, char *line, size_t linelen, char *err, size_t errlen)
{
    (void)n;
    return prepare_data_here(rq, watch_stop_flag(), d, dev, line, linelen, err, errlen);
}

static void local_free(struct node *n)
{
    local_perf_close(n);
}

static const struct node_ops LOCAL = {
    .spawn = local_spawn,
    .wait_ready = local_wait_ready,
    .poll_exit = local_poll_exit,
    .signal = local_signal,
    .stop = local_stop,
    .cleanup = local_cleanup,
    .probe = local_probe,
    .perf_open = local_perf_open,
    .perf_close = local_perf_close,
    .limits = local_limits,
    .cpustat = local_cpustat,
    .data = local_data,
    .free = local_free,
};

struct node *node_local(void)
{
    static struct node here = {&LOCAL, "here", NULL, ""};
    return &here;
}
