/* run: the state of one run while it goes, shared by the stages of run/ (runner.c steps through
 * them; launch, watch, window and capacity_run act on it). */
#ifndef TVT_RUN_H
#define TVT_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "load/gen.h"
#include "observe/cpustat.h"
#include "observe/perfcs.h"
#include "observe/probe.h"
#include "plan/cli.h"
#include "plan/hosts_plan.h"
#include "plan/plan.h"
#include "record/result.h"
#include "run/node.h"
#include "run/spawn.h"

struct run {
    const struct cli_opts *o;
    struct run_record *r;
    struct run_plan plan;
    struct spawn *sp; /* the server; NULL for `harness load` */
    struct spawn *bk; /* the backend of run --io net, when the harness starts it; else NULL */
    struct node *srv_node, *bk_node; /* where each runs and is measured (node_local here) */
    bool clients_remote;             /* the generators run on other hosts: their CPU sets are
                                        not this machine's */
    /* a run across hosts (hosts_run.c) */
    struct hosts_plan hp;
    struct gen_share shares[HOSTS_MAX];
    char srv_env[GEN_ENV_MAX], bk_env[GEN_ENV_MAX]; /* the environments of their hosts */
    struct gen *load;
    /* the watch loop (watch.c) */
    uint64_t t0_ns; /* samples are timed from here */
    uint64_t next_sample_ns;
    uint64_t phase_ns, print_ns; /* start of the phase, last progress line */
    uint64_t last_answers, last_change_ns, print_answers;
    const char *phase;
    /* the measured window (window.c) */
    bool measuring, window_closed;
    struct probe idle;                   /* the server idle, before the connections */
    struct probe start, ctx_start;       /* the server at the window's start */
    struct probe bk_start;               /* the backend's CPU at the window's start */
    struct cpustat cs_server, cs_client; /* /proc/stat of both CPU sets at the window's start */
};

#endif
