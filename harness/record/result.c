/* result: everything one run measured, and its JSON document (the schema scripts rely on). */
#include "record/result.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysenv.h"
#include "workload.h"

void result_init(struct run_record *r, const struct cli_opts *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->server_cpu = r->client_cpu = -1;
    r->stack_kib = -1;
    r->workers = -1;
    struct server_result *s = &r->srv;
    s->rss_idle_kib = s->rss_steady_kib = s->rss_peak_kib = -1;
    s->vsz_idle_kib = s->vsz_steady_kib = s->pss_steady_kib = -1;
    s->threads_idle = s->threads_peak = -1;
    s->ctx_voluntary = s->ctx_involuntary = s->ctx_perf = -1;
    s->cpu_user_s = s->cpu_sys_s = s->window_s = s->ctx_window_s = -1;
    s->maxrss_kib = s->nvcsw = s->nivcsw = -1;
    s->stop_s = -1;
    r->stop.signal_to_exit_s = r->stop.cpu_s = -1;
    r->bk.cpu_s = r->bk.window_s = -1;
    r->bk.workers = -1;
    r->data.size_mib = -1;
    r->dev.fd = r->dev.stat_fd = -1;
    r->sat.backend_cpu = -1;
    r->sat.client_cpus_busy = r->sat.server_cpus_busy = -1;
}

int result_add_sample(struct run_record *r, const struct sample *s)
{
    if (r->nsamples == r->samples_cap) {
        int cap = r->samples_cap ? 2 * r->samples_cap : 256;
        struct sample *p = realloc(r->samples, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        r->samples = p;
        r->samples_cap = cap;
    }
    r->samples[r->nsamples++] = *s;
    return 0;
}

void result_fail(struct run_record *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->failure, sizeof r->failure, fmt, ap);
    va_end(ap);
}

void result_free(struct run_record *r)
{
    free(r->samples);
    r->samples = NULL;
    r->nsamples = r->samples_cap = 0;
    free(r->srv.stderr_text);
    r->srv.stderr_text = NULL;
    free(r->bk.stderr_text);
    r->bk.stderr_text = NULL;
    inflight_close(&r->dev);
    for (int i = 0; i < r->nhosts; i++)
        free(r->hosts[i].env);
    free(r->hosts);
    r->hosts = NULL;
    r->nhosts = 0;
    if (r->load_done)
        load_result_free(&r->load);
    r->load_done = false;
}

/* A JSON string of arbitrary bytes (a server's stderr): bytes that are not valid UTF-8 become
 * '?' rather than losing the whole text. */
static json_t *jtext(const char *text)
{
    json_t *v = json_string(text);
    if (v)
        return v;
    char *copy = strdup(text);
    if (!copy)
        return json_null();
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v ? v : json_null();
}

