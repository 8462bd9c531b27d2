/* server_opts.c: flag parsing for both servers. */
#include "server_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
    {"pin-workers", no_argument, NULL, OPT_PIN_WORKERS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(char *buf, size_t len, const char *prog, int with_stack_kib)
{
    snprintf(buf, len,
             "usage: %s [options]\n"
             "HTTP/1.1 keep-alive server of the tasks-vs-threads suite.\n"
             "GET /?wait_us=N&work_us=N&bytes=N waits wait_us, burns work_us of CPU,\n"
             "then answers 200 with a body of `bytes` bytes; the flags set the defaults.\n"
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
             "%s"
             "  -h, --help             this text\n"
             "\n"
             "Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT\n"
             "prints one JSON line of counters on stderr and exits 0.\n",
             prog, WAIT_US_MAX, WORK_US_MAX, BYTES_MAX, SERVER_BACKLOG_DEFAULT,
             SERVER_IDLE_TIMEOUT_DEFAULT,
             with_stack_kib ? "  --stack-kib N          stack of each connection thread in KiB;\n"
                              "                         0 = the system default (default 0)\n"
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
                                          const char *prog, int with_stack_kib, char *err,
                                          size_t errlen)
{
    uint32_t v;
    int c;

    *o = (struct server_opts){
        .host = "127.0.0.1",
        .port = 0,
        .defaults = {.wait_us = 0, .work_us = 0, .bytes = 64},
        .backlog = SERVER_BACKLOG_DEFAULT,
        .idle_timeout_ms = SERVER_IDLE_TIMEOUT_DEFAULT,
        .stack_kib = 0,
        .workers = 1,
    };
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG_OPTS, NULL)) != -1) {
        const char *name = c >= OPT_HOST && c <= OPT_WORKERS ? LONG_OPTS[c - OPT_HOST].name : "";
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
            if (!with_stack_kib) {
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
        case OPT_PIN_WORKERS: o->pin_workers = 1; break;
        case 'h': usage(err, errlen, prog, with_stack_kib); return OPTS_HELP;
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
    return OPTS_OK;
}
