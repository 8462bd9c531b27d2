/* capacity_run: drives a capacity curve: the closed-loop throughput, then the open-loop steps. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "observe/cpustat.h"
#include "run/capacity.h"
#include "run/capacity_run.h"
#include "run/watch.h"

static void print_step(const struct run *x, int i)
{
    const struct capacity *c = &x->r->cap;
    const struct cap_step *s = &c->steps[i];
    printf("  step %2d/%d %9.0f req/s offered %9.0f achieved  p50 %7.2f ms  p99 %7.2f ms  "
           "server CPU %3.0f%%  busiest generator loop %3.0f%%%s%s%s  ETA %.0f s\n",
           i + 1, c->nsteps, s->offered_rps, s->achieved_rps, (double)s->p50_us / 1000,
           (double)s->p99_us / 1000, s->server_util >= 0 ? 100 * s->server_util : 0,
           100 * s->gen_cpu_max_thread, s->server_saturated ? "  SERVER SATURATED" : "",
           s->generator_behind ? "  GENERATOR BEHIND: " : "",
           s->generator_behind ? s->behind_cause : "", cap_remaining_s(c, i + 1));
    fflush(stdout);
}

/* What one edge of a step reads: the server's and the backend's CPU, both CPU sets. */
struct edge {
    struct probe srv, bk;
    struct cpustat server, client;
};

static void read_edge(struct run *x, struct edge *e)
{
    node_probe(x->srv_node, x->sp, PROBE_CPU, &e->srv);
    if (x->bk)
        node_probe(x->bk_node, x->bk, PROBE_CPU, &e->bk);
    node_cpustat(x->srv_node, &x->r->place.server, &e->server);
    if (!x->clients_remote)
        cpustat_read(&x->r->place.client, &e->client);
    else
        e->client.ok = false;
}

/* CPU seconds between two readings of one process; < 0 unknown. */
static double cpu_between(const struct probe *a, const struct probe *b)
{
    return a->cpu_ok && b->cpu_ok ? b->cpu_user_s + b->cpu_sys_s - a->cpu_user_s - a->cpu_sys_s
                                  : -1;
}

/* Step i: its rate, settling, its window between two edges, settling again for its last
 * answers, then its figures. 0 ok; -1 the run failed (r says why). */
static int run_step(struct run *x, int i)
{
    struct run_record *r = x->r;
    struct cap_step *s = &r->cap.steps[i];
    struct load_result w;
    struct edge a, b;
    char why[600];
    uint64_t settle = (uint64_t)(s->settle_s * 1e9);
    if (gen_step_begin(x->load, s->offered_rps, s->settle_s, s->duration_s, why, sizeof why) < 0) {
        result_fail(r, "capacity step %d: %s", i + 1, why);
        return -1;
    }
    if (watch_until(x, "step", clock_now_ns() + settle, UNTIL_TIME) < 0)
        return -1;
    read_edge(x, &a);
    inflight_step_begin(&r->dev, clock_now_ns());
    if (watch_until(x, "step", clock_now_ns() + (uint64_t)(s->duration_s * 1e9), UNTIL_TIME) < 0)
        return -1;
    read_edge(x, &b);
    s->device_inflight = inflight_step_end(&r->dev, clock_now_ns());
    /* the requests due in the window get settle_s more to be answered */
    if (watch_until(x, "step", clock_now_ns() + settle, UNTIL_TIME) < 0)
        return -1;
    if (gen_step_end(x->load, &w, why, sizeof why) < 0) {
        result_fail(r, "capacity step %d: %s", i + 1, why);
        return -1;
    }
    double cpu = cpu_between(&a.srv, &b.srv);
    s->server_window_s =
        cpu >= 0 ? (double)(probe_mid_ns(&b.srv) - probe_mid_ns(&a.srv)) / 1e9 : -1;
    s->server_cpus_busy = cpustat_busy(&a.server, &b.server);
    s->client_cpus_busy = cpustat_busy(&a.client, &b.client);
    cap_measure_step(&r->cap, s, &w, cpu);
    load_result_free(&w);
    if (x->bk)
        s->backend_cpu_s = cpu_between(&a.bk, &b.bk);
    return 0;
}

/* Once the closed-loop window has closed: its throughput X, then the open-loop steps from
 * CAP_LOW to CAP_HIGH of X on the same server and connections. A failure is in r; the steps
 * measured so far are kept and decided on. */
void capacity_run(struct run *x)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    struct capacity *c = &r->cap;
    struct load_result w;
    char why[600];
    if (gen_measured(x->load, &w, why, sizeof why) < 0) {
        result_fail(r, "capacity: %s", why);
        return;
    }
    double closed = w.window_s > 0 ? (double)w.c.requests / w.window_s : 0;
    load_result_free(&w);
    cap_plan(c, closed, o->steps, o->step_min_s, o->step_min_requests);
    if (closed <= 0) {
        snprintf(c->note, sizeof c->note, "the closed-loop phase had no good answer: no steps");
        return;
    }
    if (!o->quiet) {
        printf("capacity: closed loop %.0f req/s; %d steps from %.0f to %.0f req/s, target p99 "
               "< %g ms (%s); about %.0f s\n",
               closed, c->nsteps, c->steps[0].offered_rps, c->steps[c->nsteps - 1].offered_rps,
               c->slo_ms, c->slo_rule, cap_remaining_s(c, 0));
        fflush(stdout);
    }
    for (int i = 0; i < c->nsteps && run_step(x, i) == 0; i++) {
        c->steps_done = i + 1;
        if (!o->quiet)
            print_step(x, i);
    }
    cap_decide(c);
    if (c->steps_done < c->nsteps) {
        char tail[sizeof c->note];
        memcpy(tail, c->note, sizeof tail);
        snprintf(c->note, sizeof c->note, "the run ended after %d of %d steps; %.320s",
                 c->steps_done, c->nsteps, tail);
    }
}
