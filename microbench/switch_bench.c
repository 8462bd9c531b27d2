/* switch_bench: ns per switch between tasks (libev) and between threads, ring of K units.
 *
 * JSON written by --json FILE (schema; microbench/SCHEMA.md has all files):
 *   bench      "switch"
 *   params     {mechanisms:[..], rings:[K..], iters, warmup, pin_cpu (int, or null =
 *               unpinned)}
 *   env        sysenv_json()
 *   results[]  one per (mechanism, ring): {mechanism, unit ("task"|"thread"), ring, iters,
 *               warmup, hops_counted (passes the units counted, = warmup + iters),
 *               elapsed_ns (measured window), ns_per_hop, baseline_ns_per_hop (one thread,
 *               same calls, no switch), ns_per_switch (= ns_per_hop - baseline_ns_per_hop),
 *               nvcsw, nivcsw (getrusage deltas over the window, whole process),
 *               switches_per_hop ((nvcsw + nivcsw) / iters), verified (the passes happened,
 *               and for threads at least one kernel switch per two hops), created,
 *               torn_down, ok, error (null or text)}
 *   ok         every result ok
 */
#include "jsonfile.h"
#include "mbutil.h"
#include "switch.h"
#include "sysenv.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RINGS 8

static const char *mech_names[SW_NMECH] = {"thread-pipe", "thread-cond", "task-io", "task-feed",
                                           "task-async"};

struct opts {
    int mech_on[SW_NMECH];
    uint64_t rings[MAX_RINGS];
    int nrings;
    uint64_t iters, warmup;
    int warmup_set;
    int pin_cpu; /* -1 = unpinned */
    const char *json_path;
};

static int is_thread(enum switch_mech m)
{
    return m == SW_THREAD_PIPE || m == SW_THREAD_COND;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: switch_bench [--mech LIST | --kind task|thread] [options]\n"
            "Passes a token around a ring of K units and reports ns per switch, minus a\n"
            "one-thread baseline that makes the same calls without switching.\n"
            "  --mech LIST    comma list of: thread-pipe  threads, read()/write() on pipes\n"
            "                                thread-cond  threads, condition variables (futex)\n"
            "                                task-io      libev tasks, ev_io on pipes, one loop\n"
            "                                task-feed    libev tasks, ev_feed_event: no syscall\n"
            "                                task-async   libev tasks, ev_async_send\n"
            "                 or all (default: all)\n"
            "  --kind K       task = task-io,task-feed; thread = thread-pipe,thread-cond\n"
            "  --ring LIST    ring sizes K >= 2 (default 2,500)\n"
            "  --iters N      passes measured per run (default 100000; accepts 10k, 1M)\n"
            "  --warmup N     passes before measuring (default iters/10, at most 10000)\n"
            "  --pin CPU      pin every unit to this CPU (default: unpinned)\n"
            "  --json FILE    write the results as JSON (atomically)\n"
            "  --help         this text\n"
            "Exit: 0 ok, 1 a run failed or its switches could not be verified, 2 usage.\n");
}

