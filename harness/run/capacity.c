/* capacity: an open-loop capacity curve: its steps, their flags, capacity at the SLO (pure). */
#include "run/capacity.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double cap_default_slo_ms(long wait_us, long work_us, char *rule, size_t rulelen)
{
    double s_ms = (double)(wait_us + work_us) / 1000.0;
    double queue_ms = 2 * s_ms > 1.0 ? 2 * s_ms : 1.0;
    double slo = queue_ms + s_ms;
    snprintf(rule, rulelen,
             "default: max(1 ms, 2 x service) + service, service = wait + work = %g ms: %g ms",
             s_ms, slo);
    return slo;
}

void cap_plan(struct capacity *c, double closed_rps, int nsteps, double step_min_s,
              long min_requests)
{
    if (nsteps > CAP_STEPS_MAX)
        nsteps = CAP_STEPS_MAX;
    if (nsteps < 2)
        nsteps = 2;
    c->on = true;
    c->closed_rps = closed_rps;
    c->nsteps = nsteps;
    c->steps_done = 0;
    c->step_min_s = step_min_s;
    c->step_min_requests = min_requests;
    c->capacity_rps = -1;
    c->bound = NULL;
    c->note[0] = '\0';
    double ratio = pow(CAP_HIGH / CAP_LOW, 1.0 / (nsteps - 1));
    for (int i = 0; i < nsteps; i++) {
        struct cap_step *s = &c->steps[i];
        memset(s, 0, sizeof *s);
        s->offered_rps = closed_rps * CAP_LOW * pow(ratio, i);
        double need_s = s->offered_rps > 0 ? (double)min_requests / s->offered_rps : step_min_s;
        s->duration_s = need_s > step_min_s ? need_s : step_min_s;
        s->settle_s = s->duration_s / 4 < CAP_SETTLE_S ? s->duration_s / 4 : CAP_SETTLE_S;
        s->server_cpu_s = s->server_util = -1;
        s->server_cpus_busy = s->client_cpus_busy = -1;
        s->backend_cpu_s = s->device_inflight = -1;
    }
}

double cap_remaining_s(const struct capacity *c, int from)
{
    double t = 0;
    for (int i = from; i < c->nsteps; i++)
        t += 2 * c->steps[i].settle_s + c->steps[i].duration_s;
    return t;
}

void cap_flag_step(const struct capacity *c, struct cap_step *s)
{
    int server_k = c->server_k;
    double slo_ms = c->slo_ms;
    uint64_t errs = 0;
    for (int k = 0; k < LOAD_ERR_N; k++)
        errs += s->errors[k];
    s->error_rate = s->requests + errs > 0 ? (double)errs / (double)(s->requests + errs) : 0;
    s->achieved_rps = s->window_s > 0 ? (double)s->responses / s->window_s : 0;
    double span = s->server_window_s > 0 ? s->server_window_s : s->window_s;
    s->server_util =
        s->server_cpu_s >= 0 && span > 0 && server_k > 0 ? s->server_cpu_s / span / server_k : -1;
    s->server_saturated = s->server_util >= CAP_SATURATED;
    /* the server kept up but the answers did not come at the offered pace: the load (its
       loops, or N connections with one request each in flight) is the limit here */
    s->generator_behind = s->achieved_rps < CAP_BEHIND * s->offered_rps && !s->server_saturated;
    s->errors_ok = s->error_rate <= CAP_MAX_ERRORS;
    s->under_slo = s->requests > 0 && (double)s->p99_us < slo_ms * 1000.0;
    s->counted = !s->generator_behind && s->errors_ok && s->requests > 0;
    s->behind_cause = !s->generator_behind                            ? NULL
                      : c->conns > 0 && s->inflight >= 0.9 * c->conns ? "connections"
                      : s->gen_cpu_max_thread >= 0.9                  ? "generator_cpu"
                      : s->client_cpus_busy >= 0.9                    ? "client_cpus_shared"
                      : s->server_cpus_busy >= 0.9                    ? "server_cpus_shared"
                                                                      : "unknown";
}

