/* watch: the run's clock loop: liveness, samples, the stall rule, progress lines, signals. */
#include "run/watch.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "clock.h"
#include "fdio.h"

#define SAMPLE_NS 100000000ULL /* /proc every 100 ms */
#define POLL_NS   5000000ULL   /* ramp and quota ends are polled every 5 ms */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

void watch_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    stop_signal = 0;
}

void watch_signals_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int watch_stop_signal(void)
{
    return stop_signal;
}

volatile const sig_atomic_t *watch_stop_flag(void)
{
    return &stop_signal;
}

void watch_start_clock(struct run *x)
{
    x->t0_ns = clock_now_ns();
    x->next_sample_ns = x->t0_ns;
}

static void sample_server(struct run *x, uint64_t now)
{
    struct probe p;
    struct server_result *s = &x->r->srv;
    /* the device first: the /proc reads of a big tree take a while */
    long inflight = x->r->dev_on ? inflight_sample(&x->r->dev) : -1;
    node_probe(x->srv_node, x->sp, PROBE_MEM, &p);
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

static void print_progress(struct run *x, uint64_t now, uint64_t answers, uint64_t errors)
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

/* A child of the run that ended on its own fails it. -1 then. */
static int check_alive(struct run *x, struct node *n, struct spawn *sp, const char *who,
                       uint64_t now)
{
    char desc[128], line[256];
    if (!node_poll_exit(n, sp))
        return 0;
    if (n->gone[0]) {
        result_fail(x->r, "%s (the %s's host, during the %s phase)", n->gone, who, x->phase);
        return -1;
    }
    fdio_last_line(sp->err, line, sizeof line);
    if (sp == x->sp)
        result_fail(x->r, "the %s %s during the %s phase, %.1f s after it was ready%s%s", who,
                    spawn_describe(sp->status, desc, sizeof desc), x->phase,
                    (double)(now - x->t0_ns) / 1e9, line[0] ? "; its stderr: " : "", line);
    else
        result_fail(x->r, "the %s %s during the %s phase%s%s", who,
                    spawn_describe(sp->status, desc, sizeof desc), x->phase,
                    line[0] ? "; its stderr: " : "", line);
    return -1;
}

/* No answer for the plan's stall limit fails the run (not during the ramp: connections are
 * parked then). -1 then. */
static int check_answering(struct run *x, uint64_t now, uint64_t answers, uint64_t errors)
{
    if (answers != x->last_answers || x->last_change_ns == 0) {
        x->last_answers = answers;
        x->last_change_ns = now;
        return 0;
    }
    if (now - x->last_change_ns <= x->plan.stall_ns)
        return 0;
    result_fail(x->r,
                "the server stopped answering: no answer for %.1f s during the %s phase (%llu "
                "errors so far; --stall-s sets the limit)",
                (double)(now - x->last_change_ns) / 1e9, x->phase, (unsigned long long)errors);
    return -1;
}

/* Every 100 ms. -1 when the run has failed (r says why). */
static int tick(struct run *x, uint64_t now)
{
    if (x->sp) {
        if (check_alive(x, x->srv_node, x->sp, "server", now) < 0)
            return -1;
        sample_server(x, now);
    }
    if (x->bk && check_alive(x, x->bk_node, x->bk, "backend", now) < 0)
        return -1;
    if (stop_signal) {
        result_fail(x->r, "interrupted by signal %d (%s) during the %s phase", (int)stop_signal,
                    strsignal(stop_signal), x->phase);
        return -1;
    }
    char why[700];
    if (x->load && !gen_alive(x->load, why, sizeof why)) {
        result_fail(x->r, "%s (during the %s phase)", why, x->phase);
        return -1;
    }
    if (!x->load || strcmp(x->phase, "ramp") == 0)
        return 0;
    uint64_t errors;
    uint64_t answers = gen_progress(x->load, &errors);
    if (check_answering(x, now, answers, errors) < 0)
        return -1;
    if (now >= x->print_ns + 1000000000ULL && !x->o->quiet)
        print_progress(x, now, answers, errors);
    return 0;
}

/* The ramp's end came and went: the run fails, saying how far it got. */
static int ramp_timed_out(struct run *x)
{
    int open, failed;
    gen_conns(x->load, &open, &failed);
    result_fail(x->r, "the connection ramp did not finish: %d of %d connections open, %d failed",
                open, x->o->conns, failed);
    return -1;
}

int watch_until(struct run *x, const char *phase, uint64_t end_ns, enum until until)
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
        if (now >= end_ns)
            return until == UNTIL_RAMPED ? ramp_timed_out(x) : 0;
        if (now >= x->next_sample_ns) {
            if (tick(x, now) < 0)
                return -1;
            x->next_sample_ns += SAMPLE_NS;
            if (x->next_sample_ns < now)
                x->next_sample_ns = now + SAMPLE_NS;
        }
        uint64_t wake = x->next_sample_ns < end_ns ? x->next_sample_ns : end_ns;
        if (until != UNTIL_TIME && wake > now + POLL_NS)
            wake = now + POLL_NS;
        clock_sleep_until_ns(wake);
    }
}
