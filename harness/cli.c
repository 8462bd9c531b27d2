/* cli: the harness's command line: flags of `load` and `run`, defaults, usage text. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "placement.h"

static const char USAGE_TOP[] =
    "harness: load generator and measuring runner of the tasks-vs-threads suite\n"
    "\n"
    "usage: harness load --target HOST:PORT [options]   drive any HTTP/1.1 server\n"
    "       harness run (--impl async|thread|uring | --server-cmd 'CMD') [options]\n"
    "                   [-- SERVER FLAGS]\n"
    "                                                   spawn a server, load it, measure it\n"
    "       harness help [load|run]\n"
    "\n"
    "Exit codes: 0 ok, 1 the run failed (the JSON still says why), 2 usage error.\n";

static const char USAGE_LOAD[] =
    "load options:\n"
    "  --target HOST:PORT   server to load (127.0.0.0/8 or ::1 only, see --allow-remote)\n"
    "  --conns N            concurrent keep-alive connections (default 50)\n"
    "  --threads T          generator threads, one event loop each, loop j pinned to the\n"
    "                       (j mod n)-th of the generator's n CPUs (default: one per CPU\n"
    "                       of that set, spread over the --procs)\n"
    "  --procs P            generator processes, each with its own open-files limit,\n"
    "                       T threads each; results merged exactly (default 1)\n"
    "  --duration S         measured seconds (default 5)\n"
    "  --warmup S           seconds of load before measuring (default 1)\n"
    "  --requests M         measure M requests in total instead of a duration\n"
    "  --rate R             open loop: R requests/s in total, latency from the intended send\n"
    "                       time (wrk2); default: closed loop\n"
    "  --think-ms MS        closed loop: pause between an answer and the next request\n"
    "  --wait-us N --work-us N --bytes N\n"
    "                       per-request workload, sent in the query string (0, 0, 64)\n"
    "  --path P             request path (default /)\n"
    "  --no-body-check      accept any body length (default: it must equal --bytes)\n"
    "  --connect-rate R     new connections per second during the ramp (default 10000)\n"
    "  --connect-retries N  retries of a failed connect before it counts (default 3)\n"
    "  --timeout-ms MS      per request (default 2000)\n"
    "  --connect-timeout-ms MS  per connect, until the connection's first answer\n"
    "                       (default 10000: a busy server's accept queue is slow)\n"
    "  --source-ips K       spread connections over 127.0.0.1..K (default: as the\n"
    "                       ephemeral port range needs)\n"
    "  --server-cpus K      CPUs kept for the server (the K lowest this process may use;\n"
    "                       default half of them, at least 1); the generator takes the\n"
    "                       others. `load` runs no server: they are only left free for yours\n"
    "  --client-cpus LIST   the generator's CPUs, taskset style (0-3,6); default: the rest\n"
    "  --client-cpu N|none  the one-CPU generator set {N} (none: not pinned)\n"
    "  --allow-remote       allow a target outside loopback\n"
    "  --out FILE           write the JSON result there (atomically)\n"
    "  --name LABEL         label of the run in the result\n"
    "  --quiet              no progress lines, summary only\n"
    "Every result has a `placement` object: where each side ran (keys: harness help run).\n";

static const char USAGE_RUN[] =
    "run options (plus every load option; --target is then optional):\n"
    "  --impl async|thread|uring\n"
    "                       run $TVT_BIN_DIR/<impl>_server (default: next to harness)\n"
    "  --server-cmd 'CMD'   run any other server through /bin/sh (its PID is measured);\n"
    "                       with --target, ready once the port accepts; {workers} in CMD\n"
    "                       becomes K and its environment has TVT_SERVER_CPUS=K, so that it\n"
    "                       can size its runtime (Tokio workers, GOMAXPROCS, nginx workers)\n"
    "  --stack-kib N        thread server stack size (passed as --stack-kib)\n"
    "  --workers W          server processes sharing the port (passed as --workers; default\n"
    "                       K for async and uring, each pinned to one of the K CPUs with\n"
    "                       --pin-workers when W = K > 1); measured as the whole tree\n"
    "\n"
    "placement: the server's process group is pinned to its K CPUs; async and uring run K\n"
    "loops, the thread server one process whose threads run free over the K CPUs\n"
    "  --server-cpus K      the server's CPUs: the K lowest this process may use (default\n"
    "                       half of them, at least 1); the generator gets the rest, never\n"
    "                       fewer than the server where the machine allows\n"
    "  --server-cpu N|none  the one-CPU server set {N} (none: not pinned; one CPU is still\n"
    "                       kept free of the generator)\n"
    "  --backend-cpus LIST  a backend server's CPUs (runs that start one); default: CPUs of\n"
    "                       its own when more than K are left after the server, else the\n"
    "                       generator's\n"
    "  --allow-overlap      let the server share CPUs with the generator or the backend (K\n"
    "                       too large, an overlapping --client-cpus); refused without it;\n"
    "                       the result then says placement.overlap: true\n"
    "\n"
    "capacity at a latency target:\n"
    "  --capacity           after the warm-up a closed-loop phase (--duration, default 2 s\n"
    "                       here) measures throughput X; then open-loop steps offer 10% to\n"
    "                       150% of X, geometrically, on the same server and connections,\n"
    "                       latency from the intended send time. The result's `capacity` has\n"
    "                       every step and the highest offered rate whose p99 is under the\n"
    "                       target (steps that are generator_behind or have > 1% errors do\n"
    "                       not count); the top-level figures are the closed-loop phase's\n"
    "  --steps S            steps of the curve, 8..12 (default 10)\n"
    "  --step-min-s S       shortest step; a step lasts max(S, 2000 / rate) so that it holds\n"
    "                       at least 2000 requests (default 1)\n"
    "  --slo-ms MS          the p99 target (default max(1 ms, 2 x (wait + work)) +\n"
    "                       (wait + work): 3 ms at wait 1 ms, 1 ms at wait 0)\n"
    "\n"
    "  --ready-timeout-ms MS  wait for `listening on` (default 10000)\n"
    "  --idle-s S           idle baseline before the load starts (default 0.3)\n"
    "  --stall-s S          no answer for S seconds fails the run (default 5 + think time)\n"
    "  -- FLAGS...          passed to the server unchanged (e.g. -- --backlog 128)\n"
    "\n"
    "result keys added by placement and capacity (README's harness section has them all):\n"
    "  placement  {server_cpus, client_cpus, backend_cpus: [CPU numbers, [] when none],\n"
    "             overlap, server_k, cpus_allowed, server_pinned, client_pinned,\n"
    "             generator_loops, note}; in `load` results too\n"
    "  params     server_cpu, client_cpu (the first CPU of each set), threads, workers,\n"
    "             pin_workers, capacity\n"
    "  capacity   null without --capacity; else {closed_loop_rps, slo_ms, slo_rule,\n"
    "             capacity_rps (null: none met the target), capacity_bound (slo: a later\n"
    "             step crossed it; generator: a lower bound; range: none crossed it),\n"
    "             capacity_note, steps: [{offered_rps, achieved_rps, requests, errors,\n"
    "             error_rate, p50_us, p90_us, p99_us, p999_us, p99_uncorrected_us,\n"
    "             server_cpu_s, server_cpu_util, server_saturated (>= 90% of K CPUs),\n"
    "             generator_cpu_s, generator_cpu_max_thread, generator_behind (achieved\n"
    "             < 99% of offered, server not saturated), behind_cause, counted, ...}]}\n";

void cli_usage(FILE *f, int cmd)
{
    if (cmd < 0)
        fputs(USAGE_TOP, f);
    if (cmd < 0 || cmd == CLI_LOAD || cmd == CLI_RUN)
        fprintf(f, "%s%s", cmd < 0 ? "\n" : "", USAGE_LOAD);
    if (cmd < 0 || cmd == CLI_RUN)
        fprintf(f, "\n%s", USAGE_RUN);
}

enum {
    O_TARGET = 256,
    O_CONNS,
    O_THREADS,
    O_DURATION,
    O_WARMUP,
    O_REQUESTS,
    O_RATE,
    O_THINK,
    O_WAIT,
    O_WORK,
    O_BYTES,
    O_PATH,
    O_NO_BODY,
    O_CRATE,
    O_CRETRIES,
    O_TIMEOUT,
    O_SRC,
    O_CCPU,
    O_SCPU,
    O_REMOTE,
    O_OUT,
    O_NAME,
    O_QUIET,
    O_IMPL,
    O_CMD,
    O_STACK,
    O_READY,
    O_IDLE,
    O_STALL,
    O_HELP,
    O_PROCS,
    O_WORKERS,
    O_CTIMEOUT,
    O_SCPUS,
    O_CCPUS,
    O_BCPUS,
    O_OVERLAP,
    O_CAPACITY,
    O_STEPS,
    O_STEPMIN,
    O_SLO
};

static const struct option LONGOPTS[] = {
    {"target", required_argument, 0, O_TARGET},
    {"conns", required_argument, 0, O_CONNS},
    {"threads", required_argument, 0, O_THREADS},
    {"procs", required_argument, 0, O_PROCS},
    {"duration", required_argument, 0, O_DURATION},
    {"warmup", required_argument, 0, O_WARMUP},
    {"requests", required_argument, 0, O_REQUESTS},
    {"rate", required_argument, 0, O_RATE},
    {"think-ms", required_argument, 0, O_THINK},
    {"wait-us", required_argument, 0, O_WAIT},
    {"work-us", required_argument, 0, O_WORK},
    {"bytes", required_argument, 0, O_BYTES},
    {"path", required_argument, 0, O_PATH},
    {"no-body-check", no_argument, 0, O_NO_BODY},
    {"connect-rate", required_argument, 0, O_CRATE},
    {"connect-retries", required_argument, 0, O_CRETRIES},
    {"timeout-ms", required_argument, 0, O_TIMEOUT},
    {"connect-timeout-ms", required_argument, 0, O_CTIMEOUT},
    {"source-ips", required_argument, 0, O_SRC},
    {"client-cpu", required_argument, 0, O_CCPU},
    {"server-cpu", required_argument, 0, O_SCPU},
    {"allow-remote", no_argument, 0, O_REMOTE},
    {"out", required_argument, 0, O_OUT},
    {"name", required_argument, 0, O_NAME},
    {"quiet", no_argument, 0, O_QUIET},
    {"impl", required_argument, 0, O_IMPL},
    {"server-cmd", required_argument, 0, O_CMD},
    {"stack-kib", required_argument, 0, O_STACK},
    {"workers", required_argument, 0, O_WORKERS},
    {"ready-timeout-ms", required_argument, 0, O_READY},
    {"idle-s", required_argument, 0, O_IDLE},
    {"stall-s", required_argument, 0, O_STALL},
    {"server-cpus", required_argument, 0, O_SCPUS},
    {"client-cpus", required_argument, 0, O_CCPUS},
    {"backend-cpus", required_argument, 0, O_BCPUS},
    {"allow-overlap", no_argument, 0, O_OVERLAP},
    {"capacity", no_argument, 0, O_CAPACITY},
    {"steps", required_argument, 0, O_STEPS},
    {"step-min-s", required_argument, 0, O_STEPMIN},
    {"slo-ms", required_argument, 0, O_SLO},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

static int parse_long(const char *flag, const char *s, long min, long max, long *out, char *err,
                      size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "--%s '%s': expected an integer in %ld..%ld", flag, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double min, double max, double *out,
                        char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        snprintf(err, errlen, "--%s '%s': expected a number in %g..%g", flag, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_cpu(const char *flag, const char *s, int *out, char *err, size_t errlen)
{
    long v;
    if (strcmp(s, "none") == 0) {
        *out = -1;
        return 0;
    }
    if (parse_long(flag, s, 0, 4095, &v, err, errlen) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

static void set_defaults(enum cli_cmd cmd, struct cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->conns = 50;
    o->threads = 1;
    o->procs = 1;
    o->duration_s = 5;
    o->warmup_s = 1;
    o->bytes = 64;
    o->path = "/";
    o->body_check = true;
    o->connect_rate = 10000;
    o->connect_retries = 3;
    o->timeout_ms = 2000;
    o->connect_timeout_ms = 10000;
    o->source_ips = -1;
    o->client_cpu = 1;
    o->server_cpu = 0;
    o->stack_kib = -1;
    o->workers = -1;
    o->ready_timeout_ms = 10000;
    o->idle_s = 0.3;
    o->steps = CAP_STEPS_DEFAULT;
    o->step_min_s = 1.0;
}

/* A taskset-style list, checked now; the planner parses it again. */
static int check_list(const char *flag, const char *s, char *err, size_t errlen)
{
    static struct cpu_list scratch; /* 4 KiB: not on the stack */
    return place_parse_list(flag, s, &scratch, err, errlen);
}

