/* window: the measured window's readings at its edges and the figures they give. */
#include "run/window.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "plan/machine.h"

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The median over the measured window's samples: "steady", robust to one odd reading. */
static long window_median(const struct run_record *r, bool vsz)
{
    long *v = malloc((size_t)(r->nsamples > 0 ? r->nsamples : 1) * sizeof *v);
    int n = 0;
    if (!v)
        return -1;
    for (int i = 0; i < r->nsamples; i++)
        if (strcmp(r->samples[i].phase, "measure") == 0)
            v[n++] = vsz ? r->samples[i].vsz_kib : r->samples[i].rss_kib;
    long m = -1;
    if (n > 0) {
        qsort(v, (size_t)n, sizeof *v, cmp_long);
        m = v[n / 2];
    }
    free(v);
    return m;
}

void window_baseline(struct run *x)
{
    node_probe(x->srv_node, x->sp, PROBE_MEM | PROBE_SYS, &x->idle);
    if (!x->idle.mem_ok)
        return;
    struct server_result *s = &x->r->srv;
    s->rss_idle_kib = x->idle.mem.rss_kib;
    s->vsz_idle_kib = x->idle.mem.vsz_kib;
    s->threads_idle = x->idle.mem.threads;
}

void window_open(struct run *x)
{
    struct run_record *r = x->r;
    if (x->sp) {
        /* the switches summed over every thread are slow with many threads: outside the
           fast readings, so that those sit right at the edge */
        node_probe(x->srv_node, x->sp, PROBE_CTX, &x->ctx_start);
        node_probe(x->srv_node, x->sp, PROBE_CPU | PROBE_PERF, &x->start);
    }
    if (x->bk)
        node_probe(x->bk_node, x->bk, PROBE_CPU, &x->bk_start);
    if (!x->clients_remote)
        cpustat_read(&r->place.client, &x->cs_client);
    node_cpustat(x->srv_node, &r->place.server, &x->cs_server);
    inflight_window_begin(&r->dev, clock_now_ns());
    x->measuring = true;
}

/* a, b: fast readings (CPU, perf) right at the window's edges; ca, cb: the switches, taken
 * just outside them (their own window, ctx_window_s, is a little longer) */
static void fill_window(struct run *x, const struct probe *a, const struct probe *b,
                        const struct probe *ca, const struct probe *cb)
{
    struct server_result *s = &x->r->srv;
    if (ca->ctx_ok && cb->ctx_ok) {
        s->ctx_voluntary = cb->ctx_vol - ca->ctx_vol;
        s->ctx_involuntary = cb->ctx_invol - ca->ctx_invol;
        /* threads that ended inside the window take their counts with them */
        if (s->ctx_voluntary < 0)
            s->ctx_voluntary = 0;
        if (s->ctx_involuntary < 0)
            s->ctx_involuntary = 0;
        s->ctx_window_s = (double)(probe_mid_ns(cb) - probe_mid_ns(ca)) / 1e9;
    }
    if (a->perf_cs >= 0 && b->perf_cs >= 0)
        s->ctx_perf = b->perf_cs - a->perf_cs;
    if (a->cpu_ok && b->cpu_ok) {
        s->cpu_user_s = b->cpu_user_s - a->cpu_user_s;
        s->cpu_sys_s = b->cpu_sys_s - a->cpu_sys_s;
    }
    s->window_s = (double)(probe_mid_ns(b) - probe_mid_ns(a)) / 1e9;
}

static void fill_steady(struct run *x, const struct probe *st)
{
    struct server_result *s = &x->r->srv;
    const struct probe *idle = &x->idle;
    s->rss_steady_kib = window_median(x->r, false);
    s->vsz_steady_kib = window_median(x->r, true);
    if (st->mem_ok) {
        if (s->rss_steady_kib < 0)
            s->rss_steady_kib = st->mem.rss_kib;
        if (s->vsz_steady_kib < 0)
            s->vsz_steady_kib = st->mem.vsz_kib;
        if (st->mem.hwm_kib > s->rss_peak_kib)
            s->rss_peak_kib = st->mem.hwm_kib;
        if (st->mem.threads > s->threads_peak)
            s->threads_peak = st->mem.threads;
    }
    if (st->pss_kib >= 0)
        s->pss_steady_kib = st->pss_kib;
    if (idle->sys_ok && idle->sock_ok && st->sys_ok && st->sock_ok) {
        s->kernel_ok = true;
        s->kernel_stack_kib_delta = st->sys.kernel_stack_kib - idle->sys.kernel_stack_kib;
        s->slab_unreclaim_kib_delta = st->sys.sunreclaim_kib - idle->sys.sunreclaim_kib;
        s->sock_tcp_pages_delta = st->tcp_pages - idle->tcp_pages;
    }
}

