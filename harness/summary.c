/* summary: the short wrk-like text view of a run, for people; the JSON is the record. */
#include "summary.h"

#include <string.h>

static void latency_line(FILE *f, const char *label, const struct hist *h)
{
    fprintf(f, "  %-18s %8llu %8llu %8llu %8llu %8llu %10.1f\n", label,
            (unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_percentile(h, 90),
            (unsigned long long)hist_percentile(h, 99),
            (unsigned long long)hist_percentile(h, 99.9), (unsigned long long)hist_max(h),
            hist_mean(h));
}

/* a figure, or "?" when unknown (negative) */
static const char *kib(char *buf, long v)
{
    if (v < 0)
        return "?";
    snprintf(buf, 24, "%ld", v);
    return buf;
}

void summary_print(FILE *f, const struct run_record *r)
{
    const struct cli_opts *o = r->o;
    const struct load_result *l = &r->load;
    fprintf(f, "%s: %d connections, %d thread%s", r->impl ? r->impl : "load", o->conns, o->threads,
            o->threads == 1 ? "" : "s");
    if (o->procs > 1)
        fprintf(f, " x %d processes", o->procs);
    fprintf(f, ", %s loop", o->rate > 0 ? "open" : "closed");
    if (o->rate > 0)
        fprintf(f, " at %.0f req/s", o->rate);
    fprintf(f, ", wait %ld us, work %ld us, %ld bytes\n", o->wait_us, o->work_us, o->bytes);
    if (r->load_done && l->c.responses + l->c.requests > 0) {
        fprintf(f, "  %-18s %8s %8s %8s %8s %8s %10s\n", "latency (us)", "p50", "p90", "p99",
                "p99.9", "max", "mean");
        latency_line(f, o->rate > 0 ? "from intended send" : "from send", l->latency);
        if (o->rate > 0)
            latency_line(f, "from actual send", l->latency_raw);
    }
    if (r->load_done) {
        double rps = l->window_s > 0 ? (double)l->c.requests / l->window_s : 0;
        fprintf(f, "  %llu requests in %.2f s, %.1f MiB read\n", (unsigned long long)l->c.requests,
                l->window_s, (double)l->c.bytes / 1048576.0);
        fprintf(f, "Requests/sec: %.2f\n", rps);
        uint64_t total = 0;
        for (int k = 0; k < LOAD_ERR_N; k++)
            total += l->c.errors[k];
        if (total) {
            fprintf(f, "  errors:");
            for (int k = 0; k < LOAD_ERR_N; k++)
                if (l->c.errors[k])
                    fprintf(f, " %s %llu", load_err_name(k), (unsigned long long)l->c.errors[k]);
            fprintf(f, "\n");
            for (int k = 0; k < LOAD_ERR_N; k++)
                if (l->first_error[k][0])
                    fprintf(f, "    first %s error: %s\n", load_err_name(k), l->first_error[k]);
        }
        fprintf(f, "  generator CPU: %.2f s (busiest thread %.0f%% of a core)%s\n", l->cpu_s,
                100 * l->cpu_max_thread,
                r->saturated ? "  SATURATED: the generator may be the bottleneck" : "");
    }
    const struct server_result *s = &r->srv;
    if (s->present) {
        char a[24], b[24], c[24], d[24];
        fprintf(f, "  server: RSS %s -> %s KiB (peak %s), %s threads at peak",
                kib(a, s->rss_idle_kib), kib(b, s->rss_steady_kib), kib(c, s->rss_peak_kib),
                kib(d, s->threads_peak));
        if (s->cpu_user_s >= 0)
            fprintf(f, ", CPU %.2f s user + %.2f s sys", s->cpu_user_s, s->cpu_sys_s);
        if (s->ctx_voluntary >= 0)
            fprintf(f, ", %lld + %lld switches", s->ctx_voluntary, s->ctx_involuntary);
        fprintf(f, "\n");
    }
    if (r->failed)
        fprintf(f, "FAILED: %s\n", r->failure);
}
