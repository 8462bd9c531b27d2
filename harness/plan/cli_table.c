/* cli_table: the harness's flags, one row each (name, type, range, field, help): the table
 * that cli.c parses with and cli_usage.c prints. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "opts.h"
#include "plan/cli.h"
#include "plan/placement.h"
#include "run/capacity.h"
#include "workload.h"

#define F(field) offsetof(struct cli_opts, field)
#define G(field) OPT_GIVEN(struct cli_opts, field)
#define LOAD     CLI_BIT(CLI_LOAD)
#define RUN      CLI_BIT(CLI_RUN)

/* "none" (-1: not pinned) or a CPU number. */
static int parse_cpu(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o;
    char *end;
    long v = strcmp(arg, "none") == 0 ? -1 : strtol(arg, &end, 10);
    if (v != -1 && (end == arg || *end || v < 0 || v > 4095)) {
        snprintf(err, errlen, "expected none or a CPU in 0..4095");
        return -1;
    }
    *(int *)field = (int)v;
    return 0;
}

/* A taskset-style list, checked now (the planner parses it again). */
static int parse_list(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    static struct cpu_list scratch; /* 4 KiB: not on the stack */
    char flag[40];
    snprintf(flag, sizeof flag, "--%s", o->name);
    if (place_parse_list(flag, arg, &scratch, err, errlen) < 0)
        return -1;
    *(const char **)field = arg;
    return 0;
}

static int parse_path(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o;
    if (arg[0] != '/') {
        snprintf(err, errlen, "must start with /");
        return -1;
    }
    *(const char **)field = arg;
    return 0;
}

static int parse_nonempty(const struct opt *o, const char *arg, void *field, char *err,
                          size_t errlen)
{
    (void)o;
    if (!arg[0]) {
        snprintf(err, errlen, "give a folder");
        return -1;
    }
    *(const char **)field = arg;
    return 0;
}

static int parse_io(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o;
    if (workload_parse_io(arg, strlen(arg), field) < 0) {
        snprintf(err, errlen, "expected timer, net or file");
        return -1;
    }
    return 0;
}

static int parse_file_kib(const struct opt *o, const char *arg, void *field, char *err,
                          size_t errlen)
{
    (void)o;
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < 0 || !workload_file_kib_ok((uint32_t)v)) {
        snprintf(err, errlen, "must be %s", FILE_KIB_RULE);
        return -1;
    }
    *(long *)field = v;
    return 0;
}

static int parse_data_mib(const struct opt *o, const char *arg, void *field, char *err,
                          size_t errlen)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < o->min || v > o->max) {
        snprintf(err, errlen,
                 "expected an integer in %u..%ld (the servers need at least %u MiB: the largest "
                 "read and as much again)",
                 DATAFILE_MIN_BYTES >> 20, CLI_DATA_MIB_MAX, DATAFILE_MIN_BYTES >> 20);
        return -1;
    }
    *(long *)field = v;
    return 0;
}

/* A string among names, kept as the string. */
static int parse_word(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    if (opts_choice(o->choices, arg, err, errlen) < 0)
        return -1;
    *(const char **)field = arg;
    return 0;
}

static const char *const IMPLS[] = {"async", "thread", "uring", NULL};
static const char *const STATES[] = {"shared", "none", NULL};

