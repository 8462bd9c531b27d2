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
    for (int i = 0; i < c->nsteps; i++) {
        struct cap_step *s = &c->steps[i];
        struct probe a, b, ba, bb;
        struct cpustat sa, sb, ca, cb;
        if (gen_step_begin(x->load, s->offered_rps, s->settle_s, s->duration_s, why, sizeof why) <
            0) {
            result_fail(r, "capacity step %d: %s", i + 1, why);
            break;
        }
        if (watch_until(x, "step", clock_now_ns() + (uint64_t)(s->settle_s * 1e9), UNTIL_TIME) < 0)
            break;
        probe_read(x->sp->pid, NULL, PROBE_CPU, &a);
        if (x->bk)
            probe_read(x->bk->pid, NULL, PROBE_CPU, &ba);
        cpustat_read(&r->place.server, &sa);
        cpustat_read(&r->place.client, &ca);
        inflight_step_begin(&r->dev, clock_now_ns());
        if (watch_until(x, "step", clock_now_ns() + (uint64_t)(s->duration_s * 1e9), UNTIL_TIME) <
            0)
            break;
        probe_read(x->sp->pid, NULL, PROBE_CPU, &b);
        if (x->bk)
            probe_read(x->bk->pid, NULL, PROBE_CPU, &bb);
        cpustat_read(&r->place.server, &sb);
        cpustat_read(&r->place.client, &cb);
        double dev = inflight_step_end(&r->dev, clock_now_ns());
        /* the requests due in the window get settle_s more to be answered */
        if (watch_until(x, "step", clock_now_ns() + (uint64_t)(s->settle_s * 1e9), UNTIL_TIME) < 0)
            break;
        if (gen_step_end(x->load, &w, why, sizeof why) < 0) {
            result_fail(r, "capacity step %d: %s", i + 1, why);
            break;
        }
        bool cpu = a.cpu_ok && b.cpu_ok;
        s->server_window_s = cpu ? (double)(probe_mid_ns(&b) - probe_mid_ns(&a)) / 1e9 : -1;
        s->server_cpus_busy = cpustat_busy(&sa, &sb);
        s->client_cpus_busy = cpustat_busy(&ca, &cb);
        cap_measure_step(c, s, &w,
                         cpu ? b.cpu_user_s + b.cpu_sys_s - a.cpu_user_s - a.cpu_sys_s : -1);
        load_result_free(&w);
        if (x->bk && ba.cpu_ok && bb.cpu_ok)
            s->backend_cpu_s = bb.cpu_user_s + bb.cpu_sys_s - ba.cpu_user_s - ba.cpu_sys_s;
        s->device_inflight = dev;
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
