/* Unit tests for harness/capacity: the default target, the planned steps, each step's flags,
 * and the capacity at the SLO with its bound, on made-up curves. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../harness/run/capacity.h"

Test(capacity, default_target_follows_the_service_time)
{
    /* wait, work (us) -> target (ms): max(1 ms, 2 x s) + s with s = wait + work */
    const struct {
        long wait, work;
        double slo;
    } t[] = {
        {0, 0, 1.0},      /* nothing to wait for: 1 ms of queueing */
        {100, 0, 1.1},    /* twice 0.1 ms is under the 1 ms floor */
        {1000, 0, 3.0},   /* the quick profile's point */
        {2000, 0, 6.0},   /* past the floor: three times the wait */
        {10000, 0, 30.0}, /* scales with the wait */
        {1000, 500, 4.5}, /* CPU work is service time too */
    };
    char rule[200];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double slo = cap_default_slo_ms(t[i].wait, t[i].work, rule, sizeof rule);
        cr_assert_float_eq(slo, t[i].slo, 1e-9, "wait %ld work %ld: %g", t[i].wait, t[i].work, slo);
        cr_assert(strstr(rule, "default") && strstr(rule, "max(1 ms"), "%s", rule);
    }
}

Test(capacity, plans_geometric_steps_long_enough_for_2000_requests)
{
    static struct capacity c;
    /* 10 steps over a 10k req/s point: 1000 .. 15000 req/s */
    cap_plan(&c, 10000, 10, 1.0, CAP_MIN_REQUESTS);
    cr_assert_eq(c.nsteps, 10);
    cr_assert_float_eq(c.steps[0].offered_rps, 1000, 1e-6);
    cr_assert_float_eq(c.steps[9].offered_rps, 15000, 1e-6);
    double ratio = c.steps[1].offered_rps / c.steps[0].offered_rps, total = 0;
    for (int i = 0; i < 10; i++) {
        const struct cap_step *s = &c.steps[i];
        if (i > 0)
            cr_assert_float_eq(s->offered_rps / c.steps[i - 1].offered_rps, ratio, 1e-9);
        /* at least 2000 requests, at least the minimum */
        cr_assert_geq(s->offered_rps * s->duration_s, 2000 - 1e-6, "step %d", i);
        cr_assert_geq(s->duration_s, 1.0);
        cr_assert_float_eq(s->settle_s, fmin(0.1, s->duration_s / 4), 1e-12);
        cr_assert(!s->measured);
        total += 2 * s->settle_s + s->duration_s; /* settles before and after */
    }
    cr_assert_float_eq(c.steps[0].duration_s, 2.0, 1e-9, "1000 req/s needs 2 s for 2000");
    cr_assert_float_eq(c.steps[9].duration_s, 1.0, 1e-9, "the minimum wins at the top");
    cr_assert_float_eq(cap_remaining_s(&c, 0), total, 1e-9);
    cr_assert_float_eq(cap_remaining_s(&c, 10), 0, 1e-12);
    /* 8 and 12 steps span the same range */
    cap_plan(&c, 10000, 8, 0.3, CAP_MIN_REQUESTS);
    cr_assert_float_eq(c.steps[7].offered_rps, 15000, 1e-6);
    cap_plan(&c, 10000, 12, 0.3, CAP_MIN_REQUESTS);
    cr_assert_float_eq(c.steps[11].offered_rps, 15000, 1e-6);
    cr_assert_float_eq(c.steps[11].duration_s, 0.3, 1e-9);
    /* fewer requests a step: 500 at 1000 req/s is half a second */
    cap_plan(&c, 10000, 10, 0.1, 500);
    cr_assert_float_eq(c.steps[0].duration_s, 0.5, 1e-9);
    cr_assert_eq(c.step_min_requests, 500);
}

/* A measured step from its figures; flags come from cap_flag_step. conns 100, K 1, target
 * 3 ms. util: the server's CPU as a share of its one CPU. */
static void mk(struct capacity *c, int i, double offered, double achieved, double util,
               double p99_ms, uint64_t errors)
{
    struct cap_step *s = &c->steps[i];
    memset(s, 0, sizeof *s);
    s->measured = true;
    s->offered_rps = offered;
    s->window_s = 1.0;
    s->responses = (uint64_t)achieved;
    s->requests = (uint64_t)achieved - errors;
    s->errors[LOAD_ERR_TIMEOUT] = errors;
    s->p99_us = (uint64_t)(p99_ms * 1000);
    s->server_cpu_s = util;
    s->server_cpus_busy = util;
    s->client_cpus_busy = 0.3;
    s->gen_cpu_max_thread = 0.3;
    s->inflight = 10;
    cap_flag_step(c, s);
    c->steps_done = i + 1;
}