enum cli_result cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o, char *err,
                          size_t errlen)
{
    set_defaults(cmd, o);
    optind = 1;
    opterr = 0;
    int ch;
    long v;
    bool duration_given = false, cap_flags = false;
    while ((ch = getopt_long(argc, argv, "+h", LONGOPTS, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *lo = LONGOPTS; lo->name; lo++)
            if (lo->val == ch)
                name = lo->name;
        int rc = 0;
        switch (ch) {
        case 'h':
        case O_HELP: return CLI_HELP;
        case O_TARGET: o->target = optarg; break;
        case O_CONNS:
            rc = parse_long(name, optarg, 1, 10000000, &v, err, errlen);
            o->conns = (int)v;
            break;
        case O_THREADS:
            rc = parse_long(name, optarg, 1, 1024, &v, err, errlen);
            o->threads = (int)v;
            o->threads_set = true;
            break;
        case O_PROCS:
            rc = parse_long(name, optarg, 1, 256, &v, err, errlen);
            o->procs = (int)v;
            break;
        case O_DURATION:
            rc = parse_double(name, optarg, 0.01, 86400, &o->duration_s, err, errlen);
            duration_given = true;
            break;
        case O_WARMUP: rc = parse_double(name, optarg, 0, 86400, &o->warmup_s, err, errlen); break;
        case O_REQUESTS:
            rc = parse_long(name, optarg, 1, 4000000000000L, &v, err, errlen);
            o->requests = (uint64_t)v;
            break;
        case O_RATE: rc = parse_double(name, optarg, 0.001, 1e9, &o->rate, err, errlen); break;
        case O_THINK: rc = parse_double(name, optarg, 0, 3600000, &o->think_ms, err, errlen); break;
        case O_WAIT: rc = parse_long(name, optarg, 0, 60000000, &o->wait_us, err, errlen); break;
        case O_WORK: rc = parse_long(name, optarg, 0, 10000000, &o->work_us, err, errlen); break;
        case O_BYTES: rc = parse_long(name, optarg, 0, 1 << 20, &o->bytes, err, errlen); break;
        case O_PATH:
            if (optarg[0] != '/') {
                snprintf(err, errlen, "--path '%s': must start with /", optarg);
                rc = -1;
            }
            o->path = optarg;
            break;
        case O_NO_BODY: o->body_check = false; break;
        case O_CRATE: rc = parse_double(name, optarg, 0, 1e9, &o->connect_rate, err, errlen); break;
        case O_CRETRIES:
            rc = parse_long(name, optarg, 0, 100, &v, err, errlen);
            o->connect_retries = (int)v;
            break;
        case O_TIMEOUT:
            rc = parse_long(name, optarg, 1, 3600000, &v, err, errlen);
            o->timeout_ms = (int)v;
            break;
        case O_CTIMEOUT:
            rc = parse_long(name, optarg, 1, 3600000, &v, err, errlen);
            o->connect_timeout_ms = (int)v;
            break;
        case O_SRC:
            rc = parse_long(name, optarg, 1, 254, &v, err, errlen);
            o->source_ips = (int)v;
            break;
        case O_CCPU:
            rc = parse_cpu(name, optarg, &o->client_cpu, err, errlen);
            o->client_cpu_set = true;
            break;
        case O_SCPU:
            rc = parse_cpu(name, optarg, &o->server_cpu, err, errlen);
            o->server_cpu_set = true;
            break;
        case O_SCPUS:
            rc = parse_long(name, optarg, 1, PLACE_MAX_CPUS, &v, err, errlen);
            o->server_k = (int)v;
            break;
        case O_CCPUS:
            rc = check_list("--client-cpus", optarg, err, errlen);
            o->client_cpus = optarg;
            break;
        case O_BCPUS:
            rc = check_list("--backend-cpus", optarg, err, errlen);
            o->backend_cpus = optarg;
            break;
        case O_OVERLAP: o->allow_overlap = true; break;
        case O_CAPACITY: o->capacity = true; break;
        case O_STEPS:
            rc = parse_long(name, optarg, CAP_STEPS_MIN, CAP_STEPS_MAX, &v, err, errlen);
            o->steps = (int)v;
            cap_flags = true;
            break;
        case O_STEPMIN:
            rc = parse_double(name, optarg, 0.05, 600, &o->step_min_s, err, errlen);
            cap_flags = true;
            break;
        case O_SLO:
            rc = parse_double(name, optarg, 0.001, 600000, &o->slo_ms, err, errlen);
            cap_flags = true;
            break;
        case O_REMOTE: o->allow_remote = true; break;
        case O_OUT: o->out = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_QUIET: o->quiet = true; break;
        case O_IMPL:
            if (strcmp(optarg, "async") != 0 && strcmp(optarg, "thread") != 0 &&
                strcmp(optarg, "uring") != 0) {
                snprintf(err, errlen, "--impl '%s': expected async, thread or uring", optarg);
                rc = -1;
            }
            o->impl = optarg;
            break;
        case O_CMD: o->server_cmd = optarg; break;
        case O_STACK: rc = parse_long(name, optarg, 16, 1 << 22, &o->stack_kib, err, errlen); break;
        case O_WORKERS: rc = parse_long(name, optarg, 1, 1024, &o->workers, err, errlen); break;
        case O_READY:
            rc = parse_long(name, optarg, 1, 600000, &v, err, errlen);
            o->ready_timeout_ms = (int)v;
            break;
        case O_IDLE: rc = parse_double(name, optarg, 0, 60, &o->idle_s, err, errlen); break;
        case O_STALL: rc = parse_double(name, optarg, 0.1, 3600, &o->stall_s, err, errlen); break;
        default:
            snprintf(err, errlen, "unknown or incomplete flag '%s' (see harness help %s)",
                     argv[optind - 1], cmd == CLI_LOAD ? "load" : "run");
            return CLI_ERROR;
        }
        if (rc < 0)
            return CLI_ERROR;
    }
    if (cmd == CLI_LOAD) {
        if (optind < argc) {
            snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
            return CLI_ERROR;
        }
        if (!o->target) {
            snprintf(err, errlen, "load needs --target HOST:PORT");
            return CLI_ERROR;
        }
        if (o->impl || o->server_cmd || o->stack_kib >= 0 || o->workers >= 0 || o->server_cpu_set) {
            snprintf(err, errlen,
                     "--impl, --server-cmd, --stack-kib, --workers and --server-cpu "
                     "belong to `harness run`");
            return CLI_ERROR;
        }
        if (o->backend_cpus || o->allow_overlap || o->capacity || cap_flags) {
            snprintf(err, errlen,
                     "--backend-cpus, --allow-overlap, --capacity, --steps, --step-min-s and "
                     "--slo-ms belong to `harness run` (it starts the server it measures)");
            return CLI_ERROR;
        }
    } else {
        /* everything after `--` goes to the server */
        if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (server flags go after --)",
                     argv[optind]);
            return CLI_ERROR;
        }
        o->server_args = argv + optind;
        o->n_server_args = argc - optind;
        if (!o->impl == !o->server_cmd) {
            snprintf(err, errlen,
                     "run needs exactly one of --impl async|thread|uring and "
                     "--server-cmd 'CMD'");
            return CLI_ERROR;
        }
        if (o->server_cmd && o->n_server_args > 0) {
            snprintf(err, errlen,
                     "flags after -- are for --impl servers; put them in "
                     "--server-cmd");
            return CLI_ERROR;
        }
        if (o->workers >= 0 && !o->impl) {
            snprintf(err, errlen, "--workers applies to --impl servers; put it in --server-cmd");
            return CLI_ERROR;
        }
        if (o->stack_kib >= 0 && !(o->impl && strcmp(o->impl, "thread") == 0)) {
            snprintf(err, errlen, "--stack-kib applies to --impl thread only");
            return CLI_ERROR;
        }
    }
    if (o->server_k && o->server_cpu_set) {
        snprintf(err, errlen,
                 "--server-cpus K and --server-cpu N both set the server's CPUs: "
                 "give one");
        return CLI_ERROR;
    }
    if (o->client_cpus && o->client_cpu_set) {
        snprintf(err, errlen,
                 "--client-cpus LIST and --client-cpu N both set the generator's "
                 "CPUs: give one");
        return CLI_ERROR;
    }
    if (cap_flags && !o->capacity) {
        snprintf(err, errlen,
                 "--steps, --step-min-s and --slo-ms shape a capacity curve: add "
                 "--capacity");
        return CLI_ERROR;
    }
    if (o->capacity && (o->rate > 0 || o->requests || o->think_ms > 0)) {
        snprintf(err, errlen,
                 "--capacity sets the pace itself (a closed-loop phase, then open-loop steps): "
                 "drop --rate, --requests and --think-ms");
        return CLI_ERROR;
    }
    if (o->capacity && !duration_given)
        o->duration_s = 2; /* the closed-loop phase only has to find the point's throughput */
    if (o->requests && duration_given) {
        snprintf(err, errlen, "--requests and --duration exclude each other");
        return CLI_ERROR;
    }
    if (o->rate > 0 && o->think_ms > 0) {
        snprintf(err, errlen,
                 "--think-ms is for the closed loop; --rate sets the open loop's "
                 "pace");
        return CLI_ERROR;
    }
    return CLI_OK;
}
