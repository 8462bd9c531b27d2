/* gen_host: `harness gen`, the generator of a host of a spread load: it says hello, then runs
 * its share over this host's own CPUs and fd limit (the orchestrator knows neither). */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "hosts/hello.h"
#include "load/gen.h"
#include "load/gen_int.h"
#include "load/wire.h"
#include "plan/fdplan.h"
#include "plan/machine.h"

/* This host's part: its CPUs, one loop each over its processes unless the run gave a loop
 * count; as many processes as its connections need of the fd limit, raised first. */
static int replan(struct wire_opts *w, char *err, size_t errlen)
{
    struct load_opts *o = &w->o;
    cpu_set_t set;
    int ncpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        ncpu = CPU_COUNT(&set);
    if (ncpu < 1)
        ncpu = 1;
    long hard, nofile = machine_raise_nofile(&hard);
    int procs = w->procs > 0 ? w->procs : 1;
    struct fdplan plan;
    char why[512];
    for (;;) {
        int threads = o->threads > 0 ? o->threads : (ncpu + procs - 1) / procs;
        struct fdplan_req rq = {
            .conns = o->conns, .procs = procs, .threads = threads, .nofile = nofile};
        if (fdplan_check(&rq, &plan, why, sizeof why) == 0) {
            int per = o->conns / procs > 0 ? o->conns / procs : 1; /* no loop without a conn */
            o->threads = threads < per ? threads : per;
            break;
        }
        if (w->procs > 0 || procs >= FDPLAN_MAX_PROCS) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        procs++;
    }
    w->procs = procs;
    o->cpus = set;
    o->pin = true;
    o->first_loop = 0;
    return 0;
}

int gen_remote_main(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN); /* the orchestrator's ^C is its own: it stops us */
    if (hello_send(1, clock_now_ms() + 10000) < 0)
        return 1;
    return gen_child_main(0, 1, gen_start, replan);
}