static void curve_init(struct capacity *c)
{
    memset(c, 0, sizeof *c);
    c->on = true;
    c->server_k = 1;
    c->conns = 100;
    c->slo_ms = 3;
    c->nsteps = CAP_STEPS_MAX;
}

Test(capacity, flags_each_step)
{
    static struct capacity c;
    curve_init(&c);
    /* on pace, idle server, fast: counts and is under the target */
    mk(&c, 0, 1000, 1000, 0.2, 1.1, 0);
    cr_assert(c.steps[0].counted && c.steps[0].under_slo && !c.steps[0].generator_behind);
    cr_assert_null(c.steps[0].behind_cause);
    /* 1% short with the server at 50%: the generator's limit, not the server's */
    mk(&c, 1, 1000, 985, 0.5, 1.1, 0);
    cr_assert(c.steps[1].generator_behind && !c.steps[1].counted);
    cr_assert_str_eq(c.steps[1].behind_cause, "unknown");
    /* short, but the server used 95% of its CPU: saturated, so it counts (and is slow) */
    mk(&c, 2, 2000, 1500, 0.95, 80, 0);
    cr_assert(c.steps[2].server_saturated && !c.steps[2].generator_behind);
    cr_assert(c.steps[2].counted && !c.steps[2].under_slo);
    /* exactly 99% is on pace */
    mk(&c, 3, 1000, 990, 0.5, 1.1, 0);
    cr_assert(!c.steps[3].generator_behind);
    /* 2% errors: does not count */
    mk(&c, 4, 1000, 1000, 0.5, 1.1, 20);
    cr_assert(!c.steps[4].errors_ok && !c.steps[4].counted);
    cr_assert_float_eq(c.steps[4].error_rate, 0.02, 1e-9);
    /* 1% errors is still fine */
    mk(&c, 5, 1000, 1000, 0.5, 1.1, 10);
    cr_assert(c.steps[5].errors_ok && c.steps[5].counted);
    /* p99 at the target is not under it */
    mk(&c, 6, 1000, 1000, 0.5, 3.0, 0);
    cr_assert(!c.steps[6].under_slo);
    /* behind with every connection busy: N / latency is the limit */
    mk(&c, 7, 1000, 900, 0.5, 9, 0);
    c.steps[7].inflight = 95;
    cap_flag_step(&c, &c.steps[7]);
    cr_assert_str_eq(c.steps[7].behind_cause, "connections");
    /* behind with its busiest loop at a full core */
    c.steps[7].inflight = 10;
    c.steps[7].gen_cpu_max_thread = 0.97;
    cap_flag_step(&c, &c.steps[7]);
    cr_assert_str_eq(c.steps[7].behind_cause, "generator_cpu");
    /* behind while something else kept the generator's CPU busy */
    c.steps[7].gen_cpu_max_thread = 0.3;
    c.steps[7].client_cpus_busy = 0.99;
    cap_flag_step(&c, &c.steps[7]);
    cr_assert_str_eq(c.steps[7].behind_cause, "client_cpus_shared");
    /* the server's CPU unknown: never saturated, so a short step is behind */
    mk(&c, 8, 1000, 900, 0.5, 1.1, 0);
    c.steps[8].server_cpu_s = -1;
    cap_flag_step(&c, &c.steps[8]);
    cr_assert(c.steps[8].server_util < 0 && c.steps[8].generator_behind);
}

/* One made-up step of a curve: offered, achieved, server util, p99 (ms), errors. */
struct pt {
    double offered, achieved, util, p99_ms;
    uint64_t errors;
};

struct curve_case {
    struct pt pts[6];
    int n;
    double capacity; /* < 0: none */
    const char *bound;
    const char *note; /* a part of capacity_note */
};