static int set_mechs(struct opts *o, const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return -1;
    strcpy(buf, list);
    memset(o->mech_on, 0, sizeof o->mech_on);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int m;
        if (!strcmp(t, "all")) {
            for (m = 0; m < SW_NMECH; m++)
                o->mech_on[m] = 1;
            continue;
        }
        for (m = 0; m < SW_NMECH && strcmp(t, mech_names[m]); m++)
            ;
        if (m == SW_NMECH) {
            fprintf(stderr, "switch_bench: unknown mechanism '%s' (see --help)\n", t);
            return -1;
        }
        o->mech_on[m] = 1;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"mech", required_argument, NULL, 'm'},
                                             {"kind", required_argument, NULL, 'k'},
                                             {"ring", required_argument, NULL, 'r'},
                                             {"iters", required_argument, NULL, 'i'},
                                             {"warmup", required_argument, NULL, 'w'},
                                             {"pin", required_argument, NULL, 'p'},
                                             {"json", required_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    uint64_t v;
    int c;

    memset(o, 0, sizeof *o);
    set_mechs(o, "all");
    o->rings[0] = 2;
    o->rings[1] = 500;
    o->nrings = 2;
    o->iters = 100000;
    o->pin_cpu = -1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (set_mechs(o, optarg) < 0)
                return -1;
            break;
        case 'k':
            if (!strcmp(optarg, "task"))
                set_mechs(o, "task-io,task-feed");
            else if (!strcmp(optarg, "thread"))
                set_mechs(o, "thread-pipe,thread-cond");
            else {
                fprintf(stderr, "switch_bench: --kind is task or thread, not '%s'\n", optarg);
                return -1;
            }
            break;
        case 'r':
            o->nrings = mb_parse_counts(optarg, o->rings, MAX_RINGS, 10000);
            if (o->nrings < 0) {
                fprintf(stderr, "switch_bench: bad --ring '%s' (comma list, 2..10000)\n", optarg);
                return -1;
            }
            for (int i = 0; i < o->nrings; i++)
                if (o->rings[i] < 2) {
                    fprintf(stderr, "switch_bench: a ring needs at least 2 units\n");
                    return -1;
                }
            break;
        case 'i':
        case 'w':
            if (c == 'w' && !strcmp(optarg, "0")) {
                o->warmup = 0;
                o->warmup_set = 1;
                break;
            }
            if (mb_parse_counts(optarg, &v, 1, 1000000000) != 1) {
                fprintf(stderr, "switch_bench: bad --%s '%s' (1..1e9)\n",
                        c == 'i' ? "iters" : "warmup", optarg);
                return -1;
            }
            if (c == 'i') {
                o->iters = v;
            } else {
                o->warmup = v;
                o->warmup_set = 1;
            }
            break;
        case 'p':
            if (mb_parse_counts(optarg, &v, 1, 4095) != 1 && strcmp(optarg, "0")) {
                fprintf(stderr, "switch_bench: bad --pin '%s' (a CPU number)\n", optarg);
                return -1;
            }
            o->pin_cpu = strcmp(optarg, "0") ? (int)v : 0;
            break;
        case 'j': o->json_path = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switch_bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->warmup_set)
        o->warmup = o->iters / 10 < 10000 ? o->iters / 10 : 10000;
    return 0;
}

/* Runs one (mechanism, ring) and returns its JSON result; *ok cleared on failure. */
static json_t *run_one(const struct opts *o, enum switch_mech m, size_t ring, int *ok)
{
    struct switch_cfg cfg = {.mech = m, .ring = ring, .warmup = o->warmup, .iters = o->iters};
    struct switch_result r = {0};
    double base = 0;
    char error[256] = "";
    int rc = is_thread(m) ? switch_threads_run(&cfg, &r) : switch_tasks_run(&cfg, &r);
    if (rc < 0)
        snprintf(error, sizeof error, "%s: %s", r.failed_call ? r.failed_call : "setup",
                 strerror(r.err));
    if (switch_baseline(&cfg, &base) < 0 && !error[0])
        snprintf(error, sizeof error, "baseline: %s", strerror(errno));

    double ns_hop = (double)r.elapsed_ns / (double)cfg.iters;
    double sw_hop = (double)(r.nvcsw + r.nivcsw) / (double)cfg.iters;
    int counted = r.hops == cfg.warmup + cfg.iters;
    /* A thread hop must block its sender (a voluntary switch) in most cases; a task hop
       never leaves the loop's thread, so only the counted passes prove it ran. */
    int verified = counted && (!is_thread(m) || r.nvcsw * 2 >= (long long)cfg.iters);
    if (!error[0] && !counted)
        snprintf(error, sizeof error, "counted %llu passes, expected %llu",
                 (unsigned long long)r.hops, (unsigned long long)(cfg.warmup + cfg.iters));
    else if (!error[0] && !verified)
        snprintf(error, sizeof error, "only %lld voluntary switches for %llu passes", r.nvcsw,
                 (unsigned long long)cfg.iters);
    int good = !error[0] && r.created == ring && r.torn_down == r.created;
    if (!good && !error[0])
        snprintf(error, sizeof error, "created %zu units, tore down %zu", r.created, r.torn_down);
    *ok &= good;

    printf("%-12s %6zu %10llu %10.1f %10.1f %10.1f %8.2f %4s\n", mech_names[m], ring,
           (unsigned long long)cfg.iters, ns_hop, base, ns_hop - base, sw_hop, good ? "yes" : "NO");
    if (error[0])
        fprintf(stderr, "switch_bench: %s, ring %zu: %s\n", mech_names[m], ring, error);

    json_t *j = json_object();
    json_object_set_new(j, "mechanism", json_string(mech_names[m]));
    json_object_set_new(j, "unit", json_string(is_thread(m) ? "thread" : "task"));
    json_object_set_new(j, "ring", json_integer((json_int_t)ring));
    json_object_set_new(j, "iters", json_integer((json_int_t)cfg.iters));
    json_object_set_new(j, "warmup", json_integer((json_int_t)cfg.warmup));
    json_object_set_new(j, "hops_counted", json_integer((json_int_t)r.hops));
    json_object_set_new(j, "elapsed_ns", json_integer((json_int_t)r.elapsed_ns));
    json_object_set_new(j, "ns_per_hop", json_real(ns_hop));
    json_object_set_new(j, "baseline_ns_per_hop", json_real(base));
    json_object_set_new(j, "ns_per_switch", json_real(ns_hop - base));
    json_object_set_new(j, "nvcsw", json_integer(r.nvcsw));
    json_object_set_new(j, "nivcsw", json_integer(r.nivcsw));
    json_object_set_new(j, "switches_per_hop", json_real(sw_hop));
    json_object_set_new(j, "verified", json_boolean(verified));
    json_object_set_new(j, "created", json_integer((json_int_t)r.created));
    json_object_set_new(j, "torn_down", json_integer((json_int_t)r.torn_down));
    json_object_set_new(j, "ok", json_boolean(good));
    json_object_set_new(j, "error", error[0] ? json_string(error) : json_null());
    return j;
}

