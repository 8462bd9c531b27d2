/* server_opts.c: flag parsing for every C server. */
#include "server_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "datafile.h"
#include "upstream.h"

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_WAIT,
    OPT_WORK,
    OPT_BYTES,
    OPT_BACKLOG,
    OPT_IDLE,
    OPT_STACK,
    OPT_WORKERS,
    OPT_IO,
    OPT_FILE_KIB,
    OPT_UPSTREAM,
    OPT_UPSTREAM_TIMEOUT,
    OPT_ALLOW_REMOTE,
    OPT_DATA_FILE,
    OPT_FILE_IO,
    OPT_FILE_THREADS,
    OPT_BUFFERS,
    OPT_PIN_WORKERS
};

static const struct option LONG_OPTS[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"wait-us", required_argument, NULL, OPT_WAIT},
    {"work-us", required_argument, NULL, OPT_WORK},
    {"bytes", required_argument, NULL, OPT_BYTES},
    {"backlog", required_argument, NULL, OPT_BACKLOG},
    {"idle-timeout-ms", required_argument, NULL, OPT_IDLE},
    {"stack-kib", required_argument, NULL, OPT_STACK},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"io", required_argument, NULL, OPT_IO},
    {"file-kib", required_argument, NULL, OPT_FILE_KIB},
    {"upstream", required_argument, NULL, OPT_UPSTREAM},
    {"upstream-timeout-ms", required_argument, NULL, OPT_UPSTREAM_TIMEOUT},
    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
    {"data-file", required_argument, NULL, OPT_DATA_FILE},
    {"file-io", required_argument, NULL, OPT_FILE_IO},
    {"file-threads", required_argument, NULL, OPT_FILE_THREADS},
    {"buffers", required_argument, NULL, OPT_BUFFERS},
    {"pin-workers", no_argument, NULL, OPT_PIN_WORKERS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const FILE_IO_NAMES[] = {"loop", "pool", "uring"};
static const char *const BUFFERS_NAMES[] = {"conn", "lean"};

const char *server_opts_file_io_name(uint32_t mode)
{
    return mode < sizeof FILE_IO_NAMES / sizeof FILE_IO_NAMES[0] ? FILE_IO_NAMES[mode] : "?";
}

const char *server_opts_buffers_name(uint32_t mode)
{
    return mode < sizeof BUFFERS_NAMES / sizeof BUFFERS_NAMES[0] ? BUFFERS_NAMES[mode] : "?";
}

static void usage(char *buf, size_t len, const char *prog, unsigned features)
{
    snprintf(buf, len,
             "usage: %s [options]\n"
             "HTTP/1.1 keep-alive server of the tasks-vs-threads suite.\n"
             "GET /?wait_us=N&work_us=N&bytes=N&io=KIND&file_kib=K waits (on a timer, the\n"
             "backend or a file read), burns work_us of CPU, then answers 200 with a body of\n"
             "`bytes` bytes; the flags set the defaults.\n"
             "\n"
             "  --host ADDR            address to bind (default 127.0.0.1)\n"
             "  --port N               port; 0 lets the kernel pick (default 0)\n"
             "  --wait-us N            default wait per request, 0..%u (default 0)\n"
             "  --work-us N            default CPU per request, 0..%u (default 0)\n"
             "  --bytes N              default body length, 0..%u (default 64)\n"
             "  --backlog N            listen backlog (default %d; capped by somaxconn)\n"
             "  --idle-timeout-ms N    close a connection that sends no whole request\n"
             "                         this long; 0 never (default %d)\n"
             "  --workers N            N processes, each with its own SO_REUSEPORT\n"
             "                         listener on the port (default 1: the model the\n"
             "                         claims describe; more to pass one process's fd limit)\n"
             "  --pin-workers          worker i runs on the i-th CPU of the affinity mask\n"
             "                         the server started with (one loop per CPU)\n"
             "%s%s"
             "\n"
             "What a request waits on (io=KIND in the query overrides --io):\n"
             "  --io timer|net|file    timer: wait_us on a timer; net: a request to the\n"
             "                         backend, which answers after wait_us; file: a read of\n"
             "                         file_kib KiB from the data file (default timer)\n"
             "  --upstream HOST:PORT   the backend of io=net (loopback only, unless\n"
             "                         --allow-remote); one keep-alive backend connection per\n"
             "                         client connection, 502 when it fails\n"
             "  --upstream-timeout-ms N  from sending a backend request to its whole\n"
             "                         answer, 1..3600000 (default %d)\n"
             "  --allow-remote         accept a backend that is not on 127.0.0.0/8 or ::1\n"
             "  --data-file PATH       the file io=file reads with O_DIRECT (on a disk\n"
             "                         filesystem, at least %u MiB of real data)\n"
             "  --file-kib K           default read size in KiB, a multiple of 4 from 4\n"
             "                         to 1024: O_DIRECT reads whole 4 KiB blocks (default %u)\n"
             "%s"
             "  -h, --help             this text\n"
             "\n"
             "Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT\n"
             "prints one JSON line of counters on stderr and exits 0.\n",
             prog, WAIT_US_MAX, WORK_US_MAX, BYTES_MAX, SERVER_BACKLOG_DEFAULT,
             SERVER_IDLE_TIMEOUT_DEFAULT,
             features & SERVER_OPTS_STACK_KIB
                 ? "  --stack-kib N          stack of each connection thread in KiB;\n"
                   "                         0 = the system default (default 0)\n"
                 : "",
             features & SERVER_OPTS_BUFFERS
                 ? "  --buffers conn|lean    where a connection's bytes live. conn: a 4 KiB read\n"
                   "                         buffer and an answer-head buffer per connection,\n"
                   "                         held for its whole life, as a thread's stack holds\n"
                   "                         them. lean: the loop's buffers; a connection holds\n"
                   "                         bytes only while a request is partial, an answer\n"
                   "                         is blocked, or pipelined requests wait behind a\n"
                   "                         wait, so an idle one holds its fd, watchers and\n"
                   "                         counters (default conn)\n"
                 : "",
             UPSTREAM_TIMEOUT_MS_DEFAULT, DATAFILE_MIN_BYTES >> 20, FILE_KIB_DEFAULT,
             features & SERVER_OPTS_FILE_IO
                 ? "  --file-io loop|pool|uring  how the loop reads the file: loop: pread in\n"
                   "                         the loop (every other task waits); pool: a pool of\n"
                   "                         --file-threads threads reads; uring: io_uring\n"
                   "                         (default pool)\n"
                   "  --file-threads K       the pool's threads, 1..1024 (default 4)\n"
                 : "");
}

static int number(const char *flag, const char *arg, uint32_t max, uint32_t *out, char *err,
                  size_t errlen)
{
    if (workload_parse_u32(arg, strlen(arg), max, out) < 0) {
        snprintf(err, errlen, "--%s: '%s' is not an integer from 0 to %u", flag, arg, max);
        return -1;
    }
    return 0;
}

enum server_opts_result server_opts_parse(struct server_opts *o, int argc, char **argv,
                                          const char *prog, unsigned features, char *err,
                                          size_t errlen)
{
    uint32_t v;
    int c;

    *o = (struct server_opts){
        .host = "127.0.0.1",
        .port = 0,
        .defaults =
            {.wait_us = 0, .work_us = 0, .bytes = 64, .io = IO_TIMER, .file_kib = FILE_KIB_DEFAULT},
        .backlog = SERVER_BACKLOG_DEFAULT,
        .idle_timeout_ms = SERVER_IDLE_TIMEOUT_DEFAULT,
        .stack_kib = 0,
        .workers = 1,
        .upstream_timeout_ms = UPSTREAM_TIMEOUT_MS_DEFAULT,
        .file_io = FILE_IO_POOL,
        .file_threads = SERVER_FILE_THREADS_DEFAULT,
        .buffers = BUFFERS_CONN,
    };
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG_OPTS, NULL)) != -1) {
        const char *name =
            c >= OPT_HOST && c <= OPT_PIN_WORKERS ? LONG_OPTS[c - OPT_HOST].name : "";
        switch (c) {
        case OPT_HOST: o->host = optarg; break;
        case OPT_PORT:
            if (number(name, optarg, 65535, &v, err, errlen) < 0)
                return OPTS_ERROR;
            o->port = (int)v;
            break;
        case OPT_WAIT:
            if (number(name, optarg, WAIT_US_MAX, &o->defaults.wait_us, err, errlen) < 0)
                return OPTS_ERROR;
            break;
        case OPT_WORK:
            if (number(name, optarg, WORK_US_MAX, &o->defaults.work_us, err, errlen) < 0)
                return OPTS_ERROR;
            break;
        case OPT_BYTES:
            if (number(name, optarg, BYTES_MAX, &o->defaults.bytes, err, errlen) < 0)
                return OPTS_ERROR;
            break;
        case OPT_BACKLOG:
            if (number(name, optarg, 1u << 20, &v, err, errlen) < 0)
                return OPTS_ERROR;
            o->backlog = (int)v;
            break;
        case OPT_IDLE:
            if (number(name, optarg, 24u * 3600 * 1000, &o->idle_timeout_ms, err, errlen) < 0)
                return OPTS_ERROR;
            break;
        case OPT_STACK:
            if (!(features & SERVER_OPTS_STACK_KIB)) {
                snprintf(err, errlen, "--stack-kib is a thread server flag (try --help)");
                return OPTS_ERROR;
            }
            if (number(name, optarg, 1u << 20, &o->stack_kib, err, errlen) < 0)
                return OPTS_ERROR;
            break;
        case OPT_WORKERS:
            if (number(name, optarg, 1024, &o->workers, err, errlen) < 0)
                return OPTS_ERROR;
            if (o->workers == 0) {
                snprintf(err, errlen, "--workers must be at least 1");
                return OPTS_ERROR;
            }
            break;
        case OPT_IO:
            if (workload_parse_io(optarg, strlen(optarg), &o->defaults.io) < 0) {
                snprintf(err, errlen, "--io: '%s' is not timer, net or file", optarg);
                return OPTS_ERROR;
            }
            break;
        case OPT_FILE_KIB:
            if (workload_parse_u32(optarg, strlen(optarg), FILE_KIB_MAX, &v) < 0 ||
                !workload_file_kib_ok(v)) {
                snprintf(err, errlen, "--file-kib: '%s' is not " FILE_KIB_RULE, optarg);
                return OPTS_ERROR;
            }
            o->defaults.file_kib = v;
            break;
        case OPT_UPSTREAM: o->upstream = optarg; break;
        case OPT_UPSTREAM_TIMEOUT:
            if (number(name, optarg, 3600000, &o->upstream_timeout_ms, err, errlen) < 0)
                return OPTS_ERROR;
            if (o->upstream_timeout_ms == 0) {
                snprintf(err, errlen, "--upstream-timeout-ms must be at least 1");
                return OPTS_ERROR;
            }
            break;
        case OPT_ALLOW_REMOTE: o->allow_remote = 1; break;
        case OPT_DATA_FILE: o->data_file = optarg; break;
        case OPT_FILE_IO:
        case OPT_FILE_THREADS:
            if (!(features & SERVER_OPTS_FILE_IO)) {
                snprintf(err, errlen, "--%s is an async server flag (try --help)", name);
                return OPTS_ERROR;
            }
            if (c == OPT_FILE_THREADS) {
                if (number(name, optarg, 1024, &o->file_threads, err, errlen) < 0)
                    return OPTS_ERROR;
                if (o->file_threads == 0) {
                    snprintf(err, errlen, "--file-threads must be at least 1");
                    return OPTS_ERROR;
                }
                break;
            }
            for (v = 0; v < sizeof FILE_IO_NAMES / sizeof FILE_IO_NAMES[0]; v++)
                if (strcmp(optarg, FILE_IO_NAMES[v]) == 0)
                    break;
            if (v == sizeof FILE_IO_NAMES / sizeof FILE_IO_NAMES[0]) {
                snprintf(err, errlen, "--file-io: '%s' is not loop, pool or uring", optarg);
                return OPTS_ERROR;
            }
            o->file_io = v;
            break;
        case OPT_BUFFERS:
            if (!(features & SERVER_OPTS_BUFFERS)) {
                snprintf(err, errlen, "--buffers is an async server flag (try --help)");
                return OPTS_ERROR;
            }
            for (v = 0; v < sizeof BUFFERS_NAMES / sizeof BUFFERS_NAMES[0]; v++)
                if (strcmp(optarg, BUFFERS_NAMES[v]) == 0)
                    break;
            if (v == sizeof BUFFERS_NAMES / sizeof BUFFERS_NAMES[0]) {
                snprintf(err, errlen, "--buffers: '%s' is not conn or lean", optarg);
                return OPTS_ERROR;
            }
            o->buffers = v;
            break;
        case OPT_PIN_WORKERS: o->pin_workers = 1; break;
        case 'h': usage(err, errlen, prog, features); return OPTS_HELP;
        default:
            snprintf(err, errlen, "unknown or incomplete option '%s' (try --help)",
                     argv[optind - 1]);
            return OPTS_ERROR;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (try --help)", argv[optind]);
        return OPTS_ERROR;
    }
    const char *refused = server_opts_io_refusal(o, o->defaults.io);
    if (refused) {
        snprintf(err, errlen, "--io %s: %s", workload_io_name(o->defaults.io), refused);
        return OPTS_ERROR;
    }
    return OPTS_OK;
}

const char *server_opts_io_refusal(const struct server_opts *o, uint32_t io)
{
    if (io == IO_NET && !o->upstream)
        return "io=net needs a server started with --upstream HOST:PORT";
    if (io == IO_FILE && !o->data_file)
        return "io=file needs a server started with --data-file PATH";
    return NULL;
}
