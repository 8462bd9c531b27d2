/* runner: one run from start to end: spawn and watch the server, drive the load, collect. */
#include "run/runner.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run/capacity.h"
#include "client_http.h"
#include "clock.h"
#include "fdio.h"
#include "load/gen.h"
#include "plan/machine.h"
#include "observe/perfcs.h"
#include "plan/place_opts.h"
#include "plan/placement.h"
#include "observe/probe.h"
#include "run/runner_int.h"
#include "run/spawn.h"
#include "load/target.h"
#include "workload.h"

#define SAMPLE_NS    100000000ULL /* /proc every 100 ms */
#define STOP_WAIT_MS 5000         /* SIGTERM, then this long before SIGKILL */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void sample_server(struct runner *x, uint64_t now)
{
    struct probe p;
    struct server_result *s = &x->r->srv;
    /* the device first: the /proc reads of a big tree take a while */
    long inflight = x->r->dev_on ? inflight_sample(&x->r->dev) : -1;
    probe_read(x->sp->pid, NULL, PROBE_MEM, &p);
    if (!p.mem_ok)
        return;
    struct sample smp = {(double)(now - x->t0_ns) / 1e9,
                         p.mem.rss_kib,
                         p.mem.vsz_kib,
                         p.mem.threads,
                         inflight,
                         x->phase};
    result_add_sample(x->r, &smp);
    if (p.mem.threads > s->threads_peak)
        s->threads_peak = p.mem.threads;
    if (p.mem.hwm_kib > s->rss_peak_kib)
        s->rss_peak_kib = p.mem.hwm_kib;
    if (p.nprocs > s->procs_peak)
        s->procs_peak = p.nprocs;
}

static void print_progress(struct runner *x, uint64_t now, uint64_t answers, uint64_t errors)
{
    double dt = (double)(now - x->print_ns) / 1e9;
    int open = 0, failed = 0;
    gen_conns(x->load, &open, &failed);
    printf("  %-7s %5.1f s  %9.0f answers/s  %llu errors  %d/%d conns open", x->phase,
           (double)(now - x->phase_ns) / 1e9,
           dt > 0 ? (double)(answers - x->print_answers) / dt : 0, (unsigned long long)errors, open,
           x->o->conns);
    if (failed)
        printf(" (%d failed)", failed);
    if (x->r->nsamples > 0 && x->sp) {
        const struct sample *s = &x->r->samples[x->r->nsamples - 1];
        printf("  server %.1f MiB RSS, %ld threads", (double)s->rss_kib / 1024, s->threads);
    }
    printf("\n");
    fflush(stdout);
    x->print_answers = answers;
    x->print_ns = now;
}

/* Every 100 ms: is the server alive, what does it hold, is it still answering. -1 when the
 * run has failed (r says why). */
static int tick(struct runner *x, uint64_t now)
{
    char desc[128], line[256];
    if (x->sp) {
        spawn_drain(x->sp);
        if (spawn_poll_exit(x->sp)) {
            fdio_last_line(x->sp->err, line, sizeof line);
            result_fail(x->r, "the server %s during the %s phase, %.1f s after it was ready%s%s",
                        spawn_describe(x->sp->status, desc, sizeof desc), x->phase,
                        (double)(now - x->t0_ns) / 1e9, line[0] ? "; its stderr: " : "", line);
            return -1;
        }
        sample_server(x, now);
    }
    if (x->bk) {
        spawn_drain(x->bk);
        if (spawn_poll_exit(x->bk)) {
            fdio_last_line(x->bk->err, line, sizeof line);
            result_fail(x->r, "the backend %s during the %s phase%s%s",
                        spawn_describe(x->bk->status, desc, sizeof desc), x->phase,
                        line[0] ? "; its stderr: " : "", line);
            return -1;
        }
    }
    if (stop_signal) {
        result_fail(x->r, "interrupted by signal %d (%s) during the %s phase", (int)stop_signal,
                    strsignal(stop_signal), x->phase);
        return -1;
    }
    if (!x->load || strcmp(x->phase, "ramp") == 0)
        return 0;
    uint64_t errors;
    uint64_t answers = gen_progress(x->load, &errors);
    if (answers != x->last_answers || x->last_change_ns == 0) {
        x->last_answers = answers;
        x->last_change_ns = now;
    } else if (now - x->last_change_ns > x->stall_ns) {
        result_fail(x->r,
                    "the server stopped answering: no answer for %.1f s during the %s phase "
                    "(%llu errors so far; --stall-s sets the limit)",
                    (double)(now - x->last_change_ns) / 1e9, x->phase, (unsigned long long)errors);
        return -1;
    }
    if (now >= x->print_ns + 1000000000ULL && !x->o->quiet)
        print_progress(x, now, answers, errors);
    return 0;
}

