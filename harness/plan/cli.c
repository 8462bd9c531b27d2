/* cli: the harness's command line: flags of `load` and `run`, defaults, usage text. */
#include "plan/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "plan/placement.h"
#include "run/capacity.h"
#include "workload.h"

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
    O_STEPREQ,
    O_SLO,
    O_IO,
    O_FILE_KIB,
    O_DATA_DIR,
    O_DATA_MIB,
    O_DATA_FILE,
    O_UPSTREAM,
    O_STOP,
    O_STOP_INFLIGHT,
    O_STATE,
    O_SHARE_US,
    O_KEYS
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
    {"step-min-requests", required_argument, 0, O_STEPREQ},
    {"slo-ms", required_argument, 0, O_SLO},
    {"io", required_argument, 0, O_IO},
    {"file-kib", required_argument, 0, O_FILE_KIB},
    {"data-dir", required_argument, 0, O_DATA_DIR},
    {"data-size-mib", required_argument, 0, O_DATA_MIB},
    {"data-file", required_argument, 0, O_DATA_FILE},
    {"upstream", required_argument, 0, O_UPSTREAM},
    {"stop", no_argument, 0, O_STOP},
    {"state", required_argument, 0, O_STATE},
    {"share-us", required_argument, 0, O_SHARE_US},
    {"keys", required_argument, 0, O_KEYS},
    {"stop-inflight", required_argument, 0, O_STOP_INFLIGHT},
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
    o->step_min_requests = CAP_MIN_REQUESTS;
    o->io = IO_TIMER;
    o->file_kib = -1;
    o->stop_inflight = -1;
    o->share_us = -1;
    o->keys = 16;
    o->data_dir = CLI_DATA_DIR_DEFAULT;
    o->data_size_mib = CLI_DATA_MIB_DEFAULT;
}

/* A taskset-style list, checked now; the planner parses it again. */
static int check_list(const char *flag, const char *s, char *err, size_t errlen)
{
    static struct cpu_list scratch; /* 4 KiB: not on the stack */
    return place_parse_list(flag, s, &scratch, err, errlen);
}

/* The flags of the wait kinds in `run`: each needs its kind, and the server's own flags for
 * them are the harness's to give. */
