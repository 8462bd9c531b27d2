/* load: the load generator: T threads, one libev loop each, owning their connections (wrk's shape).
 */
#ifndef TVT_LOAD_H
#define TVT_LOAD_H

#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hist.h"

/* Error kinds, counted apart. */
enum load_err {
    LOAD_ERR_CONNECT, /* a connection that could not be opened after its retries */
    LOAD_ERR_READ,    /* reset, or closed before a complete answer */
    LOAD_ERR_WRITE,   /* the request could not be sent */
    LOAD_ERR_TIMEOUT, /* no complete answer within timeout_ms */
    LOAD_ERR_STATUS,  /* a complete answer whose status is not 200 */
    LOAD_ERR_BODY,    /* body length differs from the expected one, or cut short */
    LOAD_ERR_PARSE,   /* not HTTP, or bytes nobody asked for */
    LOAD_ERR_N
};

#define LOAD_FDS_PER_THREAD 8  /* epoll, eventfd, timerfd and libev's spares */
#define LOAD_FDS_RESERVED   64 /* stdio, /proc readers, the runner's pipes */

/* File descriptors one generator process needs for conns connections on threads loops. */
static inline long load_fds_needed(long conns, long threads)
{
    return conns + LOAD_FDS_PER_THREAD * (threads < conns ? threads : conns) + LOAD_FDS_RESERVED;
}

/* Name of an error kind as in the JSON ("connect", "read", ...). */
const char *load_err_name(int kind);

/* How each connection ended once a stop watch began (load_stop_watch): the server was told to
 * stop, and the generator only watches. */
enum load_stop_kind {
    LOAD_STOP_ANSWERED,     /* a slow request, answered completely with status 200 */
    LOAD_STOP_ANSWERED_ERR, /* answered completely with another status (a 503) */
    LOAD_STOP_CUT,          /* a slow request whose connection closed before its answer */
    LOAD_STOP_IDLE_FIN,     /* an idle connection the server closed with a FIN */
    LOAD_STOP_IDLE_RST,     /* an idle connection closed by a reset */
    LOAD_STOP_N
};

/* Name of a stop outcome as in the JSON ("answered", ...). */
const char *load_stop_name(int kind);

struct load_opts {
    struct sockaddr_storage target; /* where to connect */
    socklen_t target_len;
    char request[512]; /* the request text, sent as is on every connection */
    int request_len;
    int conns;              /* total, spread over the threads */
    int threads;            /* loops, >= 1 */
    double rate;            /* open loop: requests/s in total; 0 = closed loop */
    double think_ms;        /* closed loop: pause between an answer and the next request */
    double connect_rate;    /* new connections per second in total during the ramp; 0 = no limit */
    int connect_retries;    /* attempts after the first before a connection counts as failed */
    int timeout_ms;         /* per request */
    int connect_timeout_ms; /* per connect, up to the first answer on the connection */
    uint64_t requests;      /* > 0: stop measuring after this many answers in total */
    long expect_bytes;      /* body length every answer must have; -1 = do not check */
    int source_ips;         /* > 0: bind connection i to 127.0.0.(1 + i % source_ips) */
    int first_idx;          /* index of this generator's first connection among all processes */
    int ramp_window;        /* most connections opened but not yet answered at once during the
                               ramp, over this process's loops; 0 = 1024 */
    int key_off;            /* >= 0: the request's two key digits (key=kNN) at this offset,
                               each connection's own: its index mod keys */
    int keys;
    int slow_conns; /* a stop watch: this many of this process's connections (its first)
                       send slow_request; the others stay idle */
    char slow_request[512];
    int slow_request_len;
    cpu_set_t cpus; /* the generator's CPUs: loop j runs on the (j mod n)-th of them */
    bool pin;       /* apply cpus */
    int first_loop; /* index of this process's first loop among all processes' */
};

/* Counters of one phase; all answers are counted, only good ones go into the latency. */
struct load_counts {
    uint64_t requests;  /* good answers: 200 with the expected body */
    uint64_t responses; /* complete answers of any status */
    uint64_t bytes;     /* bytes read */
    uint64_t errors[LOAD_ERR_N];
    uint64_t reconnects;
};

