/* cli: the harness's command line: flags of `load` and `run`, defaults, usage text. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE_TOP[] =
    "harness: load generator and measuring runner of the tasks-vs-threads suite\n"
    "\n"
    "usage: harness load --target HOST:PORT [options]   drive any HTTP/1.1 server\n"
    "       harness run (--impl async|thread | --server-cmd 'CMD') [options] [-- SERVER FLAGS]\n"
    "                                                   spawn a server, load it, measure it\n"
    "       harness help [load|run]\n"
    "\n"
    "Exit codes: 0 ok, 1 the run failed (the JSON still says why), 2 usage error.\n";

static const char USAGE_LOAD[] =
    "load options:\n"
    "  --target HOST:PORT   server to load (127.0.0.0/8 or ::1 only, see --allow-remote)\n"
    "  --conns N            concurrent keep-alive connections (default 50)\n"
    "  --threads T          generator threads, one event loop each (default 1)\n"
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
    "  --client-cpu N|none  pin the generator (default 1, or another free CPU)\n"
    "  --allow-remote       allow a target outside loopback\n"
    "  --out FILE           write the JSON result there (atomically)\n"
    "  --name LABEL         label of the run in the result\n"
    "  --quiet              no progress lines, summary only\n";

static const char USAGE_RUN[] =
    "run options (plus every load option; --target is then optional):\n"
    "  --impl async|thread  run $TVT_BIN_DIR/<impl>_server (default: next to harness)\n"
    "  --server-cmd 'CMD'   run any other server through /bin/sh (its PID is measured);\n"
    "                       with --target, ready once the port accepts\n"
    "  --stack-kib N        thread server stack size (passed as --stack-kib)\n"
    "  --workers W          server processes sharing the port (passed as --workers);\n"
    "                       the server is measured as its whole process tree\n"
    "  --server-cpu N|none  pin the server (default 0)\n"
    "  --ready-timeout-ms MS  wait for `listening on` (default 10000)\n"
    "  --idle-s S           idle baseline before the load starts (default 0.3)\n"
    "  --stall-s S          no answer for S seconds fails the run (default 5 + think time)\n"
    "  -- FLAGS...          passed to the server unchanged (e.g. -- --backlog 128)\n";

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
    O_CTIMEOUT
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
}

enum cli_result cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o, char *err,
                          size_t errlen)
{
    set_defaults(cmd, o);
    optind = 1;
    opterr = 0;
    int ch;
    long v;
    bool duration_given = false;
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
        case O_REMOTE: o->allow_remote = true; break;
        case O_OUT: o->out = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_QUIET: o->quiet = true; break;
        case O_IMPL:
            if (strcmp(optarg, "async") != 0 && strcmp(optarg, "thread") != 0) {
                snprintf(err, errlen, "--impl '%s': expected async or thread", optarg);
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
                     "run needs exactly one of --impl async|thread and "
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
