/* server_opts.c: the servers' flags as one opts table, their defaults and usage text. */
#include "server_opts.h"

#include <stdio.h>
#include <string.h>

#include "datafile.h"
#include "upstream.h"

static const char *const FILE_IO_NAMES[] = {"loop", "pool", "uring", NULL};
static const char *const BUFFERS_NAMES[] = {"conn", "lean", NULL};
static const char *const RECV_NAMES[] = {"ring", "conn", NULL};
static const char *const LOCK_NAMES[] = {"mutex", "none", NULL};

const char *server_opts_lock_name(uint32_t mode)
{
    return opts_choice_name(LOCK_NAMES, mode);
}

const char *server_opts_file_io_name(uint32_t mode)
{
    return opts_choice_name(FILE_IO_NAMES, mode);
}

const char *server_opts_buffers_name(uint32_t mode)
{
    return opts_choice_name(BUFFERS_NAMES, mode);
}

static int parse_file_kib(const struct opt *o, const char *arg, void *field, char *err,
                          size_t errlen)
{
    uint32_t v;
    if (workload_parse_u32(arg, strlen(arg), (uint32_t)o->max, &v) == 0 &&
        workload_file_kib_ok(v)) {
        *(uint32_t *)field = v;
        return 0;
    }
    snprintf(err, errlen, "expected " FILE_KIB_RULE);
    return -1;
}

/* The help texts below say these; {default} cannot show a custom row's value. */
_Static_assert(FILE_KIB_DEFAULT == 4, "--file-kib's help says (default 4)");
_Static_assert(DATAFILE_MIN_BYTES == 2u << 20, "--data-file's help says at least 2 MiB");

#define F(member) offsetof(struct server_opts, member)

static const struct opt ROWS[] = {
    {"host", OPT_STRING, F(host), .meta = "ADDR", .help = "address to bind (default {default})"},
    {"port", OPT_INT, F(port), .min = 0, .max = 65535,
     .help = "port; 0 lets the kernel pick (default {default})"},
    {"wait-us", OPT_UINT32, F(defaults.wait_us), .max = WAIT_US_MAX,
     .help = "default wait per request, {range} (default {default})"},
    {"work-us", OPT_UINT32, F(defaults.work_us), .max = WORK_US_MAX,
     .help = "default CPU per request, {range} (default {default})"},
    {"bytes", OPT_UINT32, F(defaults.bytes), .max = BYTES_MAX,
     .help = "default body length, {range} (default {default})"},
    {"backlog", OPT_INT, F(backlog), .max = 1 << 20,
     .help = "listen backlog, {range} (default {default};\n"
             "capped by somaxconn)"},
    {"idle-timeout-ms", OPT_UINT32, F(idle_timeout_ms), .max = 24.0 * 3600 * 1000, .meta = "MS",
     .help = "close a connection that sends no whole request\n"
             "this long, {range}; 0 never (default {default})"},
    {"workers", OPT_UINT32, F(workers), .min = 1, .max = 1024,
     .help = "N processes, each with its own SO_REUSEPORT\n"
             "listener on the port, {range} (default {default}:\n"
             "the model the claims describe; more to pass one\n"
             "process's fd limit)"},
    {"pin-workers", OPT_FLAG, F(pin_workers),
     .help = "worker i runs on the i-th CPU of the affinity mask\n"
             "the server started with (one loop per CPU)"},
    {"stack-kib", OPT_UINT32, F(stack_kib), .max = 1 << 20, .meta = "K",
     .help = "stack of each connection thread in KiB, {range};\n"
             "0 = the system default (default {default})",
     .cmds = SERVER_OPTS_STACK_KIB},
    {"buffers", OPT_CHOICE, F(buffers), .choices = BUFFERS_NAMES,
     .help = "where a connection's bytes live. conn: a 4 KiB read\n"
             "buffer and an answer-head buffer per connection,\n"
             "held for its whole life, as a thread's stack holds\n"
             "them. lean: the loop's buffers; a connection holds\n"
             "bytes only while a request is partial, an answer\n"
             "is blocked, or pipelined requests wait behind a\n"
             "wait, so an idle one holds its fd, watchers and\n"
             "counters (default {default})",
     .cmds = SERVER_OPTS_BUFFERS},
    {"recv", OPT_CHOICE, F(recv), .choices = RECV_NAMES,
     .help = "where receives land: ring = one multishot recv per\n"
             "connection into a shared provided-buffer ring, so an\n"
             "idle connection holds no read buffer; conn = one recv\n"
             "at a time into the connection's own 4 KiB buffer, as\n"
             "async_server does (default {default})",
     .cmds = SERVER_OPTS_RECV},
    {.type = OPT_HEADING,
     .help = "\nWhat a request waits on (io=KIND in the query overrides --io):"},
    /* workload.h's names, so that the flag and io= in a query take the same words */
    {"io", OPT_CHOICE, F(defaults.io), .choices = WORKLOAD_IO_NAMES,
     .help = "timer: wait_us on a timer; net: a request to the\n"
             "backend, which answers after wait_us; file: a read of\n"
             "file_kib KiB from the data file (default timer)"},
    {"upstream", OPT_STRING, F(upstream), .meta = "HOST:PORT",
     .help = "the backend of io=net (loopback only, unless\n"
             "--allow-remote); one keep-alive backend connection per\n"
             "client connection, 502 when it fails"},
    {"upstream-timeout-ms", OPT_UINT32, F(upstream_timeout_ms), .min = 1, .max = 3600000,
     .meta = "MS",
     .help = "from sending a backend request to its whole\n"
             "answer, {range} (default {default})"},
    {"allow-remote", OPT_FLAG, F(allow_remote),
     .help = "accept a backend that is not on 127.0.0.0/8 or ::1"},
    {"data-file", OPT_STRING, F(data_file), .meta = "PATH",
     .help = "the file io=file reads with O_DIRECT (on a disk\n"
             "filesystem, at least 2 MiB of real data)"},
    {"file-kib", OPT_CUSTOM, F(defaults.file_kib), .parse = parse_file_kib, .min = FILE_KIB_MIN,
     .max = FILE_KIB_MAX, .meta = "K",
     .help = "default read size in KiB, a multiple of 4 from 4\n"
             "to 1024: O_DIRECT reads whole 4 KiB blocks (default 4)"},
    {"file-io", OPT_CHOICE, F(file_io), .choices = FILE_IO_NAMES,
     .help = "how the loop reads the file: loop: pread in\n"
             "the loop (every other task waits); pool: a pool of\n"
             "--file-threads threads reads; uring: io_uring\n"
             "(default {default})",
     .cmds = SERVER_OPTS_FILE_IO},
    {"file-threads", OPT_UINT32, F(file_threads), .min = 1, .max = 1024, .meta = "K",
     .help = "the pool's threads, {range} (default {default})", .cmds = SERVER_OPTS_FILE_IO},
    {.type = OPT_HEADING,
     .help = "\nShared state (state=, share_us=, key= in the query override these):"},
    {"state", OPT_CHOICE, F(defaults.state), .choices = WORKLOAD_STATE_NAMES,
     .help = "shared: each request updates the table every\n"
             "connection of the process shares, under key=KEY\n"
             "(1..32 of A-Z a-z 0-9 _ . -; default -), and its\n"
             "answer says the key's count (X-Shared-Count); a\n"
             "full table (1024 keys) answers 503 (default none)"},
    {"share-us", OPT_UINT32, F(defaults.share_us), .max = SHARE_US_MAX,
     .help = "CPU spent inside each update, between reading the\n"
             "key's count and writing it back, {range}\n"
             "(default {default})"},
    {"lock", OPT_CHOICE, F(lock), .choices = LOCK_NAMES,
     .help = "what guards the shared table. mutex: a lock around\n"
             "each update; none: nothing, a data race on purpose,\n"
             "to show what the lock is for (default {default})",
     .cmds = SERVER_OPTS_LOCK},
    {.type = OPT_HEADING, .help = "\nStopping:"},
    {"grace-ms", OPT_UINT32, F(grace_ms), .max = SERVER_GRACE_MS_MAX, .meta = "MS",
     .help = "at SIGTERM/SIGINT: how long requests in flight get\n"
             "to be answered before they are cut, {range}\n"
             "(default {default})"},
    {"help", OPT_HELP, .help = "this text"},
    {0},
};

