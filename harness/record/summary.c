/* summary: the short wrk-like text view of a run, for people; the JSON is the record. */
#include "record/summary.h"

#include <string.h>

#include "workload.h"

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

/* The capacity curve as a table, and its verdict. */
static void capacity_print(FILE *f, const struct capacity *c)
{
    if (!c->on)
        return;
    fprintf(f,
            "capacity (open loop, latency from the intended send time; closed loop %.0f req/s):\n",
            c->closed_rps);
    if (c->steps_done > 0)
        fprintf(f, "  %10s %10s %8s %8s %8s %8s %6s %6s %6s  %s\n", "offered/s", "achieved/s",
                "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "server", "others", "errors", "flags");
    for (int i = 0; i < c->steps_done; i++) {
        const struct cap_step *s = &c->steps[i];
        char util[16], others[16];
        if (s->server_util >= 0)
            snprintf(util, sizeof util, "%.0f%%", 100 * s->server_util);
        else
            snprintf(util, sizeof util, "?");
        /* what else kept the server's CPUs busy (the kernel's softirqs, other processes) */
        if (s->server_util >= 0 && s->server_cpus_busy >= 0)
            snprintf(others, sizeof others, "%.0f%%",
                     s->server_cpus_busy > s->server_util
                         ? 100 * (s->server_cpus_busy - s->server_util)
                         : 0);
        else
            snprintf(others, sizeof others, "?");
        fprintf(f, "  %10.0f %10.0f %8.2f %8.2f %8.2f %8.2f %6s %6s %5.1f%%  %s%s%s%s\n",
                s->offered_rps, s->achieved_rps, (double)s->p50_us / 1000, (double)s->p90_us / 1000,
                (double)s->p99_us / 1000, (double)s->p999_us / 1000, util, others,
                100 * s->error_rate, s->server_saturated ? "saturated " : "",
                s->generator_behind ? s->behind_cause : "", s->generator_behind ? " behind " : "",
                s->counted && s->under_slo ? "under-slo" : "");
    }
    if (c->capacity_rps >= 0)
        fprintf(f, "Capacity at p99 < %g ms: %.0f req/s (%s: %s)\n", c->slo_ms, c->capacity_rps,
                c->bound ? c->bound : "?", c->note);
    else
        fprintf(f, "Capacity at p99 < %g ms: none (%s)\n", c->slo_ms, c->note);
}

/* A stop scenario: how the server stopped, and how its connections ended. */
static void stop_print(FILE *f, const struct run_record *r)
{
    const struct stop_result *s = &r->stop;
    const uint64_t *e = r->load.stop;
    fprintf(f, "%s: stop with %d connections, %d with a request in flight (wait %ld us)\n",
            r->impl ? r->impl : "?", r->o->conns, s->inflight, r->o->wait_us);
    if (s->signal_to_exit_s >= 0)
        fprintf(f, "  SIGTERM to exit: %.3f s%s; server CPU meanwhile %.3f s\n",
                s->signal_to_exit_s, s->killed ? " (killed past its grace)" : "", s->cpu_s);
    else
        fprintf(f, "  the server was not seen to exit\n");
    if (r->load_done)
        fprintf(f,
                "  in flight: %llu answered, %llu answered with another status, %llu cut; idle: "
                "%llu closed by FIN, %llu by reset, %llu still open\n",
                (unsigned long long)e[LOAD_STOP_ANSWERED],
                (unsigned long long)e[LOAD_STOP_ANSWERED_ERR], (unsigned long long)e[LOAD_STOP_CUT],
                (unsigned long long)e[LOAD_STOP_IDLE_FIN],
                (unsigned long long)e[LOAD_STOP_IDLE_RST], (unsigned long long)r->load.stop_open);
    fprintf(f, "  connects after the signal: %ld tried, %ld refused, %ld accepted, %ld other\n",
            s->connects_tried, s->connects_refused, s->connects_accepted, s->connects_other);
}

/* A run across hosts: each generators' host's share of the answers, and how far apart their
 * windows opened. */
static void hosts_print(FILE *f, const struct run_record *r)
{
    const char *sep = "  hosts:";
    for (int i = 0; i < r->nhosts; i++) {
        const struct host_entry *h = &r->hosts[i];
        if (!h->has_share)
            continue;
        uint64_t errors = 0;
        for (int k = 0; k < LOAD_ERR_N; k++)
            errors += h->share.c.errors[k];
        double part = r->load.c.requests
                          ? 100.0 * (double)h->share.c.requests / (double)r->load.c.requests
                          : 0;
        fprintf(f, "%s %s %.1f%% (%llu answers, %llu errors, CPU %.2f s)", sep, h->name, part,
                (unsigned long long)h->share.c.requests, (unsigned long long)errors,
                h->share.cpu_s);
        sep = ",";
    }
    if (sep[0] == ',')
        fprintf(f, "; windows opened within %.2f ms\n", result_hosts_skew_ms(r));
}

/* The first line: who ran, how many connections, the loop and the workload. */
static void header_print(FILE *f, const struct run_record *r)
{
    const struct cli_opts *o = r->o;
    if (r->threads > 0)
        fprintf(f, "%s: %d connections, %d thread%s", r->impl ? r->impl : "load", o->conns,
                r->threads, r->threads == 1 ? "" : "s");
    else
        fprintf(f, "%s: %d connections from hosts %s, a loop per CPU of each",
                r->impl ? r->impl : "load", o->conns, o->clients_on ? o->clients_on : "?");
    if (o->procs > 1)
        fprintf(f, " x %d processes", o->procs);
    fprintf(f, ", %s loop%s", o->rate > 0 ? "open" : "closed",
            o->capacity ? " (the capacity curve's closed-loop phase)" : "");
    if (o->rate > 0)
        fprintf(f, " at %.0f req/s", o->rate);
    fprintf(f, ", wait %ld us, work %ld us, %ld bytes", o->wait_us, o->work_us, o->bytes);
    if (o->io_set)
        fprintf(f, ", io=%s", workload_io_name(o->io));
    if (o->io == IO_FILE)
        fprintf(f, " (%ld KiB reads)", o->file_kib >= 0 ? o->file_kib : (long)FILE_KIB_DEFAULT);
    fprintf(f, "\n");
}

/* The generator's figures: latency, throughput, errors, its CPU. */
static void load_print(FILE *f, const struct run_record *r)
{
    const struct cli_opts *o = r->o;
    const struct load_result *l = &r->load;
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
        fprintf(f, "  generator CPU: %.2f s (busiest thread %.0f%% of a core)", l->cpu_s,
                100 * l->cpu_max_thread);
        if (r->sat.backend_cpu >= 0)
            fprintf(f, ", with the backend on its CPUs %.0f%% of %d CPU%s", 100 * r->sat.busy,
                    r->sat.cpus, r->sat.cpus == 1 ? "" : "s");
        if (r->sat.client_cpus_busy >= 0)
            fprintf(f, "; its CPUs %.0f%% busy counting everything", 100 * r->sat.client_cpus_busy);
        fprintf(f, "%s\n", r->saturated ? "  SATURATED: the generator may be the bottleneck" : "");
        hosts_print(f, r);
    }
}