/* null for unknown (negative) figures */
static json_t *jlong(long long v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *jreal(double v, bool known)
{
    return known ? json_real(v) : json_null();
}

static json_t *params_json(const struct run_record *r)
{
    const struct cli_opts *o = r->o;
    json_t *p = json_object();
    bool open = o->rate > 0;
    json_object_set_new(p, "conns", json_integer(o->conns));
    json_object_set_new(p, "duration_s", o->requests ? json_null() : json_real(o->duration_s));
    json_object_set_new(p, "warmup_s", json_real(o->warmup_s));
    json_object_set_new(p, "wait_us", json_integer(o->wait_us));
    json_object_set_new(p, "work_us", json_integer(o->work_us));
    json_object_set_new(p, "bytes", json_integer(o->bytes));
    json_object_set_new(p, "mode", json_string(open ? "open" : "closed"));
    json_object_set_new(p, "rate", open ? json_real(o->rate) : json_null());
    json_object_set_new(p, "think_ms", json_real(o->think_ms));
    json_object_set_new(p, "stack_kib", jlong(r->stack_kib));
    json_object_set_new(p, "server_cpu", r->srv.present ? jlong(r->server_cpu) : json_null());
    json_object_set_new(p, "client_cpu", jlong(r->client_cpu));
    json_object_set_new(p, "threads", json_integer(r->threads));
    /* beyond the agreed keys: enough to rerun it */
    json_object_set_new(p, "procs", json_integer(o->procs));
    json_object_set_new(p, "workers", jlong(r->workers));
    json_object_set_new(p, "pin_workers", json_boolean(r->pin_workers));
    json_object_set_new(p, "capacity", json_boolean(o->capacity));
    json_object_set_new(p, "requests",
                        o->requests ? json_integer((json_int_t)o->requests) : json_null());
    json_object_set_new(p, "target", json_string(r->target));
    json_object_set_new(p, "path", json_string(o->path));
    json_object_set_new(p, "body_check", json_boolean(o->body_check));
    json_object_set_new(p, "connect_rate", json_real(o->connect_rate));
    json_object_set_new(p, "connect_retries", json_integer(o->connect_retries));
    json_object_set_new(p, "timeout_ms", json_integer(o->timeout_ms));
    json_object_set_new(p, "connect_timeout_ms", json_integer(o->connect_timeout_ms));
    json_object_set_new(p, "source_ips", json_integer(r->source_ips));
    json_object_set_new(p, "cpu_note", r->cpu_note[0] ? json_string(r->cpu_note) : json_null());
    json_object_set_new(p, "nofile_soft", jlong(r->nofile_soft));
    json_object_set_new(p, "nofile_hard", jlong(r->nofile_hard));
    json_object_set_new(p, "server_command", r->srv.present ? jtext(r->srv.command) : json_null());
    /* the wait kind */
    long kib = o->file_kib >= 0 ? o->file_kib : o->io == IO_FILE ? (long)FILE_KIB_DEFAULT : -1;
    const struct data_result *d = &r->data;
    json_object_set_new(p, "io", json_string(workload_io_name(o->io)));
    json_object_set_new(p, "io_sent", json_boolean(o->io_set));
    json_object_set_new(p, "file_kib", jlong(kib));
    json_object_set_new(p, "data_file", d->on ? jtext(d->path) : json_null());
    json_object_set_new(p, "data_size_mib", d->on ? jlong(d->size_mib) : json_null());
    json_object_set_new(p, "data_file_reused",
                        d->on && d->reused >= 0 ? json_boolean(d->reused) : json_null());
    json_object_set_new(p, "data_file_write_s",
                        d->on && d->reused == 0 ? json_real(d->write_s) : json_null());
    json_object_set_new(p, "upstream", r->bk.on ? jtext(r->bk.upstream) : json_null());
    return p;
}

static json_t *cpus_json(const struct cpu_list *l)
{
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++)
        json_array_append_new(a, json_integer(l->cpu[i]));
    return a;
}

/* Where everything ran: the planner's answer (placement.h). */
static json_t *placement_json(const struct run_record *r)
{
    const struct placement *p = &r->place;
    json_t *j = json_object();
    json_object_set_new(j, "server_cpus", cpus_json(&p->server));
    json_object_set_new(j, "client_cpus", cpus_json(&p->client));
    json_object_set_new(j, "backend_cpus", cpus_json(&p->backend));
    json_object_set_new(j, "overlap", json_boolean(p->overlap));
    json_object_set_new(j, "server_k", json_integer(p->server_k));
    json_object_set_new(j, "cpus_allowed", cpus_json(&p->allowed));
    /* beyond the agreed keys */
    json_object_set_new(j, "server_pinned", json_boolean(p->server_pinned && p->server.n > 0));
    json_object_set_new(j, "client_pinned", json_boolean(p->client_pinned));
    json_object_set_new(j, "generator_loops", json_integer(r->threads * r->o->procs));
    json_object_set_new(j, "note", p->note[0] ? json_string(p->note) : json_null());
    return j;
}

