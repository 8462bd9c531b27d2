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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* enum switch_mech's names, then the word --mech takes for all of them. */
static const char *const mech_names[SW_NMECH + 2] = {
    "thread-pipe", "thread-cond", "task-io", "task-feed", "task-async", "all", NULL};

struct opts {
    int mech_on[SW_NMECH];
    struct mb_counts rings;
    uint64_t iters, warmup;
    bool warmup_set;
    int pin_cpu; /* -1 = unpinned */
    const char *json_path;
};

static int is_thread(enum switch_mech m)
{
    return m == SW_THREAD_PIPE || m == SW_THREAD_COND;
}

/* Sets on[] to the mechanisms of a comma list of mech_names. 0 ok; -1 with the reason in err
   (on[] untouched). */
static int set_mechs(int *on, const char *list, char *err, size_t errlen)
{
    char buf[256], why[200];
    int want[SW_NMECH] = {0}, words = 0;
    if (strlen(list) >= sizeof buf) {
        snprintf(err, errlen, "a list of at most %zu characters", sizeof buf - 1);
        return -1;
    }
    strcpy(buf, list);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int m = opts_choice(mech_names, t, why, sizeof why);
        if (m < 0) {
            snprintf(err, errlen, "unknown mechanism '%s'; %s", t, why);
            return -1;
        }
        for (int k = 0; k < SW_NMECH; k++)
            want[k] |= m == SW_NMECH || m == k;
        words++;
    }
    if (words == 0) {
        opts_choice(mech_names, "", why, sizeof why);
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    memcpy(on, want, sizeof want);
    return 0;
}

static int parse_mech(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o;
    return set_mechs(field, arg, err, errlen);
}

/* --kind task|thread: the mechanisms of one kind of unit. */
static int parse_kind(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    static const char *const kinds[] = {"task", "thread", NULL};
    (void)o;
    int k = opts_choice(kinds, arg, err, errlen);
    if (k < 0)
        return -1;
    return set_mechs(field, k == 0 ? "task-io,task-feed" : "thread-pipe,thread-cond", err, errlen);
}

#define F(member) offsetof(struct opts, member)

static const struct opt ROWS[] = {
    {"mech", OPT_CUSTOM, F(mech_on), .parse = parse_mech, .meta = "LIST",
     .help = "comma list of: thread-pipe  threads, read()/write() on pipes\n"
             "               thread-cond  threads, condition variables (futex)\n"
             "               task-io      libev tasks, ev_io on pipes, one loop\n"
             "               task-feed    libev tasks, ev_feed_event: no syscall\n"
             "               task-async   libev tasks, ev_async_send\n"
             "or all (default: all)"},
    {"kind", OPT_CUSTOM, F(mech_on), .parse = parse_kind, .meta = "K",
     .help = "task = task-io,task-feed; thread = thread-pipe,thread-cond"},
    {"ring", OPT_CUSTOM, F(rings), .parse = mb_opt_counts, .min = 2, .max = 10000, .meta = "LIST",
     .help = "ring sizes K, {range} (default 2,500)"},
    {"iters", OPT_CUSTOM, F(iters), .parse = mb_opt_count, .min = 1, .max = 1e9, .meta = "N",
     .help = "passes measured per run, {range} (default 100000; accepts 10k, 1M)"},
    {"warmup", OPT_CUSTOM, F(warmup), OPT_GIVEN(struct opts, warmup_set), .parse = mb_opt_count,
     .min = 0, .max = 1e9, .meta = "N",
     .help = "passes before measuring (default iters/10, at most 10000)"},
    {"pin", OPT_INT, F(pin_cpu), .min = 0, .max = 4095, .meta = "CPU",
     .help = "pin every unit to this CPU, {range} (default: unpinned)"},
    MB_OPT_ROWS_END(F(json_path)),
};

static const struct opts_table TABLE = {.rows = ROWS};

static void set_defaults(struct opts *o)
{
    *o = (struct opts){.rings = {.v = {2, 500}, .n = 2}, .iters = 100000, .pin_cpu = -1};
    for (int m = 0; m < SW_NMECH; m++)
        o->mech_on[m] = 1;
}

static void usage(FILE *f)
{
    struct opts defaults;
    set_defaults(&defaults);
    fputs("usage: switch_bench [--mech LIST | --kind task|thread] [options]\n"
          "Passes a token around a ring of K units and reports ns per switch, minus a\n"
          "one-thread baseline that makes the same calls without switching.\n",
          f);
    opts_usage(f, &TABLE, 0, &defaults);
    fputs("Exit: 0 ok, 1 a run failed or its switches could not be verified, 2 usage.\n", f);
}

static enum opts_result parse_opts(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
    set_defaults(o);
    enum opts_result r = opts_parse(&TABLE, 0, argc, argv, o, NULL, err, errlen);
    if (r == OPTS_OK && !o->warmup_set)
        o->warmup = o->iters / 10 < 10000 ? o->iters / 10 : 10000;
    return r;
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
    char err[512];
    int ok = 1;

    switch (parse_opts(argc, argv, &o, err, sizeof err)) {
    case OPTS_HELP: usage(stdout); return 0;
    case OPTS_ERROR: fprintf(stderr, "switch_bench: %s\n", err); return 2;
    case OPTS_OK: break;
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
    for (int i = 0; i < o.rings.n; i++)
        json_array_append_new(rings, json_integer((json_int_t)o.rings.v[i]));
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
        for (int i = 0; i < o.rings.n; i++)
            json_array_append_new(results, run_one(&o, (enum switch_mech)m, o.rings.v[i], &ok));
    }
    json_object_set_new(doc, "results", results);
    json_object_set_new(doc, "ok", json_boolean(ok));

    int rc = ok ? 0 : 1;
    if (o.json_path && jsonfile_write(o.json_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "switch_bench: %s\n", err);
        rc = 1;
    }
    json_decref(doc);
    return rc;
}