int main(int argc, char **argv)
{
    signal(SIGXFSZ, SIG_IGN); /* a full disk is a write error jsonfile_write reports */
    struct opts o;
    int ok = 1;

    if (parse_opts(argc, argv, &o) < 0) {
        fprintf(stderr, "switch_bench: try --help\n");
        return 2;
    }
    if (o.pin_cpu >= 0 && mb_pin_cpu(o.pin_cpu) < 0) {
        fprintf(stderr,
                "switch_bench: cannot pin to CPU %d: %s (pick one of this process's "
                "allowed CPUs, see taskset -p $$)\n",
                o.pin_cpu, strerror(errno));
        return 2;
    }

    json_t *doc = json_object(), *params = json_object(), *mechs = json_array(),
           *rings = json_array(), *results = json_array();
    for (int m = 0; m < SW_NMECH; m++)
        if (o.mech_on[m])
            json_array_append_new(mechs, json_string(mech_names[m]));
    for (int i = 0; i < o.nrings; i++)
        json_array_append_new(rings, json_integer((json_int_t)o.rings[i]));
    json_object_set_new(params, "mechanisms", mechs);
    json_object_set_new(params, "rings", rings);
    json_object_set_new(params, "iters", json_integer((json_int_t)o.iters));
    json_object_set_new(params, "warmup", json_integer((json_int_t)o.warmup));
    json_object_set_new(params, "pin_cpu", o.pin_cpu >= 0 ? json_integer(o.pin_cpu) : json_null());
    json_object_set_new(doc, "bench", json_string("switch"));
    json_object_set_new(doc, "params", params);
    json_object_set_new(doc, "env", sysenv_json());

    if (o.pin_cpu >= 0)
        printf("switch_bench: pinned to CPU %d\n", o.pin_cpu);
    else
        printf("switch_bench: unpinned\n");
    printf("%-12s %6s %10s %10s %10s %10s %8s %4s\n", "mechanism", "ring", "iters", "ns/hop",
           "base_ns", "ns/switch", "csw/hop", "ok");
    for (int m = 0; m < SW_NMECH; m++) {
        if (!o.mech_on[m])
            continue;
        for (int i = 0; i < o.nrings; i++)
            json_array_append_new(results, run_one(&o, (enum switch_mech)m, o.rings[i], &ok));
    }
    json_object_set_new(doc, "results", results);
    json_object_set_new(doc, "ok", json_boolean(ok));

    int rc = ok ? 0 : 1;
    if (o.json_path) {
        char err[512];
        if (jsonfile_write(o.json_path, doc, err, sizeof err) < 0) {
            fprintf(stderr, "switch_bench: %s\n", err);
            rc = 1;
        }
    }
    json_decref(doc);
    return rc;
}