void cap_measure_step(const struct capacity *c, struct cap_step *s, const struct load_result *w,
                      double server_cpu_s)
{
    s->measured = true;
    s->window_s = w->window_s;
    s->requests = w->c.requests;
    s->responses = w->c.responses;
    memcpy(s->errors, w->c.errors, sizeof s->errors);
    s->p50_us = hist_percentile(w->latency, 50);
    s->p90_us = hist_percentile(w->latency, 90);
    s->p99_us = hist_percentile(w->latency, 99);
    s->p999_us = hist_percentile(w->latency, 99.9);
    s->max_us = hist_max(w->latency);
    s->p99_raw_us = hist_percentile(w->latency_raw, 99);
    s->server_cpu_s = server_cpu_s;
    s->gen_cpu_s = w->cpu_s;
    s->gen_cpu_max_thread = w->cpu_max_thread;
    /* Little's law over the step */
    s->inflight =
        s->window_s > 0 ? (double)s->responses / s->window_s * hist_mean(w->latency_raw) / 1e6 : 0;
    cap_flag_step(c, s);
}

static bool fails(const struct cap_step *s)
{
    return !s->generator_behind && !(s->counted && s->under_slo);
}

void cap_decide(struct capacity *c)
{
    int best = -1, n = c->steps_done;
    c->capacity_rps = -1;
    c->bound = NULL;
    for (int i = 0; i < n; i++)
        if (c->steps[i].counted && c->steps[i].under_slo)
            best = i;
    if (best < 0) {
        int behind = 0;
        for (int i = 0; i < n; i++)
            behind += c->steps[i].generator_behind;
        snprintf(c->note, sizeof c->note,
                 "no step met the target: none of the %d step%s had p99 under %g ms with at most "
                 "%g%% errors and the generator on schedule%s",
                 n, n == 1 ? "" : "s", c->slo_ms, 100 * CAP_MAX_ERRORS,
                 behind ? " (some steps were generator_behind and do not count)" : "");
        return;
    }
    c->capacity_rps = c->steps[best].offered_rps;
    /* what ended the curve above the capacity: a crossing, the generator, or the range */
    int cross = -1, behind = -1;
    for (int i = best + 1; i < n && cross < 0; i++)
        if (fails(&c->steps[i]))
            cross = i;
    for (int i = 0; i < (cross >= 0 ? cross : n) && behind < 0; i++)
        if (c->steps[i].generator_behind)
            behind = i;
    if (behind >= 0) {
        const struct cap_step *b = &c->steps[behind];
        c->bound = "generator";
        snprintf(c->note, sizeof c->note,
                 "a lower bound: at %.0f req/s offered the load reached only %.0f req/s while the "
                 "server was not saturated (generator_behind), before p99 crossed %g ms",
                 b->offered_rps, b->achieved_rps, c->slo_ms);
    } else if (cross >= 0) {
        const struct cap_step *x = &c->steps[cross];
        c->bound = "slo";
        if (x->errors_ok)
            snprintf(c->note, sizeof c->note,
                     "p99 crossed %g ms at the next step: %.0f us at %.0f req/s", c->slo_ms,
                     (double)x->p99_us, x->offered_rps);
        else
            snprintf(c->note, sizeof c->note,
                     "the next step (%.0f req/s) had %.1f%% errors, over the %g%% allowed",
                     x->offered_rps, 100 * x->error_rate, 100 * CAP_MAX_ERRORS);
    } else {
        c->bound = "range";
        snprintf(c->note, sizeof c->note,
                 "no step crossed %g ms: the capacity is at least the top step (%.0f%% of the "
                 "closed-loop throughput)",
                 c->slo_ms, 100 * CAP_HIGH);
    }
}