static const struct opt ROWS[] = {
    {.type = OPT_HEADING, .help = "the load (load and run):"},
    {"target", OPT_STRING, F(target), .meta = "HOST:PORT",
     .help = "server to load (127.0.0.0/8 or ::1 only, see --allow-remote);\n"
             "optional in run"},
    {"conns", OPT_INT, F(conns), .min = 1, .max = 10000000,
     .help = "concurrent keep-alive connections (default {default})"},
    {"threads", OPT_INT, F(threads), .given = G(threads_set), .min = 1, .max = 1024, .meta = "T",
     .help = "generator threads, one event loop each, loop j pinned to the (j mod\n"
             "n)-th of the generator's n CPUs (default: one per CPU of that set,\n"
             "spread over the --procs)"},
    {"procs", OPT_INT, F(procs), .min = 1, .max = 256, .meta = "P",
     .help = "generator processes, each with its own open-files limit, T threads\n"
             "each; results merged exactly (default {default}); connections that\n"
             "cannot fit one process's open-file limit exit 2 naming it"},
    {"duration", OPT_DOUBLE, F(duration_s), .given = G(duration_set), .min = 0.01, .max = 86400,
     .meta = "S", .help = "measured seconds (default {default}; 2 with --capacity)"},
    {"warmup", OPT_DOUBLE, F(warmup_s), .max = 86400, .meta = "S",
     .help = "seconds of load before measuring (default {default})"},
    {"requests", OPT_UINT64, F(requests), .min = 1, .max = 4e12, .meta = "M",
     .help = "measure M requests in total instead of a duration"},
    {"rate", OPT_DOUBLE, F(rate), .min = 0.001, .max = 1e9, .meta = "R",
     .help = "open loop: R requests/s in total, latency from the intended send\n"
             "time (wrk2); default: closed loop"},
    {"think-ms", OPT_DOUBLE, F(think_ms), .max = 3600000, .meta = "MS",
     .help = "closed loop: pause between an answer and the next request"},
    {"wait-us", OPT_LONG, F(wait_us), .given = G(wait_set), .max = 60000000,
     .help = "per-request wait, sent in the query string (default {default}; 1 s\n"
             "with --stop)"},
    {"work-us", OPT_LONG, F(work_us), .max = 10000000,
     .help = "per-request CPU, sent in the query string (default {default})"},
    {"bytes", OPT_LONG, F(bytes), .max = 1 << 20,
     .help = "answer size, sent in the query string (default {default})"},
    {"path", OPT_CUSTOM, F(path), .parse = parse_path, .meta = "P",
     .help = "request path (default /)"},
    {"io", OPT_CUSTOM, F(io), .given = G(io_set), .parse = parse_io, .meta = "timer|net|file",
     .help = "what each request waits on, sent as io= in every request: a timer,\n"
             "the server's backend (net), a read of its data file (file); without\n"
             "--io no io= is sent. run prepares what the server needs: net starts\n"
             "a backend, $TVT_BIN_DIR/async_server, on the backend CPUs and hands\n"
             "the server --upstream 127.0.0.1:PORT (--server-cmd: {upstream} in\n"
             "CMD, TVT_UPSTREAM in its environment); file hands it --data-file\n"
             "PATH ({data_file}, TVT_DATA_FILE): DIR/tvt-data-<M>MiB.bin, written\n"
             "once with pseudo-random data, fsynced and renamed into place, reused\n"
             "while its size matches"},
    {"file-kib", OPT_CUSTOM, F(file_kib), .parse = parse_file_kib, .meta = "K",
     .help = "io=file read size, sent as file_kib= in every request: a multiple of\n"
             "4 from 4 to 1024 (default 4, sent with --io file)"},
    {"no-body-check", OPT_FLAG_OFF, F(body_check),
     .help = "accept any body length (default: it must equal --bytes)"},
    {"connect-rate", OPT_DOUBLE, F(connect_rate), .max = 1e9, .meta = "R",
     .help = "new connections per second during the ramp (default {default})"},
    {"connect-retries", OPT_INT, F(connect_retries), .max = 100,
     .help = "retries of a failed connect before it counts (default {default})"},
    {"timeout-ms", OPT_INT, F(timeout_ms), .min = 1, .max = 3600000, .meta = "MS",
     .help = "per request (default {default})"},
    {"connect-timeout-ms", OPT_INT, F(connect_timeout_ms), .min = 1, .max = 3600000, .meta = "MS",
     .help = "per connect, until the connection's first answer (default {default}:\n"
             "a busy server's accept queue is slow)"},
    {"source-ips", OPT_INT, F(source_ips), .min = 1, .max = 254, .meta = "K",
     .help = "spread connections over 127.0.0.1..K (default: as the ephemeral port\n"
             "range needs)"},
    {"state", OPT_CUSTOM, F(state), .parse = parse_word, .choices = STATES, .meta = "shared|none",
     .help = "every request updates the server's shared table (state=shared,\n"
             "share_us=, key=kNN): its lock, contention and lost updates are in\n"
             "the server's counters (shared_*, share_*, lock_*)"},
    {"share-us", OPT_LONG, F(share_us), .given = G(share_set), .max = 1000000,
     .help = "CPU spent inside each update (default: the server's)"},
    {"keys", OPT_INT, F(keys), .min = 1, .max = 100, .meta = "K",
     .help = "distinct keys over the connections (default {default})"},
    {"allow-remote", OPT_FLAG, F(allow_remote), .help = "allow a target outside loopback"},
    {"out", OPT_STRING, F(out), .meta = "FILE", .help = "write the JSON result there (atomically)"},
    {"name", OPT_STRING, F(name), .meta = "LABEL", .help = "label of the run in the result"},
    {"quiet", OPT_FLAG, F(quiet), .help = "no progress lines, summary only"},

    {.type = OPT_HEADING,
     .help = "placement: the server's process group is pinned to its K CPUs; async\n"
             "and uring run K loops, the thread server one process whose threads\n"
             "run free over them"},
    {"server-cpus", OPT_INT, F(server_k), .min = 1, .max = PLACE_MAX_CPUS, .meta = "K",
     .help = "the server's CPUs: the K lowest this process may use (default half\n"
             "of them, at least 1); the generator gets the rest, never fewer than\n"
             "the server where the machine allows. `load` runs no server: they are\n"
             "only left free for yours"},
    {"server-cpu", OPT_CUSTOM, F(server_cpu), .given = G(server_cpu_set), .parse = parse_cpu,
     .meta = "N|none", .cmds = RUN,
     .help = "the one-CPU server set {N} (none: not pinned; one CPU is still kept\n"
             "free of the generator)"},
    {"client-cpus", OPT_CUSTOM, F(client_cpus), .parse = parse_list, .meta = "LIST",
     .help = "the generator's CPUs, taskset style (0-3,6); default: the rest"},
    {"client-cpu", OPT_CUSTOM, F(client_cpu), .given = G(client_cpu_set), .parse = parse_cpu,
     .meta = "N|none", .help = "the one-CPU generator set {N} (none: not pinned)"},
    {"backend-cpus", OPT_CUSTOM, F(backend_cpus), .parse = parse_list, .meta = "LIST", .cmds = RUN,
     .help = "a backend server's CPUs (runs that start one); default: CPUs of its\n"
             "own when more than K are left after the server, else the generator's"},
    {"allow-overlap", OPT_FLAG, F(allow_overlap), .cmds = RUN,
     .help = "let the server share CPUs with the generator or the backend (K too\n"
             "large, an overlapping --client-cpus); refused without it; the result\n"
             "says overlap: true"},

    {.type = OPT_HEADING, .help = "the server (run only):", .cmds = RUN},
    {"impl", OPT_CUSTOM, F(impl), .parse = parse_word, .choices = IMPLS, .cmds = RUN,
     .meta = "async|thread|uring",
     .help = "run $TVT_BIN_DIR/<impl>_server (default: next to harness)"},
    {"server-cmd", OPT_STRING, F(server_cmd), .meta = "'CMD'", .cmds = RUN,
     .help = "run any other server through /bin/sh (its PID is measured); with\n"
             "--target, ready once the port accepts; {workers} in CMD becomes K,\n"
             "{host} the address to listen on (127.0.0.1, or its host's)\n"
             "and its environment has TVT_SERVER_CPUS=K, so that it can size its\n"
             "runtime (Tokio workers, GOMAXPROCS, nginx workers)"},
    {"stack-kib", OPT_LONG, F(stack_kib), .given = G(stack_set), .min = 16, .max = 1 << 22,
     .meta = "N", .cmds = RUN, .help = "thread server stack size (passed as --stack-kib)"},
    {"workers", OPT_LONG, F(workers), .given = G(workers_set), .min = 1, .max = 1024, .meta = "W",
     .cmds = RUN,
     .help = "server processes sharing the port (passed as --workers; default K\n"
             "for async and uring, each pinned to one of the K CPUs with\n"
             "--pin-workers when W = K > 1); measured as the whole tree"},
    {"ready-timeout-ms", OPT_INT, F(ready_timeout_ms), .min = 1, .max = 600000, .meta = "MS",
     .cmds = RUN, .help = "wait for `listening on` (default {default})"},
    {"idle-s", OPT_DOUBLE, F(idle_s), .max = 60, .meta = "S", .cmds = RUN,
     .help = "idle baseline before the load starts (default {default})"},
    {"stall-s", OPT_DOUBLE, F(stall_s), .min = 0.1, .max = 3600, .meta = "S", .cmds = RUN,
     .help = "no answer for S seconds fails the run (default 5 + think time)"},
    {"upstream", OPT_STRING, F(upstream), .meta = "HOST:PORT", .cmds = RUN,
     .help = "--io net: a backend already running there instead of one the harness\n"
             "starts (loopback only, unless --allow-remote)"},
    {"data-dir", OPT_CUSTOM, F(data_dir), .given = G(data_dir_set), .parse = parse_nonempty,
     .meta = "DIR", .cmds = RUN,
     .help = "--io file: where the data file is kept (default results/data,\n"
             "created if missing; tmpfs and ramfs are refused: O_DIRECT reads\n"
             "there come from memory)"},
    {"data-size-mib", OPT_CUSTOM, F(data_size_mib), .given = G(data_size_set),
     .parse = parse_data_mib, .min = DATAFILE_MIN_BYTES >> 20, .max = CLI_DATA_MIB_MAX, .meta = "M",
     .cmds = RUN, .help = "its size in MiB (default 1024)"},
    {"data-file", OPT_STRING, F(data_file), .meta = "PATH", .cmds = RUN,
     .help = "use this file instead (checked as the servers check it)"},

    {.type = OPT_HEADING, .help = "capacity at a latency target (run only):", .cmds = RUN},
    {"capacity", OPT_FLAG, F(capacity), .cmds = RUN,
     .help = "after the warm-up a closed-loop phase (--duration) measures\n"
             "throughput X; then open-loop steps offer 10% to 150% of X,\n"
             "geometrically, on the same server and connections, latency from the\n"
             "intended send time. The result's `capacity` has every step and the\n"
             "highest offered rate whose p99 is under the target (steps that are\n"
             "generator_behind or have > 1% errors do not count)"},
    {"steps", OPT_INT, F(steps), .given = G(steps_set), .min = CAP_STEPS_MIN, .max = CAP_STEPS_MAX,
     .cmds = RUN, .help = "steps of the curve, {range} (default {default})"},
    {"step-min-s", OPT_DOUBLE, F(step_min_s), .given = G(step_min_set), .min = 0.05, .max = 600,
     .meta = "S", .cmds = RUN,
     .help = "shortest step; a step lasts max(S, R / rate) so that it holds at\n"
             "least R requests (default {default})"},
    {"step-min-requests", OPT_LONG, F(step_min_requests), .given = G(step_reqs_set), .min = 100,
     .max = 100000000, .meta = "R", .cmds = RUN,
     .help = "requests a step holds at least (default {default}: its p99 rests on\n"
             "20 answers above it; fewer make a quicker, rougher curve)"},
    {"slo-ms", OPT_DOUBLE, F(slo_ms), .given = G(slo_set), .min = 0.001, .max = 600000,
     .meta = "MS", .cmds = RUN,
     .help = "the p99 target (default max(1 ms, 2 x (wait + work)) + (wait +\n"
             "work): 3 ms at wait 1 ms, 1 ms at wait 0)"},

    {.type = OPT_HEADING, .help = "stop scenario (run only):", .cmds = RUN},
    {"stop", OPT_FLAG, F(stop), .cmds = RUN,
     .help = "instead of a load: --conns connections open, M of them send a\n"
             "request that waits --wait-us, the others stay idle; then SIGTERM.\n"
             "The result's `stop` says how long the server took to exit, how many\n"
             "requests in flight it answered and cut, how its idle connections\n"
             "ended, whether connects after the signal were refused, and its CPU\n"
             "meanwhile. A server's own grace period is its flag: -- --grace-ms MS"},
    {"stop-inflight", OPT_LONG, F(stop_inflight), .max = 10000000, .meta = "M", .cmds = RUN,
     .help = "the connections with a request in flight (default N / 10)"},

    {.type = OPT_HEADING,
     .help = "across hosts (run only): a hosts file names them, one line a host,\n"
             "NAME ADDRESS COMMAND..., COMMAND how to run a program there (`ssh -o\n"
             "BatchMode=yes user@lab2`, `ip netns exec NS`, nothing: this machine);\n"
             "each runs the same build at the same path",
     .cmds = RUN},
    {"hosts", OPT_STRING, F(hosts_file), .meta = "FILE", .cmds = RUN,
     .help = "the hosts file; targets outside loopback are allowed for its\n"
             "addresses only"},
    {"server-on", OPT_STRING, F(server_on), .meta = "NAME", .cmds = RUN,
     .help = "the server runs there, listening on the host's ADDRESS; it is\n"
             "measured there (RSS, kernel memory, switches, CPU)"},
    {"clients-on", OPT_STRING, F(clients_on), .meta = "NAME[,NAME...]", .cmds = RUN,
     .help = "the generators: each host an even share of the connections and the\n"
             "rate, over its own CPUs (--procs and --threads per host when given);\n"
             "their histograms merged exactly, each host's share in the result"},
    {"backend-on", OPT_STRING, F(backend_on), .meta = "NAME", .cmds = RUN,
     .help = "--io net: the backend's host (default: the server's)"},
    {"help", OPT_HELP, .help = "this text"},
    {0},
};

static const char *const CMD_NAMES[] = {"a `harness load`", "a `harness run`"};
const struct opts_table CLI_TABLE = {.rows = ROWS, .cmd_names = CMD_NAMES};