/* Watches the run until `until` (a time, the end of the ramp, the request quota). 0 ok,
 * -1 failed. */
int runner_watch(struct runner *x, const char *phase, uint64_t end_ns, enum until until)
{
    x->phase = phase;
    x->phase_ns = x->print_ns = clock_now_ns();
    if (x->load)
        x->print_answers = gen_progress(x->load, NULL);
    for (;;) {
        uint64_t now = clock_now_ns();
        if (until == UNTIL_RAMPED && gen_ramped(x->load))
            return 0;
        if (until == UNTIL_QUOTA && gen_quota_done(x->load))
            return 0;
        if (now >= end_ns) {
            if (until == UNTIL_RAMPED) {
                int open, failed;
                gen_conns(x->load, &open, &failed);
                result_fail(x->r,
                            "the connection ramp did not finish: %d of %d connections "
                            "open, %d failed",
                            open, x->o->conns, failed);
                return -1;
            }
            return 0;
        }
        if (now >= x->next_sample_ns) {
            if (tick(x, now) < 0)
                return -1;
            x->next_sample_ns += SAMPLE_NS;
            if (x->next_sample_ns < now)
                x->next_sample_ns = now + SAMPLE_NS;
        }
        uint64_t wake = x->next_sample_ns < end_ns ? x->next_sample_ns : end_ns;
        if (until != UNTIL_TIME && wake > now + 5000000ULL)
            wake = now + 5000000ULL; /* ramp and quota ends are polled every 5 ms */
        clock_sleep_until_ns(wake);
    }
}

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

/* The target of a spawned server: its `listening on` line, unless --target was given. */
static int server_target(struct runner *x, struct load_opts *lo, char *host, size_t hostlen)
{
    char spec[192], err[512];
    const char *h = x->sp->host;
    if (strcmp(h, "0.0.0.0") == 0 || h[0] == '\0')
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0)
        h = "::1";
    if (strchr(h, ':') && h[0] != '[')
        snprintf(spec, sizeof spec, "[%s]:%d", h, x->sp->port);
    else
        snprintf(spec, sizeof spec, "%s:%d", h, x->sp->port);
    if (target_resolve(spec, x->o->allow_remote, &lo->target, &lo->target_len, host, hostlen, err,
                       sizeof err) < 0) {
        result_fail(x->r, "the server listens on %s: %s", spec, err);
        return -1;
    }
    return 0;
}

static void collect_server_exit(struct runner *x)
{
    struct server_result *s = &x->r->srv;
    struct spawn *sp = x->sp;
    bool was_running = !sp->exited;
    spawn_stop(sp, SIGTERM, STOP_WAIT_MS);
    if (!sp->exited)
        return;
    s->killed = sp->killed;
    spawn_describe(sp->status, s->exit_desc, sizeof s->exit_desc);
    s->lifetime_ok = true;
    s->maxrss_kib = sp->ru.ru_maxrss;
    s->nvcsw = sp->ru.ru_nvcsw;
    s->nivcsw = sp->ru.ru_nivcsw;
    if (!was_running)
        return;
    if (sp->killed)
        result_fail(x->r, "the server did not exit within %d ms of SIGTERM (killed)", STOP_WAIT_MS);
    else if (!(WIFEXITED(sp->status) && WEXITSTATUS(sp->status) == 0) &&
             !(WIFSIGNALED(sp->status) && WTERMSIG(sp->status) == SIGTERM))
        result_fail(x->r, "the server %s after SIGTERM (expected status 0)", s->exit_desc);
}

uint64_t runner_mid_ns(const struct probe *p)
{
    return p->t_ns + (p->t_end_ns - p->t_ns) / 2;
}

/* a, b: fast readings (CPU, perf) right at the window's edges; ca, cb: the switches summed
 * over every thread, slow with many threads, so taken just outside the edges (their own
 * window, ctx_window_s, is a little longer) */
