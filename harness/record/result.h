/* result: everything one run measured, and its JSON document (the schema scripts rely on). */
#ifndef TVT_RESULT_H
#define TVT_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include "load/gen.h"
#include "load/load.h"
#include "observe/inflight.h"
#include "observe/limits.h"
#include "plan/cli.h"
#include "plan/placement.h"
#include "run/capacity.h"

#define RESULT_SCHEMA "tvt-run/1"

/* One reading of the server every 100 ms. */
struct sample {
    double t_s; /* since the server was ready (load: since the generator started) */
    long rss_kib, vsz_kib, threads;
    long device_inflight; /* io=file: reads in flight at the data file's device; -1 none */
    const char *phase;    /* "idle", "ramp", "warmup", "measure", "cooldown" (static) */
};

/* Figures of the server process; a negative value means unknown (written as null). */
struct server_result {
    bool present; /* false for `harness load` */
    pid_t pid;
    long rss_idle_kib, rss_steady_kib, rss_peak_kib, vsz_idle_kib, vsz_steady_kib;
    long pss_steady_kib, threads_idle, threads_peak;
    int procs_peak; /* processes in its tree (--workers, a master's children) */
    long long ctx_voluntary, ctx_involuntary, ctx_perf;
    char ctx_perf_note[200];                /* why ctx_perf is null */
    double cpu_user_s, cpu_sys_s, window_s; /* window_s: of the CPU and perf readings */
    double ctx_window_s;                    /* of the /proc switch sums (a little longer) */
    bool kernel_ok;
    long kernel_stack_kib_delta, slab_unreclaim_kib_delta, sock_tcp_pages_delta;
    bool lifetime_ok; /* wait4 reaped it */
    long maxrss_kib, nvcsw, nivcsw;
    char exit_desc[128];
    bool killed;        /* it did not exit within the wait after SIGTERM: SIGKILL */
    double stop_s;      /* SIGTERM to reaped, at the end of the run; < 0: not stopped by us */
    char *stderr_text;  /* what it printed on stderr (its counters line last); owned */
    char command[1024]; /* how it was started */
};

/* The backend of a `run --io net`: the one the harness started, or --upstream's. */
struct backend_result {
    bool on;            /* run --io net: a `backend` object is written */
    bool started;       /* the harness started it (false: --upstream, the rest unknown) */
    char upstream[272]; /* HOST:PORT, handed to the server */
    char command[512];
    pid_t pid; /* 0 until started */
    long workers;
    double cpu_s, window_s;  /* user + sys over the measured window, and its span; < 0 unknown */
    bool shares_client_cpus; /* it runs on (some of) the generator's CPUs */
    char exit_desc[128];
    bool killed;
    char *stderr_text; /* its counters line last; owned */
};

/* The data file of a `run --io file`. */
struct data_result {
    bool on;
    char path[PATH_MAX];
    long size_mib; /* -1: an explicit --data-file */
    int reused;    /* 1 reused, 0 written by this run, -1 an explicit --data-file */
    double write_s;
};

/* run --stop: how the server stopped (the connections' ends are in load.stop). */
struct stop_result {
    bool on;
    int inflight, idle;      /* connections with a request in flight at the signal, and idle */
    double settle_s;         /* from the slow requests sent to the signal */
    double signal_to_exit_s; /* SIGTERM to the server reaped; < 0: never */
    bool killed;             /* still there past its grace and STOP_SPARE_S: SIGKILL */
    long grace_ms;           /* the server's --grace-ms as passed; -1 its own default */
    double cpu_s;            /* the server's CPU from the signal to its exit; < 0 unknown */
    long connects_tried, connects_refused, connects_accepted, connects_other;
    char connect_other_error[64]; /* the first `other`'s errno text */
};

/* The figures the saturated flag was decided on. */
struct saturation {
    int cpus;           /* CPUs of the generator (and of a backend sharing them) */
    int loops;          /* generator loops over every process */
    double busy;        /* generator (+ sharing backend) CPU per second of the window / cpus */
    double backend_cpu; /* the sharing backend's CPU per second; < 0: none shares */
    /* how busy the generator's and the server's CPUs were over the window counting every
       process and the kernel's softirq work (/proc/stat), for reading the flag; < 0 unknown */
    double client_cpus_busy, server_cpus_busy;
};

/* A whole run; the owner fills it, result_json reads it. */
/* One host of a run across hosts (--hosts): its part, for the result's `hosts`. */
struct host_entry {
    char name[64], addr[64];
    bool here;                     /* this machine (the orchestrator's) */
    bool server, backend, clients; /* its roles */
    char *env;                     /* its environment (JSON text, malloc'd); NULL: here */
    bool has_share;                /* generators ran there: share holds what they did */
    struct gen_figures share;
};

struct run_record {
    const struct cli_opts *o;
    const char *impl; /* "async", "thread", or the --name of a --server-cmd */
    bool failed;
    char failure[768];
    struct placement place;
    int server_cpu, client_cpu; /* the first CPU of each set, -1 not pinned */
    char cpu_note[400];
    int threads;      /* generator loops per process */
    long stack_kib;   /* -1: not set */
    long workers;     /* server processes (--impl); -1: unknown (--server-cmd) */
    bool pin_workers; /* --pin-workers was passed: worker i on the i-th server CPU */
    int source_ips;
    char target[160];
    long nofile_soft, nofile_hard;
    bool load_done; /* load holds a merged result */
    struct load_result load;
    bool saturated;
    struct saturation sat;
    struct server_result srv;
    struct backend_result bk;
    struct data_result data;
    struct inflight dev; /* io=file in run: reads in flight at the data file's device */
    bool dev_on;
    struct capacity cap; /* --capacity; cap.on false otherwise */
    struct stop_result stop;
    struct limits limits; /* at the ramp's end: how near the machine's limits the run came */
    struct sample *samples;
    int nsamples, samples_cap;
    struct host_entry *hosts; /* --hosts: each host named by the run; NULL otherwise */
    int nhosts;
};

/* Zeroes r and marks every server figure unknown. */
void result_init(struct run_record *r, const struct cli_opts *o);

/* Appends a sample; -1 if out of memory (the sample is dropped). */
int result_add_sample(struct run_record *r, const struct sample *s);

/* Sets status failed with a reason, unless a reason is already there (the first cause wins). */
void result_fail(struct run_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The JSON document: schema, impl, status, failure, params, env, client, server, derived,
 * samples (and a few more keys). Caller owns it; NULL only if jansson cannot allocate. */
json_t *result_json(const struct run_record *r);

/* The `stop` object of a --stop run; null otherwise. Caller owns it. */
json_t *result_stop_json(const struct run_record *r);

/* The `hosts` array of a run across hosts (null otherwise) and how far apart their windows
 * opened (result_hosts.c). */
json_t *result_hosts_json(const struct run_record *r);
double result_hosts_skew_ms(const struct run_record *r);

/* The last line of a server's stderr as a JSON object (its counters), or NULL. Caller owns
 * it. */
json_t *result_counters(const char *stderr_text);

/* Frees what r owns (samples, the load result, the stderr texts). */
void result_free(struct run_record *r);

#endif