static int cli_check_io(const struct cli_opts *o, char *err, size_t errlen)
{
    if ((o->data_dir_set || o->data_size_set || o->data_file) && o->io != IO_FILE) {
        snprintf(err, errlen,
                 "--data-dir, --data-size-mib and --data-file are for io=file runs: add --io file");
        return -1;
    }
    if (o->data_file && (o->data_dir_set || o->data_size_set)) {
        snprintf(err, errlen,
                 "--data-file PATH is the file itself: drop --data-dir and --data-size-mib (they "
                 "say where the harness writes one)");
        return -1;
    }
    if (o->upstream && o->io != IO_NET) {
        snprintf(err, errlen, "--upstream is the backend of io=net requests: add --io net");
        return -1;
    }
    if (o->server_cmd && strstr(o->server_cmd, "{upstream}") && o->io != IO_NET) {
        snprintf(err, errlen, "--server-cmd has {upstream}, which only an --io net run fills in");
        return -1;
    }
    if (o->server_cmd && strstr(o->server_cmd, "{data_file}") && o->io != IO_FILE) {
        snprintf(err, errlen, "--server-cmd has {data_file}, which only an --io file run fills in");
        return -1;
    }
    static const char *const OWN[] = {"--io", "--upstream", "--data-file"};
    for (int i = 0; i < o->n_server_args; i++)
        for (size_t k = 0; k < sizeof OWN / sizeof OWN[0]; k++) {
            size_t n = strlen(OWN[k]);
            const char *a = o->server_args[i];
            if (strncmp(a, OWN[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                snprintf(err, errlen,
                         "%s after --: give it to the harness instead (harness run %s ...), which "
                         "sends the wait kind in every request and hands the server its backend "
                         "or data file",
                         OWN[k], OWN[k]);
                return -1;
            }
        }
    return 0;
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
        case O_WAIT:
            rc = parse_long(name, optarg, 0, 60000000, &o->wait_us, err, errlen);
            o->wait_set = true;
            break;
        case O_STOP: o->stop = true; break;
        case O_STATE:
            if (strcmp(optarg, "shared") != 0 && strcmp(optarg, "none") != 0) {
                snprintf(err, errlen, "--state '%s': expected shared or none", optarg);
                rc = -1;
            }
            o->state = optarg;
            break;
        case O_SHARE_US:
            rc = parse_long(name, optarg, 0, 1000000, &o->share_us, err, errlen);
            break;
        case O_KEYS:
            rc = parse_long(name, optarg, 1, 100, &v, err, errlen);
            o->keys = (int)v;
            break;
        case O_STOP_INFLIGHT:
            rc = parse_long(name, optarg, 0, 10000000, &o->stop_inflight, err, errlen);
            break;
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
        case O_STEPREQ:
            rc = parse_long(name, optarg, 100, 100000000, &o->step_min_requests, err, errlen);
            cap_flags = true;
            break;
        case O_SLO:
            rc = parse_double(name, optarg, 0.001, 600000, &o->slo_ms, err, errlen);
            cap_flags = true;
            break;
        case O_IO:
            if (workload_parse_io(optarg, strlen(optarg), &o->io) < 0) {
                snprintf(err, errlen, "--io '%s': expected timer, net or file", optarg);
                rc = -1;
            }
            o->io_set = true;
            break;
        case O_FILE_KIB:
            rc = parse_long(name, optarg, 0, 1L << 30, &o->file_kib, err, errlen);
            if (rc == 0 && !workload_file_kib_ok((uint32_t)o->file_kib)) {
                snprintf(err, errlen, "--file-kib %s: must be %s", optarg, FILE_KIB_RULE);
                rc = -1;
            }
            break;
        case O_DATA_DIR:
            o->data_dir = optarg;
            o->data_dir_set = true;
            if (!optarg[0]) {
                snprintf(err, errlen, "--data-dir: give a folder");
                rc = -1;
            }
            break;
        case O_DATA_MIB:
            rc = parse_long(name, optarg, DATAFILE_MIN_BYTES >> 20, CLI_DATA_MIB_MAX,
                            &o->data_size_mib, err, errlen);
            if (rc < 0)
                snprintf(err, errlen,
                         "--data-size-mib '%s': expected an integer in %u..%ld (the servers need "
                         "at least %u MiB: the largest read and as much again)",
                         optarg, DATAFILE_MIN_BYTES >> 20, CLI_DATA_MIB_MAX,
                         DATAFILE_MIN_BYTES >> 20);
            o->data_size_set = true;
            break;
        case O_DATA_FILE: o->data_file = optarg; break;
        case O_UPSTREAM: o->upstream = optarg; break;
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
        if (o->data_dir_set || o->data_size_set || o->data_file || o->upstream) {
            snprintf(err, errlen,
                     "--data-dir, --data-size-mib, --data-file and --upstream belong to `harness "
                     "run` (it starts the server and hands it the data file or the backend); "
                     "`load` only sends --io and --file-kib in its requests");
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
        if (cli_check_io(o, err, errlen) < 0)
            return CLI_ERROR;
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
                 "--steps, --step-min-s, --step-min-requests and --slo-ms shape a capacity "
                 "curve: add --capacity");
        return CLI_ERROR;
    }
    if (o->capacity && (o->rate > 0 || o->requests || o->think_ms > 0)) {
        snprintf(err, errlen,
                 "--capacity sets the pace itself (a closed-loop phase, then open-loop steps): "
                 "drop --rate, --requests and --think-ms");
        return CLI_ERROR;
    }
    if (!o->state && o->share_us >= 0) {
        snprintf(err, errlen, "--share-us is the CPU of a shared-table update: add --state shared");
        return CLI_ERROR;
    }
    if (cmd == CLI_LOAD && (o->stop || o->stop_inflight >= 0)) {
        snprintf(err, errlen,
                 "--stop and --stop-inflight belong to `harness run` (it stops the server it "
                 "started)");
        return CLI_ERROR;
    }
    if (o->stop_inflight >= 0 && !o->stop) {
        snprintf(err, errlen, "--stop-inflight shapes a stop scenario: add --stop");
        return CLI_ERROR;
    }
    if (o->stop && (o->capacity || o->rate > 0 || o->requests || o->think_ms > 0)) {
        snprintf(err, errlen,
                 "--stop is its own scenario (N connections, M requests in flight, SIGTERM): "
                 "drop --capacity, --rate, --requests and --think-ms");
        return CLI_ERROR;
    }
    if (o->stop && o->stop_inflight > o->conns) {
        snprintf(err, errlen, "--stop-inflight %ld: more than the %d connections", o->stop_inflight,
                 o->conns);
        return CLI_ERROR;
    }
    if (o->stop && !o->wait_set)
        o->wait_us = 1000000; /* a request in flight for a second: long past any signal */
    if (o->stop && o->stop_inflight < 0)
        o->stop_inflight = o->conns / 10 > 0 ? o->conns / 10 : 1;
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