/* The server's memory, CPU and switches. */
static void server_print(FILE *f, const struct run_record *r)
{
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
}

/* io=file: the data file's device, reads in flight. */
static void device_print(FILE *f, const struct run_record *r)
{
    if (r->dev_on) {
        const struct inflight *d = &r->dev;
        if (d->fd >= 0 && d->n > 0)
            fprintf(f, "  device %s: %.1f reads in flight on average, %ld at most (%ld samples)\n",
                    d->device, d->sum / (double)d->n, d->max, d->n);
        else
            fprintf(f, "  device %s: reads in flight unknown: %s\n", d->device,
                    d->unavailable[0] ? d->unavailable : "no sample in the window");
    }
}

/* io=net: the backend's CPU and counters. */
static void backend_print(FILE *f, const struct run_record *r)
{
    const struct load_result *l = &r->load;
    const struct backend_result *b = &r->bk;
    if (b->on && b->started) {
        fprintf(f, "  backend %s", b->upstream);
        if (b->cpu_s >= 0 && r->load_done && l->c.requests > 0)
            fprintf(f, ": CPU %.2f s, %.1f us per request", b->cpu_s,
                    b->cpu_s * 1e6 / (double)l->c.requests);
        json_t *c = result_counters(b->stderr_text);
        json_t *acc = c ? json_object_get(c, "accepted") : NULL;
        json_t *req = c ? json_object_get(c, "requests") : NULL;
        if (json_is_integer(acc) && json_is_integer(req))
            fprintf(f, "; %lld connections, %lld requests", (long long)json_integer_value(acc),
                    (long long)json_integer_value(req));
        json_decref(c);
        fprintf(f, "%s\n", b->shares_client_cpus ? " (on the generator's CPUs)" : "");
    } else if (b->on) {
        fprintf(f, "  backend %s (--upstream: not measured)\n", b->upstream);
    }
}

void summary_print(FILE *f, const struct run_record *r)
{
    if (r->stop.on) {
        stop_print(f, r);
        return;
    }
    header_print(f, r);
    load_print(f, r);
    server_print(f, r);
    device_print(f, r);
    backend_print(f, r);
    capacity_print(f, &r->cap);
    if (r->failed)
        fprintf(f, "FAILED: %s\n", r->failure);
}
