/* stop.h: the graceful stop at SIGTERM/SIGINT as every server counts it: what each connection
 * open at the signal does (closes now, or finishes its request first), how a request in flight
 * ended, and the stop's clock against --grace-ms. Each server keeps its own lists and wakes
 * its own connections; these rules are the same in all of them. Thread-safe (counters.h). */
#ifndef TVT_STOP_H
#define TVT_STOP_H

#include <stdint.h>

#include "counters.h"

/* What a connection open at the signal does. */
enum stop_fate {
    STOP_CLOSE,  /* nothing in flight: close now (an idle one's close is a FIN) */
    STOP_FINISH, /* a request in flight: answer it with Connection: close, then close */
};

/* A stop signal came to a loop: the first (returns 1) sets *stopping and notes when in
 * *t_sig_ns; a later one (returns 0) asks for the cut at once. For one loop's own fields. */
int stop_signal(int *stopping, uint64_t *t_sig_ns);

/* Counts a connection the stop found: in flight (its request read, waiting or being
 * answered: stop_inflight), else holding part of a request (mid_request: stop_partial) or
 * idle (stop_idle). Returns what it does. */
enum stop_fate stop_found(struct counters *ctr, int in_flight, int mid_request);

/* A request in flight at the signal ended: answered (stop_answered) or cut (stop_cut). */
void stop_ended(struct counters *ctr, int answered);

/* What is left of grace_ms at now_ns for a stop whose signal came at t_sig_ns (all
 * CLOCK_MONOTONIC); 0 once it is over. */
uint32_t stop_grace_left_ms(uint64_t t_sig_ns, uint32_t grace_ms, uint64_t now_ns);

/* The stop is over (its last connection closed): counts stop_ms, from t_sig_ns to now. */
void stop_over(struct counters *ctr, uint64_t t_sig_ns);

#endif