static json_t *latency_json(const struct hist *h)
{
    json_t *j = h ? hist_to_json(h) : NULL;
    if (!j) {
        j = json_object();
        const char *k[] = {"min", "p50", "p90", "p99", "p999", "max", "mean"};
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
            json_object_set_new(j, k[i], json_null());
    }
    return j;
}

/* The figures client.saturated was decided on (set_saturation in runner.c has the rule). */
static json_t *saturation_json(const struct run_record *r)
{
    const struct saturation *s = &r->sat;
    const struct load_result *l = &r->load;
    bool shares = s->backend_cpu >= 0;
    json_t *j = json_object();
    json_object_set_new(
        j, "rule",
        json_string("the busiest generator loop > 0.9 of a core, or the loops' CPU per second > "
                    "0.9 x min(loops, generator CPUs); with a started backend on the "
                    "generator's CPUs also (generator + backend CPU per second) / CPUs of both "
                    "sets > 0.9"));
    json_object_set_new(j, "threshold", json_real(0.9));
    json_object_set_new(j, "cpus", json_integer(s->cpus));
    json_object_set_new(j, "loops", json_integer(s->loops));
    json_object_set_new(j, "generator_cpu_s", json_real(l->cpu_s));
    json_object_set_new(j, "generator_cpu_max_thread", json_real(l->cpu_max_thread));
    json_object_set_new(j, "window_s", json_real(l->window_s));
    json_object_set_new(j, "backend_shares_cpus", json_boolean(shares));
    json_object_set_new(j, "backend_cpu_s", jreal(r->bk.cpu_s, shares));
    json_object_set_new(j, "busy", json_real(s->busy));
    json_object_set_new(j, "client_cpus_busy",
                        jreal(s->client_cpus_busy, s->client_cpus_busy >= 0));
    json_object_set_new(j, "server_cpus_busy",
                        jreal(s->server_cpus_busy, s->server_cpus_busy >= 0));
    return j;
}

static json_t *client_json(const struct run_record *r)
{
    const struct load_result *l = &r->load;
    json_t *c = json_object();
    json_t *errs = json_object();
    json_t *first = json_object();
    for (int k = 0; k < LOAD_ERR_N; k++) {
        json_object_set_new(errs, load_err_name(k),
                            json_integer(r->load_done ? (json_int_t)l->c.errors[k] : 0));
        if (r->load_done && l->first_error[k][0])
            json_object_set_new(first, load_err_name(k), jtext(l->first_error[k]));
    }
    double rps = r->load_done && l->window_s > 0 ? (double)l->c.requests / l->window_s : 0;
    json_object_set_new(c, "requests", json_integer(r->load_done ? (json_int_t)l->c.requests : 0));
    json_object_set_new(c, "rps", json_real(rps));
    json_object_set_new(c, "errors", errs);
    json_object_set_new(c, "latency_us", latency_json(r->load_done ? l->latency : NULL));
    json_object_set_new(c, "cpu_s", jreal(l->cpu_s, r->load_done));
    json_object_set_new(c, "saturated", json_boolean(r->saturated));
    json_object_set_new(c, "saturation", r->load_done ? saturation_json(r) : json_null());
    /* beyond the agreed keys */
    json_object_set_new(c, "latency_uncorrected_us",
                        latency_json(r->load_done ? l->latency_raw : NULL));
    json_object_set_new(c, "latency_from",
                        json_string(r->o->rate > 0 ? "intended send time (open loop)"
                                                   : "actual send time (closed loop)"));
    json_object_set_new(c, "responses",
                        json_integer(r->load_done ? (json_int_t)l->c.responses : 0));
    json_object_set_new(c, "bytes_read", json_integer(r->load_done ? (json_int_t)l->c.bytes : 0));
    json_object_set_new(c, "reconnects",
                        json_integer(r->load_done ? (json_int_t)l->c.reconnects : 0));
    json_object_set_new(c, "window_s", jreal(l->window_s, r->load_done));
    json_object_set_new(c, "cpu_max_thread", jreal(l->cpu_max_thread, r->load_done));
    json_object_set_new(c, "conns_connected", json_integer(l->conns_connected));
    json_object_set_new(c, "conns_failed", json_integer(l->conns_failed));
    json_object_set_new(c, "conns_open_peak", json_integer(l->conns_open_peak));
    json_object_set_new(c, "conns_open_end", json_integer(l->conns_open_end));
    json_object_set_new(c, "ramp_s", jreal(l->ramp_s, r->load_done && l->ramp_s >= 0));
    json_object_set_new(c, "first_errors", first);
    return c;
}