/* Merged result of a run. The histograms hold microseconds. */
struct load_result {
    struct load_counts c;
    struct hist *latency;     /* open loop: from the intended send time (coordinated omission
                                 corrected); closed loop: from the actual send */
    struct hist *latency_raw; /* always from the actual send (uncorrected) */
    double window_s;          /* measured window: earliest thread start to latest thread end */
    uint64_t window_start_ns, window_end_ns; /* CLOCK_MONOTONIC; 0 if nothing was measured */
    double cpu_s;                            /* CPU of the loop threads in their windows */
    double cpu_max_thread;      /* the busiest thread's CPU over its window (1.0 = one core) */
    int conns_connected;        /* connections that connected during the ramp */
    int conns_failed;           /* connections given up on (also in errors.connect) */
    int conns_open_peak;        /* most connections open at once (sum of the threads' peaks) */
    int conns_open_end;         /* connections open when the window closed */
    double ramp_s;              /* time until every connection had connected or failed */
    uint64_t stop[LOAD_STOP_N]; /* a stop watch: how the connections ended */
    uint64_t stop_open;         /* and those still open when it stopped */
    char first_error[LOAD_ERR_N][128]; /* first error of each kind, "" if none */
};

struct load;

/* Validates o, starts the threads and the connection ramp. NULL with the cause in err. */
struct load *load_start(const struct load_opts *o, char *err, size_t errlen);

/* true once every connection has connected or been given up on. Thread-safe. */
bool load_ramped(struct load *l);

/* Ends the ramp: connections, so far parked after their first answer, start sending (the
 * warmup). load_begin_measure implies it. */
void load_start_traffic(struct load *l);

/* Starts the measured window (counters and histograms reset on every thread). */
void load_begin_measure(struct load *l);

/* Freezes the counters; connections keep running until load_stop. */
void load_end_measure(struct load *l);

/* After load_end_measure: waits until every thread has closed the measured window, then merges
 * it into *out (histograms allocated; load_result_free) while the connections keep running.
 * load_stop reports the same window again. 0 ok; -1 out of memory or a thread did not answer. */
int load_measured(struct load *l, struct load_result *out);

/* An open-loop step at rate requests/s in total, after the measured window has ended: every
 * connection's schedule restarts at the new rate (latency counts from the intended send time)
 * and a new window opens. Only requests due from settle_s after the switch (the queues of the
 * step before drain meanwhile), for length_s, count in it, as they are answered until
 * load_step_end (give the last ones time); the window's rates are over those length_s.
 * Returns once every thread has switched. 0 ok; -1 a bad argument or a thread did not
 * answer. */
int load_step_begin(struct load *l, double rate, double settle_s, double length_s);

/* Closes the step and merges its window into *out (histograms allocated). The connections keep
 * the step's pace until the next step or load_stop. 0 ok; -1 as load_measured. */
int load_step_end(struct load *l, struct load_result *out);

/* A stop watch begins: the connections (open since the ramp, parked) send o->slow_request on
 * the first o->slow_conns of them and then only watch: no more requests, no reconnects, no
 * timeouts; each connection's end is counted (load_stop_kind). Returns once every thread has
 * sent its slow requests. 0 ok; -1 a thread did not answer. */
int load_stop_watch(struct load *l);

/* true once every thread has measured its share of o->requests (always false without). */
bool load_quota_done(struct load *l);

/* Answers and errors so far, all phases, as last published by the threads (every 100 ms). */
uint64_t load_progress(struct load *l, uint64_t *errors);

/* Connections open now and given up on so far, as last published (every 100 ms, and when
 * a thread's ramp ends). Thread-safe. */
void load_conns(struct load *l, int *open, int *failed);

/* Stops and joins the threads, closes the connections, merges into *out (whose histograms
 * it allocates; release with load_result_free) and frees l. 0 ok, -1 if out of memory. */
int load_stop(struct load *l, struct load_result *out);

void load_result_free(struct load_result *r);

#endif