/* Whose flag a row of one feature bit is (SERVER_OPTS_STACK_KIB, _FILE_IO, _BUFFERS, _RECV,
   _LOCK). */
static const char *const FEATURE_NAMES[] = {"a thread server", "an async server", "an async server",
                                            "an io_uring server", "a thread server"};

static const struct opts_table TABLE = {.rows = ROWS, .cmd_names = FEATURE_NAMES};

static void set_defaults(struct server_opts *o)
{
    *o = (struct server_opts){
        .host = "127.0.0.1",
        .port = 0,
        .defaults = WORKLOAD_DEFAULTS,
        .backlog = SERVER_BACKLOG_DEFAULT,
        .idle_timeout_ms = SERVER_IDLE_TIMEOUT_DEFAULT,
        .stack_kib = 0,
        .workers = 1,
        .upstream_timeout_ms = UPSTREAM_TIMEOUT_MS_DEFAULT,
        .file_io = FILE_IO_POOL,
        .file_threads = SERVER_FILE_THREADS_DEFAULT,
        .buffers = BUFFERS_CONN,
        .recv = RECV_RING,
        .grace_ms = SERVER_GRACE_MS_DEFAULT,
        .lock = LOCK_MUTEX,
    };
}

/* The usage text of a server with these features into buf (len bytes, NUL-terminated). */
static void usage(char *buf, size_t len, const char *prog, unsigned features)
{
    struct server_opts defaults;
    FILE *f = len ? fmemopen(buf, len, "w") : NULL;
    if (!f) {
        snprintf(buf, len, "usage: %s [options] (no room for the whole text)\n", prog);
        return;
    }
    set_defaults(&defaults);
    fprintf(f,
            "usage: %s [options]\n"
            "HTTP/1.1 keep-alive server of the tasks-vs-threads suite.\n"
            "GET /?wait_us=N&work_us=N&bytes=N&io=KIND&file_kib=K waits (on a timer, the\n"
            "backend or a file read), with &state=shared&share_us=N&key=KEY updates the\n"
            "process's shared table, burns work_us of CPU, then answers 200 with a body of\n"
            "`bytes` bytes; the flags set the defaults.\n"
            "\n",
            prog);
    opts_usage(f, &TABLE, features, &defaults);
    fputs("\n"
          "Prints `listening on HOST:PORT` on stdout when ready. On SIGTERM or SIGINT it\n"
          "stops gracefully: it stops listening at once, closes idle connections, answers\n"
          "the requests in flight (with Connection: close) within --grace-ms and cuts the\n"
          "rest, then prints one JSON line of counters on stderr and exits 0.\n",
          f);
    fclose(f);
    buf[len - 1] = '\0';
}

enum opts_result server_opts_parse(struct server_opts *o, int argc, char **argv, const char *prog,
                                   unsigned features, char *err, size_t errlen)
{
    set_defaults(o);
    enum opts_result r = opts_parse(&TABLE, features, argc, argv, o, NULL, err, errlen);
    if (r == OPTS_HELP)
        usage(err, errlen, prog, features);
    if (r != OPTS_OK)
        return r;
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
