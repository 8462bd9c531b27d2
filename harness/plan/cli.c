/* cli: the harness's command line: the flags (cli_table.c) into struct cli_opts, and the rules
 * between them. */
#include "plan/cli.h"

#include <stdio.h>
#include <string.h>

#include "opts.h"
#include "run/capacity.h"
#include "workload.h"

void cli_defaults(enum cli_cmd cmd, struct cli_opts *o)
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

/* `run`: exactly one server, and its flags where they apply. */
static int check_run(const struct cli_opts *o, char *err, size_t errlen)
{
    if (!o->impl == !o->server_cmd) {
        snprintf(err, errlen,
                 "run needs exactly one of --impl async|thread|uring and --server-cmd 'CMD'");
        return -1;
    }
    if (o->server_cmd && o->n_server_args > 0) {
        snprintf(err, errlen, "flags after -- are for --impl servers; put them in --server-cmd");
        return -1;
    }
    if (o->workers >= 0 && !o->impl) {
        snprintf(err, errlen, "--workers applies to --impl servers; put it in --server-cmd");
        return -1;
    }
    if (o->stack_kib >= 0 && !(o->impl && strcmp(o->impl, "thread") == 0)) {
        snprintf(err, errlen, "--stack-kib applies to --impl thread only");
        return -1;
    }
    return cli_check_io(o, err, errlen);
}

/* `load`: a target, and no server of ours to hand the wait kinds' resources to. */
static int check_load(const struct cli_opts *o, char *err, size_t errlen)
{
    if (!o->target) {
        snprintf(err, errlen, "load needs --target HOST:PORT");
        return -1;
    }
    return 0;
}

/* Flags that set the same thing twice, or shape a mode that is not on. */
static int check_pairs(const struct cli_opts *o, char *err, size_t errlen)
{
    if (o->server_k && o->server_cpu_set) {
        snprintf(err, errlen,
                 "--server-cpus K and --server-cpu N both set the server's CPUs: give one");
        return -1;
    }
    if (o->client_cpus && o->client_cpu_set) {
        snprintf(err, errlen,
                 "--client-cpus LIST and --client-cpu N both set the generator's CPUs: give one");
        return -1;
    }
    if ((o->steps_set || o->step_min_set || o->step_reqs_set || o->slo_set) && !o->capacity) {
        snprintf(err, errlen,
                 "--steps, --step-min-s, --step-min-requests and --slo-ms shape a capacity "
                 "curve: add --capacity");
        return -1;
    }
    if (o->stop_inflight >= 0 && !o->stop) {
        snprintf(err, errlen, "--stop-inflight shapes a stop scenario: add --stop");
        return -1;
    }
    if (!o->state && o->share_set) {
        snprintf(err, errlen, "--share-us is the CPU of a shared-table update: add --state shared");
        return -1;
    }
    return 0;
}

/* A run across hosts names who runs where; those names need the hosts file. */
static int check_hosts(const struct cli_opts *o, char *err, size_t errlen)
{
    bool named = o->server_on || o->clients_on || o->backend_on;
    if (named && !o->hosts_file) {
        snprintf(err, errlen,
                 "--server-on, --clients-on and --backend-on name hosts of a hosts "
                 "file: add --hosts FILE");
        return -1;
    }
    if (o->hosts_file && (!o->server_on || !o->clients_on)) {
        snprintf(err, errlen,
                 "--hosts: say where the server and the generators run (--server-on "
                 "NAME --clients-on NAME[,NAME...])");
        return -1;
    }
    if (o->hosts_file && o->target) {
        snprintf(err, errlen,
                 "--hosts runs the server itself on --server-on's host: drop "
                 "--target");
        return -1;
    }
    if (o->backend_on && o->upstream) {
        snprintf(err, errlen,
                 "--backend-on starts a backend there; --upstream uses one already "
                 "running: give one");
        return -1;
    }
    return 0;
}

/* How the pace is set: by duration, by a request quota, closed or open loop, a capacity
 * curve, a stop scenario; what each excludes. */
static int check_pace(const struct cli_opts *o, char *err, size_t errlen)
{
    if (o->capacity && (o->rate > 0 || o->requests || o->think_ms > 0)) {
        snprintf(err, errlen,
                 "--capacity sets the pace itself (a closed-loop phase, then open-loop steps): "
                 "drop --rate, --requests and --think-ms");
        return -1;
    }
    if (o->stop && (o->capacity || o->rate > 0 || o->requests || o->think_ms > 0)) {
        snprintf(err, errlen,
                 "--stop is its own scenario (N connections, M requests in flight, SIGTERM): "
                 "drop --capacity, --rate, --requests and --think-ms");
        return -1;
    }
    if (o->stop && o->stop_inflight > o->conns) {
        snprintf(err, errlen, "--stop-inflight %ld: more than the %d connections", o->stop_inflight,
                 o->conns);
        return -1;
    }
    if (o->requests && o->duration_set) {
        snprintf(err, errlen, "--requests and --duration exclude each other");
        return -1;
    }
    if (o->rate > 0 && o->think_ms > 0) {
        snprintf(err, errlen,
                 "--think-ms is for the closed loop; --rate sets the open loop's pace");
        return -1;
    }
    return 0;
}

/* The defaults that depend on the mode. */
static void mode_defaults(struct cli_opts *o)
{
    if (o->capacity && !o->duration_set)
        o->duration_s = 2; /* the closed-loop phase only has to find the point's throughput */
    if (o->stop && !o->wait_set)
        o->wait_us = 1000000; /* a request in flight for a second: long past any signal */
    if (o->stop && o->stop_inflight < 0)
        o->stop_inflight = o->conns / 10 > 0 ? o->conns / 10 : 1;
}

enum cli_result cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o, char *err,
                          size_t errlen)
{
    cli_defaults(cmd, o);
    int rest = argc;
    switch (opts_parse(&CLI_TABLE, CLI_BIT(cmd), argc, argv, o, cmd == CLI_RUN ? &rest : NULL, err,
                       errlen)) {
    case OPTS_HELP: return CLI_HELP;
    case OPTS_ERROR: return CLI_ERROR;
    case OPTS_OK: break;
    }
    /* everything after `--` goes to the server */
    o->server_args = argv + rest;
    o->n_server_args = argc - rest;
    if ((cmd == CLI_RUN ? check_run(o, err, errlen) : check_load(o, err, errlen)) < 0 ||
        check_pairs(o, err, errlen) < 0 || check_pace(o, err, errlen) < 0 ||
        check_hosts(o, err, errlen) < 0)
        return CLI_ERROR;
    mode_defaults(o);
    return CLI_OK;
}