/* A reading, or null where it was not taken (< 0). */
static json_t *real_or_null(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

static json_t *step_json(const struct cap_step *s)
{
    json_t *errs = json_object();
    for (int k = 0; k < LOAD_ERR_N; k++)
        json_object_set_new(errs, load_err_name(k), json_integer((json_int_t)s->errors[k]));
    /* what was offered, for how long, and what came back */
    json_t *j =
        json_pack("{sf sf sf sf sf sI sI so sf}", "offered_rps", s->offered_rps, "achieved_rps",
                  s->achieved_rps, "duration_s", s->duration_s, "settle_s", s->settle_s, "window_s",
                  s->window_s, "requests", (json_int_t)s->requests, "responses",
                  (json_int_t)s->responses, "errors", errs, "error_rate", s->error_rate);
    /* latency from the intended send time, and p99 from the actual send */
    json_object_update_new(j, json_pack("{sI sI sI sI sI sI}", "p50_us", (json_int_t)s->p50_us,
                                        "p90_us", (json_int_t)s->p90_us, "p99_us",
                                        (json_int_t)s->p99_us, "p999_us", (json_int_t)s->p999_us,
                                        "max_us", (json_int_t)s->max_us, "p99_uncorrected_us",
                                        (json_int_t)s->p99_raw_us));
    /* who was busy: the server, the generator, the backend, the device, the CPUs */
    json_object_update_new(
        j, json_pack("{so so sb sf sf sb ss? sf so so so so sb sb}", "server_cpu_s",
                     real_or_null(s->server_cpu_s), "server_cpu_util", real_or_null(s->server_util),
                     "server_saturated", (int)s->server_saturated, "generator_cpu_s", s->gen_cpu_s,
                     "generator_cpu_max_thread", s->gen_cpu_max_thread, "generator_behind",
                     (int)s->generator_behind, "behind_cause", s->behind_cause, "inflight_mean",
                     s->inflight, "backend_cpu_s", real_or_null(s->backend_cpu_s),
                     "device_inflight_mean", real_or_null(s->device_inflight), "server_cpus_busy",
                     real_or_null(s->server_cpus_busy), "client_cpus_busy",
                     real_or_null(s->client_cpus_busy), "under_slo", (int)s->under_slo, "counted",
                     (int)s->counted));
    return j;
}

json_t *cap_json(const struct capacity *c)
{
    if (!c->on)
        return json_null();
    json_t *j = json_object(), *steps = json_array();
    for (int i = 0; i < c->steps_done; i++)
        json_array_append_new(steps, step_json(&c->steps[i]));
    json_object_set_new(j, "closed_loop_rps", json_real(c->closed_rps));
    json_object_set_new(j, "steps", steps);
    json_object_set_new(j, "slo_ms", json_real(c->slo_ms));
    json_object_set_new(j, "slo_rule", json_string(c->slo_rule));
    json_object_set_new(j, "capacity_rps", real_or_null(c->capacity_rps));
    json_object_set_new(j, "capacity_bound", c->bound ? json_string(c->bound) : json_null());
    json_object_set_new(j, "capacity_note", json_string(c->note));
    /* how the curve was made */
    json_object_set_new(j, "steps_planned", json_integer(c->nsteps));
    json_object_set_new(j, "step_min_s", json_real(c->step_min_s));
    json_object_set_new(j, "step_min_requests", json_integer(c->step_min_requests));
    json_object_set_new(j, "range", json_pack("[ff]", CAP_LOW, CAP_HIGH));
    json_object_set_new(j, "server_k", json_integer(c->server_k));
    json_object_set_new(j, "latency_from", json_string("intended send time (open loop)"));
    json_object_set_new(
        j, "rules",
        json_pack("{ss ss ss}", "server_saturated", "server CPU >= 90% of its K CPUs over the step",
                  "generator_behind",
                  "achieved < 99% of offered while the server was not saturated", "counted",
                  "not generator_behind, errors <= 1%, at least one good answer"));
    return j;
}