json_t *result_counters(const char *text)
{
    if (!text)
        return NULL;
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    json_t *c = json_loadb(start, (size_t)(end - start), 0, NULL);
    if (c && !json_is_object(c)) {
        json_decref(c);
        c = NULL;
    }
    return c;
}

static json_t *server_json(const struct run_record *r)
{
    const struct server_result *s = &r->srv;
    if (!s->present)
        return json_null();
    json_t *j = json_object();
    json_object_set_new(j, "rss_idle_kib", jlong(s->rss_idle_kib));
    json_object_set_new(j, "rss_steady_kib", jlong(s->rss_steady_kib));
    json_object_set_new(j, "rss_peak_kib", jlong(s->rss_peak_kib));
    json_object_set_new(j, "vsz_idle_kib", jlong(s->vsz_idle_kib));
    json_object_set_new(j, "vsz_steady_kib", jlong(s->vsz_steady_kib));
    json_object_set_new(j, "pss_steady_kib", jlong(s->pss_steady_kib));
    json_object_set_new(j, "threads_peak", jlong(s->threads_peak));
    json_object_set_new(j, "ctx_voluntary", jlong(s->ctx_voluntary));
    json_object_set_new(j, "ctx_involuntary", jlong(s->ctx_involuntary));
    json_object_set_new(j, "ctx_perf", jlong(s->ctx_perf));
    json_object_set_new(j, "cpu_user_s", jreal(s->cpu_user_s, s->cpu_user_s >= 0));
    json_object_set_new(j, "cpu_sys_s", jreal(s->cpu_sys_s, s->cpu_sys_s >= 0));
    /* deltas may be negative: null only when unknown */
    json_object_set_new(j, "kernel_stack_kib_delta",
                        s->kernel_ok ? json_integer(s->kernel_stack_kib_delta) : json_null());
    json_object_set_new(j, "slab_unreclaim_kib_delta",
                        s->kernel_ok ? json_integer(s->slab_unreclaim_kib_delta) : json_null());
    json_object_set_new(j, "sock_tcp_pages_delta",
                        s->kernel_ok ? json_integer(s->sock_tcp_pages_delta) : json_null());
    json_object_set_new(
        j, "lifetime",
        s->lifetime_ok ? json_pack("{sI sI sI}", "maxrss_kib", (json_int_t)s->maxrss_kib, "nvcsw",
                                   (json_int_t)s->nvcsw, "nivcsw", (json_int_t)s->nivcsw)
                       : json_pack("{sn sn sn}", "maxrss_kib", "nvcsw", "nivcsw"));
    /* beyond the agreed keys */
    json_object_set_new(j, "pid", json_integer(s->pid));
    json_object_set_new(j, "threads_idle", jlong(s->threads_idle));
    json_object_set_new(j, "procs_peak", json_integer(s->procs_peak));
    json_object_set_new(j, "scope", json_string("the server's PID and its descendants, summed"));
    json_object_set_new(j, "window_s", jreal(s->window_s, s->window_s >= 0));
    json_object_set_new(j, "ctx_window_s", jreal(s->ctx_window_s, s->ctx_window_s >= 0));
    json_object_set_new(j, "kernel_scope", json_string("system-wide (client sockets included)"));
    json_object_set_new(j, "ctx_perf_note",
                        s->ctx_perf_note[0] ? json_string(s->ctx_perf_note) : json_null());
    json_object_set_new(j, "exit", s->exit_desc[0] ? json_string(s->exit_desc) : json_null());
    json_object_set_new(j, "killed", json_boolean(s->killed));
    json_object_set_new(j, "stop_s", jreal(s->stop_s, s->stop_s >= 0));
    json_object_set_new(j, "stop_clean",
                        json_boolean(s->stop_s >= 0 && !s->killed &&
                                     strcmp(s->exit_desc, "exited with status 0") == 0));
    /* the servers print one JSON line of counters on stderr when they stop */
    json_t *counters = result_counters(s->stderr_text);
    if (s->stderr_text) {
        size_t n = strlen(s->stderr_text);
        json_object_set_new(j, "stderr_tail",
                            jtext(n > 2048 ? s->stderr_text + n - 2048 : s->stderr_text));
    }
    json_object_set_new(j, "counters", counters ? counters : json_null());
    json_object_set_new(j, "device_inflight", r->dev_on ? inflight_json(&r->dev) : json_null());
    return j;
}

