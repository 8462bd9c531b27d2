/* gen_merge: one generator process's result added into the merged one, exactly: counts summed,
 * histograms merged (never percentiles averaged), the window the union of theirs. */
#include <string.h>

#include "load/gen_int.h"

void gen_merge(struct load_result *out, const struct load_result *r, int64_t shift_ns)
{
    out->c.requests += r->c.requests;
    out->c.responses += r->c.responses;
    out->c.bytes += r->c.bytes;
    out->c.reconnects += r->c.reconnects;
    for (int k = 0; k < LOAD_ERR_N; k++) {
        out->c.errors[k] += r->c.errors[k];
        if (out->first_error[k][0] == '\0')
            memcpy(out->first_error[k], r->first_error[k], sizeof out->first_error[k]);
    }
    if (r->window_end_ns) {
        uint64_t start = (uint64_t)((int64_t)r->window_start_ns + shift_ns);
        uint64_t end = (uint64_t)((int64_t)r->window_end_ns + shift_ns);
        if (!out->window_start_ns || start < out->window_start_ns)
            out->window_start_ns = start;
        if (end > out->window_end_ns)
            out->window_end_ns = end;
    }
    out->cpu_s += r->cpu_s;
    if (r->cpu_max_thread > out->cpu_max_thread)
        out->cpu_max_thread = r->cpu_max_thread;
    out->conns_connected += r->conns_connected;
    out->conns_failed += r->conns_failed;
    out->conns_open_peak += r->conns_open_peak;
    out->conns_open_end += r->conns_open_end;
    for (int k = 0; k < LOAD_STOP_N; k++)
        out->stop[k] += r->stop[k];
    out->stop_open += r->stop_open;
    if (r->ramp_s < 0 || out->ramp_s < 0)
        out->ramp_s = -1;
    else if (r->ramp_s > out->ramp_s)
        out->ramp_s = r->ramp_s;
    if (out->latency && r->latency)
        hist_merge(out->latency, r->latency);
    if (out->latency_raw && r->latency_raw)
        hist_merge(out->latency_raw, r->latency_raw);
}
