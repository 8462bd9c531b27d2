/* capacity: an open-loop capacity curve: its steps, their flags, capacity at the SLO (pure). */
#ifndef TVT_CAPACITY_H
#define TVT_CAPACITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/load.h"

#define CAP_STEPS_MIN     8
#define CAP_STEPS_MAX     12
#define CAP_STEPS_DEFAULT 10
#define CAP_LOW           0.10 /* the first step offers 10% of the closed-loop throughput */
#define CAP_HIGH          1.50 /* the last 150% */
#define CAP_MIN_REQUESTS  2000 /* per step, unless told: it lasts >= this many / rate s */
#define CAP_SATURATED     0.90 /* server CPU >= 90% of its K CPUs */
#define CAP_BEHIND        0.99 /* achieved < 99% of offered */
#define CAP_MAX_ERRORS    0.01 /* a step with more errors than this does not count */
#define CAP_SETTLE_S                                                                               \
    0.1 /* before a step's window: the queues of the step before drain;                            \
           after it: its last requests are answered */

/* One open-loop step. Figures are unknown (negative) until measured. */
struct cap_step {
    double offered_rps; /* planned */
    double duration_s;  /* planned: max(step_min_s, step_min_requests / offered_rps) */
    double settle_s;    /* before the window, and again after it: min(CAP_SETTLE_S,
duration_s / 4) */
    bool measured;
    double window_s;     /* the generator's window */
    double achieved_rps; /* complete answers (any status) per second */
    uint64_t requests;   /* good answers */
    uint64_t responses;  /* complete answers of any status */
    uint64_t errors[LOAD_ERR_N];
    double error_rate; /* errors / (good answers + errors) */
    /* latency in us from the intended send time; p99_raw from the actual send */
    uint64_t p50_us, p90_us, p99_us, p999_us, max_us, p99_raw_us;
    double server_cpu_s;    /* user + sys of the server's processes over the step; < 0 unknown */
    double server_window_s; /* the span of the two server readings; <= 0: use window_s */
    double server_util;     /* server_cpu_s / window_s / K; < 0 unknown */
    double gen_cpu_s, gen_cpu_max_thread; /* the generator's loops; busiest as a core's share */
    /* how busy the server's and the generator's CPUs were, counting every process (/proc/stat):
       well above server_util, something else ran there; < 0 unknown */
    double server_cpus_busy, client_cpus_busy;
    double inflight;      /* requests in flight on average: achieved x mean latency from the send */
    double backend_cpu_s; /* io=net: the started backend's user + sys over the step; < 0 none */
    double device_inflight; /* io=file: mean reads in flight at the data file's device; < 0 none */
    bool server_saturated, generator_behind, errors_ok, under_slo;
    bool counted; /* may decide the capacity: not behind, errors ok, some answers */
    /* why it was behind (NULL if not): "connections" (nearly all N had a request in flight,
       so N / latency is the limit), "generator_cpu" (its busiest loop used >= 90% of a core),
       "client_cpus_shared" / "server_cpus_shared" (the generator's / the server's CPUs were
       >= 90% busy, other processes included: something else ran there), "unknown" */
    const char *behind_cause;
};

/* The whole curve. */
struct capacity {
    bool on;
    int nsteps, steps_done;
    struct cap_step steps[CAP_STEPS_MAX];
    double closed_rps; /* the closed-loop phase's throughput (good answers per second) */
    double step_min_s;
    long step_min_requests; /* each step lasts long enough for this many */
    int server_k;           /* CPUs of the server, the saturation's denominator */
    int conns;              /* connections of the load */
    double slo_ms;
    char slo_rule[200];
    double capacity_rps; /* < 0: no step met the target */
    const char *bound;   /* "slo", "generator", "range", or NULL (no capacity) */
    char note[400];
};

/* The default target for a workload: max(1 ms, 2 x s) + s where s = wait + work, the request's
 * own service time: twice that (at least a millisecond) of queueing on top. Writes the rule's
 * text with its numbers into rule. */
double cap_default_slo_ms(long wait_us, long work_us, char *rule, size_t rulelen);

/* Plans nsteps (<= CAP_STEPS_MAX) rates from CAP_LOW to CAP_HIGH of closed_rps, geometrically,
 * each lasting max(step_min_s, min_requests / rate). Keeps slo and server_k as set. */
void cap_plan(struct capacity *c, double closed_rps, int nsteps, double step_min_s,
              long min_requests);

/* Planned seconds of the steps from index `from` on, their settling included. */
double cap_remaining_s(const struct capacity *c, int from);

/* Fills step s of c from the generator's window w and the server's CPU over it (< 0 unknown),
 * then sets its flags (cap_flag_step). */
void cap_measure_step(const struct capacity *c, struct cap_step *s, const struct load_result *w,
                      double server_cpu_s);

/* The flags of a measured step of c (its server_k, conns, slo_ms): saturated (server CPU >= 90%
 * of K CPUs), generator_behind (achieved < 99% of offered while the server was not saturated)
 * and its cause, errors_ok (<= 1%), under_slo (p99 below the target), counted. */
void cap_flag_step(const struct capacity *c, struct cap_step *s);

/* capacity_rps, bound and note from the measured steps: the highest offered rate of a counted
 * step with p99 under the target. bound "slo": a later counted step crossed the target;
 * "generator": a generator_behind step came before the target was crossed (a lower bound);
 * "range": no step crossed it (at least the top step). */
void cap_decide(struct capacity *c);

/* The `capacity` object of the result; caller owns it. */
json_t *cap_json(const struct capacity *c);

#endif