static const struct curve_case CURVES[] = {
    /* the hockey stick: under, under, under, then the server saturates past the target */
    {{{1e3, 1e3, .2, 1.1, 0},
      {2e3, 2e3, .4, 1.2, 0},
      {4e3, 4e3, .8, 1.8, 0},
      {8e3, 6e3, .99, 50, 0}},
     4,
     4e3,
     "slo",
     "crossed 3 ms"},
    /* never crossed: at least the top step */
    {{{1e3, 1e3, .1, 1.1, 0}, {2e3, 2e3, .2, 1.1, 0}, {4e3, 4e3, .3, 1.2, 0}},
     3,
     4e3,
     "range",
     "at least the top step"},
    /* the generator fell behind before the target was crossed: a lower bound */
    {{{1e3, 1e3, .2, 1.1, 0}, {2e3, 2e3, .4, 1.2, 0}, {4e3, 3e3, .5, 9, 0}, {8e3, 6e3, .99, 50, 0}},
     4,
     2e3,
     "generator",
     "lower bound"},
    /* nobody met the target */
    {{{1e3, 1e3, .2, 4, 0}, {2e3, 2e3, .4, 5, 0}, {4e3, 3.5e3, .95, 50, 0}},
     3,
     -1,
     NULL,
     "no step met the target"},
    /* a noisy low step over the target does not hide the higher ones under it */
    {{{1e3, 1e3, .2, 4, 0}, {2e3, 2e3, .4, 1.2, 0}, {4e3, 4e3, .8, 1.5, 0}, {8e3, 6e3, .99, 50, 0}},
     4,
     4e3,
     "slo",
     "crossed"},
    /* errors end the curve: the next step had too many */
    {{{1e3, 1e3, .2, 1.1, 0}, {2e3, 2e3, .4, 1.2, 0}, {4e3, 4e3, .6, 1.3, 400}},
     3,
     2e3,
     "slo",
     "errors"},
    /* a step with too many errors does not count even under the target */
    {{{1e3, 1e3, .2, 1.1, 0}, {2e3, 2e3, .4, 1.2, 100}}, 2, 1e3, "slo", "errors"},
    /* only behind steps: none counts */
    {{{1e3, 900, .2, 1.1, 0}, {2e3, 1800, .4, 1.2, 0}}, 2, -1, NULL, "generator_behind"},
};

Test(capacity, decides_the_capacity_and_its_bound)
{
    static struct capacity c;
    for (size_t i = 0; i < sizeof CURVES / sizeof CURVES[0]; i++) {
        const struct curve_case *k = &CURVES[i];
        curve_init(&c);
        for (int j = 0; j < k->n; j++)
            mk(&c, j, k->pts[j].offered, k->pts[j].achieved, k->pts[j].util, k->pts[j].p99_ms,
               k->pts[j].errors);
        cap_decide(&c);
        if (k->capacity < 0) {
            cr_assert_lt(c.capacity_rps, 0, "case %zu: capacity %g", i, c.capacity_rps);
            cr_assert_null(c.bound, "case %zu", i);
        } else {
            cr_assert_float_eq(c.capacity_rps, k->capacity, 1e-9, "case %zu: %g", i,
                               c.capacity_rps);
            cr_assert_str_eq(c.bound, k->bound, "case %zu", i);
        }
        cr_assert(strstr(c.note, k->note), "case %zu: note '%s' lacks '%s'", i, c.note, k->note);
    }
}

Test(capacity, json_has_every_key)
{
    static struct capacity c;
    curve_init(&c);
    json_t *off = cap_json(&(struct capacity){.on = false});
    cr_assert(json_is_null(off), "no curve: null");
    json_decref(off);
    mk(&c, 0, 1e3, 1e3, .2, 1.1, 0);
    mk(&c, 1, 2e3, 1e3, .2, 9, 0);
    cap_decide(&c);
    json_t *j = cap_json(&c);
    const char *keys[] = {"closed_loop_rps", "steps",          "slo_ms",        "slo_rule",
                          "capacity_rps",    "capacity_bound", "capacity_note", "steps_planned",
                          "step_min_s",      "server_k",       "range",         "rules"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_not_null(json_object_get(j, keys[i]), "no %s", keys[i]);
    cr_assert_eq(json_array_size(json_object_get(j, "steps")), 2);
    json_t *s = json_array_get(json_object_get(j, "steps"), 1);
    cr_assert(json_is_true(json_object_get(s, "generator_behind")));
    cr_assert_str_eq(json_string_value(json_object_get(s, "behind_cause")), "unknown");
    cr_assert_float_eq(json_real_value(json_object_get(j, "capacity_rps")), 1e3, 1e-9);
    cr_assert_str_eq(json_string_value(json_object_get(j, "capacity_bound")), "generator");
    json_decref(j);
}