/* A counter of a counters object, or null. */
static json_t *counter(json_t *counters, const char *key)
{
    json_t *v = counters ? json_object_get(counters, key) : NULL;
    return json_is_integer(v) ? json_integer(json_integer_value(v)) : json_null();
}

static json_t *backend_json(const struct run_record *r)
{
    const struct backend_result *b = &r->bk;
    if (!b->on)
        return json_null();
    json_t *j = json_object();
    uint64_t req = r->load_done ? r->load.c.requests : 0;
    bool cpu = b->cpu_s >= 0 && b->window_s > 0;
    int ncpus = r->place.backend.n;
    json_object_set_new(j, "upstream", jtext(b->upstream));
    json_object_set_new(j, "started", json_boolean(b->started));
    json_object_set_new(j, "command", b->started ? jtext(b->command) : json_null());
    json_t *cpus = b->started ? json_array() : json_null();
    for (int i = 0; b->started && i < ncpus; i++)
        json_array_append_new(cpus, json_integer(r->place.backend.cpu[i]));
    json_object_set_new(j, "cpus", cpus);
    json_object_set_new(j, "shares_client_cpus",
                        b->started ? json_boolean(b->shares_client_cpus) : json_null());
    json_object_set_new(j, "pid", b->started ? json_integer(b->pid) : json_null());
    json_object_set_new(j, "workers", b->started ? jlong(b->workers) : json_null());
    json_object_set_new(j, "cpu_s", jreal(b->cpu_s, cpu));
    json_object_set_new(j, "window_s", jreal(b->window_s, cpu));
    json_object_set_new(
        j, "cpu_util",
        jreal(cpu && ncpus > 0 ? b->cpu_s / b->window_s / ncpus : 0, cpu && ncpus > 0));
    json_object_set_new(j, "cpu_us_per_request",
                        jreal(cpu && req ? b->cpu_s * 1e6 / (double)req : 0, cpu && req > 0));
    json_t *counters = result_counters(b->stderr_text);
    json_object_set_new(j, "accepted", counter(counters, "accepted"));
    json_object_set_new(j, "requests", counter(counters, "requests"));
    json_object_set_new(j, "counters", counters ? counters : json_null());
    json_object_set_new(j, "exit", b->exit_desc[0] ? json_string(b->exit_desc) : json_null());
    json_object_set_new(j, "killed", json_boolean(b->killed));
    return j;
}

static json_t *per_conn(double delta_kib, int conns, bool known)
{
    return known && conns > 0 ? json_real(delta_kib * 1024.0 / conns) : json_null();
}

