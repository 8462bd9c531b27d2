/* stop: the stop scenario of `run --stop`: N connections open, M of them with a request in
 * flight, the rest idle; SIGTERM; how long the server takes to exit, what it answers and cuts,
 * how it closes its idle connections, whether it still takes new ones, its CPU meanwhile. */
#include "run/stop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "plan/plan.h"
#include "run/watch.h"

#define STOP_SPARE_S   5.0          /* past the server's grace: then SIGKILL */
#define STOP_GRACE_MS  5000         /* a server's default grace period (its --grace-ms) */
#define PROBE_EVERY_NS 10000000ULL  /* a new connect every 10 ms after the signal */
#define SETTLE_MAX_NS  200000000ULL /* the slow requests reach the server before the signal */
#define ENDS_SETTLE_NS 200000000ULL /* after the exit, the connections see their ends */

/* One connect to the server, as a new client after the signal would try. */
static void probe_connect(struct run *x)
{
    struct stop_result *s = &x->r->stop;
    const struct load_opts *lo = &x->plan.load;
    int fd = socket(lo->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct timeval tv = {0, 100000}; /* a loopback connect is answered at once, or not at all */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s->connects_tried++;
    if (connect(fd, (const struct sockaddr *)&lo->target, lo->target_len) == 0)
        s->connects_accepted++;
    else if (errno == ECONNREFUSED)
        s->connects_refused++;
    else if (s->connects_other++ == 0)
        snprintf(s->connect_other_error, sizeof s->connect_other_error, "%s", strerror(errno));
    close(fd);
}

/* The server's CPU over its whole life (wait4's, its waited-for workers included). */
static double lifetime_cpu_s(const struct spawn *sp)
{
    return (double)sp->ru.ru_utime.tv_sec + sp->ru.ru_utime.tv_usec / 1e6 +
           (double)sp->ru.ru_stime.tv_sec + sp->ru.ru_stime.tv_usec / 1e6;
}

/* From the signal until the server is reaped (or killed past its grace), a connect every
 * PROBE_EVERY_NS. */
static void await_exit(struct run *x, uint64_t t_sig)
{
    struct stop_result *s = &x->r->stop;
    long grace = s->grace_ms >= 0 ? s->grace_ms : STOP_GRACE_MS;
    uint64_t deadline = t_sig + (uint64_t)((grace / 1e3 + STOP_SPARE_S) * 1e9);
    uint64_t next = t_sig + PROBE_EVERY_NS; /* "at once": within 10 ms of the signal */
    while (!node_poll_exit(x->srv_node, x->sp)) {
        uint64_t now = clock_now_ns();
        if (now >= deadline) {
            s->killed = true;
            x->srv_node->ops->stop(x->srv_node, x->sp, SIGKILL, 1000);
            break;
        }
        if (now >= next) {
            probe_connect(x);
            next = now + PROBE_EVERY_NS;
        }
        /* a remote node answers each look with a round trip: look less often there */
        clock_sleep_until_ns(now + (x->srv_node == node_local() ? 2000000ULL : 10000000ULL));
    }
    if (x->sp->exited)
        s->signal_to_exit_s = (double)(clock_now_ns() - t_sig) / 1e9;
}

void stop_scenario(struct run *x)
{
    struct stop_result *s = &x->r->stop;
    const struct cli_opts *o = x->o;
    char why[600];
    s->on = true;
    s->inflight = (int)o->stop_inflight;
    s->idle = o->conns - s->inflight;
    s->grace_ms = plan_flag_from_args(o, "--grace-ms", -1);
    /* a --server-cmd says it in its own words */
    const char *g = o->server_cmd ? strstr(o->server_cmd, "--grace-ms") : NULL;
    if (g && (g[10] == ' ' || g[10] == '='))
        s->grace_ms = strtol(g + 11, NULL, 10);
    uint64_t t0 = clock_now_ns();
    if (gen_stop_watch(x->load, why, sizeof why) < 0) {
        result_fail(x->r, "stop scenario: %s", why);
        return;
    }
    /* the requests reach the server and start their waits; half the wait at most */
    uint64_t settle = (uint64_t)o->wait_us * 500;
    if (settle > SETTLE_MAX_NS)
        settle = SETTLE_MAX_NS;
    if (watch_until(x, "settle", t0 + settle, UNTIL_TIME) < 0)
        return;
    struct probe before;
    node_probe(x->srv_node, x->sp, PROBE_CPU, &before);
    uint64_t t_sig = clock_now_ns();
    s->settle_s = (double)(t_sig - t0) / 1e9;
    x->srv_node->ops->signal(x->srv_node, x->sp, SIGTERM);
    await_exit(x, t_sig);
    x->r->srv.stop_s = s->signal_to_exit_s;
    x->r->srv.killed = s->killed;
    if (x->sp->exited && before.cpu_ok)
        s->cpu_s = lifetime_cpu_s(x->sp) - before.cpu_user_s - before.cpu_sys_s;
    clock_sleep_until_ns(clock_now_ns() + ENDS_SETTLE_NS);
    if (!o->quiet) {
        printf("stop: SIGTERM with %d requests in flight and %d idle connections: exit after "
               "%.3f s%s\n",
               s->inflight, s->idle, s->signal_to_exit_s, s->killed ? " (killed)" : "");
        fflush(stdout);
    }
}
