/* runner: one run from start to end, as a short list of stages with one cleanup path: plan,
 * prepare, launch, measure, record. */
#include "run/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "observe/limits.h"
#include "run/capacity_run.h"
#include "run/hosts_run.h"
#include "run/launch.h"
#include "run/prepare.h"
#include "run/run.h"
#include "run/stop.h"
#include "run/watch.h"
#include "run/window.h"

/* The generator, on the generator's CPUs (this thread too: off the server's CPU). */
static int start_load(struct run *x)
{
    char why[600];
    struct run_record *r = x->r;
    if (r->client_cpu >= 0)
        sched_setaffinity(0, sizeof x->plan.load.cpus, &x->plan.load.cpus);
    x->load = x->hp.on ? hosts_start_load(x, why, sizeof why)
                       : gen_start(&x->plan.load, x->o->procs, why, sizeof why);
    if (!x->load) {
        result_fail(r, "cannot start the load: %s", why);
        return -1;
    }
    return 0;
}

/* The connections open: all of them, or the run fails. -1 then. */
static int ramp(struct run *x)
{
    const struct cli_opts *o = x->o;
    int open = 0, failed = 0;
    uint64_t ramp_end = clock_now_ns() + (uint64_t)(x->plan.ramp_cap_s * 1e9);
    int rc = watch_until(x, "ramp", ramp_end, UNTIL_RAMPED);
    /* the connections all open (or as many as would): the run's peak of what it holds */
    struct node *n = x->sp ? x->srv_node : node_local();
    n->ops->limits(n, x->sp, &x->r->limits, rc < 0 ? "failure" : "ramp end");
    if (rc < 0)
        return -1;
    gen_conns(x->load, &open, &failed);
    if (open == 0) {
        result_fail(x->r,
                    "none of the %d connections could be opened (%d failed; see "
                    "client.first_errors)",
                    o->conns, failed);
        return -1;
    }
    return 0;
}

/* The connections' traffic starts, the warm-up passes, the measured window (by --duration or
 * --requests), then a capacity curve's steps. */
static void measure(struct run *x)
{
    const struct cli_opts *o = x->o;
    gen_start_traffic(x->load);
    if (watch_until(x, "warmup", clock_now_ns() + (uint64_t)(o->warmup_s * 1e9), UNTIL_TIME) < 0)
        return;
    window_open(x);
    gen_begin_measure(x->load);
    if (o->requests)
        watch_until(x, "measure", UINT64_MAX, UNTIL_QUOTA);
    else
        watch_until(x, "measure", clock_now_ns() + (uint64_t)(o->duration_s * 1e9), UNTIL_TIME);
    if (o->capacity && !x->r->failed) {
        /* the closed-loop phase is the run's window; the steps come after it */
        gen_end_measure(x->load);
        window_close(x);
        capacity_run(x);
    }
}

/* What the generator measured, into r; the failures it explains. */
static void stop_load(struct run *x)
{
    struct run_record *r = x->r;
    char why[600];
    gen_end_measure(x->load);
    window_close(x);
    int stop_rc = gen_stop(x->load, &r->load, why, sizeof why);
    x->load = NULL;
    r->load_done = r->load.latency != NULL;
    if (stop_rc < 0)
        result_fail(r, "%s", why);
    if (!r->load_done)
        return;
    int host_loops = 0, host_cpus = hosts_client_cpus(x, &host_loops);
    window_saturation(r, &x->plan.load, host_cpus, host_loops);
    if (r->failed && !x->measuring)
        for (int k = 0; k < LOAD_ERR_N; k++) /* a run that failed before measuring */
            if (r->load.first_error[k][0]) {
                size_t n = strlen(r->failure);
                snprintf(r->failure + n, sizeof r->failure - n, "; first %s error: %s",
                         load_err_name(k), r->load.first_error[k]);
            }
    if (x->measuring && r->load.c.requests == 0) {
        uint64_t errs = 0;
        for (int k = 0; k < LOAD_ERR_N; k++)
            errs += r->load.c.errors[k];
        result_fail(r,
                    "no request succeeded in the measured window (%llu errors; see "
                    "client.errors and client.first_errors)",
                    (unsigned long long)errs);
    }
}

/* The one cleanup path: the load, a capacity curve that never began, the perf counter, the
 * server and the backend. */
static void finish(struct run *x)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    if (x->load)
        stop_load(x);
    if (o->capacity && !r->cap.on) {
        /* the run ended before the curve began: an empty one that says so */
        cap_plan(&r->cap, 0, o->steps, o->step_min_s, o->step_min_requests);
        snprintf(r->cap.note, sizeof r->cap.note,
                 "the run ended before the curve began (see failure): no steps");
    }
    x->srv_node->ops->perf_close(x->srv_node);
    launch_stop_all(x);
    r->dev.window_on = false;
}

int runner_run(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen)
{
    static struct run x; /* the probes inside make it large */
    memset(&x, 0, sizeof x);
    x.o = o;
    x.r = r;
    x.srv_node = x.bk_node = node_local();
    int rc = hosts_open(&x, err, errlen);
    if (rc != 0) {
        hosts_close(&x);
        return rc; /* 1: r says which host, and why */
    }
    if (plan_make(o, &x.hp, r, &x.plan, err, errlen) < 0) {
        hosts_close(&x);
        result_free(r);
        return 2;
    }
    watch_signals_install();
    if (prepare_waits(&x, err, errlen) < 0) {
        watch_signals_restore();
        hosts_close(&x);
        result_free(r);
        return 2;
    }
    plan_print(o, r, &x.plan);
    watch_start_clock(&x);
    x.phase = "idle";
    if (o->cmd == CLI_RUN && launch_all(&x) == 0) {
        watch_start_clock(&x);
        if (watch_until(&x, "idle", x.t0_ns + (uint64_t)(o->idle_s * 1e9), UNTIL_TIME) == 0)
            window_baseline(&x);
    }
    if (!r->failed && start_load(&x) == 0 && ramp(&x) == 0) {
        if (o->stop)
            stop_scenario(&x);
        else
            measure(&x);
    }
    finish(&x);
    hosts_record(&x);
    hosts_close(&x);
    watch_signals_restore();
    return r->failed ? 1 : 0;
}