static json_t *derived_json(const struct run_record *r)
{
    const struct server_result *s = &r->srv;
    const struct load_result *l = &r->load;
    json_t *d = json_object();
    int conns = r->load_done && l->conns_open_end > 0 ? l->conns_open_end : r->o->conns;
    uint64_t req = r->load_done ? l->c.requests : 0;
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    json_object_set_new(d, "rss_per_conn_bytes",
                        per_conn((double)(s->rss_steady_kib - s->rss_idle_kib), conns,
                                 s->present && s->rss_steady_kib >= 0 && s->rss_idle_kib >= 0));
    json_object_set_new(d, "vsz_per_conn_bytes",
                        per_conn((double)(s->vsz_steady_kib - s->vsz_idle_kib), conns,
                                 s->present && s->vsz_steady_kib >= 0 && s->vsz_idle_kib >= 0));
    json_object_set_new(d, "kernel_per_conn_bytes",
                        per_conn((double)(s->kernel_stack_kib_delta + s->slab_unreclaim_kib_delta +
                                          s->sock_tcp_pages_delta * page_kib),
                                 conns, s->present && s->kernel_ok));
    /* the /proc sums span ctx_window_s, a little more than the requests' window: scaled */
    bool ctx = s->present && s->ctx_voluntary >= 0 && s->ctx_involuntary >= 0 && req > 0 &&
               s->ctx_window_s > 0 && l->window_s > 0;
    double scale = ctx ? l->window_s / s->ctx_window_s : 0;
    json_object_set_new(
        d, "ctx_per_request",
        jreal((double)(s->ctx_voluntary + s->ctx_involuntary) * scale / (double)req, ctx));
    bool cpu = s->present && s->cpu_user_s >= 0 && s->cpu_sys_s >= 0 && req > 0;
    json_object_set_new(d, "cpu_us_per_request",
                        jreal((s->cpu_user_s + s->cpu_sys_s) * 1e6 / (double)req, cpu));
    /* beyond the agreed keys */
    json_object_set_new(
        d, "ctx_perf_per_request",
        jreal((double)s->ctx_perf / (double)req, s->present && s->ctx_perf >= 0 && req > 0));
    json_object_set_new(d, "per_conn_divisor", json_integer(conns));
    return d;
}

static json_t *samples_json(const struct run_record *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->nsamples; i++) {
        const struct sample *s = &r->samples[i];
        json_t *j =
            json_pack("{sf so so so ss}", "t_s", s->t_s, "rss_kib", jlong(s->rss_kib), "vsz_kib",
                      jlong(s->vsz_kib), "threads", jlong(s->threads), "phase", s->phase);
        if (r->dev_on)
            json_object_set_new(j, "device_inflight", jlong(s->device_inflight));
        json_array_append_new(a, j);
    }
    return a;
}

json_t *result_json(const struct run_record *r)
{
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    json_object_set_new(doc, "schema", json_string(RESULT_SCHEMA));
    json_object_set_new(doc, "impl", json_string(r->impl ? r->impl : "load"));
    json_object_set_new(doc, "name",
                        json_string(r->o->name ? r->o->name
                                    : r->impl  ? r->impl
                                               : "load"));
    json_object_set_new(doc, "status", json_string(r->failed ? "failed" : "ok"));
    json_object_set_new(doc, "failure", r->failed ? jtext(r->failure) : json_null());
    json_object_set_new(doc, "params", params_json(r));
    json_object_set_new(doc, "placement", placement_json(r));
    json_object_set_new(doc, "env", sysenv_json());
    json_object_set_new(doc, "client", client_json(r));
    json_object_set_new(doc, "server", server_json(r));
    json_object_set_new(doc, "backend", backend_json(r));
    json_object_set_new(doc, "derived", derived_json(r));
    json_object_set_new(doc, "capacity", cap_json(&r->cap));
    json_object_set_new(doc, "stop", result_stop_json(r));
    json_object_set_new(doc, "hosts", result_hosts_json(r));
    json_object_set_new(doc, "limits", limits_json(&r->limits));
    json_object_set_new(doc, "samples", samples_json(r));
    return doc;
}