static void fill_window(struct runner *x, const struct probe *a, const struct probe *b,
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
        s->ctx_window_s = (double)(runner_mid_ns(cb) - runner_mid_ns(ca)) / 1e9;
    }
    if (a->perf_cs >= 0 && b->perf_cs >= 0)
        s->ctx_perf = b->perf_cs - a->perf_cs;
    if (a->cpu_ok && b->cpu_ok) {
        s->cpu_user_s = b->cpu_user_s - a->cpu_user_s;
        s->cpu_sys_s = b->cpu_sys_s - a->cpu_sys_s;
    }
    s->window_s = (double)(runner_mid_ns(b) - runner_mid_ns(a)) / 1e9;
}

static void fill_steady(struct runner *x, const struct probe *idle, const struct probe *st)
{
    struct server_result *s = &x->r->srv;
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

/* saturated: the busiest generator loop used > 90% of a core, or the loops > 90% of
 * min(loops, generator CPUs); and when a backend the harness started shares the generator's
 * CPUs, (generator CPU + backend CPU) per second of the window > 90% of the CPUs of both
 * sets together. r->sat keeps the figures. */
static void set_saturation(struct run_record *r, const struct load_opts *lo)
{
    const struct load_result *l = &r->load;
    const struct backend_result *b = &r->bk;
    struct saturation *s = &r->sat;
    int cores = lo->pin ? CPU_COUNT(&lo->cpus) : machine_cpu_count();
    s->loops = r->threads * r->o->procs;
    int usable = s->loops < cores ? s->loops : cores;
    double gen = l->window_s > 0 ? l->cpu_s / l->window_s : 0;
    s->cpus = usable;
    s->busy = usable > 0 ? gen / usable : 0;
    s->backend_cpu = -1;
    r->saturated = l->cpu_max_thread > 0.9 || gen > 0.9 * usable;
    if (b->started && b->shares_client_cpus && b->cpu_s >= 0 && b->window_s > 0) {
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
}

static int prepare_load(struct runner *x, struct load_opts *lo, const char *host, char *err,
                        size_t errlen)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    lo->conns = o->conns;
    lo->threads = r->threads;
    lo->rate = o->rate;
    lo->think_ms = o->think_ms;
    lo->connect_rate = o->connect_rate;
    lo->connect_retries = o->connect_retries;
    lo->timeout_ms = o->timeout_ms;
    lo->connect_timeout_ms = o->connect_timeout_ms;
    lo->requests = o->requests;
    lo->expect_bytes = o->body_check ? o->bytes : -1;
    /* io= and file_kib= only when asked for: a server that predates the wait kinds (or a
       contestant that does not have them) keeps answering the plain timer requests */
    struct chttp_query q = {
        o->wait_us,
        o->work_us,
        o->bytes,
        o->io_set ? workload_io_name(o->io) : NULL,
        o->file_kib >= 0   ? o->file_kib
        : o->io == IO_FILE ? (long)FILE_KIB_DEFAULT
                           : -1,
    };
    lo->request_len = chttp_format_request_q(lo->request, sizeof lo->request, host, o->path, &q);
    if (lo->request_len < 0) {
        snprintf(err, errlen, "the request for --path '%s' does not fit in %zu bytes", o->path,
                 sizeof lo->request);
        return 2;
    }
    bool v4 = target_is_ipv4((const struct sockaddr *)&lo->target);
    if (o->source_ips > 0) {
        if (!v4 || !target_is_loopback((const struct sockaddr *)&lo->target)) {
            snprintf(err, errlen, "--source-ips needs an IPv4 loopback target");
            return 2;
        }
        lo->source_ips = o->source_ips;
    } else if (v4 && target_is_loopback((const struct sockaddr *)&lo->target)) {
        /* Use at most 40% of each address's ephemeral ports: connect() tries
         * even ports first, so past about half the range every connect scans
         * the taken ones and the ramp slows to a crawl (seen at 14k per
         * address); the rest is spare for TIME_WAIT and other users. */
        int per_ip = machine_port_range() * 2 / 5;
        int need = (o->conns + per_ip - 1) / (per_ip > 0 ? per_ip : 1);
        lo->source_ips = need > 1 ? (need < 254 ? need : 254) : 0;
    }
    r->source_ips = lo->source_ips;
    CPU_ZERO(&lo->cpus);
    for (int i = 0; i < r->place.client.n; i++)
        CPU_SET(r->place.client.cpu[i], &lo->cpus);
    lo->pin = r->place.client.n > 0;
    lo->first_loop = 0;
    return 0;
}

/* The measured window has just ended: the server's CPU, switches and perf count over it, and
 * its memory with the connections still open ("at steady state"). */
static void close_window(struct runner *x, const struct probe *idle, const struct probe *start,
                         const struct probe *ctx_start)
{
    struct probe end, ctx_end, steady;
    pid_t pid = x->sp->pid;
    probe_read(pid, x->perf, PROBE_CPU | PROBE_PERF, &end);
    probe_read(pid, NULL, PROBE_CTX, &ctx_end);
    fill_window(x, start, &end, ctx_start, &ctx_end);
    inflight_window_end(&x->r->dev, clock_now_ns());
    if (x->bk) {
        struct probe b;
        struct backend_result *bk = &x->r->bk;
        probe_read(x->bk->pid, NULL, PROBE_CPU, &b);
        if (x->bk_start.cpu_ok && b.cpu_ok) {
            bk->cpu_s = b.cpu_user_s + b.cpu_sys_s - x->bk_start.cpu_user_s - x->bk_start.cpu_sys_s;
            bk->window_s = (double)(runner_mid_ns(&b) - runner_mid_ns(&x->bk_start)) / 1e9;
        }
    }
    probe_read(pid, x->perf, PROBE_MEM | PROBE_SYS | PROBE_PSS, &steady);
    fill_steady(x, idle, &steady);
}

/* The window's end for both CPU sets (/proc/stat). */
static void close_cpu_window(struct runner *x)
{
    struct cpustat c, s;
    cpustat_read(&x->r->place.client, &c);
    cpustat_read(&x->r->place.server, &s);
    x->r->sat.client_cpus_busy = cpustat_busy(&x->cs_client, &c);
    x->r->sat.server_cpus_busy = cpustat_busy(&x->cs_server, &s);
}

/* A run that failed before measuring says what the connections ran into. */
static void append_first_errors(struct run_record *r)
{
    size_t n = strlen(r->failure);
    for (int k = 0; k < LOAD_ERR_N && n < sizeof r->failure; k++) {
        if (!r->load.first_error[k][0])
            continue;
        n += (size_t)snprintf(r->failure + n, sizeof r->failure - n, "; first %s error: %s",
                              load_err_name(k), r->load.first_error[k]);
    }
}

int runner_run(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen)
{
    struct runner x = {.o = o, .r = r};
    struct spawn *sp = NULL;
    struct load_opts lo;
    struct probe idle, start, ctx_start;
    char host[192] = "", srv_list[256], cli_list[256];
    char why[600];
    bool measuring = false, window_closed = false;
    int rc, open = 0, failed = 0;
    double ramp_cap_s;

    result_init(r, o);
    memset(&lo, 0, sizeof lo);
    memset(&idle, 0, sizeof idle);
    r->nofile_soft = machine_raise_nofile(&r->nofile_hard);
    r->impl = o->impl ? o->impl : o->server_cmd ? (o->name ? o->name : "custom") : NULL;
    r->stack_kib = o->cmd == CLI_RUN ? launch_flag_from_args(o, "--stack-kib", o->stack_kib) : -1;
    r->workers =
        o->impl ? launch_flag_from_args(o, "--workers", o->workers >= 0 ? o->workers : 1) : -1;

    /* where to pin: decided before this process pins itself, so both see every CPU */
    if (place_from_opts(o, r, err, errlen) < 0)
        return 2;
    if (o->capacity) {
        r->cap.slo_ms = o->slo_ms > 0 ? o->slo_ms
                                      : cap_default_slo_ms(o->wait_us, o->work_us, r->cap.slo_rule,
                                                           sizeof r->cap.slo_rule);
        if (o->slo_ms > 0)
            snprintf(r->cap.slo_rule, sizeof r->cap.slo_rule, "--slo-ms %g", o->slo_ms);
        r->cap.server_k = r->place.server.n > 0 ? r->place.server.n : machine_cpu_count();
        r->cap.conns = o->conns;
    }
    if (o->target && target_resolve(o->target, o->allow_remote, &lo.target, &lo.target_len, host,
                                    sizeof host, err, errlen) < 0)
        return 2;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    stop_signal = 0;

    /* the fds, the data file (a GiB takes seconds: before the server starts), the backend */
    if (waitkind_prepare(&x, &stop_signal, err, errlen) < 0) {
        result_free(r);
        return 2;
    }

    x.stall_ns = (uint64_t)((o->stall_s > 0 ? o->stall_s
                                            : 5.0 + o->think_ms / 1000.0 +
                                                  (o->rate > 0 ? o->conns / o->rate : 0) +
                                                  o->wait_us / 1e6 + o->work_us / 1e6) *
                            1e9);
    x.t0_ns = clock_now_ns();
    x.next_sample_ns = x.t0_ns;
    x.phase = "idle";

    if (o->cmd == CLI_RUN) {
        sp = calloc(1, sizeof *sp);
        if (!sp) {
            snprintf(err, errlen, "out of memory");
            return 1;
        }
        x.sp = sp;
        sp->pid = -1;
        sp->out_fd = sp->err_fd = -1;
        if (r->bk.on && !o->upstream) {
            x.bk = calloc(1, sizeof *x.bk);
            if (!x.bk) {
                result_fail(r, "out of memory");
                goto finish;
            }
            x.bk->pid = -1;
            x.bk->out_fd = x.bk->err_fd = -1;
            if (launch_backend(&x) < 0)
                goto finish;
        }
        if (launch_server(&x) < 0)
            goto finish;
        if (spawn_wait_ready(sp, o->ready_timeout_ms,
                             o->target ? (const struct sockaddr *)&lo.target : NULL, lo.target_len,
                             why, sizeof why) < 0) {
            result_fail(r, "%s", why);
            goto finish;
        }
        if (!o->target && server_target(&x, &lo, host, sizeof host) < 0)
            goto finish;
        pid_t tree[PROBE_TREE_MAX];
        int ntree = probe_tree(sp->pid, tree, PROBE_TREE_MAX);
        x.perf = perfcs_open(tree, ntree, r->srv.ctx_perf_note, sizeof r->srv.ctx_perf_note);
        x.t0_ns = clock_now_ns();
        x.next_sample_ns = x.t0_ns;
        if (runner_watch(&x, "idle", x.t0_ns + (uint64_t)(o->idle_s * 1e9), UNTIL_TIME) < 0)
            goto finish;
        probe_read(sp->pid, x.perf, PROBE_MEM | PROBE_SYS, &idle);
        if (idle.mem_ok) {
            r->srv.rss_idle_kib = idle.mem.rss_kib;
            r->srv.vsz_idle_kib = idle.mem.vsz_kib;
            r->srv.threads_idle = idle.mem.threads;
        }
    }
    snprintf(r->target, sizeof r->target, "%s", host);

    rc = prepare_load(&x, &lo, host, err, errlen);
    if (rc == 2) {
        result_free(r);
        if (sp) {
            spawn_cleanup(sp);
            free(sp);
        }
        if (x.bk) {
            spawn_cleanup(x.bk);
            free(x.bk);
        }
        perfcs_close(x.perf);
        return 2;
    }
    if (r->client_cpu >= 0)
        sched_setaffinity(0, sizeof lo.cpus, &lo.cpus); /* this thread too: off the server's CPU */

    x.load = gen_start(&lo, o->procs, why, sizeof why);
    if (!x.load) {
        result_fail(r, "cannot start the load: %s", why);
        goto finish;
    }
    if (!o->quiet) {
        const struct placement *p = &r->place;
        printf("%s %s: %d connections, %d thread%s", o->cmd == CLI_RUN ? r->impl : "load",
               r->target, o->conns, r->threads, r->threads == 1 ? "" : "s");
        if (o->procs > 1)
            printf(" x %d processes", o->procs);
        printf(", %s loop", o->capacity   ? "closed then open (capacity)"
                            : o->rate > 0 ? "open"
                                          : "closed");
        if (o->cmd == CLI_RUN)
            printf("; server on CPU%s %s", p->server.n == 1 ? "" : "s",
                   p->server.n ? place_format(&p->server, srv_list, sizeof srv_list) : "any");
        printf("; generator on CPU%s %s%s%s%s\n", p->client.n == 1 ? "" : "s",
               p->client.n ? place_format(&p->client, cli_list, sizeof cli_list) : "any",
               p->overlap ? " (overlapping the server's)" : "", r->cpu_note[0] ? "; " : "",
               r->cpu_note);
        fflush(stdout);
    }
    ramp_cap_s = (o->connect_rate > 0 ? o->conns / o->connect_rate : 0) +
                 (o->connect_retries + 1) * (o->connect_timeout_ms / 1000.0 + 1.0) + 10.0;
    if (runner_watch(&x, "ramp", clock_now_ns() + (uint64_t)(ramp_cap_s * 1e9), UNTIL_RAMPED) < 0)
        goto finish;
    gen_conns(x.load, &open, &failed);
    if (open == 0) {
        result_fail(r,
                    "none of the %d connections could be opened (%d failed; see "
                    "client.first_errors)",
                    o->conns, failed);
        goto finish;
    }
    gen_start_traffic(x.load);
    if (runner_watch(&x, "warmup", clock_now_ns() + (uint64_t)(o->warmup_s * 1e9), UNTIL_TIME) < 0)
        goto finish;
    if (sp) {
        probe_read(sp->pid, NULL, PROBE_CTX, &ctx_start);
        probe_read(sp->pid, x.perf, PROBE_CPU | PROBE_PERF, &start);
    }
    if (x.bk)
        probe_read(x.bk->pid, NULL, PROBE_CPU, &x.bk_start);
    cpustat_read(&r->place.client, &x.cs_client);
    cpustat_read(&r->place.server, &x.cs_server);
    inflight_window_begin(&r->dev, clock_now_ns());
    gen_begin_measure(x.load);
    measuring = true;
    if (o->requests)
        runner_watch(&x, "measure", UINT64_MAX, UNTIL_QUOTA);
    else
        runner_watch(&x, "measure", clock_now_ns() + (uint64_t)(o->duration_s * 1e9), UNTIL_TIME);
    if (o->capacity && !r->failed) {
        /* the closed-loop phase is the run's window; the steps come after it */
        gen_end_measure(x.load);
        close_cpu_window(&x);
        close_window(&x, &idle, &start, &ctx_start);
        window_closed = true;
        capacity_run(&x);
    }

finish:
    if (x.load) {
        gen_end_measure(x.load);
        if (measuring && !window_closed)
            close_cpu_window(&x);
        if (measuring && sp && !window_closed)
            close_window(&x, &idle, &start, &ctx_start);
        int stop_rc = gen_stop(x.load, &r->load, why, sizeof why);
        x.load = NULL;
        if (r->load.latency)
            r->load_done = true;
        if (stop_rc < 0)
            result_fail(r, "%s", why);
        if (r->load_done)
            set_saturation(r, &lo);
        if (r->load_done && r->failed && !measuring)
            append_first_errors(r);
        if (r->load_done && measuring && r->load.c.requests == 0) {
            uint64_t errs = 0;
            for (int k = 0; k < LOAD_ERR_N; k++)
                errs += r->load.c.errors[k];
            result_fail(r,
                        "no request succeeded in the measured window (%llu errors; see "
                        "client.errors and client.first_errors)",
                        (unsigned long long)errs);
        }
    }
    if (o->capacity && !r->cap.on) {
        /* the run ended before the curve began: an empty one that says so */
        cap_plan(&r->cap, 0, o->steps, o->step_min_s, o->step_min_requests);
        snprintf(r->cap.note, sizeof r->cap.note,
                 "the run ended before the curve began (see failure): no steps");
    }
    perfcs_close(x.perf);
    x.perf = NULL;
    if (sp) {
        if (sp->pid > 0)
            collect_server_exit(&x);
        spawn_cleanup(sp);
    }
    if (sp) {
        r->srv.stderr_text = sp->err_len ? strdup(sp->err) : NULL;
        free(sp);
    }
    /* after the server: its last answers may still wait on it */
    if (x.bk) {
        launch_backend_stop(&x, STOP_WAIT_MS);
        free(x.bk);
        x.bk = NULL;
    }
    r->dev.window_on = false;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return r->failed ? 1 : 0;
}