/* The backend's CPU over the window. */
static void close_backend(struct run *x)
{
    struct probe b;
    struct backend_result *bk = &x->r->bk;
    node_probe(x->bk_node, x->bk, PROBE_CPU, &b);
    if (x->bk_start.cpu_ok && b.cpu_ok) {
        bk->cpu_s = b.cpu_user_s + b.cpu_sys_s - x->bk_start.cpu_user_s - x->bk_start.cpu_sys_s;
        bk->window_s = (double)(probe_mid_ns(&b) - probe_mid_ns(&x->bk_start)) / 1e9;
    }
}

void window_close(struct run *x)
{
    if (!x->measuring || x->window_closed)
        return;
    x->window_closed = true;
    struct cpustat c, s;
    if (!x->clients_remote)
        cpustat_read(&x->r->place.client, &c);
    else
        c.ok = false;
    node_cpustat(x->srv_node, &x->r->place.server, &s);
    x->r->sat.client_cpus_busy = cpustat_busy(&x->cs_client, &c);
    x->r->sat.server_cpus_busy = cpustat_busy(&x->cs_server, &s);
    if (!x->sp)
        return;
    struct probe end, ctx_end, steady;
    node_probe(x->srv_node, x->sp, PROBE_CPU | PROBE_PERF, &end);
    node_probe(x->srv_node, x->sp, PROBE_CTX, &ctx_end);
    fill_window(x, &x->start, &end, &x->ctx_start, &ctx_end);
    inflight_window_end(&x->r->dev, clock_now_ns());
    if (x->bk)
        close_backend(x);
    node_probe(x->srv_node, x->sp, PROBE_MEM | PROBE_SYS | PROBE_PSS, &steady);
    fill_steady(x, &steady);
}

/* saturated: the busiest generator loop used > 90% of a core, or the loops > 90% of
 * min(loops, generator CPUs); and when a backend the harness started shares the generator's
 * CPUs, (generator CPU + backend CPU) per second of the window > 90% of the CPUs of both
 * sets together. r->sat keeps the figures. */
void window_saturation(struct run_record *r, const struct load_opts *lo, int host_cpus,
                       int host_loops)
{
    const struct load_result *l = &r->load;
    const struct backend_result *b = &r->bk;
    struct saturation *s = &r->sat;
    int cores = host_cpus > 0 ? host_cpus : lo->pin ? CPU_COUNT(&lo->cpus) : machine_cpu_count();
    s->loops = host_cpus > 0 ? host_loops : r->threads * r->o->procs;
    int usable = s->loops < cores ? s->loops : cores;
    double gen = l->window_s > 0 ? l->cpu_s / l->window_s : 0;
    s->cpus = usable;
    s->busy = usable > 0 ? gen / usable : 0;
    s->backend_cpu = -1;
    r->saturated = l->cpu_max_thread > 0.9 || gen > 0.9 * usable;
    if (!(b->started && b->shares_client_cpus && b->cpu_s >= 0 && b->window_s > 0))
        return;
    const struct placement *p = &r->place;
    cpu_set_t both;
    CPU_ZERO(&both);
    for (int i = 0; i < p->client.n; i++)
        CPU_SET(p->client.cpu[i], &both);
    for (int i = 0; i < p->backend.n; i++)
        CPU_SET(p->backend.cpu[i], &both);
    int n = p->client.n > 0 && p->backend.n > 0 ? CPU_COUNT(&both) : machine_cpu_count();
    s->backend_cpu = b->cpu_s / b->window_s;
    s->cpus = n;
    s->busy = (gen + s->backend_cpu) / n;
    if (s->busy > 0.9)
        r->saturated = true;
}
