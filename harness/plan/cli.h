/* cli: the harness's command line: the table of `load` and `run` flags (common/opts.h), their
 * defaults and the rules between them; cli_usage.c prints it. */
#ifndef TVT_CLI_H
#define TVT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_cmd { CLI_LOAD, CLI_RUN };

/* Everything a run is told. Strings point into argv (static storage). */
struct cli_opts {
    enum cli_cmd cmd;
    const char *target; /* HOST:PORT; NULL in run mode until the server says */
    bool allow_remote;
    int conns, threads, procs;
    bool threads_set; /* --threads given; else one loop per CPU of the generator's set */
    double duration_s, warmup_s;
    uint64_t requests; /* 0: by duration */
    double rate;       /* 0: closed loop */
    double think_ms;
    long wait_us, work_us, bytes;
    const char *path;
    /* what a request waits on (workload.h): sent as io= and file_kib= when given */
    uint32_t io;   /* enum io_kind; IO_TIMER unless --io */
    bool io_set;   /* --io given: io= goes into every request */
    long file_kib; /* --file-kib; -1: not given (4 is sent with --io file) */
    bool body_check;
    double connect_rate;
    int connect_retries, timeout_ms, connect_timeout_ms;
    int source_ips;             /* -1: automatic */
    int client_cpu, server_cpu; /* legacy one-CPU sets; -1: do not pin */
    bool client_cpu_set, server_cpu_set;
    int server_k;             /* --server-cpus K; 0: the planner's default */
    const char *client_cpus;  /* --client-cpus LIST, as given (checked); NULL: planned */
    const char *backend_cpus; /* --backend-cpus LIST */
    bool allow_overlap;
    const char *out;
    const char *name;
    bool quiet;
    /* run only */
    const char *impl;       /* "async" | "thread" | "uring" */
    const char *server_cmd; /* any other server, through /bin/sh */
    long stack_kib;         /* -1: not given */
    long workers;           /* -1: not given */
    char **server_args;     /* after `--`, passed to the server */
    int n_server_args;
    int ready_timeout_ms;
    double idle_s;  /* idle baseline wait after the server is ready */
    double stall_s; /* no answer for this long fails the run; 0: automatic */
    /* run --capacity: a closed-loop phase, then open-loop steps */
    bool capacity;
    int steps;
    double step_min_s;
    long step_min_requests;
    double slo_ms; /* 0: the default rule (capacity.h) */
    /* requests that update the server's shared table: state=, share_us=, key= */
    const char *state; /* "shared" or "none"; NULL: not sent */
    long share_us;     /* CPU inside the update; -1: the server's default */
    int keys;          /* distinct keys over the connections (key=k00..), 1..100 */
    /* run --stop: the stop scenario instead of a load */
    bool stop;
    long stop_inflight; /* connections with a request in flight at the SIGTERM; -1: N / 10 */
    bool wait_set;      /* --wait-us given (a stop scenario's default is 1 s) */
    /* given markers the cross-flag checks read */
    bool duration_set, steps_set, step_min_set, step_reqs_set, slo_set, share_set;
    bool stack_set, workers_set;
    /* run --io file: the data file; run --io net: the backend */
    const char *data_dir; /* default "results/data" */
    long data_size_mib;   /* default 1024 */
    bool data_dir_set, data_size_set;
    const char *data_file; /* --data-file PATH: this file instead of one in data_dir */
    const char *upstream;  /* --upstream HOST:PORT: a running backend; NULL: start one */
    /* run across hosts: the hosts file and who runs where (names in it) */
    const char *hosts_file, *server_on, *clients_on, *backend_on;
};

#define CLI_DATA_DIR_DEFAULT "results/data"
#define CLI_DATA_MIB_DEFAULT 1024
#define CLI_DATA_MIB_MAX     (1L << 20) /* 1 TiB */

enum cli_result { CLI_OK, CLI_HELP, CLI_ERROR };

/* Parses argv (argv[0] is the subcommand name) into o. CLI_HELP: print cli_usage. CLI_ERROR:
 * the message naming the flag and the fix is in err (exit 2). */
enum cli_result cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o, char *err,
                          size_t errlen);

/* Writes the usage of cmd (or of the whole program when cmd < 0) to f. */
void cli_usage(FILE *f, int cmd);

/* The option table and its command bits (cli.c), for cli_usage.c. */
struct opts_table;
extern const struct opts_table CLI_TABLE;
#define CLI_BIT(cmd) (1u << (cmd))

/* The defaults of cmd into o (what the usage prints as {default}). */
void cli_defaults(enum cli_cmd cmd, struct cli_opts *o);

#endif
